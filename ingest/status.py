"""What each collection holds and how it was built (`rag status`, the UI's status line)."""

from __future__ import annotations

from datetime import datetime, timezone

from ingest.manifest import Manifest
from rag.protocols import VectorStore
from rag.settings import Settings


def collection_status(settings: Settings, store: VectorStore, only: str | None = None) -> list[dict]:
    """One dict per collection: counts, how it was built, which folders feed it."""
    rows = []
    for info in store.list():
        if only and info.name != only:
            continue
        with Manifest(settings.state_path, info.id) as manifest:
            entries = manifest.entries()
            last = max((e.indexed_at for e in entries.values()), default=None)
            rows.append(
                {
                    "name": info.name,
                    "chunks": info.count,
                    "images": _images(store, info.name),
                    "files": sum(1 for e in entries.values() if e.state == "done"),
                    "built_with": {k: v for k, v in info.fingerprint.items() if k != "complete"},
                    "roots": manifest.roots(),
                    "last_indexed": datetime.fromtimestamp(last, timezone.utc).isoformat() if last else None,
                }
            )
    return rows


def _images(store: VectorStore, name: str) -> int:
    from rag.retrieval.image_search import images_collection

    col = store.find(images_collection(name))
    return col.count() if col is not None else 0
