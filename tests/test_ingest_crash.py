"""Kill ingestion with SIGKILL mid-run, re-run, and check the exact chunk set."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rag.index.lexical import LexicalIndex
from rag.index.store import Store

from rag.settings import Settings
from tests.helpers import stored

pytestmark = pytest.mark.slow

TOPICS = ["rivers", "glaciers", "volcanoes", "forests", "deserts", "oceans", "storms", "caves"]


def make_corpus(folder: Path, n: int = 48) -> None:
    folder.mkdir()
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        body = " ".join(
            f"Paragraph {j} of note {i} describes how {topic} change over {j + i} years and why it matters."
            for j in range(30)
        )
        (folder / f"note_{i:03d}.txt").write_text(body)


def rag_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag.cli", *args]


def done_rows(state: Path) -> int:
    if not state.exists():
        return 0
    try:
        with sqlite3.connect(state, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM files WHERE state='done'").fetchone()[0]
    except sqlite3.Error:
        return 0


def kill_after(env: dict, corpus: Path, done_at_least: int) -> bool:
    """Start an ingest, SIGKILL it once `done_at_least` files are committed; True if it was still running."""
    proc = subprocess.Popen(
        rag_cmd("ingest", str(corpus), "--json"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    state = Path(env["RAG_HOME"]) / "state.sqlite3"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if done_rows(state) >= done_at_least:
            break
        time.sleep(0.02)
    running = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return running


def test_sigkill_mid_ingest_converges_to_the_exact_chunk_set(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    env = {**os.environ, "RAG_HOME": str(tmp_path / "killed"), "RAG_EMBED_BATCH_SIZE": "4", "RAG_COLLECTION": "crash"}

    # kill at several points, each run resuming the last one's work
    killed_mid_run = [kill_after(env, corpus, done) for done in (1, 9, 20, 33)]
    assert sum(killed_mid_run) >= 3, killed_mid_run
    final = subprocess.run(rag_cmd("ingest", str(corpus), "--json"), env=env, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)
    assert report["totals"]["failed"] == 0

    killed_settings = Settings(home=tmp_path / "killed", collection="crash", embed_batch_size=4)
    killed = stored(killed_settings)
    with LexicalIndex(killed_settings.lexical_path, str(Store(killed_settings).get("crash").id)) as lex:
        assert lex.ids() == killed.keys()  # the keyword index converged too
    clean_settings = Settings(home=tmp_path / "clean", collection="crash", embed_batch_size=4)
    from tests.helpers import sync

    sync(clean_settings, embedder, [corpus])
    clean = stored(clean_settings)
    assert killed.keys() == clean.keys()
    assert {k: v["text"] for k, v in killed.items()} == {k: v["text"] for k, v in clean.items()}
    again = subprocess.run(rag_cmd("ingest", str(corpus), "--json"), env=env, capture_output=True, text=True)
    assert json.loads(again.stdout)["totals"]["chunks_added"] == 0
