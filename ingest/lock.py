"""One writer per RAG_HOME + collection: a lock file holding the owner's pid.

Every writer (`rag ingest`, `rag remove`, the UI's uploads and re-syncs, eval's ingestion) takes
it before touching a collection, so two syncs never embed the same files twice or run crash
recovery over each other's half-written files.

The file is held with `filelock` (an advisory `flock` on Unix), and the holder writes its pid into
it. The kernel drops the flock when its process dies however it dies (kill -9 included), so a lock
left by a dead pid is simply taken over by the next writer: no pid guessing, no race between two
waiters that both saw the owner die. The file itself is never deleted (`preserve_lock_file`:
deleting a flocked file lets two processes lock two different files of the same name).

Within one process the lock is re-entrant for the thread that holds it (the UI holds it across
saving an upload and syncing it); other threads wait for it like other processes do (filelock's
holds are per thread, and each thread's descriptor contends for the flock).
"""

from __future__ import annotations

import json
import os
import re
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


def _lock(path: Path):
    from filelock import FileLock

    # one instance per path in this process (is_singleton), its holds counted per thread (thread_local)
    return FileLock(
        path, is_singleton=True, thread_local=True, preserve_lock_file=True, on_acquired=_write_holder, mode=0o644
    )


def _write_holder(fd: int) -> None:
    # called by filelock with the locked descriptor, each time this process takes the flock
    record = {"pid": os.getpid(), "command": _command(), "since": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)


def _command() -> str:
    import sys

    argv = sys.argv or ["python"]
    return " ".join([os.path.basename(argv[0]), *argv[1:]])[:200]


def _busy(collection: str, holder: Holder) -> WriterBusy:
    if holder.pid == os.getpid():
        return WriterBusy(f"Collection {collection!r} is being written by this process - wait for it to finish.")
    return WriterBusy(
        f"Collection {collection!r} is being written by {holder.describe()} - wait for it to "
        "finish (run again without --no-wait to wait), or stop that process."
    )


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
    from filelock import Timeout

    path = lock_path(home, collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock(path)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        holder = read_holder(path)
        if not wait:
            raise _busy(collection, holder) from None
        if on_wait is not None:
            on_wait(Holder(holder.pid, "another task of this process") if holder.pid == os.getpid() else holder)
        lock.acquire()  # until the holder finishes or dies
    try:
        yield
    finally:
        lock.release()
