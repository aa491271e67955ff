"""A collection's generation: a file a writer replaces after each commit, so readers notice.

Chroma's embedded client is not process-safe: a process that opened a collection keeps serving
the vector index it loaded, and does not see chunks another process (`rag ingest --watch`) added
later. Every writer replaces RAG_HOME/locks/<collection>.generation when it is done; a reader
compares the file's identity (inode, mtime, size) with what it saw when it opened the collection
and reopens its Chroma client and keyword index when it changed. One stat per search.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path


def generation_path(home: Path, collection: str) -> Path:
    return Path(home) / "locks" / (re.sub(r"[^\w.-]", "_", collection) + ".generation")


def bump(home: Path, collection: str) -> None:
    """Announce that `collection` changed (write a new file and rename it over the old one)."""
    path = generation_path(home, collection)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{time.time_ns()} {os.getpid()}\n")
    os.replace(tmp, path)  # a new inode every time: readers compare identities, not clocks


def current(home: Path, collection: str) -> tuple[int, int, int] | None:
    """The generation's identity now (None when nothing was ever written)."""
    try:
        st = os.stat(generation_path(home, collection))
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
