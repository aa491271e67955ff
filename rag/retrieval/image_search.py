"""Searching the image collection that sits beside a text collection (`<name>__images`).

The edges (`rag ask`, `rag space`, the chat UI) call these functions; the answer engine itself is
untouched: images are shown next to the text sources, never sent to a text-only LLM.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rag.errors import FingerprintMismatch
from rag.index.store import IMAGES_SUFFIX  # names may not contain "__", so `<name>__images` never clashes with a user's

if TYPE_CHECKING:
    import numpy as np

    from rag.protocols import Collection, ImageEncoder, VectorStore
    from rag.settings import Settings


def images_collection(name: str) -> str:
    return name + IMAGES_SUFFIX


@dataclass
class ImageHit:
    """An indexed image and its cosine similarity to the query."""

    id: str
    path: str
    score: float
    page: int | None = None  # for an image inside a paged document
    width: int = 0
    height: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "score": round(self.score, 4)}


def image_fingerprint(embedder: ImageEncoder) -> dict[str, Any]:
    """How an image collection is built; stored with it and checked on every open."""
    return {"embed_model": embedder.model_id, "dim": embedder.dim, "normalized": True, "kind": "images",
            "max_side": embedder.max_side}  # fmt: skip


def check_model(store: VectorStore, name: str, col: Collection, embedder: ImageEncoder) -> None:
    """Refuse an image collection embedded with another model (its scores would be noise)."""
    from rag.index.store import read_fingerprint

    built = read_fingerprint(col.metadata).get("embed_model")
    if built != embedder.model_id:
        raise FingerprintMismatch(
            f"The images of collection {name!r} were embedded with {built!r}, but `image_model` is "
            f"{embedder.model_id!r}. Rebuild with `rag ingest PATH --collection {name} --rebuild`, or set "
            "`image_model` back."
        )


def search_images(store: VectorStore, name: str, vector: np.ndarray, top_k: int = 10) -> list[ImageHit]:
    """The `top_k` images of collection `name` nearest a vector of the image model's space ([] if none)."""
    col = store.find(images_collection(name))
    if col is None or col.count() == 0:
        return []
    got = col.query(
        query_embeddings=[vector.tolist()], n_results=min(top_k, col.count()), include=["metadatas", "distances"]
    )
    rows = zip(got["ids"][0], got["metadatas"][0], got["distances"][0])
    return [_hit(cid, meta or {}, dist) for cid, meta, dist in rows]


def _hit(cid: str, meta: dict[str, Any], dist: float) -> ImageHit:
    page = int(meta.get("page") or 0) or None
    return ImageHit(cid, str(meta.get("path", "?")), 1.0 - float(dist), page,
                    int(meta.get("width") or 0), int(meta.get("height") or 0))  # fmt: skip


def matching_images(
    question: str, embedder: ImageEncoder, store: VectorStore, name: str, threshold: float, top_k: int = 3
) -> list[ImageHit]:
    """Images to show next to an answer: the nearest ones scoring at least `threshold` ([] when none does).

    Called by the edges after the engine answered; the engine and the LLM never see images.
    """
    col = store.find(images_collection(name))
    if col is None or col.count() == 0:
        return []
    check_model(store, name, col, embedder)
    hits = search_images(store, name, embedder.embed_texts([question])[0], top_k)
    return [h for h in hits if h.score >= threshold]


def images_for_answer(
    settings: Settings,
    store: VectorStore,
    question: str,
    rewritten: str | None = None,
    *,
    embedder: ImageEncoder | None,
) -> list[ImageHit]:
    """The edges' one call after an answer: matching images of `settings.collection`, [] when images are off.

    `rewritten` is the standalone query of a follow-up (what retrieval searched for), used when given.
    `embedder` comes from the composition root (`rag.app.build_image_embedder`: None when images are
    off); required, so an edge cannot forget it and silently show no images.
    """
    if embedder is None:
        return []
    return matching_images(rewritten or question, embedder, store, settings.collection, settings.image_threshold)
