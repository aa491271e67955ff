"""Dropping files from the index (`rag remove`, deleted files) and the small helpers the sync shares."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ingest.images import remove_images
from ingest.lock import Holder, write_lock
from ingest.manifest import Manifest
from ingest.recovery import recover, sweep_orphans
from rag.errors import ConfigError
from rag.index import generation
from rag.index.lexical import LexicalIndex
from rag.index.store import Store
from rag.settings import Settings
from rag.types import FileResult, FileStatus, IngestReport


def file_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def drop_file(col, manifest: Manifest, lexical: LexicalIndex, path: str) -> None:
    """Remove a file from the index: marked first, so a crash mid-way is finished by recovery."""
    manifest.mark_removing([path])
    col.delete(where={"path": path})
    lexical.delete_path(path)
    manifest.forget([path])


def remove_paths(
    paths: list[Path],
    settings: Settings,
    store: Store,
    *,
    wait: bool = True,
    on_wait: Callable[[Holder], None] | None = None,
) -> IngestReport:
    """Drop files (or whole folders) from the collection's index; the files themselves are untouched.

    Holds the collection's writer lock (`wait`/`on_wait` as for Sync) and first finishes whatever
    a killed writer left half-done.
    """
    with write_lock(settings.home, settings.collection, wait=wait, on_wait=on_wait):
        try:
            return _remove_paths(paths, settings, store)
        finally:
            generation.bump(settings.home, settings.collection)


def _remove_paths(paths: list[Path], settings: Settings, store: Store) -> IngestReport:
    started = time.perf_counter()
    col = store.get_for_write(settings.collection)
    sweep_orphans(settings, store)
    report = IngestReport(collection=settings.collection)
    with (
        Manifest(settings.state_path, str(col.id)) as manifest,
        LexicalIndex(settings.lexical_path, str(col.id)) as lexical,
    ):
        recover(col, manifest, lexical)
        targets = [os.path.abspath(p) for p in paths]
        entries = manifest.entries()
        hits = sorted(p for p in entries if under(p, targets))
        removed_images = remove_images(targets, settings, store, report)
        if not hits and not removed_images:
            raise ConfigError(
                f"Nothing indexed under {', '.join(targets)} in collection {settings.collection!r}; "
                "see `rag status` for what is indexed."
            )
        for path in hits:
            drop_file(col, manifest, lexical, path)
            report.totals.chunks_deleted += entries[path].n_chunks
            report.add(FileResult(path, FileStatus.REMOVED, "removed on request", chunks=entries[path].n_chunks))
    report.totals.seconds = time.perf_counter() - started
    return report
