"""Contextual chunk headers: embedded (and keyword-indexed) with each chunk, never stored in its text."""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from rag.index.lexical import LexicalIndex
from rag.index.store import FP_PREFIX, Store, read_fingerprint

from ingest.chunking import PageText
from ingest.headers import HEADER_PIECES, doc_title
from ingest.pipeline import make_chunker
from tests.helpers import stored, sync

HEADERS = Path(__file__).resolve().parent / "data" / "headers"


@pytest.fixture
def folder(tmp_path) -> Path:
    return Path(shutil.copytree(HEADERS, tmp_path / "headers"))


def _with(settings, collection: str, headers: bool):
    return settings.model_copy(update={"collection": collection, "chunk_headers": headers})


def _by_position(chunks: dict[str, dict]) -> dict[tuple[str, int], dict]:
    return {(Path(c["path"]).name, c["chunk_index"]): {**c, "id": cid} for cid, c in chunks.items()}


def _vector(settings, chunk_id: str) -> np.ndarray:
    got = Store(settings).get(settings.collection).get(ids=[chunk_id], include=["embeddings"])
    return np.asarray(got["embeddings"][0])


def _continuation(chunks) -> dict:
    """The brewing chunk under "## Bottle conditioning" whose own text names neither heading."""
    (hit,) = [
        c for (name, _), c in _by_position(chunks).items()
        if name == "brewing.md" and "Zymurgy" not in c["text"] and "conditioning" not in c["text"]
    ]  # fmt: skip
    return hit


def test_header_is_embedded_while_stored_text_and_offsets_stay_the_same(settings, embedder, folder):
    on, off = _with(settings, "heads-on", True), _with(settings, "heads-off", False)
    sync(on, embedder, [folder])
    sync(off, embedder, [folder])
    with_h, without = _by_position(stored(on)), _by_position(stored(off))
    assert with_h.keys() == without.keys() and len(with_h) >= 4
    for key, c in with_h.items():
        source = (folder / key[0]).read_text()
        for field in ("text", "start_char", "end_char", "n_tokens", "page"):
            assert c[field] == without[key][field], (key, field)
        assert source[c["start_char"] : c["end_char"]] == c["text"]
        assert "header" not in without[key]
    cont = _continuation(stored(on))
    assert cont["header"] == "Zymurgy field notes > Bottle conditioning"
    stored_vec = _vector(on, cont["id"])
    headed, plain = embedder.embed([f"{cont['header']}\n{cont['text']}", cont["text"]])
    assert float(stored_vec @ headed) > 0.999  # the vector is the headed text's
    assert float(stored_vec @ plain) < 0.99  # and not the bare text's


def test_headers_never_push_a_chunk_over_the_model_limit(settings, embedder):
    s = _with(settings, "limit", True)
    chunker, plain = make_chunker(s, embedder), make_chunker(_with(settings, "limit", False), embedder)
    title = " ".join(["Extraordinarily long-winded title about photosynthesis"] * 12)
    text = "# Part one\n\n" + " ".join(f"Leaf cell {i} turns light into sugar." for i in range(300))
    text += "\n\n## Part two\n\n" + " ".join(["x"] * 600)  # one piece per word: chunks fill the limit exactly
    pages = [PageText(text, None)]
    chunks = chunker.chunks("doc.md", "h", pages, title)
    limit = embedder.max_tokens - embedder.special_tokens
    assert [(c.text, c.start_char, c.end_char) for c in chunks] == [
        (c.text, c.start_char, c.end_char) for c in plain.chunks("doc.md", "h", pages, title)
    ]
    full = [c for c in chunks if c.n_tokens == limit]
    headed = [c for c in chunks if c.header]
    assert full and headed and not any(c.header for c in full)  # a full chunk keeps all its text, no header
    for c in chunks:
        assert embedder.count_tokens([c.embed_text])[0] <= limit
    for c in headed:
        assert embedder.count_tokens([c.header])[0] <= HEADER_PIECES
        assert c.header.startswith("Extraordinarily") and len(c.header) < len(title)  # cut at a word boundary
        assert title.startswith(c.header)


