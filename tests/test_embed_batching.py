"""Embedding batches: formed across files and sorted by token length, so each model batch pads little."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rag.models.embedder import Embedder

from tests.helpers import stored, sync


def test_embed_batches_by_token_length_across_the_whole_call_and_keeps_order(embedder, monkeypatch):
    emb = Embedder(precision="fp32")
    emb.__dict__["model"] = embedder.model  # the session's loaded model, in fp32 whatever `auto` chose
    texts = [" ".join(["word"] * n) for n in (3, 40, 7, 90, 1, 55, 20, 64, 9)]
    batches: list[list[str]] = []
    encode = emb._encode
    monkeypatch.setattr(emb, "_encode", lambda t, size: batches.append(t) or encode(t, size))
    got = emb.embed(texts, batch_size=2)
    lengths = [len(t.split()) for batch in batches for t in batch]
    assert lengths == sorted(lengths, reverse=True) and all(len(b) <= 2 for b in batches)
    one_by_one = np.stack([encode([t], 1)[0] for t in texts])
    assert np.allclose(got, one_by_one, atol=1e-5)  # every vector back in its text's place


def test_ingest_batches_chunks_of_several_files_together_longest_first(settings, embedder, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    # two files of sentences of very different lengths, each cut into several chunks
    for name, word in (("alpha.txt", "glacier"), ("beta.txt", "volcano")):
        sentences = [" ".join([word] * n) + "." for n in (3, 30, 8, 25, 2, 14)]
        (folder / name).write_text(" ".join(sentences))
    s = settings.model_copy(update={"embed_batch_size": 2, "chunk_size": 32, "chunk_overlap": 0})
    batches: list[list[str]] = []
    encode = embedder._encode
    monkeypatch.setattr(embedder, "_encode", lambda t, size: batches.append(t) or encode(t, size))
    monkeypatch.setattr(embedder, "batch_size", 2)  # as build_embedder(s) would make it
    report = sync(s, embedder, [folder])
    assert report.ok and report.totals.chunks_added > 4
    lengths = [n for b in batches for n in embedder.count_tokens(b)]
    assert lengths == sorted(lengths, reverse=True) and all(len(b) <= 2 for b in batches)  # sorted across files
    assert any({("glacier" in t) for t in b} == {True, False} for b in batches)  # a batch mixing files
    # the per-file report and what is stored are as before: every chunk under its own file
    chunks = stored(s)
    assert {Path(f.path).name: f.chunks for f in report.files} == {
        name: sum(Path(c["path"]).name == name for c in chunks.values()) for name in ("alpha.txt", "beta.txt")
    }
