"""What survives a crash, an unreadable folder and an update in progress (real Chroma, real model)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rag.index.lexical import LexicalIndex, table_keys
from rag.index.store import OWNER_HOST, OWNER_PID, REBUILD_SUFFIX, Store
from rag.retrieval.retriever import Retriever

import ingest.walk
from ingest.manifest import Manifest
from ingest.pipeline import Sync, remove_paths
from rag.errors import StoreError
from tests.helpers import by_path, stored, sync


def lexical_ids(settings) -> set[str]:
    col = Store(settings).get(settings.collection)
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        return lex.ids()


def manifest_rows(settings) -> dict:
    col = Store(settings).get(settings.collection)
    with Manifest(settings.state_path, str(col.id)) as m:
        return m.entries()


# -- unreadable folders -----------------------------------------------------------------------


def test_an_unreadable_folder_keeps_its_files_chunks(settings, embedder, docs, monkeypatch):
    """Tests run as root, and chmod 000 does not stop root from listing a folder, so the folder is
    made unreadable honestly at the one call that lists it: os.scandir raises EACCES for it, as it
    does for a user without read permission (or EIO for a network mount that dropped)."""
    sync(settings, embedder, [docs])
    before = by_path(stored(settings))
    notes = [p for p in before if p.startswith(str(docs / "notes") + os.sep)]
    assert len(notes) == 4
    real_scandir = os.scandir

    def scandir(path):
        if os.path.abspath(path) == str(docs / "notes"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(ingest.walk.os, "scandir", scandir)
    report = sync(settings, embedder, [docs])
    assert by_path(stored(settings)) == before  # nothing under notes/ was taken for deleted
    assert report.totals.chunks_deleted == 0
    [folder] = [f for f in report.files if f.path == str(docs / "notes")]
    assert folder.status.value == "failed"
    assert folder.reason.startswith("unreadable folder: kept 4 files from the last run")
    assert "Permission denied" in folder.reason
    assert not report.ok
    assert set(manifest_rows(settings)) == set(before)


# -- updates: insert, then delete ---------------------------------------------------------------


def test_a_changed_file_stays_searchable_while_its_new_chunks_are_embedded(settings, embedder, docs):
    sync(settings, embedder, [docs])
    mars = str(docs / "mars.md")
    old_ids = by_path(stored(settings))[mars]
    seen_during_update: list[list[str]] = []

    class Watching(Sync):
        def _flush(self) -> None:
            # the moment the new version's chunks are about to be written: ask as a reader would
            if any(c.path == mars for c in self._buffer):
                hits = Retriever(settings, embedder, Store(settings)).search("Mars red planet", top_k=3)
                seen_during_update.append([h.path for h in hits])
            super()._flush()

    (docs / "mars.md").write_text((docs / "mars.md").read_text() + "\nMars has the largest dust storms.\n")
    report = Watching(settings, embedder, Store(settings)).run([docs])
    assert [f.status.value for f in report.files if f.path == mars] == ["updated"]
    assert seen_during_update and mars in seen_during_update[0]
    after = by_path(stored(settings))[mars]
    assert after.isdisjoint(old_ids)  # new ids (the content hash is in the id): no collision
    assert lexical_ids(settings) == set(stored(settings))  # the old version left the keyword index too


def test_a_crash_between_insert_and_delete_keeps_the_old_version_then_converges(settings, embedder, docs, monkeypatch):
    sync(settings, embedder, [docs])
    mars = str(docs / "mars.md")
    old_ids = by_path(stored(settings))[mars]
    (docs / "mars.md").write_text((docs / "mars.md").read_text() + "\nMars has the largest dust storms.\n")

    def killed(self, path, new_hash):
        raise RuntimeError("simulated kill after the new chunks were added")

    monkeypatch.setattr(Sync, "_delete_old_version", killed)
    with pytest.raises(RuntimeError, match="simulated kill"):
        sync(settings, embedder, [docs])
    monkeypatch.undo()
    assert old_ids <= set(stored(settings))  # the old version is still there to be found
    hits = Retriever(settings, embedder, Store(settings)).search("Mars red planet", top_k=3)
    assert mars in [h.path for h in hits]

    report = sync(settings, embedder, [docs])  # recovery keeps the old version; the sync replaces it
    assert [f.status.value for f in report.files if f.path == mars] == ["updated"]
    final = by_path(stored(settings))[mars]
    assert final.isdisjoint(old_ids)
    assert any("dust storms" in c["text"] for c in stored(settings).values() if c["path"] == mars)
    assert lexical_ids(settings) == set(stored(settings))
    assert sync(settings, embedder, [docs]).totals.chunks_added == 0


# -- crash recovery by whichever writer comes next ----------------------------------------------


def test_a_remove_killed_half_way_is_finished_by_the_next_remove(settings, embedder, docs, monkeypatch):
    sync(settings, embedder, [docs])
    calls = {"n": 0}
    real = LexicalIndex.delete_path

    def dies_on_second(self, path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated kill mid-removal")
        real(self, path)

    monkeypatch.setattr(LexicalIndex, "delete_path", dies_on_second)
    with pytest.raises(RuntimeError, match="mid-removal"):
        remove_paths([docs / "notes"], settings, Store(settings))
    monkeypatch.undo()

    remove_paths([docs / "tcp.html"], settings, Store(settings))  # any writer: not a full ingest
    rows = manifest_rows(settings)
    assert not any(p.startswith(str(docs / "notes")) and rows[p].state != "done" for p in rows)
    assert lexical_ids(settings) == set(stored(settings))
    indexed = {Path(p).name for p in by_path(stored(settings))}
    assert "tcp.html" not in indexed
    assert {Path(p).name for p in rows} == indexed  # manifest, Chroma and keyword index agree


def test_a_rebuild_killed_after_its_swap_is_cleaned_up_by_the_next_writer(settings, embedder, docs, monkeypatch):
    sync(settings, embedder, [docs])
    old_id = str(Store(settings).get("test").id)

    def killed(self):
        raise RuntimeError("simulated kill after the swap")

    monkeypatch.setattr(Manifest, "drop", killed)
    with pytest.raises(RuntimeError, match="after the swap"):
        sync(settings, embedder, [], rebuild=True)
    monkeypatch.undo()
    new_id = str(Store(settings).get("test").id)
    assert new_id != old_id
    with Manifest(settings.state_path, old_id) as m:
        assert m.entries()  # orphaned rows of the replaced collection
    assert old_id.replace("-", "_") in table_keys(settings.lexical_path)

    remove_paths([docs / "tcp.html"], settings, Store(settings))
    with Manifest(settings.state_path, old_id) as m:
        assert m.entries() == {} and m.roots() == []
    assert table_keys(settings.lexical_path) == {new_id.replace("-", "_")}


# -- rebuild swaps: readers never finish them; no rebuild deletes a live one ---------------------


def test_a_reader_reads_a_half_swapped_rebuild_without_finishing_the_swap(settings, embedder, docs, monkeypatch):
    sync(settings, embedder, [docs])

    def crash_mid_swap(self, name, side):
        self.client.delete_collection(name)
        raise RuntimeError("simulated kill between delete and rename")

    monkeypatch.setattr(Store, "_swap", crash_mid_swap)
    with pytest.raises(RuntimeError, match="between delete and rename"):
        sync(settings, embedder, [], rebuild=True)
    monkeypatch.undo()
    store = Store(settings)
    assert store.find("test") is None and store.find("test" + REBUILD_SUFFIX) is not None

    hits = Retriever(settings, embedder, Store(settings)).search("sourdough starter", top_k=2)
    assert hits and hits[0].path.endswith("sourdough.txt")
    assert store.find("test") is None  # the reader left the swap to a writer

    sync(settings, embedder, [docs])  # a writer finishes it
    assert store.find("test") is not None and store.find("test" + REBUILD_SUFFIX) is None
    assert len(stored(settings)) == len(lexical_ids(settings)) > 0


def test_a_rebuild_never_deletes_a_live_processs_rebuild(settings, embedder):
    store = Store(settings)
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        side = store.client.create_collection("test" + REBUILD_SUFFIX, embedding_function=None)
        side.modify(metadata={OWNER_PID: other.pid, OWNER_HOST: __import__("socket").gethostname()})
        with pytest.raises(StoreError, match=f"being rebuilt by pid {other.pid}"):
            store.begin_rebuild("test", {"embed_model": "m"})
        assert store.find("test" + REBUILD_SUFFIX) is not None
    finally:
        other.kill()
        other.wait()
    fresh = store.begin_rebuild("test", {"embed_model": "m"})  # its owner is dead: a leftover
    assert fresh.metadata[OWNER_PID] == os.getpid()
