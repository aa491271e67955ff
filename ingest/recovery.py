"""Crash recovery, run by every writer when it starts (under the writer lock).

A writer can be killed anywhere: mid-update, mid-removal (`rag remove`), or between a rebuild's
swap and its clean-up. The manifest's write-ahead rows (see ingest/manifest.py) say which files
may be half-written; the state and keyword databases may also hold rows of a collection that a
finished swap replaced. Whoever writes next puts all of it right, so nothing waits for the next
full `rag ingest`.
"""

from __future__ import annotations

import logging

from ingest.manifest import Manifest, manifest_collection_ids
from rag.index.lexical import LexicalIndex, drop_tables, table_key, table_keys
from rag.settings import Settings

log = logging.getLogger(__name__)


def recover(col, manifest: Manifest, lexical: LexicalIndex) -> None:
    """Converge after a crash: settle half-written files, reconcile if counts disagree.

    The keyword index is rebuilt from Chroma when its count differs: after a crash between the
    two writes, or for a collection built before the keyword index existed.
    """
    entries = manifest.entries()
    for path in manifest.pending():
        _settle(col, manifest, lexical, entries[path])
    if col.count() != manifest.total_chunks():
        reconcile(col, manifest, lexical)
    if lexical.count() != col.count():
        log.info("rebuilding the keyword index of collection id %s", manifest.collection_id)
        lexical.rebuild(col)


def _settle(col, manifest: Manifest, lexical: LexicalIndex, entry) -> None:
    """A file a writer stopped in the middle of: keep its previous version if intact, else drop it; keep
    the chunks of the version it was writing, so the next sync embeds only the rest of a large file."""
    got = col.get(where={"path": entry.path}, include=["metadatas"])
    hashes = [(m or {}).get("file_hash") for m in got["metadatas"]]
    old = {i for i, h in zip(got["ids"], hashes) if h == entry.hash}
    keep = entry.state == "pending" and bool(entry.hash) and len(old) == entry.n_chunks
    writing = entry.state == "pending" and bool(entry.next_hash) and entry.next_hash != entry.hash
    partial = {i for i, h in zip(got["ids"], hashes) if writing and h == entry.next_hash}
    kept = (old if keep else set()) | partial
    extra = [i for i in got["ids"] if i not in kept]
    if extra:
        col.delete(ids=extra)
    lexical.delete_path_except(entry.path, kept)
    if keep or partial:
        if not keep:  # no intact old version: an empty `done` row that carries only the partial chunks
            manifest.mark_done([(entry.path, 0, 0, "", 0)])
        # its old size and mtime make the next sync look at it again
        manifest.restore(entry.path, entry.next_hash, len(partial))
    else:
        manifest.forget([entry.path])


def reconcile(col, manifest: Manifest, lexical: LexicalIndex) -> None:
    """Make manifest and Chroma agree: files whose chunks are not exactly as recorded are redone."""
    counts: dict[tuple[str, str], int] = {}
    offset, page = 0, 5000
    while True:
        got = col.get(include=["metadatas"], limit=page, offset=offset)
        for meta in got["metadatas"]:
            key = (str(meta.get("path")), str(meta.get("file_hash")))
            counts[key] = counts.get(key, 0) + 1
        if len(got["ids"]) < page:
            break
        offset += page
    entries = manifest.entries()
    good = {p for p, e in entries.items() if _as_recorded(counts, p, e)}
    stale = {p for p, _ in counts if p not in good} | (set(entries) - good)
    log.warning("index and manifest disagreed; re-indexing %d file(s)", len(stale))
    for path in stale:
        col.delete(where={"path": path})
        lexical.delete_path(path)
    manifest.forget(sorted(stale))


def _as_recorded(counts: dict[tuple[str, str], int], path: str, e) -> bool:
    """The file's chunks in Chroma are those its row records: its version's, and the partial next one's."""
    if counts.get((path, e.hash), 0) != e.n_chunks:
        return False
    return not e.partial or counts.get((path, e.next_hash), 0) == e.partial


def sweep_orphans(settings: Settings, store) -> None:
    """Drop manifest rows and keyword tables of collections Chroma no longer has.

    Both databases are read before Chroma is listed: a collection's rows and tables are made only
    after it exists in Chroma, so an id missing from the later listing was really deleted (by a
    rebuild's swap), not just being made by a writer of another collection.
    """
    recorded = manifest_collection_ids(settings.state_path)
    tables = table_keys(settings.lexical_path)
    existing = {str(c.id) for c in _collections(store)}
    for cid in sorted(recorded - existing):
        log.info("dropping the manifest rows of collection id %s (no longer in Chroma)", cid)
        with Manifest(settings.state_path, cid) as manifest:
            manifest.drop()
    orphans = tables - {table_key(i) for i in existing}
    if orphans:
        log.info("dropping the keyword index of %d collection(s) no longer in Chroma", len(orphans))
        drop_tables(settings.lexical_path, orphans)


def _collections(store) -> list:
    cols = store.client.list_collections()
    return [store.find(c) if isinstance(c, str) else c for c in cols if c is not None]
