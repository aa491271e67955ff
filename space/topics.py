"""Topics: k-means on the chunk vectors, k chosen by silhouette, each cluster labelled by class-based TF-IDF."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from space.errors import SpaceError

if TYPE_CHECKING:
    import numpy as np

FIT_SAMPLE = 2000  # k is chosen and centroids fitted on at most this many points; the rest are assigned
SILHOUETTE_TOLERANCE = 0.02
LABEL_TEXTS = 10000  # c-TF-IDF reads at most this many texts (a uniform sample keeps the term statistics)


class TopicsError(SpaceError):
    """Topics cannot be computed with the given options."""


@dataclass
class Topic:
    id: int
    label: str  # "term1, term2, term3"
    terms: list[str]
    size: int
    examples: list[int] = field(default_factory=list)  # row indices of the chunks nearest the centroid


@dataclass
class Topics:
    assignments: np.ndarray  # (n,) topic id per chunk
    topics: list[Topic]
    k: int
    silhouette: float  # cosine silhouette of the chosen k (on a sample); -1..1, higher = better separated
    scores: dict[int, float]  # silhouette per k tried

    def labels(self) -> dict[int, str]:
        return {t.id: t.label for t in self.topics}


def parse_k_range(text: str) -> tuple[int, int]:
    """'2-12' -> (2, 12)."""
    try:
        lo, hi = (int(p) for p in text.split("-", 1))
    except ValueError:
        raise TopicsError(f"--k-range {text!r} is not LOW-HIGH - write it like 2-12.") from None
    if not 2 <= lo <= hi:
        raise TopicsError(f"--k-range {text!r} needs 2 <= LOW <= HIGH - write it like 2-12.")
    return lo, hi


def find_topics(
    vectors: np.ndarray,
    texts: Sequence[str],
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 12),
    n_terms: int = 5,
    n_examples: int = 3,
    seed: int = 0,
) -> Topics:
    """Cluster normalised `vectors` into topics and label each with its most distinctive terms."""
    import numpy as np

    n = len(vectors)
    if n < 3:
        raise TopicsError(f"Topics need at least 3 chunks, the collection has {n} - ingest more documents.")
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, size=min(n, FIT_SAMPLE), replace=False))
    sample = vectors[fit_rows]
    ks = [k] if k else list(range(k_range[0], min(k_range[1], len(sample) - 1) + 1))
    if not ks or ks[0] < 2 or ks[0] >= len(sample):
        raise TopicsError(f"k must be between 2 and {len(sample) - 1} for {n} chunks - pass a smaller --k.")
    import sklearn.cluster  # noqa: F401  loaded before the limit below, which only reaches libraries already loaded
    from threadpoolctl import threadpool_limits

    # one thread: sklearn's OpenMP k-means (and BLAS) ran 10x slower with 2 threads on 2 busy cores
    # (spin-waiting), and on a few thousand points a second thread gains little anyway
    with threadpool_limits(1):
        distances = _cosine_distances(sample)  # once for every k: silhouette would recompute it per call
        fits = {kk: _fit(sample, distances, kk, seed) for kk in ks}
    scores = {kk: score for kk, (_, score) in fits.items()}
    top = max(scores.values())
    # the fewest topics that score about as well as the best: silhouette differences this small are noise,
    # and a subject split into its sub-topics is harder to read
    chosen = min(kk for kk in ks if scores[kk] >= top - SILHOUETTE_TOLERANCE)
    model = fits[chosen][0]
    with threadpool_limits(1):
        assignments = _assign(vectors, model.cluster_centers_)
    terms = ctfidf_terms(texts, assignments, chosen, n_terms, seed=seed)
    topics = []
    for t in range(chosen):
        members = np.flatnonzero(assignments == t)
        centre = model.cluster_centers_[t]
        nearest = members[np.argsort(-(vectors[members] @ centre))[:n_examples]]
        topics.append(Topic(t, ", ".join(terms[t][:3]) or f"topic {t}", terms[t], len(members), nearest.tolist()))
    return Topics(assignments, topics, chosen, scores[chosen], scores)


def _cosine_distances(sample: np.ndarray) -> np.ndarray:
    import numpy as np

    d = 1.0 - sample @ sample.T
    np.fill_diagonal(d, 0.0)
    return np.clip(d, 0.0, 2.0, out=d)


def _fit(sample: np.ndarray, distances: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    # restarts are cheap on small samples and small samples are where k-means most often lands badly
    n_init = 10 if len(sample) <= 1000 else 3
    model = KMeans(n_clusters=k, n_init=n_init, max_iter=100, random_state=seed).fit(sample)
    labels = model.labels_
    if len(set(labels.tolist())) < 2:
        return model, -1.0
    return model, float(silhouette_score(distances, labels, metric="precomputed"))


def _assign(vectors: np.ndarray, centres: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.empty(len(vectors), dtype=np.int64)
    c2 = (centres * centres).sum(1)
    for start in range(0, len(vectors), 20000):  # bounded memory: 20k x k distances at a time
        block = vectors[start : start + 20000]
        out[start : start + 20000] = np.argmin(c2[None, :] - 2 * block @ centres.T, axis=1)
    return out


def ctfidf_terms(
    texts: Sequence[str], assignments: np.ndarray, k: int, n_terms: int = 5, *, seed: int = 0
) -> list[list[str]]:
    """Most distinctive terms per class: class-based TF-IDF (BERTopic's c-TF-IDF), tf per class x log(1 + A/f)."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    rows = np.arange(len(texts))
    if len(rows) > LABEL_TEXTS:
        rows = np.sort(np.random.default_rng(seed).choice(len(rows), size=LABEL_TEXTS, replace=False))
    vec = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][^\W\d_]{2,}\b", max_features=50000)
    try:
        counts = vec.fit_transform([texts[i] for i in rows])
    except ValueError:  # every text empty or stop words only
        return [[] for _ in range(k)]
    import scipy.sparse as sp

    member = sp.csr_matrix((np.ones(len(rows)), (assignments[rows], np.arange(len(rows)))), shape=(k, len(rows)))
    per_class = np.asarray((member @ counts).todense(), dtype=np.float64)
    tf = per_class / np.maximum(per_class.sum(1, keepdims=True), 1)
    avg_words = per_class.sum() / k
    idf = np.log1p(avg_words / np.maximum(per_class.sum(0), 1))
    score = tf * idf[None, :]
    vocab = vec.get_feature_names_out()
    return [[vocab[j] for j in np.argsort(-score[c])[:n_terms] if score[c, j] > 0] for c in range(k)]
