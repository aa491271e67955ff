"""What the command line does with an error that is not one of ours (a bug, or a library's surprise).

Exit code 3 and one line naming the error; the traceback goes to a private log file whose path is
printed, or to stderr with `--debug` (or RAG_DEBUG=1). Exit 1 stays "some files failed".
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

EXIT_UNEXPECTED = 3
DEBUG_FLAG = "--debug"


def take_debug_flag(argv: list[str]) -> bool:
    """Remove `--debug` from `argv` (anywhere before a `--`), so any subcommand accepts it."""
    end = argv.index("--") if "--" in argv else len(argv)
    found = DEBUG_FLAG in argv[:end]
    if found:
        argv[:] = [a for i, a in enumerate(argv) if not (i < end and a == DEBUG_FLAG)]
    return found or os.environ.get("RAG_DEBUG", "").strip().lower() in ("1", "true", "yes")


def report_unexpected(exc: BaseException, debug: bool) -> int:
    """Print one line about `exc` (and its traceback with `debug`); returns the exit code."""
    from rag.text.terminal import safe

    what = safe(" ".join(f"{type(exc).__name__}: {exc}".split())[:300])
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        print(f"error: unexpected {what}", file=sys.stderr)
        return EXIT_UNEXPECTED
    log = _write_log(exc)
    where = f"the traceback is in {log}" if log else "the traceback could not be saved"
    print(f"error: unexpected {what} ({where}; run again with --debug to print it)", file=sys.stderr)
    return EXIT_UNEXPECTED


def _write_log(exc: BaseException) -> Path | None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in _log_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            # the traceback may quote document text: readable by this user only
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(" ".join(sys.argv) + "\n\n" + text)
            return path
        except OSError:
            continue
    return None


def _log_folders() -> list[Path]:
    # RAG_HOME is read from the environment, not Settings: the crash may be in building Settings
    folders = []
    try:
        from rag.settings import default_home

        folders.append(Path(os.environ.get("RAG_HOME") or default_home()).expanduser() / "logs")
    except Exception:
        pass
    return [*folders, Path(tempfile.gettempdir())]
