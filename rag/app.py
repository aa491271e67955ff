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
