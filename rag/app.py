"""The composition root: builds the heavy objects from Settings. Everything else receives them."""

from __future__ import annotations

from rag.index.store import Store
from rag.models.embedder import Embedder
from rag.settings import Settings


def build_embedder(settings: Settings) -> Embedder:
    return Embedder(
        settings.embed_model,
        batch_size=settings.embed_batch_size,
        precision=settings.embed_precision,
        cache_dir=settings.model_cache,
    )


def build_store(settings: Settings) -> Store:
    return Store(settings)


def build_engine(settings: Settings, embedder: Embedder | None = None, store: Store | None = None):
    """An answer engine over `settings.collection`; the LLM is resolved only when first needed."""
    from rag.engine import Engine
    from rag.llm import resolve_llm
    from rag.retrieval.retriever import Retriever

    embedder = embedder or build_embedder(settings)
    retriever = Retriever(settings, embedder, store or build_store(settings))
    return Engine(settings, retriever, lambda: resolve_llm(settings), embedder=embedder)


def build_image_embedder(settings: Settings):
    """The CLIP-style image embedder, or None when `image_model` is empty (images are off)."""
    if not settings.image_model:
        return None
    from rag.models.image_embedder import ImageEmbedder

    return ImageEmbedder(settings.image_model, max_pixels=settings.image_max_pixels)