def test_a_collection_recorded_without_the_setting_syncs_without_a_rebuild(settings, embedder, folder, caplog):
    old = _with(settings, "old-one", False)
    sync(old, embedder, [folder / "tides.md"])
    col = Store(old).get(old.collection)
    col.modify(metadata={k: v for k, v in col.metadata.items() if k != FP_PREFIX + "chunk_headers"})
    assert "chunk_headers" not in read_fingerprint(Store(old).get(old.collection).metadata)  # as before the setting

    now = _with(settings, "old-one", True)
    with caplog.at_level(logging.WARNING):
        report = sync(now, embedder, [folder])
    assert report.ok and report.totals.unchanged == 1 and report.totals.ingested == 5  # no rebuild asked
    assert "--rebuild" in caplog.text and "without chunk headers" in caplog.text
    chunks = stored(now)
    assert not any("header" in c for c in chunks.values())  # the new file embedded the old way: no mix
    cont = _continuation(chunks)
    assert float(_vector(now, cont["id"]) @ embedder.embed([cont["text"]])[0]) > 0.999

    sync(now, embedder, [folder], rebuild=True)
    assert read_fingerprint(Store(now).get(now.collection).metadata)["chunk_headers"] is True
    assert _continuation(stored(now))["header"] == "Zymurgy field notes > Bottle conditioning"


def test_headers_are_off_by_default_and_recorded(settings, embedder, folder):
    assert settings.chunk_headers is False
    sync(settings, embedder, [folder / "tides.md"])
    assert read_fingerprint(Store(settings).get(settings.collection).metadata)["chunk_headers"] is False


def test_turning_headers_off_keeps_a_headed_collection_uniform_until_rebuild(settings, embedder, folder, caplog):
    sync(_with(settings, "was-on", True), embedder, [folder / "tides.md"])
    unset = settings.model_copy(update={"collection": "was-on"})  # the default, not asked for: kept quietly
    assert "chunk_headers" not in unset.model_fields_set
    with caplog.at_level(logging.WARNING):
        sync(unset, embedder, [folder / "tides.md", folder / "brewing.md"])
    assert "chunk headers" not in caplog.text
    assert _continuation(stored(unset))["header"]  # embedded as the collection was built
    off = _with(settings, "was-on", False)
    with caplog.at_level(logging.WARNING):
        sync(off, embedder, [folder])
    assert "was built with chunk headers" in caplog.text and "--rebuild" in caplog.text
    assert _continuation(stored(off))["header"]  # still headed, like the rest of the collection
    sync(off, embedder, [folder], rebuild=True)
    assert not any("header" in c for c in stored(off).values())
    assert read_fingerprint(Store(off).get(off.collection).metadata)["chunk_headers"] is False


def _keyword_hits(settings, query: str) -> list[str]:
    col = Store(settings).get(settings.collection)
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        return [cid for cid, _ in lex.search(query, 10)]


def test_a_chunk_is_found_by_its_heading_words_when_its_text_lacks_them(settings, embedder, folder):
    on, off = _with(settings, "find-on", True), _with(settings, "find-off", False)
    sync(on, embedder, [folder])
    sync(off, embedder, [folder])
    query = "zymurgy bottle conditioning"
    cont_on, cont_off = _continuation(stored(on)), _continuation(stored(off))
    assert cont_on["id"] in _keyword_hits(on, query)
    assert cont_off["id"] not in _keyword_hits(off, query)
    q = embedder.embed_query(query)
    assert float(_vector(on, cont_on["id"]) @ q) > float(_vector(off, cont_off["id"]) @ q) + 0.05

    col = Store(on).get(on.collection)  # a keyword index rebuilt from the store (recovery) keeps the headers
    with LexicalIndex(on.lexical_path, str(col.id)) as lex:
        lex.rebuild(col)
    assert cont_on["id"] in _keyword_hits(on, query)


def test_document_titles_come_from_metadata_text_or_a_named_file():
    assert doc_title(Path("a.md"), b"", "Intro line\n\n# Real title\n\ntext") == "Real title"
    html = b"<html><head><title>Tide &amp; moon</title></head><body><h1>Other</h1></body></html>"
    assert doc_title(Path("p.html"), html, "Tide & moon\nOther") == "Tide & moon"
    assert doc_title(Path("4983.txt"), b"", "A short title.\n\nThe body follows here.") == "A short title."
    long_first = " ".join(["word"] * 40) + "\n\nmore"
    assert doc_title(Path("4983.txt"), b"", long_first) == ""  # a bare id names nothing
    assert doc_title(Path("release_notes-2024.txt"), b"", long_first) == "release notes 2024"
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.add_metadata({"/Title": "Annual  report"})
    buf = io.BytesIO()
    writer.write(buf)
    assert doc_title(Path("x.pdf"), buf.getvalue(), "Page text") == "Annual report"
