"""One writer per RAG_HOME + collection: a lock file holding the owner's pid.

Every writer (`rag ingest`, `rag remove`, the UI's uploads and re-syncs, eval's ingestion) takes
it before touching a collection, so two syncs never embed the same files twice or run crash
recovery over each other's half-written files.

The file is held with an advisory `flock`, and the holder writes its pid into it. The kernel
drops the flock when its process dies however it dies (kill -9 included), so a lock left by a
dead pid is simply taken over by the next writer: no pid guessing, no race between two waiters
that both saw the owner die. The file itself is never deleted (deleting a flocked file lets two
processes lock two different files of the same name).

Within one process the lock is re-entrant for the thread that holds it (the UI holds it across
saving an upload and syncing it); other threads wait for it like other processes do.
"""

from __future__ import annotations

import errno
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError


class WriterBusy(RagError):
    """Another process is writing the collection and we were asked not to wait."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as written in its file (pid 0 when not readable yet)."""

    pid: int
    command: str = ""
    since: float = 0.0

    def describe(self) -> str:
        what = f"pid {self.pid}" if self.pid else "another process"
        return what + (f" ({self.command})" if self.command else "")


def lock_path(home: Path, collection: str) -> Path:
    """RAG_HOME/locks/<collection>.lock (the name reduced to safe file-name characters)."""
    return Path(home) / "locks" / (re.sub(r"[^\w.-]", "_", collection) + ".lock")


def read_holder(path: Path) -> Holder:
    """The pid (and command) written in a lock file; pid 0 when it is empty or unreadable."""
    try:
        data = json.loads(path.read_text() or "{}")
        return Holder(int(data.get("pid", 0)), str(data.get("command", "")), float(data.get("since", 0.0)))
    except (OSError, ValueError, TypeError):
        return Holder(0)


class _Held:
    """This process's hold on one lock file: the fd, the owning thread, the re-entry depth."""

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.fd: int | None = None
        self.depth = 0


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def _entry(path: Path) -> _Held:
    with _held_guard:
        return _held.setdefault(str(path), _Held())


def _try_flock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise


def _command() -> str:
    import sys

    argv = sys.argv or ["python"]
    return " ".join([os.path.basename(argv[0]), *argv[1:]])[:200]


def _flock_file(path: Path, wait: bool, on_wait: Callable[[Holder], None] | None, collection: str) -> int:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_flock(fd):
            holder = read_holder(path)
            if not wait:
                raise WriterBusy(
                    f"Collection {collection!r} is being written by {holder.describe()} - wait for it to "
                    "finish (run again without --no-wait to wait), or stop that process."
                )
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the holder finishes or dies
        record = {"pid": os.getpid(), "command": _command(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        return fd
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def write_lock(
    home: Path,
    collection: str,
    *,
    wait: bool = True,
    on_wait: Callable[[Holder], None] | None = None,
) -> Iterator[None]:
    """Hold the writer lock of `collection` in RAG_HOME `home` for the duration of the block.

    Args:
        wait: when another process holds it, wait for it (True) or raise WriterBusy (False).
        on_wait: called once with the holder before waiting (to tell the person why nothing moves).

    Raises:
        WriterBusy: `wait` is False and another process (or thread) holds the lock.
    """
    path = lock_path(home, collection)
    held = _entry(path)
    if not held.thread_lock.acquire(blocking=False):
        if not wait:
            raise WriterBusy(f"Collection {collection!r} is being written by this process - wait for it to finish.")
        if on_wait is not None:
            on_wait(Holder(os.getpid(), "another task of this process"))
        held.thread_lock.acquire()
    try:
        if held.depth == 0:
            held.fd = _flock_file(path, wait, on_wait, collection)
        held.depth += 1
    except BaseException:
        held.thread_lock.release()
        raise
    try:
        yield
    finally:
        held.depth -= 1
        if held.depth == 0 and held.fd is not None:
            os.close(held.fd)  # closing the only fd of the file releases the flock
            held.fd = None
        held.thread_lock.release()
