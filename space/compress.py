"""Compression study: recall@k against exact float32 search for quantised and reduced vectors, and memory saved.

Every scheme searches the same corpus for the same queries by brute force, so the only difference
from the float32 ranking is the compression itself (no index approximation mixed in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from space.errors import SpaceError

if TYPE_CHECKING:
    import numpy as np

Scorer = Callable[["np.ndarray"], "np.ndarray"]  # (b, dim) float32 queries -> (b, n) scores against the corpus
QUERY_BLOCK = 256
RESCORE = 4  # candidates kept per wanted result before float32 rescoring


@dataclass
class Row:
    name: str
    bytes_per_vector: float
    recall: float  # mean recall@k against exact float32 top-k
    k: int
    memory_saving: float  # float32 bytes / these bytes
    rescored: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def study(
    corpus: np.ndarray,
    queries: np.ndarray,
    *,
    k: int = 10,
    exclude: np.ndarray | None = None,
    dims: Sequence[int] = (256, 128, 64, 32),
) -> list[Row]:
    """Recall@k of each scheme. `exclude[q]` is the corpus row of query q itself (or -1): a chunk used as
    its own query would otherwise be a free hit for every scheme."""
    import numpy as np

    n, dim = corpus.shape
    if n <= k:
        raise SpaceError(f"The study needs more than k={k} chunks, the collection has {n} - ingest more documents.")
    corpus = np.ascontiguousarray(corpus, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)

    def exact(q: np.ndarray) -> np.ndarray:
        return q @ corpus.T

    truth = _search(exact, queries, k, exclude)
    rows = [_row("float32", 4 * dim, dim, truth, truth, k)]
    half = corpus.astype(np.float16)
    rows.append(
        _row("float16", 2 * dim, dim, _search(lambda q: q @ half.T.astype(np.float32), queries, k, exclude), truth, k)
    )
    for name, nbytes, scorer in _quantised(corpus):
        rows.append(_row(name, nbytes, dim, _search(scorer, queries, k, exclude), truth, k))
        found = _search(scorer, queries, RESCORE * k, exclude)
        rows.append(
            _row(f"{name} + float32 rescore", nbytes, dim, _rescore(found, queries, corpus, k, exclude), truth, k, True)
        )
    from space.map import pca_basis

    dims = [d for d in dims if d < dim]
    basis = pca_basis(corpus, max(dims)) if dims else None  # one fit serves every size: components are nested
    for d in dims:
        for name, scorer in _reduced(corpus, d, basis):
            rows.append(_row(name, 4 * d, dim, _search(scorer, queries, k, exclude), truth, k))
    return rows


def _quantised(corpus: np.ndarray) -> list[tuple[str, float, Scorer]]:
    import numpy as np

    # int8: one scale per dimension, calibrated on the corpus's own range (symmetric around its centre)
    lo, hi = corpus.min(0), corpus.max(0)
    scale = np.maximum(hi - lo, 1e-12) / 255.0
    codes = np.round((corpus - lo) / scale).astype(np.uint8)
    dequant = codes.astype(np.float32) * scale + lo
    # binary: one sign bit per dimension, compared by Hamming distance (= dot product of the +-1 vectors)
    signs = np.where(corpus > 0, 1.0, -1.0).astype(np.float32)
    dim = corpus.shape[1]
    return [
        ("int8", float(dim), lambda q: q @ dequant.T),
        ("binary", dim / 8, lambda q: np.where(q > 0, 1.0, -1.0).astype(np.float32) @ signs.T),
    ]


def _reduced(corpus: np.ndarray, d: int, basis: tuple[np.ndarray, np.ndarray]) -> list[tuple[str, Scorer]]:
    import numpy as np

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    cut = unit(corpus[:, :d])
    mean, comps = basis[0], basis[1][:d]
    reduced = unit((corpus - mean) @ comps.T)
    return [
        (f"truncate to {d} dims", lambda q: unit(q[:, :d]) @ cut.T),
        (f"PCA to {d} dims", lambda q: unit((q - mean) @ comps.T) @ reduced.T),
    ]


def _search(scorer: Scorer, queries: np.ndarray, k: int, exclude: np.ndarray | None) -> np.ndarray:
    """(m, k) corpus rows of the top-k by `scorer`, best first."""
    import numpy as np

    out = []
    for s in range(0, len(queries), QUERY_BLOCK):
        scores = np.asarray(scorer(queries[s : s + QUERY_BLOCK]), dtype=np.float32)
        if exclude is not None:
            own = exclude[s : s + QUERY_BLOCK]
            hit = own >= 0
            scores[np.flatnonzero(hit), own[hit]] = -np.inf
        kk = min(k, scores.shape[1])
        top = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out.append(np.take_along_axis(top, order, axis=1))
    return np.vstack(out)


def _rescore(
    candidates: np.ndarray, queries: np.ndarray, corpus: np.ndarray, k: int, exclude: np.ndarray | None
) -> np.ndarray:
    import numpy as np

    exact = np.einsum("md,mcd->mc", queries, corpus[candidates])
    if exclude is not None:  # a small corpus has fewer rows than candidates wanted, so the query's own row is back
        exact[candidates == exclude[:, None]] = -np.inf
    order = np.argsort(-exact, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(candidates, order, axis=1)


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean share of each query's exact top-k that `found` also returns in its top k."""
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth)]
    return sum(hits) / (k * len(hits))


def _row(name: str, nbytes: float, dim: int, found, truth, k: int, rescored: bool = False) -> Row:
    return Row(name, nbytes, recall_at_k(found, truth, k), k, 4 * dim / nbytes, rescored)
