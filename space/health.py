"""Health of the space (intrinsic evaluation): each number with what it means and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from space.vectors import Vectors

SAMPLE = 5000  # neighbour-based measures run on a sample: exact kNN on 5k points is one 5k x 5k product
HUB_K = 10
NEAR_LIMIT = 0.9  # a chunk with >= 90% of the chunk size in tokens was most likely cut by the size limit


@dataclass
class Measure:
    name: str
    value: float
    shown: str  # the value as a person reads it
    meaning: str  # one sentence: what the number says
    advice: str  # what to do about it, given this value
    details: dict = field(default_factory=dict)


@dataclass
class Health:
    collection: str
    chunks: int
    sampled: int
    measures: list[Measure]

    def to_dict(self) -> dict:
        return asdict(self)

    def get(self, name: str) -> Measure:
        return next(m for m in self.measures if m.name == name)


def check_health(
    vecs: Vectors,
    *,
    chunk_limit: int | None = None,
    questions: np.ndarray | None = None,
    relevance_threshold: float = 0.3,
    seed: int = 0,
) -> Health:
    """All measures on `vecs` (normalised); `questions` (m, dim) adds the domain-mismatch measure."""
    import numpy as np

    rows = np.arange(len(vecs))
    if len(rows) > SAMPLE:
        rows = np.sort(np.random.default_rng(seed).choice(len(rows), size=SAMPLE, replace=False))
    sample = vecs.vectors[rows]
    measures = [topic_separation(sample, [vecs.texts[i] for i in rows], seed), anisotropy(vecs.vectors)]
    measures.append(hubness(sample, [vecs.paths[i] for i in rows], [vecs.ids[i] for i in rows]))
    if chunk_limit:
        measures.append(length_limit(vecs, chunk_limit))
    if questions is not None and len(questions):
        measures.append(domain_mismatch(vecs.vectors, sample, questions, relevance_threshold))
    return Health(vecs.collection, vecs.total or len(vecs), len(rows), measures)


def topic_separation(sample: np.ndarray, texts: list[str], seed: int = 0) -> Measure:
    """Cosine silhouette of the best k-means clustering."""
    if len(sample) < 4:
        return Measure("topic silhouette", float("nan"), "n/a", "Too few chunks to cluster.", "Ingest more documents.")
    from space.topics import find_topics

    found = find_topics(sample, texts, k_range=(2, min(12, len(sample) - 2)), seed=seed)
    s = found.silhouette
    advice = (
        "Topics overlap: normal for a corpus on one subject; retrieval then hinges on fine wording, so try "
        "`hybrid` search and check `rag space topics`."
        if s < 0.1
        else "Clear topic structure: the map and `rag space topics` show it; path filters per topic work well."
    )
    return Measure(
        "topic silhouette", s, f"{s:.3f} (k={found.k})",
        "How cleanly chunks fall into separate topics, from -1 (mixed up) through 0 (overlapping) to 1 (apart).",
        advice, {"k": found.k, "by_k": {str(k): round(v, 4) for k, v in found.scores.items()}},
    )  # fmt: skip


def mean_pairwise_cosine(vectors: np.ndarray) -> float:
    """Exact average cosine over all pairs i != j of unit vectors, in O(n d): (|sum|^2 - n) / (n (n - 1))."""
    import numpy as np

    n = len(vectors)
    if n < 2:
        return float("nan")
    total = vectors.astype(np.float64).sum(0)
    return float((total @ total - n) / (n * (n - 1)))


def anisotropy(vectors: np.ndarray) -> Measure:
    avg = mean_pairwise_cosine(vectors)
    advice = (
        f"Vectors crowd into a narrow cone, so unrelated chunks already score about {avg:.2f}: judge relevance "
        f"relative to that (a relevance_threshold near {avg + 0.2:.2f}), not on an absolute scale."
        if avg > 0.25
        else "Vectors spread well; scores are comparable across questions."
    )
    return Measure(
        "anisotropy", avg, f"{avg:.3f}",
        "The average cosine between two random chunks: near 0 the vectors use the whole space, high means they "
        "all point one way and every score looks alike.",
        advice,
    )  # fmt: skip


def hubness(sample: np.ndarray, paths: list[str], ids: list[str], k: int = HUB_K) -> Measure:
    """Skewness of the k-occurrence N_k (how often each chunk is among the others' k nearest neighbours)."""
    import numpy as np

    n = len(sample)
    k = min(k, n - 1)
    if k < 1:
        return Measure("hubness", float("nan"), "n/a", "Too few chunks.", "Ingest more documents.")
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, n, 1024):
        sims = sample[start : start + 1024] @ sample.T
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf  # not your own neighbour
        counts += np.bincount(np.argpartition(-sims, k - 1, axis=1)[:, :k].ravel(), minlength=n)
    skew = _skew(counts)
    top = np.argsort(-counts)[: max(1, n // 100)]
    share = float(counts[top].sum() / counts.sum())
    hubs = [{"id": ids[i], "path": paths[i], "k_occurrence": int(counts[i])} for i in top[:3]]
    advice = (
        "A few chunks turn up for many unrelated questions: look at the hubs listed (often boilerplate, headers "
        "or very short chunks) and clean or exclude them."
        if skew > 1.0
        else "No strong hubs: neighbours are shared out fairly."
    )
    return Measure(
        "hubness", skew, f"{skew:.2f} (top 1% hold {share:.0%} of neighbour slots)",
        f"Skewness of how often each chunk is one of the {k} nearest neighbours of the others; above ~1 a few "
        "'hub' chunks are everyone's neighbour.",
        advice, {"top1pct_share": round(share, 4), "hubs": hubs, "k": k},
    )  # fmt: skip


def _skew(x: np.ndarray) -> float:
    import numpy as np

    d = x.astype(np.float64) - x.mean()
    sd = float(np.sqrt((d * d).mean()))
    return float((d**3).mean() / sd**3) if sd > 0 else 0.0


def length_limit(vecs: Vectors, chunk_limit: int) -> Measure:
    tokens = [int(m.get("n_tokens", 0)) for m in vecs.metas]
    share = sum(t >= NEAR_LIMIT * chunk_limit for t in tokens) / max(1, len(tokens))
    advice = (
        "Most chunks are cut by the size limit, mid-thought: if answers miss context, raise `chunk_overlap`, or "
        "`chunk_size` when the model allows more tokens."
        if share > 0.5
        else "Most chunks end at a natural break (paragraph, heading) before the limit."
    )
    return Measure(
        "near length limit", share, f"{share:.0%} of chunks >= {NEAR_LIMIT:.0%} of {chunk_limit} tokens",
        "The share of chunks filled up to the chunk size, i.e. split by the limit rather than by the text.",
        advice, {"chunk_limit": chunk_limit},
    )  # fmt: skip


def domain_mismatch(corpus: np.ndarray, sample: np.ndarray, questions: np.ndarray, threshold: float) -> Measure:
    """How close questions come to their nearest chunk, against how close chunks come to each other."""
    import numpy as np

    best = np.concatenate([(questions[s : s + 256] @ corpus.T).max(1) for s in range(0, len(questions), 256)])
    sims = sample @ sample.T
    np.fill_diagonal(sims, -np.inf)
    chunk_nn = float(np.median(sims.max(1))) if len(sample) > 1 else float("nan")
    median_q = float(np.median(best))
    below = float((best < threshold).mean())
    advice = (
        f"{below:.0%} of the questions have no chunk above the relevance threshold ({threshold}) and would be "
        "abstained on: add documents that cover them, or check with `rag eval` before lowering the threshold."
        if below > 0.2
        else "The questions land inside the corpus: retrieval has material to find."
    )
    return Measure(
        "domain mismatch", median_q, f"median best match {median_q:.3f} (chunks to each other: {chunk_nn:.3f})",
        "How close each question comes to its nearest chunk; far below the chunks' own nearest-neighbour "
        "similarity means the questions ask about things the corpus does not cover.",
        advice, {"share_below_threshold": round(below, 4), "chunk_nn_median": round(chunk_nn, 4),
                 "questions": len(questions)},
    )  # fmt: skip
