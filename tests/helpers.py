"""Small helpers shared by the ingestion tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from rag.index.store import Store

from ingest.pipeline import Sync
from rag.settings import Settings

DOCS = Path(__file__).resolve().parent / "data" / "docs"


def copy_docs(dest: Path) -> Path:
    shutil.copytree(DOCS, dest)
    return dest


def sync(settings: Settings, embedder, paths, *, rebuild: bool = False):
    return Sync(settings, embedder, Store(settings)).run([Path(p) for p in paths], rebuild=rebuild)


def stored(settings: Settings) -> dict[str, dict]:
    """id -> metadata (with the document text under 'text') of every chunk in the collection."""
    col = Store(settings).get(settings.collection)
    got = col.get(include=["metadatas", "documents"])
    return {i: {**m, "text": d} for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])}


def by_path(chunks: dict[str, dict]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for cid, meta in chunks.items():
        out.setdefault(meta["path"], set()).add(cid)
    return out
