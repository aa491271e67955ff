"""Logging is configured in one place, the `rag` command's root; library modules only name their logger."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.logs import configure_logging, log_level
from rag.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
LIBRARY = ("rag", "ingest", "ui", "eval", "space", "api")
# Configuring logging: only cli/logs.py may call these.
CONFIGURES = {"basicConfig", "dictConfig", "fileConfig", "setLogRecordFactory", "addHandler", "setLevel"}
# (file, call) a library module may make, and why
ALLOWED = {
    ("rag/__init__.py", "addHandler"),  # the NullHandler a library attaches to its own top logger
    # pypdf muted around one parse (we report our own reason): silencing a library, not configuring ours
    ("ingest/document_loaders.py", "setLevel"),
    ("ingest/document_loaders.py", "getLogger"),
}


def rag(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def root_logging():
    """The root logger as it was, restored after the test (configure_logging changes it)."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogRecordFactory())
    yield root
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    logging.setLogRecordFactory(saved[2])


def test_verbose_and_rag_log_level_show_the_debug_log():
    quiet = rag("status")  # the autouse fixture clears RAG_* variables
    assert quiet.returncode == 0 and "DEBUG" not in quiet.stderr
    verbose = rag("--verbose", "status")
    assert verbose.returncode == 0, verbose.stderr
    assert "DEBUG cli.main: rag --verbose status" in verbose.stderr
    by_env = rag("status", RAG_LOG_LEVEL="debug")
    assert by_env.returncode == 0 and "DEBUG cli.main: rag status" in by_env.stderr
    assert "No collections yet" in by_env.stdout  # the log goes to stderr, the output stays on stdout


def test_a_bad_rag_log_level_is_a_usage_error_that_names_the_levels():
    out = rag("status", RAG_LOG_LEVEL="loud")
    assert out.returncode == 2
    assert "RAG_LOG_LEVEL='loud' is not a log level" in out.stderr and "debug, info, warning" in out.stderr
    with pytest.raises(ConfigError):
        log_level(environ={"RAG_LOG_LEVEL": "10"})
    assert log_level(environ={"RAG_LOG_LEVEL": " Info "}) == logging.INFO
    assert log_level(True, {"RAG_LOG_LEVEL": "error"}) == logging.DEBUG  # the flag wins


def test_our_records_pass_at_the_level_other_libraries_from_warning(root_logging, capsys):
    configure_logging(logging.INFO)
    configure_logging(logging.INFO)  # idempotent: still one handler
    logging.getLogger("ingest.pipeline").info("ours at info")
    logging.getLogger("rag.index.store").debug("ours at debug")
    logging.getLogger("chromadb.telemetry").info("theirs at info")
    logging.getLogger("chromadb.telemetry").warning("theirs at warning")
    logging.getLogger("rag.x").warning("a path \x1b[2J cleared the screen")
    err = capsys.readouterr().err
    assert err.count("INFO ingest.pipeline: ours at info") == 1
    assert "ours at debug" not in err and "theirs at info" not in err
    assert "WARNING chromadb.telemetry: theirs at warning" in err
    assert "\x1b" not in err and "\u241b[2J" in err  # log lines quote file names: made terminal-safe


def test_at_error_level_warnings_are_hidden_too(root_logging, capsys):
    configure_logging(logging.ERROR)
    logging.getLogger("rag.x").warning("ours")
    logging.getLogger("httpx").warning("theirs")
    logging.getLogger("rag.x").error("an error")
    err = capsys.readouterr().err
    assert "ours" not in err and "theirs" not in err and "ERROR rag.x: an error" in err


def _logging_calls(path: Path) -> list[tuple[str, str]]:
    """(call, argument) of every logging configuration call, and of getLogger with anything but __name__."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute | ast.Name):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
        if name in CONFIGURES or (name == "getLogger" and not (
            len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id == "__name__"
        )):
            found.append((name, ast.unparse(node)))
    return found


def test_library_modules_only_name_their_logger():
    offenders = []
    for package in LIBRARY:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            for name, call in _logging_calls(path):
                if (rel, name) not in ALLOWED:
                    offenders.append(f"{rel}: {call}")
    assert offenders == []
