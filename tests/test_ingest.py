"""Incremental ingestion against a real embedded Chroma and the real bundled model."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from rag.index.store import REBUILD_SUFFIX, Store

from ingest.pipeline import remove_paths
from rag.errors import ConfigError, FingerprintMismatch
from tests.helpers import by_path, stored, sync


def statuses(report) -> dict[str, str]:
    return {Path(f.path).name: f.status.value for f in report.files}


def test_ingest_every_format_then_rerun_embeds_nothing(settings, embedder, docs):
    first = sync(settings, embedder, [docs])
    assert statuses(first) == {
        "mars.md": "ingested",
        "sourdough.txt": "ingested",
        "tcp.html": "ingested",
        "troubleshooting.md": "ingested",
        "planets.csv": "ingested",
        "settings.json": "ingested",
        "hello.py": "ingested",
    }
    chunks = stored(settings)
    assert len(chunks) == first.totals.chunks_added == sum(f.chunks for f in first.files)
    html = [c["text"] for c in chunks.values() if c["path"].endswith("tcp.html")]
    assert any("SYN-ACK" in t for t in html) and not any("console.log" in t for t in html)

    again = sync(settings, embedder, [docs])
    assert set(statuses(again).values()) == {"unchanged"}
    assert again.totals.chunks_added == 0 and again.totals.chunks_deleted == 0
    assert stored(settings) == chunks


def test_chunks_keep_exact_offsets_and_respect_the_token_limit(settings, embedder, tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    prose = " ".join(f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(400))
    unbroken = "x" * 3000 + " " + "supercalifragilistic" * 300  # no sentence or word boundaries to split on
    (folder / "prose.txt").write_text(prose)
    (folder / "unbroken.txt").write_text(unbroken)
    sync(settings, embedder, [folder])
    sources = {"prose.txt": prose, "unbroken.txt": unbroken}
    chunks = stored(settings)
    assert len(chunks) > 10
    limit = embedder.max_tokens - embedder.special_tokens
    for c in chunks.values():
        assert embedder.count_tokens([c["text"]])[0] <= limit
        assert sources[Path(c["path"]).name][c["start_char"] : c["end_char"]] == c["text"]
    # every character of the prose is covered by some chunk (nothing silently dropped)
    covered = set()
    for c in chunks.values():
        if c["path"].endswith("prose.txt"):
            covered.update(range(c["start_char"], c["end_char"]))
    assert all(i in covered for i, ch in enumerate(prose) if not ch.isspace())


def test_editing_a_file_replaces_only_its_chunks(settings, embedder, docs):
    sync(settings, embedder, [docs])
    before = by_path(stored(settings))
    target = docs / "mars.md"
    target.write_text(target.read_text() + "\nMars has the largest dust storms in the Solar System.\n")
    report = sync(settings, embedder, [docs])
    assert statuses(report)["mars.md"] == "updated"
    assert sum(1 for s in statuses(report).values() if s == "unchanged") == 6
    after = by_path(stored(settings))
    for path, ids in before.items():
        if path.endswith("mars.md"):
            assert ids.isdisjoint(after[path])
            assert report.totals.chunks_deleted == len(ids)
        else:
            assert after[path] == ids
    assert any("dust storms" in c["text"] for c in stored(settings).values())


def test_touching_a_file_without_changing_it_embeds_nothing(settings, embedder, docs):
    sync(settings, embedder, [docs])
    later = time.time() + 5
    os.utime(docs / "sourdough.txt", (later, later))
    report = sync(settings, embedder, [docs])
    assert statuses(report)["sourdough.txt"] == "unchanged"
    assert report.totals.chunks_added == 0


def test_deleting_a_file_removes_its_chunks(settings, embedder, docs):
    sync(settings, embedder, [docs])
    (docs / "tcp.html").unlink()
    report = sync(settings, embedder, [docs])
    assert statuses(report)["tcp.html"] == "removed"
    assert not any(c["path"].endswith("tcp.html") for c in stored(settings).values())


def test_syncing_one_folder_leaves_other_folders_alone(settings, embedder, docs, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_text("Penguins live in the southern hemisphere.")
    sync(settings, embedder, [docs])
    sync(settings, embedder, [other])
    paths = {Path(c["path"]).name for c in stored(settings).values()}
    assert "a.txt" in paths and "mars.md" in paths


def test_include_and_exclude_globs_and_hidden_folders(settings, embedder, docs):
    (docs / ".git").mkdir()
    (docs / ".git" / "config.txt").write_text("hidden")
    (docs / ".hidden.md").write_text("hidden")
    s = settings.model_copy(update={"include": ["*.md", "*.txt"], "exclude": ["notes/*"]})
    report = sync(s, embedder, [docs])
    assert sorted(statuses(report)) == ["mars.md", "sourdough.txt"]


def test_another_chunk_size_is_refused_until_rebuild(settings, embedder, docs):
    sync(settings, embedder, [docs])
    old_count = len(stored(settings))
    small = settings.model_copy(update={"chunk_size": 32, "chunk_overlap": 4})
    with pytest.raises(FingerprintMismatch, match="--rebuild") as err:
        sync(small, embedder, [docs])
    assert "chunk_size" in str(err.value)
    assert len(stored(settings)) == old_count  # refused before touching anything

    report = sync(small, embedder, [], rebuild=True)  # no paths: rebuilds from the folders it knows
    assert report.totals.ingested == 7
    chunks = stored(small)
    assert len(chunks) > old_count
    assert all(embedder.count_tokens([c["text"]])[0] <= 32 for c in chunks.values())
    info = {c.name: c for c in Store(small).list()}
    assert info["test"].fingerprint["chunk_size"] == 32
    assert "test" + REBUILD_SUFFIX not in info
    assert sync(small, embedder, [docs]).totals.chunks_added == 0


def test_a_failed_rebuild_leaves_the_old_index_usable(settings, embedder, docs, monkeypatch):
    sync(settings, embedder, [docs])
    before = stored(settings)

    def broken(texts):
        raise RuntimeError("simulated crash while embedding")

    monkeypatch.setattr(embedder, "embed", broken)
    with pytest.raises(RuntimeError):
        sync(settings.model_copy(update={"chunk_size": 64}), embedder, [docs], rebuild=True)
    monkeypatch.undo()
    assert stored(settings) == before
    assert sync(settings, embedder, [docs]).totals.chunks_added == 0


def test_remove_drops_a_file_or_a_folder(settings, embedder, docs):
    sync(settings, embedder, [docs])
    remove_paths([docs / "notes"], settings, Store(settings))
    names = {Path(c["path"]).name for c in stored(settings).values()}
    assert names == {"mars.md", "sourdough.txt", "tcp.html"}
    with pytest.raises(ConfigError, match="rag status"):
        remove_paths([docs / "notes"], settings, Store(settings))


def test_missing_path_is_a_clear_error(settings, embedder, tmp_path):
    with pytest.raises(ConfigError, match="Not found"):
        sync(settings, embedder, [tmp_path / "nope"])


def test_pdf_pages_are_kept(settings, embedder, tmp_path):
    from tests.pdfgen import make_pdf

    folder = tmp_path / "pdf"
    folder.mkdir()
    (folder / "two.pdf").write_bytes(make_pdf(["The first page is about owls.", "The second page is about whales."]))
    sync(settings, embedder, [folder])
    pages = {c["page"]: c["text"] for c in stored(settings).values()}
    assert "owls" in pages[1] and "whales" in pages[2]


def test_index_and_manifest_disagreeing_is_repaired(settings, embedder, docs):
    sync(settings, embedder, [docs])
    full = stored(settings)
    col = Store(settings).get("test")
    victim = next(i for i, c in full.items() if c["path"].endswith("mars.md"))
    col.delete(ids=[victim])  # someone damaged the index behind our back
    report = sync(settings, embedder, [docs])
    assert statuses(report)["mars.md"] == "ingested"
    assert stored(settings).keys() == full.keys()
