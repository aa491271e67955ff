"""One writer per RAG_HOME + collection, checked with real processes (`rag ingest`, kill -9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ingest.lock import WriterBusy, lock_path, read_holder, write_lock

REPO = Path(__file__).resolve().parent.parent
HOLDER = """
import sys
from pathlib import Path
from ingest.lock import write_lock
with write_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes stdin or kills us
"""


def rag_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag.cli", *args]


def env_for(home: Path, collection: str = "locked") -> dict:
    return {
        **os.environ,
        "RAG_HOME": str(home),
        "RAG_COLLECTION": collection,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


def start_holder(home: Path, collection: str = "locked") -> subprocess.Popen:
    """A real process holding the writer lock until killed; returns once it holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), collection],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env_for(home, collection),
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def small_corpus(folder: Path, n: int = 16) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"note_{i:02d}.txt").write_text(f"Note {i} is about lighthouse number {i} and its keeper. " * 20)
    return folder


def wait_for_line(stream, needle: str) -> str:
    """Read lines until one contains `needle` (the process prints it when it reaches that state)."""
    for line in stream:
        if needle in line:
            return line
    raise AssertionError(f"the process ended without printing {needle!r}")


@pytest.mark.slow
def test_no_wait_refuses_with_exit_2_naming_the_holder_and_a_waiter_takes_over_after_kill_9(tmp_path):
    home, corpus = tmp_path / "home", small_corpus(tmp_path / "corpus")
    holder = start_holder(home)
    try:
        busy = subprocess.run(
            rag_cmd("ingest", str(corpus), "--no-wait", "--json"),
            env=env_for(home),
            capture_output=True,
            text=True,
            check=False,
        )
        assert busy.returncode == 2, busy.stderr
        assert f"pid {holder.pid}" in busy.stderr and "--no-wait" in busy.stderr
        assert not (home / "state.sqlite3").exists() or "ingested" not in busy.stdout

        waiter = subprocess.Popen(
            rag_cmd("ingest", str(corpus), "--json"),
            env=env_for(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = wait_for_line(waiter.stderr, "waiting")
        assert f"pid {holder.pid}" in line
        assert waiter.poll() is None  # it waits while the holder lives
        os.kill(holder.pid, signal.SIGKILL)  # the holder dies without releasing anything
        holder.wait()
        out, err = waiter.communicate(timeout=600)
        assert waiter.returncode == 0, err
        assert json.loads(out)["totals"]["ingested"] == 16
        assert read_holder(lock_path(home, "locked")).pid == waiter.pid  # the dead pid's lock was taken over
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_two_ingests_at_once_embed_the_folder_once(tmp_path):
    home, corpus = tmp_path / "home", small_corpus(tmp_path / "corpus")
    procs = [
        subprocess.Popen(
            rag_cmd("ingest", str(corpus), "--json"),
            env=env_for(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        reports.append(json.loads(out)["totals"])
    assert sorted(r["ingested"] for r in reports) == [0, 16]  # the second one found it all done
    assert sorted(r["unchanged"] for r in reports) == [0, 16]


def test_a_lock_file_left_by_a_dead_pid_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = lock_path(tmp_path, "c")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": dead.pid, "command": "rag ingest (killed)"}))
    with write_lock(tmp_path, "c", wait=False):
        assert read_holder(path).pid == os.getpid()


def test_the_lock_is_reentrant_for_its_thread_and_excludes_other_threads(tmp_path):
    entered = threading.Event()
    with write_lock(tmp_path, "c"):
        with write_lock(tmp_path, "c", wait=False):  # the UI holds it across save + sync
            pass
        errors: list[Exception] = []

        def other() -> None:
            try:
                with write_lock(tmp_path, "c", wait=False):
                    entered.set()
            except WriterBusy as exc:
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert errors and not entered.is_set()
    with write_lock(tmp_path, "c", wait=False):  # released after the outer block
        pass


def test_a_sync_waits_for_the_holder_and_says_who(tmp_path, settings, embedder):
    from rag.index.store import Store

    from ingest.pipeline import Sync

    corpus = small_corpus(tmp_path / "corpus", n=2)
    holder = start_holder(settings.home, settings.collection)
    seen = []

    def on_wait(who) -> None:
        seen.append(who.pid)
        holder.stdin.close()  # the holder finishes: the sync goes on

    report = Sync(settings, embedder, Store(settings), on_wait=on_wait).run([corpus])
    holder.wait()
    assert seen == [holder.pid] and report.totals.ingested == 2
    holder2 = start_holder(settings.home, settings.collection)
    try:
        with (
            pytest.raises(WriterBusy, match=f"pid {holder2.pid}"),
            write_lock(settings.home, settings.collection, wait=False),
        ):
            pass
    finally:
        holder2.kill()
        holder2.wait()


def test_a_ui_upload_waits_for_another_writer_and_shows_who(tmp_path, settings, embedder):
    from rag.index.store import Store

    from ui.documents import ingest_uploads
    from ui.uploads import UploadLimits

    upload = tmp_path / "lighthouse.txt"
    upload.write_text("The lighthouse keeper trims the lamp's wick every evening. " * 5)
    holder = start_holder(settings.home, settings.collection)
    shown: list[str] = []
    told = threading.Event()
    # a guard, not a wait for correctness: an upload that waits without saying so must fail, not hang
    guard = threading.Thread(target=lambda: told.wait(300) or holder.stdin.close(), daemon=True)
    guard.start()

    def on_progress(fraction: float, what: str) -> None:
        shown.append(what)
        if what.startswith("waiting"):
            assert not (settings.home / "uploads" / settings.collection / "lighthouse.txt").exists()
            told.set()
            holder.stdin.close()  # the other writer finishes: the upload goes on

    report, saved = ingest_uploads(
        settings, embedder, Store(settings), settings.collection, [str(upload)], UploadLimits(), on_progress
    )
    holder.wait()
    assert shown[0].startswith(f"waiting for pid {holder.pid} (")
    assert shown[0].endswith("to finish writing this collection")
    assert report.totals.ingested == 1 and len(saved.saved) == 1
