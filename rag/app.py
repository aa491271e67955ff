"""The composition root: builds the heavy objects from Settings. Everything else receives them."""

from __future__ import annotations

from datetime import datetime, timezone

from rag.embedder import Embedder
from rag.settings import Settings
from rag.store import Store


def build_embedder(settings: Settings) -> Embedder:
    return Embedder(settings.embed_model, batch_size=settings.embed_batch_size)


def build_store(settings: Settings) -> Store:
    return Store(settings)


def build_engine(settings: Settings, embedder: Embedder | None = None, store: Store | None = None):
    """An answer engine over `settings.collection`; the LLM is resolved only when first needed."""
    from rag.engine import Engine
    from rag.llm import resolve_llm
    from rag.retriever import Retriever

    embedder = embedder or build_embedder(settings)
    retriever = Retriever(settings, embedder, store or build_store(settings))
    return Engine(settings, retriever, lambda: resolve_llm(settings), embedder=embedder)


def collection_status(settings: Settings, store: Store, only: str | None = None) -> list[dict]:
    """One dict per collection: counts, how it was built, which folders feed it."""
    from ingest.manifest import Manifest

    rows = []
    for info in store.list():
        if only and info.name != only:
            continue
        manifest = Manifest(settings.state_path, info.id)
        try:
            entries = manifest.entries()
            last = max((e.indexed_at for e in entries.values()), default=None)
            rows.append(
                {
                    "name": info.name,
                    "chunks": info.count,
                    "files": sum(1 for e in entries.values() if e.state == "done"),
                    "built_with": {k: v for k, v in info.fingerprint.items() if k != "complete"},
                    "roots": manifest.roots(),
                    "last_indexed": datetime.fromtimestamp(last, timezone.utc).isoformat() if last else None,
                }
            )
        finally:
            manifest.close()
    return rows
