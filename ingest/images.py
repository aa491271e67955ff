"""Images in the sync: image files go to the collection's image collection (`<name>__images`).

Same rules as text (ingest/pipeline.py drives one walk and hands image files here): unchanged files
are not decoded again, changed ones re-embedded, deleted ones removed, a broken one reported with
its reason while its previously indexed version is kept. The same write-ahead manifest protocol
(pending -> Chroma -> done) makes a killed run converge on the next one.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.manifest import Entry, Manifest
from rag.errors import FingerprintMismatch
from rag.index.store import REBUILD_SUFFIX
from rag.models.image_decode import BadImage, is_image_name
from rag.retrieval.image_search import check_model, image_fingerprint, images_collection
from rag.types import FileResult, FileStatus, IngestReport

if TYPE_CHECKING:
    from PIL import Image

    from ingest.walk import Found
    from rag.protocols import ImageEncoder, VectorStore
    from rag.settings import Settings

log = logging.getLogger(__name__)

IMAGES_OFF = "an image: images are not indexed while `image_model` is empty (set it to a CLIP model, see README)"
KEPT = " (the previously indexed version is kept)"
BATCH = 16  # decoded images held before one model call (each at most 512 px a side, < 1 MB)


def is_image(path: Path) -> bool:
    return is_image_name(path.name)


def image_id(path: str, digest: str, index: int = 0) -> str:
    # deterministic, like chunk ids: a re-run after a crash overwrites instead of duplicating
    return "img-" + hashlib.blake2b(f"{path}\0{digest}\0{index}".encode(), digest_size=12).hexdigest()


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


@dataclass
class _Queued:
    path: str
    size: int
    mtime_ns: int
    hash: str
    image: Image.Image
    index: int = 0  # position among the file's images (a PDF or DOCX holds several)
    page: int | None = None
    n_images: int = 1


class ImageSync:
    """The image half of one sync run; `pipeline.Sync` opens it, feeds it image files, then finishes it."""

    def __init__(self, settings: Settings, embedder: ImageEncoder, store: VectorStore) -> None:
        self.settings, self.embedder, self.store = settings, embedder, store
        self.name = images_collection(settings.collection)
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        self._queue: list[_Queued] = []
        self._remaining: dict[str, int] = {}  # images of a file not yet written; `done` when it reaches 0
        self._seen: set[str] = set()
        self._old_manifest: Manifest | None = None
        self._manifest: Manifest | None = None

    def open(self, report: IngestReport, *, rebuild: bool) -> None:
        self.report = report
        fp = image_fingerprint(self.embedder)
        if rebuild:
            old = self.store.find(self.name)
            if old is not None:
                self._old_manifest = Manifest(self.settings.state_path, str(old.id))
            self.col = self.store.begin_rebuild(self.name, fp)
        else:
            self.col = self._open_checked(fp)
        self._manifest = Manifest(self.settings.state_path, str(self.col.id))
        self._recover()
        self.entries = self.manifest.entries()

    def _open_checked(self, fp: dict):
        try:
            return self.store.open(self.name, fp)
        except FingerprintMismatch:
            # say it with the collection the user knows (and `--rebuild` on it rebuilds the images too)
            check_model(self.store, self.settings.collection, self.store.find(self.name), self.embedder)
            raise

    @property
    def manifest(self) -> Manifest:
        """The image collection's manifest (`open` opens it)."""
        if self._manifest is None:
            raise RuntimeError("ImageSync.open must run before its files are handled")
        return self._manifest

    def close(self) -> None:
        for m in (self._manifest, self._old_manifest):
            if m is not None:
                m.close()

    def _recover(self) -> None:
        """Redo half-written files; when Chroma and the manifest disagree, re-index the files that differ."""
        pending = self.manifest.pending()
        for path in pending:
            self.col.delete(where={"path": path})
        self.manifest.forget(pending)
        if self.col.count() == self.manifest.total_chunks():
            return
        got = self.col.get(include=["metadatas"])
        counts: dict[tuple[str, str], int] = {}
        for meta in got["metadatas"]:
            key = (str(meta.get("path")), str(meta.get("file_hash")))
            counts[key] = counts.get(key, 0) + 1
        entries = self.manifest.entries()
        good = {p for p, e in entries.items() if counts.get((p, e.hash)) == e.n_chunks}
        stale = sorted({p for p, _ in counts if p not in good} | (set(entries) - good))
        log.warning("image index and manifest disagreed; re-indexing %d image(s)", len(stale))
        for path in stale:
            self.col.delete(where={"path": path})
        self.manifest.forget(stale)

    # -- one file -----------------------------------------------------------------------------

    def one(self, f: Found) -> FileResult:
        """Handle one image file found by the walk."""
        path = str(f.path)
        self._seen.add(path)
        entry = self.entries.get(path)
        kept = KEPT if entry else ""
        if f.problem:
            return FileResult(path, FileStatus.FAILED, f.problem + kept)
        if entry is not None and self._unchanged(f, entry):
            return FileResult(path, FileStatus.UNCHANGED, chunks=entry.n_chunks)
        if f.known_stat.st_size > self.max_bytes:
            mb = f.known_stat.st_size / 2**20
            reason = f"too large ({mb:.1f} MB > {self.settings.max_file_mb:g} MB); raise `max_file_mb`"
            return FileResult(path, FileStatus.SKIPPED, reason + kept)
        try:
            data = f.path.read_bytes()
        except OSError as exc:
            return FileResult(path, FileStatus.FAILED, f"unreadable: {exc.strerror or exc}" + kept)
        digest = hashlib.blake2b(data, digest_size=20).hexdigest()
        if entry is not None and self._same_content(f, entry, digest):
            return FileResult(path, FileStatus.UNCHANGED, chunks=entry.n_chunks)
        try:
            image = self.embedder.decode(data)
        except BadImage as exc:
            return FileResult(path, FileStatus.FAILED, exc.reason + kept)
        self._queue_file([_Queued(path, f.known_stat.st_size, f.known_stat.st_mtime_ns, digest, image)], entry)
        return FileResult(path, FileStatus.UPDATED if entry else FileStatus.INGESTED, chunks=1)

    def embedded(self, f: Found) -> None:
        """The pictures inside a PDF or DOCX (its text goes on through the text pipeline, which reports the file)."""
        from ingest.image_extract import embedded_images

        path = str(f.path)
        self._seen.add(path)
        entry = self.entries.get(path)
        if f.problem or (entry is not None and self._unchanged(f, entry)) or f.known_stat.st_size > self.max_bytes:
            return
        try:
            data = f.path.read_bytes()
            digest = hashlib.blake2b(data, digest_size=20).hexdigest()
            if entry is not None and self._same_content(f, entry, digest):
                return
            found = list(embedded_images(f.path, data, self.embedder.max_pixels))
        except Exception as exc:  # a broken document is reported by the text side; its old pictures stay
            log.info("no pictures read from %s: %s", path, exc)
            return
        jobs: list[_Queued] = []
        for page, blob in found:
            try:
                image = self.embedder.decode(blob)
            except BadImage as exc:
                log.info("a picture in %s (page %s) is skipped: %s", path, page, exc.reason)
                continue
            jobs.append(_Queued(path, f.known_stat.st_size, f.known_stat.st_mtime_ns, digest, image, len(jobs), page))
        for job in jobs:
            job.n_images = len(jobs)
        self._queue_file(jobs, entry)

    def _unchanged(self, f: Found, entry: Entry) -> bool:
        st = f.known_stat
        return bool(entry.state == "done" and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns))

    def _same_content(self, f: Found, entry: Entry, digest: str) -> bool:
        if entry.state == "done" and entry.hash == digest:
            self.manifest.touch(str(f.path), f.known_stat.st_size, f.known_stat.st_mtime_ns)
            return True
        return False

    def _queue_file(self, jobs: list[_Queued], entry: Entry | None) -> None:
        """Replace a file's indexed images with `jobs` (none: the file no longer holds any)."""
        if jobs:
            path = jobs[0].path
        elif entry is not None:
            path = entry.path
        else:
            return
        self.manifest.mark_pending([path])
        if entry:
            self.col.delete(where={"path": path})
            self.report.totals.images_deleted += entry.n_chunks
        if not jobs:
            self.manifest.forget([path])
            return
        self._remaining[path] = len(jobs)
        for job in jobs:
            self._queue.append(job)
            if len(self._queue) >= BATCH:
                self._flush()

    def _flush(self) -> None:
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        vectors = self.embedder.embed_images([j.image for j in batch])
        self.col.upsert(
            ids=[image_id(j.path, j.hash, j.index) for j in batch],
            embeddings=vectors,
            documents=[Path(j.path).name for j in batch],  # shown where a passage would be
            metadatas=[_metadata(j) for j in batch],
        )
        done = []
        for j in batch:
            self._remaining[j.path] -= 1
            if self._remaining[j.path] == 0:  # a file is `done` only when all its images are written
                del self._remaining[j.path]
                done.append((j.path, j.size, j.mtime_ns, j.hash, j.n_images))
        self.manifest.mark_done(done)
        self.report.totals.images_added += len(batch)

    # -- the end of the walk ----------------------------------------------------------------

    def finish(self, roots: list[str]) -> None:
        """Embed what is queued, remove images no longer on disk, and swap a rebuild in."""
        self._flush()
        reported = {r.path for r in self.report.files}  # a deleted PDF's removal is already reported by the text side
        for path, entry in self.entries.items():
            if _under(path, roots) and path not in self._seen:
                self.manifest.mark_pending([path])
                self.col.delete(where={"path": path})
                self.manifest.forget([path])
                self.report.totals.images_deleted += entry.n_chunks
                if path not in reported:
                    gone = FileResult(path, FileStatus.REMOVED, "no longer in the folder", chunks=entry.n_chunks)
                    self.report.add(gone)
        self.manifest.add_roots(roots)
        if self.col.name.endswith(REBUILD_SUFFIX):
            self.store.finish_rebuild(self.name)
            if self._old_manifest is not None:
                self._old_manifest.drop()


def _metadata(job: _Queued) -> dict:
    w, h = job.image.size  # after downscaling: what the model saw
    return {"path": job.path, "page": job.page or 0, "chunk_index": job.index, "file_hash": job.hash,
            "n_chunks": job.n_images,
            "kind": "image", "width": w, "height": h}  # fmt: skip


def remove_images(targets: list[str], settings: Settings, store: VectorStore, report: IngestReport) -> int:
    """Drop indexed images under `targets` from the image collection (`rag remove`); returns how many files."""
    col = store.find(images_collection(settings.collection))
    if col is None:
        return 0
    with Manifest(settings.state_path, str(col.id)) as manifest:
        entries = manifest.entries()
        hits = sorted(p for p in entries if _under(p, targets))
        for path in hits:
            manifest.mark_pending([path])
            col.delete(where={"path": path})
            manifest.forget([path])
            report.totals.images_deleted += entries[path].n_chunks
            report.add(FileResult(path, FileStatus.REMOVED, "removed on request", chunks=entries[path].n_chunks))
    return len(hits)
