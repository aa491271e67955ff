"""The Documents tab as plain functions: upload + ingest, list, remove, re-sync, collections.

Ingestion and removal go through ingest.pipeline (nothing of theirs is redone here); the UI
runs them one at a time (one gradio concurrency group), so two syncs never share a collection.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.progress import NullProgress
from rag.errors import ConfigError
from rag.settings import Settings
from rag.types import IngestReport
from ui.uploads import SavedUploads, UploadLimits, save_uploads, upload_dir

OnProgress = Callable[[float, str], None]  # (fraction done 0..1, what is happening)


@dataclass(frozen=True)
class Document:
    """One indexed file of a collection."""

    path: str
    chunks: int
    indexed_at: float  # unix time


class CallbackProgress(NullProgress):
    """Turns ingest progress into (fraction, description) calls, e.g. for gr.Progress."""

    def __init__(self, on_progress: OnProgress) -> None:
        self.on_progress = on_progress
        self.files = self.files_done = self.chunks = self.chunks_done_n = 0

    def start(self, files: int) -> None:
        self.files = files
        self._emit()

    def file_done(self) -> None:
        self.files_done += 1
        self._emit()

    def add_chunks(self, n: int) -> None:
        self.chunks += n

    def chunks_done(self, n: int) -> None:
        self.chunks_done_n += n
        self._emit()

    def _emit(self) -> None:
        # reading files is fast, embedding is the slow part: weigh them 1:4
        read = self.files_done / self.files if self.files else 1.0
        embedded = self.chunks_done_n / self.chunks if self.chunks else read
        what = f"{self.files_done}/{self.files} files read, {self.chunks_done_n}/{self.chunks} chunks embedded"
        self.on_progress(min(0.2 * read + 0.8 * embedded, 1.0), what)


def for_collection(settings: Settings, collection: str) -> Settings:
    return settings.model_copy(update={"collection": collection})


def collections(store) -> list[str]:
    """Names of the existing collections."""
    return [c.name for c in store.list()]


def list_documents(settings: Settings, store, collection: str) -> list[Document]:
    """The files indexed in `collection` (none when it does not exist yet), by path."""
    from rag.retrieval.image_search import images_collection

    from ingest.manifest import Manifest

    found: dict[str, Document] = {}
    # image files live in the image collection's manifest (an image counts as one "chunk"); a PDF with
    # pictures is in both, listed once with its text chunks
    for col in (store.find(collection), store.find(images_collection(collection))):
        if col is None:
            continue
        with Manifest(settings.state_path, str(col.id)) as manifest:
            for e in manifest.entries().values():
                if e.state == "done" and e.path not in found:
                    found[e.path] = Document(e.path, e.n_chunks, e.indexed_at)
    return sorted(found.values(), key=lambda d: d.path)


def roots(settings: Settings, store, collection: str) -> list[str]:
    """The folders and files `collection` was built from (what re-sync offers)."""
    from ingest.manifest import Manifest

    col = store.find(collection)
    if col is None:
        return []
    with Manifest(settings.state_path, str(col.id)) as manifest:
        return manifest.roots()


def ingest_uploads(
    settings: Settings,
    embedder,
    store,
    collection: str,
    files: list,
    limits: UploadLimits,
    on_progress: OnProgress | None = None,
    image_embedder=None,
) -> tuple[IngestReport | None, SavedUploads]:
    """Save uploads under RAG_HOME/uploads/<collection>/ and sync that folder into the collection.

    Image files are saved only when `limits.images` (images on) and go to `<collection>__images`;
    `image_embedder` is the UI's shared one (None: the sync builds its own from `settings`).
    Returns the ingest report (None when nothing could be saved) and what was saved or refused.
    """
    from ingest.lock import write_lock

    dest = upload_dir(settings.home, collection)
    # one writer lock over saving and syncing: a `rag ingest` of the same folder never sees half a copy
    with write_lock(settings.home, collection, on_wait=_waiting(on_progress)):
        saved = save_uploads(list(files or []), dest, limits)
        if not saved.saved:
            return None, saved
        return sync_paths(settings, embedder, store, collection, [dest], on_progress, image_embedder), saved


def _waiting(on_progress: OnProgress | None):
    """Shows who holds the writer lock while an upload waits for it."""
    if on_progress is None:
        return None
    return lambda holder: on_progress(0.0, f"waiting for {holder.describe()} to finish writing this collection")


def resync(
    settings: Settings, embedder, store, collection: str, folder: str, on_progress: OnProgress | None = None
) -> IngestReport:
    """Sync a folder (new, changed and deleted files) into `collection`.

    Only a folder the collection was built from, or one under `settings.ui_folders`, may be
    synced: the UI (and its API) must not index, and then read back, any path on the server.

    Raises:
        ConfigError: no folder given, it is not allowed, or it does not exist.
    """
    folder = (folder or "").strip()
    if not folder:
        raise ConfigError("Choose a folder to re-sync (one the collection was built from).")
    _refuse_nul(folder)
    path = Path(folder).expanduser()
    allowed = allowed_folders(settings, store, collection)
    if not _inside_any(path, allowed):
        shown = ", ".join(str(a) for a in allowed) or "none yet"
        raise ConfigError(
            f"{folder} is not a folder collection {collection!r} was built from (allowed: {shown}). "
            "To re-sync it from the UI, add it to `ui_folders` in the server's rag.toml (or RAG_UI_FOLDERS), "
            f"or run `rag ingest PATH --collection {collection}` on the server."
        )
    if not path.exists():
        raise ConfigError(f"{path} does not exist on the machine running ragspace - check the path.")
    return sync_paths(settings, embedder, store, collection, [path], on_progress)


def _refuse_nul(path: str) -> None:
    # no path holds a NUL, and os calls raise ValueError ("embedded null byte") on one: say so instead
    if "\x00" in path:
        raise ConfigError("That path holds a NUL character, which no file name can contain - check the path.")


def allowed_folders(settings: Settings, store, collection: str) -> list[Path]:
    """What the UI may re-sync in `collection`: the folders it was built from, plus `ui_folders`."""
    return [Path(p) for p in roots(settings, store, collection)] + [Path(p).expanduser() for p in settings.ui_folders]


def _inside_any(path: Path, folders: list[Path]) -> bool:
    # resolved, so "root/../elsewhere" and symlinks out of a root count as where they lead
    target = path.resolve()
    return any(target == f.resolve() or target.is_relative_to(f.resolve()) for f in folders)


def sync_paths(
    settings: Settings,
    embedder,
    store,
    collection: str,
    paths: list[Path],
    on_progress: OnProgress | None = None,
    image_embedder=None,
) -> IngestReport:
    from ingest.pipeline import Sync

    progress = CallbackProgress(on_progress) if on_progress else NullProgress()
    try:
        sync = Sync(for_collection(settings, collection), embedder, store, progress, on_wait=_waiting(on_progress),
                    image_embedder=image_embedder)  # fmt: skip
        return sync.run(paths)  # takes the collection's writer lock (ingest.lock)
    finally:
        progress.close()


def remove_document(settings: Settings, store, collection: str, path: str) -> IngestReport:
    """Drop a file from the index; an uploaded copy under RAG_HOME/uploads is deleted too.

    Files elsewhere are never deleted (they are the user's own).

    Raises:
        ConfigError: nothing is indexed under `path`.
    """
    from ingest.pipeline import remove_paths

    if not path:
        raise ConfigError("Choose a document to remove.")
    _refuse_nul(path)
    report = remove_paths([Path(path)], for_collection(settings, collection), store)
    uploads = os.path.abspath(upload_dir(settings.home, collection))
    for result in report.files:
        if os.path.abspath(result.path).startswith(uploads + os.sep):
            Path(result.path).unlink(missing_ok=True)
    return report
