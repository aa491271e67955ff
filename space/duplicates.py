"""Near-duplicates: chunk pairs above a cosine threshold across different files, grouped per file pair."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from space.errors import SpaceError

if TYPE_CHECKING:
    from space.vectors import Vectors

BLOCK_CELLS = 25_000_000  # similarities per matrix product (100 MB of float32): 250 rows at 100k chunks
MAX_PAIRS_SHOWN = 5


@dataclass
class ChunkPair:
    a: str  # chunk id in file_a
    b: str  # chunk id in file_b
    score: float
    preview: str


@dataclass
class FilePair:
    file_a: str
    file_b: str
    pairs: list[ChunkPair] = field(default_factory=list)
    chunks_a: int = 0  # chunks of file_a that have a near-copy in file_b
    chunks_b: int = 0
    total_a: int = 0  # all chunks of file_a
    total_b: int = 0

    @property
    def best(self) -> float:
        return max(p.score for p in self.pairs)

    def to_dict(self) -> dict:
        return {
            "file_a": self.file_a,
            "file_b": self.file_b,
            "n_pairs": len(self.pairs),
            "chunks_a": f"{self.chunks_a}/{self.total_a}",
            "chunks_b": f"{self.chunks_b}/{self.total_b}",
            "best": round(self.best, 4),
            "pairs": [p.__dict__ for p in self.pairs[:MAX_PAIRS_SHOWN]],
        }


def find_duplicates(vecs: Vectors, threshold: float = 0.95) -> list[FilePair]:
    """Chunk pairs of different files with cosine >= `threshold`, grouped per file pair, most shared first."""
    import numpy as np

    if not -1.0 <= threshold <= 1.0:
        raise SpaceError(f"--threshold {threshold} is not a cosine similarity - use a value in -1..1, e.g. 0.95.")
    paths = np.asarray(vecs.paths, dtype=object)
    _, file_of = np.unique(paths, return_inverse=True)
    v = vecs.vectors
    found: dict[tuple[str, str], FilePair] = {}
    block = max(64, min(4096, BLOCK_CELLS // max(1, len(v))))
    for start in range(0, len(v), block):
        # only the upper triangle (j > i): each unordered pair once
        sims = v[start : start + block] @ v[start:].T
        rows, cols = np.nonzero(sims >= threshold)
        cols_abs = cols + start
        rows_abs = rows + start
        keep = (cols_abs > rows_abs) & (file_of[rows_abs] != file_of[cols_abs])
        for i, j, s in zip(rows_abs[keep], cols_abs[keep], sims[rows[keep], cols[keep]]):
            _add(found, vecs, int(i), int(j), float(s))
    counts = {}
    for p in vecs.paths:
        counts[p] = counts.get(p, 0) + 1
    out = list(found.values())
    for fp in out:
        fp.pairs.sort(key=lambda p: -p.score)
        fp.chunks_a = len({p.a for p in fp.pairs})
        fp.chunks_b = len({p.b for p in fp.pairs})
        fp.total_a, fp.total_b = counts[fp.file_a], counts[fp.file_b]
    return sorted(out, key=lambda fp: (-len(fp.pairs), -fp.best, fp.file_a))


def _add(found: dict, vecs: Vectors, i: int, j: int, score: float) -> None:
    if vecs.paths[i] > vecs.paths[j]:
        i, j = j, i
    key = (vecs.paths[i], vecs.paths[j])
    pair = found.setdefault(key, FilePair(*key))
    pair.pairs.append(ChunkPair(vecs.ids[i], vecs.ids[j], score, vecs.texts[i][:160]))
