"""The one place logging is configured: the `rag` command's root (`rag --verbose ...`, RAG_LOG_LEVEL).

Library modules only call `logging.getLogger(__name__)`; what is shown, and how, is decided here.
Our own packages log at the chosen level (default WARNING); other libraries' records show from
WARNING up whatever the level, so `--verbose` does not drown ours in chromadb's and httpx's.
"""

from __future__ import annotations

import logging
import os
import sys

from rag.errors import ConfigError

# the top-level packages of this distribution: their records pass at the chosen level
OURS = frozenset({"rag", "ingest", "ui", "eval", "space", "api", "cli"})
LEVELS = ("debug", "info", "warning", "error", "critical")
FORMAT = "%(levelname)s %(name)s: %(message)s"


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record arrives (a test runner swaps it per test)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass  # StreamHandler.__init__ assigns it; the current stderr is always used


class _LevelByPackage(logging.Filter):
    """Our records from `level` up; other libraries' from WARNING (or `level`, when higher) up."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name.partition(".")[0] in OURS
        return record.levelno >= (self.level if ours else max(self.level, logging.WARNING))


def log_level(verbose: bool = False, environ: dict[str, str] | None = None) -> int:
    """The level for our packages: DEBUG with `--verbose`, else RAG_LOG_LEVEL, else WARNING.

    Raises:
        ConfigError: RAG_LOG_LEVEL is not a level name.
    """
    if verbose:
        return logging.DEBUG
    raw = (os.environ if environ is None else environ).get("RAG_LOG_LEVEL", "").strip()
    if not raw:
        return logging.WARNING
    if raw.lower() not in LEVELS:
        raise ConfigError(f"RAG_LOG_LEVEL={raw!r} is not a log level - use one of: {', '.join(LEVELS)}")
    return getattr(logging, raw.upper())


def configure_logging(level: int) -> logging.Handler:
    """Send log records to stderr, terminal-safe (they quote file names and errors); idempotent."""
    from rag.text.terminal import SafeLogRecord

    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(SafeLogRecord)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CurrentStderr)]:
        root.removeHandler(old)
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_LevelByPackage(level))
    root.addHandler(handler)
    root.setLevel(min(level, logging.WARNING))
    return handler
