"""Sync a collection with folders: embed what is new or changed, drop what was removed.

One pass: walk -> (unchanged? skip) -> load -> chunk -> embed in batches -> upsert. Files stream
through a bounded buffer, so memory stays flat however large the folder is.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ingest.chunking import Chunker, PageText, chunk_id
from ingest.headers import built_with_headers, doc_title
from ingest.image_extract import has_embedded_images
from ingest.images import IMAGES_OFF, ImageSync, is_image
from ingest.loaders import LoadError, is_supported, load
from ingest.lock import Holder, write_lock
from ingest.manifest import Entry, Manifest
from ingest.progress import NullProgress, Progress
from ingest.recovery import recover, sweep_orphans
from ingest.remove import drop_file, file_hash, remove_paths, under
from ingest.text_decode import encoding_note
from ingest.walk import Found, iter_files
from rag.app import build_image_embedder
from rag.errors import ConfigError
from rag.index import generation
from rag.index.lexical import HEADER_KEY, LexicalIndex
from rag.index.store import REBUILD_SUFFIX
from rag.protocols import TextEmbedder, VectorStore
from rag.settings import Settings
from rag.types import Chunk, FileResult, FileStatus, IngestReport

log = logging.getLogger(__name__)

KEPT = " (the previously indexed version is kept)"


def make_chunker(settings: Settings, embedder: TextEmbedder) -> Chunker:
    limit = embedder.max_tokens - embedder.special_tokens
    s = settings
    return Chunker(embedder.tokenizer, s.chunk_size, s.chunk_overlap, limit, headers=s.chunk_headers)


def fingerprint(embedder: TextEmbedder, chunker: Chunker) -> dict:
    """How an index is built; stored with the collection and checked on every open."""
    return {
        "embed_model": embedder.model_id,
        "dim": embedder.dim,
        "normalized": embedder.normalized,
        "embed_precision": embedder.precision,  # recorded, not refused: see rag.index.store.PRECISION_KEY
        **chunker.settings,
    }


@dataclass
class _InFlight:
    """A file whose chunks are waiting in the embed buffer."""

    size: int
    mtime_ns: int
    hash: str
    n_chunks: int
    remaining: int
    result: FileResult
    replaces: bool = False  # an older version's chunks are deleted once these are all in


class Sync:
    """One sync run of a collection against a set of root paths."""

    def __init__(
        self,
        settings: Settings,
        embedder: TextEmbedder,
        store: VectorStore,
        progress: Progress | None = None,
        *,
        wait: bool = True,
        on_wait: Callable[[Holder], None] | None = None,
        image_embedder=None,
    ):
        """`wait`/`on_wait`: what to do when another writer holds the collection (see ingest.lock)."""
        self.settings = settings
        self.wait, self.on_wait = wait, on_wait
        # images (ingest/images.py) ride the same walk into `<collection>__images` when `image_model` is set
        image_embedder = image_embedder or build_image_embedder(settings)
        self.images = ImageSync(settings, image_embedder, store) if image_embedder is not None else None
        self.embedder = embedder
        self.store = store
        self.progress = progress or NullProgress()
        self.chunker = make_chunker(settings, embedder)
        self.max_bytes = int(settings.max_file_mb * 1024 * 1024)
        # chunks per embed call: several model batches, so length-sorting inside encode pays off
        self.flush_at = settings.embed_batch_size * 8
        self._buffer: list[Chunk] = []
        self._inflight: dict[str, _InFlight] = {}
        self._precision_recorded = False

    def run(self, paths: list[Path], *, rebuild: bool = False) -> IngestReport:
        """Sync `paths` into the collection, holding its writer lock throughout."""
        s = self.settings
        with write_lock(s.home, s.collection, wait=self.wait, on_wait=self.on_wait):
            try:
                return self._run(paths, rebuild)
            finally:
                generation.bump(s.home, s.collection)  # readers reopen (a failed run may have written too)

    def _run(self, paths: list[Path], rebuild: bool) -> IngestReport:
        started = time.perf_counter()
        name = self.settings.collection
        fp = fingerprint(self.embedder, self.chunker)
        old_manifest = old = None
        if rebuild:
            self.store.finish_interrupted_swap(name)  # else a complete side collection would be discarded
            old = self.store.find(name)
            if old is not None:
                old_manifest = Manifest(self.settings.state_path, str(old.id))
                paths = paths or [Path(r) for r in old_manifest.roots()]
            self._drop_lexical(self.store.find(name + REBUILD_SUFFIX))  # a leftover side collection's
            self.col = self.store.begin_rebuild(name, fp)
        else:
            self.col = self.store.open(name, fp)
        asked = "chunk_headers" in self.settings.model_fields_set  # an old collection under the new default: quiet
        self.chunker.headers = built_with_headers(self.col, self.chunker.headers, asked=asked)
        sweep_orphans(self.settings, self.store)
        roots = self._roots(paths)
        self.manifest = Manifest(self.settings.state_path, str(self.col.id))
        # keyed by collection id: the rebuild swap renames the side collection but keeps its id
        self.lexical = LexicalIndex(self.settings.lexical_path, str(self.col.id))
        self.report = IngestReport(collection=name)
        try:
            recover(self.col, self.manifest, self.lexical)
            if self.images:
                self.images.open(self.report, rebuild=rebuild)
            self._sync(roots)
            if self.images:
                self.images.finish(roots)
            self.manifest.add_roots(roots)
            if rebuild:
                self.store.finish_rebuild(name)
                if old_manifest is not None:
                    old_manifest.drop()
                    self._drop_lexical(old)
        finally:
            self.manifest.close()
            self.lexical.close()
            if self.images:
                self.images.close()
            if old_manifest is not None:
                old_manifest.close()
        self.report.totals.seconds = time.perf_counter() - started
        return self.report

    @staticmethod
    def _roots(paths: list[Path]) -> list[str]:
        if not paths:
            raise ConfigError("No path given - name the folders or files to ingest, e.g. `rag ingest ~/notes`.")
        missing = [str(p) for p in paths if not os.path.lexists(p)]
        if missing:
            raise ConfigError(f"Not found: {', '.join(missing)} - check the path (nothing was changed).")
        return sorted({os.path.abspath(p) for p in paths})

    def _drop_lexical(self, col) -> None:
        if col is not None:
            with LexicalIndex(self.settings.lexical_path, str(col.id)) as lex:
                lex.drop()

    # -- the pass ---------------------------------------------------------------------------

    def _sync(self, roots: list[str]) -> None:
        s = self.settings
        found: dict[str, Found] = {}
        for root in roots:
            for f in iter_files(Path(root), s.include, s.exclude, follow_outside=s.follow_links_outside):
                found.setdefault(str(f.path), f)
        entries = self.manifest.entries()
        blind = self._unreadable_folders(found, entries)
        gone = [p for p in entries if under(p, roots) and p not in found and not under(p, blind)]
        self.progress.start(len(found) + len(gone))
        for path, f in found.items():
            result = self._one(f, entries.get(path))
            if result is not None:
                self.report.add(result)
            self.progress.file_done()
        for path in gone:
            self.report.add(self._remove(path, entries[path], "no longer in the folder"))
            self.progress.file_done()
        self._flush()

    def _unreadable_folders(self, found: dict[str, Found], entries: dict[str, Entry]) -> list[str]:
        """Folders that could not be listed: their files are kept as indexed, not taken for deleted."""
        blind = [p for p, f in found.items() if f.folder]
        for folder in blind:
            f = found.pop(folder)
            kept = sum(1 for p in entries if under(p, [folder]))
            reason = f"unreadable folder: kept {kept} files from the last run ({f.problem})"
            self.report.add(FileResult(folder, FileStatus.FAILED, reason))
        return blind

    def _one(self, f: Found, entry: Entry | None) -> FileResult | None:
        """Handle one file; returns None when the file waits in the embed buffer."""
        path = str(f.path)
        if is_image(f.path):
            return self.images.one(f) if self.images else FileResult(path, FileStatus.SKIPPED, IMAGES_OFF)
        if self.images and has_embedded_images(f.path):
            self.images.embedded(f)  # its pictures go to the image collection; its text goes on below
        if f.skipped:  # a link out of the folder: what an older run indexed through it is dropped too
            reason = f.problem or "skipped"
            return self._remove(path, entry, reason) if entry else FileResult(path, FileStatus.SKIPPED, reason)
        if f.problem:
            return FileResult(path, FileStatus.FAILED, f.problem + (KEPT if entry else ""))
        st = f.known_stat
        if entry and entry.state == "done" and (entry.size, entry.mtime_ns) == (st.st_size, st.st_mtime_ns):
            return FileResult(path, FileStatus.UNCHANGED, chunks=entry.n_chunks)
        if not is_supported(f.path):
            return self._not_indexed(
                path, entry, FileStatus.SKIPPED, f"unsupported file type '{f.path.suffix or f.path.name}'"
            )
        if st.st_size > self.max_bytes:
            reason = (
                f"too large ({st.st_size / 2**20:.1f} MB > {self.settings.max_file_mb:g} MB); "
                "raise `max_file_mb` (--max-file-mb) to include it"
            )
            return self._not_indexed(path, entry, FileStatus.SKIPPED, reason)
        try:
            data = f.path.read_bytes()
        except OSError as exc:
            reason = f"unreadable: {exc.strerror or exc}; check the file's permissions"
            return FileResult(path, FileStatus.FAILED, reason + (KEPT if entry else ""))
        digest = file_hash(data)
        if entry and entry.state == "done" and entry.hash == digest:
            if entry.partial:  # back to the indexed version after a crash while writing another
                self._drop_partial(path, entry)
            self.manifest.touch(path, st.st_size, st.st_mtime_ns)
            return FileResult(path, FileStatus.UNCHANGED, chunks=entry.n_chunks)
        return self._load_and_queue(f, entry, data, digest)

    def _load_and_queue(self, f: Found, entry: Entry | None, data: bytes, digest: str) -> FileResult | None:
        path = str(f.path)
        try:
            pages = load(f.path, data)
        except LoadError as exc:
            status = FileStatus.SKIPPED if exc.skipped else FileStatus.FAILED
            return self._not_indexed(path, entry, status, exc.reason)
        title = doc_title(f.path, data, pages[0].text) if self.chunker.headers and pages else ""
        texts = [PageText(p.text, p.page) for p in pages]
        spans = self.chunker.plan(texts)
        if not spans:
            return self._not_indexed(path, entry, FileStatus.SKIPPED, "empty: no text to index")
        had_chunks = bool(entry and entry.hash)  # else an empty row left by a crash (ingest.recovery)
        status = FileStatus.UPDATED if had_chunks else FileStatus.INGESTED
        n = len(spans)
        result = FileResult(path, status, encoding_note(pages), chunks=n)
        self.manifest.mark_pending([path], digest)
        if entry is not None and had_chunks:  # its old chunks stay searchable until the new ones are in
            self.report.totals.chunks_deleted += entry.n_chunks
        # chunks a killed run already wrote (same content, same ids) are not embedded again
        have = self._written(path, digest) if entry and entry.partial and entry.next_hash == digest else set()
        todo = [sp for sp in spans if chunk_id(path, digest, sp.index) not in have]
        job = _InFlight(f.known_stat.st_size, f.known_stat.st_mtime_ns, digest, n, len(todo), result, bool(entry))
        self._inflight[path] = job
        self.report.add(result)
        self.progress.add_chunks(len(todo))
        if not todo:
            self._finish(path, job)
            return None
        # built and flushed a batch at a time: a big file's chunks never all sit in memory, and each
        # flush commits its part, so a kill keeps the work done (see ingest.manifest)
        headings = self.chunker.heading_path(texts)
        for i in range(0, len(todo), self.flush_at):
            self._buffer.extend(self.chunker.build(path, digest, texts, todo[i : i + self.flush_at], title, headings))
            if len(self._buffer) >= self.flush_at:
                self._flush()
        return None

    def _drop_partial(self, path: str, entry: Entry) -> None:
        ids = self._written(path, entry.next_hash)
        if ids:
            self.col.delete(ids=sorted(ids))
            self.lexical.delete_ids(sorted(ids))
        self.manifest.restore(path)

    def _written(self, path: str, digest: str) -> set[str]:
        got = self.col.get(where={"$and": [{"path": path}, {"file_hash": digest}]}, include=[])
        return set(got["ids"])

    def _not_indexed(self, path: str, entry: Entry | None, status: FileStatus, reason: str) -> FileResult:
        """A file that yields nothing to index: an empty file drops its old chunks, others keep them."""
        if entry and reason.startswith("empty"):
            return self._remove(path, entry, "the file is now empty")
        return FileResult(path, status, reason + (KEPT if entry else ""))

    def _remove(self, path: str, entry: Entry, why: str) -> FileResult:
        drop_file(self.col, self.manifest, self.lexical, path)
        self.report.totals.chunks_deleted += entry.n_chunks
        return FileResult(path, FileStatus.REMOVED, why, chunks=entry.n_chunks)

    def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        if not self._precision_recorded:  # before the first write, so a crash cannot hide a mix
            self._precision_recorded = bool(self.store.record_precision(self.col, self.embedder.precision))
        # one call for the whole buffer: the embedder sorts it by token length across files (less padding)
        vectors = self.embedder.embed([c.embed_text for c in batch])
        step = self._max_batch
        for i in range(0, len(batch), step):
            part = batch[i : i + step]
            self.col.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[i : i + step],
                documents=[c.text for c in part],
                metadatas=[self._metadata(c) for c in part],
            )
        # before the manifest's `done`: a crash in between leaves the file pending, so both are redone
        self.lexical.add((c.id, c.path, c.embed_text) for c in batch)
        self.report.totals.chunks_added += len(batch)
        self.progress.chunks_done(len(batch))
        self._complete(batch)

    def _metadata(self, c: Chunk) -> dict:
        job = self._inflight[c.path]
        meta = c.metadata(job.hash, job.n_chunks)
        if c.header:  # kept so the keyword index can be rebuilt from the store as it was written
            meta[HEADER_KEY] = c.header
        return meta

    def _complete(self, batch: list[Chunk]) -> None:
        done = []
        for c in batch:
            job = self._inflight[c.path]
            job.remaining -= 1
            if job.remaining == 0:
                done.append(self._finished(c.path, job))
        self.manifest.mark_done(done)

    def _finished(self, path: str, job: _InFlight) -> tuple[str, int, int, str, int]:
        """All of a file's new chunks are in: its other versions go; returns its manifest `done` row."""
        if job.replaces:
            self._delete_old_version(path, job.hash)
        del self._inflight[path]
        return (path, job.size, job.mtime_ns, job.hash, job.n_chunks)

    def _finish(self, path: str, job: _InFlight) -> None:
        self.manifest.mark_done([self._finished(path, job)])

    def _delete_old_version(self, path: str, new_hash: str) -> None:
        """Delete a file's chunks of other versions (its new ones are all in, so it never went missing)."""
        got = self.col.get(where={"$and": [{"path": path}, {"file_hash": {"$ne": new_hash}}]}, include=[])
        if got["ids"]:
            self.col.delete(ids=got["ids"])
            self.lexical.delete_ids(got["ids"])

    @cached_property
    def _max_batch(self) -> int:
        # asked once per run: in server mode each call is an HTTP round trip
        try:
            return max(1, int(self.store.client.get_max_batch_size()))
        except Exception:
            return 1000


__all__ = ["Sync", "drop_file", "file_hash", "fingerprint", "make_chunker", "remove_paths", "under"]
