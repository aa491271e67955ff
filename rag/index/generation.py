"""A collection's generation: a file a writer replaces after each commit, so readers notice.

Chroma's embedded client is not process-safe: a process that opened a collection keeps serving
the vector index it loaded, and does not see chunks another process (`rag ingest --watch`) added
later (measured with chromadb 1.5: `count` and `get` see them, `query` does not; a process that
writes catches up first, so writers need nothing). Every writer
replaces RAG_HOME/locks/<collection>.generation when it is done; a reader compares it with what it
read when it opened the collection and, when it changed, reopens its Chroma client and keyword
index. One small file read per search.
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
    os.replace(tmp, path)  # atomic: a reader sees the old token or the new one, never half


def current(home: Path, collection: str) -> str | None:
    """The generation now: an opaque token that changes with every write (None: never written)."""
    try:
        return generation_path(home, collection).read_text()
    except FileNotFoundError:
        return None


def written_here(token: str | None) -> bool:
    """Whether this process made that write (its own Chroma client already sees it)."""
    try:
        return token is not None and int(token.split()[1]) == os.getpid()
    except (IndexError, ValueError):
        return False


def written_before(token: str | None, ns: int) -> bool:
    """Whether the write behind `token` happened before the time `ns` (time.time_ns())."""
    try:
        return token is not None and int(token.split()[0]) < ns
    except (IndexError, ValueError):
        return False
