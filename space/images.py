"""Across modalities: text -> images, image -> images (and -> text chunks when both share the space),
and zero-shot classification of an image by labels (`rag space similar --images/--image`, `rag space classify`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ConfigError, EmptyCollection
from rag.models.image_decode import BadImage
from rag.retrieval.image_search import ImageHit, check_model, images_collection, search_images
from space.errors import SpaceError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from rag.index.store import Store
    from rag.models.image_embedder import ImageEmbedder
    from rag.settings import Settings
    from space.similarity import Hit

IMAGES_OFF = (
    "Images are off: `image_model` is empty. Set it (RAG_IMAGE_MODEL, rag.toml) to a CLIP model such as "
    "clip-ViT-B-32 or a local sentence-transformers CLIP directory, then `rag ingest` your folder again."
)


@dataclass
class ImageNeighbours:
    """What an image query found: images, and text chunks when the text collection shares the image space."""

    images: list[ImageHit]
    chunks: list[Hit] = field(default_factory=list)
    note: str | None = None  # why no text chunks were compared


def image_embedder(settings: Settings) -> ImageEmbedder:
    """The configured image embedder, or ConfigError saying how to turn images on."""
    from rag.app import build_image_embedder

    emb = build_image_embedder(settings)
    if emb is None:
        raise ConfigError(IMAGES_OFF)
    return emb


def checked_images(settings: Settings, store: Store, emb: ImageEmbedder) -> None:
    """Refuse a collection without indexed images, or whose images another model embedded."""
    name = settings.collection
    col = store.find(images_collection(name))
    if col is None or col.count() == 0:
        raise EmptyCollection(
            f"Collection {name!r} holds no images - with `image_model` set, run `rag ingest PATH --collection {name}`."
        )
    check_model(store, name, col, emb)


def load_image(emb: ImageEmbedder, path: Path) -> Image.Image:
    """A query image from disk, decoded under the same pixel limit as ingestion."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SpaceError(f"Cannot read {path}: {exc.strerror or exc} - check the path.") from None
    try:
        return emb.decode(data)
    except BadImage as exc:
        raise SpaceError(f"Cannot use {path} as an image: {exc.reason}.") from None


def text_to_images(settings: Settings, store: Store, emb: ImageEmbedder, text: str, top_k: int) -> list[ImageHit]:
    checked_images(settings, store, emb)
    return search_images(store, settings.collection, emb.embed_texts([text])[0], top_k)


def image_to_all(settings: Settings, store: Store, emb: ImageEmbedder, path: Path, top_k: int) -> ImageNeighbours:
    """The images nearest an image file, and the nearest text chunks when the text collection was embedded
    with the same model (a text model's vectors live in another space: comparing them would be noise)."""
    from rag.index.store import read_fingerprint

    checked_images(settings, store, emb)
    vector = emb.embed_images([load_image(emb, path)])[0]
    found = ImageNeighbours(search_images(store, settings.collection, vector, top_k))
    text_col = store.find(settings.collection)
    text_model = read_fingerprint(text_col.metadata).get("embed_model") if text_col is not None else None
    if text_col is None or text_col.count() == 0:
        found.note = "no text chunks to compare"
    elif text_model != emb.model_id:
        found.note = (f"text chunks not compared: they were embedded with {text_model!r}, which does not share "
                      f"a space with the image model {emb.model_id!r}")  # fmt: skip
    else:
        found.chunks = _nearest_chunks(store, settings.collection, vector, top_k)
    return found


def _nearest_chunks(store: Store, name: str, vector: np.ndarray, top_k: int) -> list[Hit]:
    from space.similarity import similar

    return similar(store, name, vector, top_k)


def parse_labels(labels: str) -> list[str]:
    """'cat, dog,lion' -> ['cat', 'dog', 'lion'] (blanks dropped, repeats once)."""
    out = list(dict.fromkeys(x.strip() for x in labels.split(",") if x.strip()))
    if len(out) < 2:
        raise SpaceError(f"{labels!r} gives fewer than two labels - list them with commas, e.g. --labels 'cat,dog'.")
    return out


def classify(emb: ImageEmbedder, path: Path, labels: Sequence[str]) -> list[tuple[str, float, float]]:
    """Zero-shot: (label, probability, cosine) for an image file, most likely first."""
    return emb.classify(load_image(emb, path), list(labels))
