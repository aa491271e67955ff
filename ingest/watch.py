"""Keep a collection in sync while files change (watchfiles, debounced)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from rag.types import IngestReport

log = logging.getLogger(__name__)


def watch(
    paths: list[Path],
    run_sync: Callable[[], IngestReport],
    on_report: Callable[[IngestReport], None],
    *,
    debounce_ms: int = 800,
    stop_event: threading.Event | None = None,
    initial: bool = True,
) -> None:
    """Sync once, then again after every burst of changes until `stop_event` is set (or Ctrl-C).

    Each re-sync is the normal incremental sync: only what changed is embedded, so a burst of
    saves costs one pass over the changed files.
    """
    from watchfiles import watch as watch_changes

    if initial:
        on_report(run_sync())
    folders = [p if p.is_dir() else p.parent for p in paths]
    for changes in watch_changes(*folders, debounce=debounce_ms, stop_event=stop_event, raise_interrupt=False):
        log.info("%d change(s) seen; re-syncing", len(changes))
        on_report(run_sync())
