"""--watch keeps the index in sync while files change."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ingest.watch import watch
from rag.settings import Settings
from tests.helpers import copy_docs, stored, sync


def wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_watch_picks_up_new_changed_and_deleted_files(tmp_path, embedder, isolated_home):
    docs = copy_docs(tmp_path / "docs")
    settings = Settings(home=isolated_home, collection="watched")
    reports = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch,
        args=([docs], lambda: sync(settings, embedder, [docs]), reports.append),
        kwargs={"debounce_ms": 200, "stop_event": stop},
        daemon=True,
    )
    thread.start()
    try:
        assert wait_for(lambda: len(reports) >= 1)
        time.sleep(0.5)  # let the watcher arm before changing files
        (docs / "owls.txt").write_text("Owls hunt at night and can turn their heads very far.")
        (docs / "mars.md").unlink()
        names = lambda: {Path(c["path"]).name for c in stored(settings).values()}  # noqa: E731
        assert wait_for(lambda: "owls.txt" in names() and "mars.md" not in names())
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
