"""Read a collection's stored vectors, texts and metadata out of Chroma (no re-embedding)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.errors import EmptyCollection

if TYPE_CHECKING:
    import numpy as np
    from rag.index.store import Store

PAGE = 5000  # rows per Chroma read by id: big enough to amortise a round trip, small enough for a server's limits
PREVIEW_CHARS = 300


@dataclass
class Vectors:
    """Chunks of one collection in a fixed order: ids, normalised float32 vectors, paths, texts, metadata."""

    collection: str
    ids: list[str]
    vectors: np.ndarray
    paths: list[str]
    texts: list[str]
    metas: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0  # chunks in the collection; more than len(ids) when this is a sample

    def __len__(self) -> int:
        return len(self.ids)

    def previews(self, chars: int = PREVIEW_CHARS) -> list[str]:
        return [preview(t, chars) for t in self.texts]


def preview(text: str, chars: int = PREVIEW_CHARS) -> str:
    """The first `chars` characters of a chunk on one line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= chars else flat[: chars - 1] + "…"


def open_collection(store: Store, name: str):
    """The collection, refusing a missing (CollectionNotFound) or empty one with the command that fills it."""
    col = store.get(name)
    if col.count() == 0:
        raise EmptyCollection(
            f"Collection {name!r} holds no chunks yet - add documents with `rag ingest PATH --collection {name}`."
        )
    return col


def all_ids(col) -> list[str]:
    """Every chunk id of the collection, in one call: ids alone are small (100k ids ~ 5 MB), and Chroma's
    offset paging re-scans from the start for each page (27 s for 100k ids, against 4.7 s in one call)."""
    return list(col.get(include=[])["ids"])


def fingerprint(ids: Sequence[str]) -> str:
    """A short digest of the collection's content. Chunk ids hash path + file content + index, so any
    added, changed or removed file changes the set of ids."""
    digest = hashlib.sha1(str(len(ids)).encode())
    for cid in sorted(ids):
        digest.update(cid.encode())
    return digest.hexdigest()[:16]


def read_vectors(
    store: Store,
    name: str,
    *,
    ids: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
    texts: bool = True,
) -> Vectors:
    """Read chunks of collection `name`: the given `ids`, a random sample of `limit`, or all of them.

    Raises:
        CollectionNotFound, EmptyCollection: naming `rag ingest`.
    """
    import numpy as np

    col = open_collection(store, name)
    total = col.count()
    if ids is None and limit is not None and limit < total:
        every = all_ids(col)
        pick = np.sort(np.random.default_rng(seed).choice(len(every), size=limit, replace=False))
        ids = [every[i] for i in pick]
    include = ["embeddings", "metadatas"] + (["documents"] if texts else [])
    out_ids, vecs, metas, docs = _read_by_ids(col, list(ids) if ids is not None else all_ids(col), include)
    if not out_ids:
        raise EmptyCollection(f"None of the requested chunks are in {name!r} - re-run the command.")
    matrix = np.asarray(np.concatenate(vecs), dtype=np.float32)
    return Vectors(
        collection=name,
        ids=out_ids,
        vectors=matrix,
        paths=[str((m or {}).get("path", "?")) for m in metas],
        texts=docs if texts else [""] * len(out_ids),
        metas=[dict(m or {}) for m in metas],
        total=total,
    )


def _read_by_ids(col, wanted: list[str], include: list[str]):
    ids, vecs, metas, docs = [], [], [], []
    for start in range(0, len(wanted), PAGE):
        _collect(col.get(ids=wanted[start : start + PAGE], include=include), ids, vecs, metas, docs)
    return ids, vecs, metas, docs


def _collect(got: dict, ids: list, vecs: list, metas: list, docs: list) -> None:
    import numpy as np

    if not got["ids"]:
        return
    ids.extend(got["ids"])
    vecs.append(np.asarray(got["embeddings"], dtype=np.float32))
    metas.extend(got.get("metadatas") or [{}] * len(got["ids"]))
    documents = got.get("documents")
    docs.extend(documents if documents is not None else [""] * len(got["ids"]))
