"""The manifest: what is indexed, per collection, so a re-run embeds only what changed.

Crash safety is a write-ahead protocol around Chroma writes:
  1. mark the file `pending` here (committed) before touching its chunks in Chroma; the row keeps
     the hash and chunk count of the version indexed before;
  2. add the new version's chunks (their ids include the content hash, so they never collide
     with the old ones), then delete the old version's chunks: the file stays searchable;
  3. mark it `done` with its size, mtime, hash and chunk count.
A removal marks the file `removing`, deletes its chunks, then forgets the row.
After a kill at any point, the next writer (ingest/recovery.py) finds the row: a `pending` file
whose old version is still complete keeps it (the half-added new chunks are dropped and the file
is redone by the next sync); anything else is deleted and redone. Chunk ids are deterministic, so
nothing is ever duplicated.
A large file's new version goes in batch by batch: its `pending` row names the version being written
(`next_hash`); recovery keeps that version's chunks already in (counted in `partial`, the row back
to `done` for its old version, or to an empty `done` row), and the next sync embeds only the rest.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    collection_id TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    hash TEXT NOT NULL DEFAULT '',
    n_chunks INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,            -- 'done' | 'pending' | 'removing'
    indexed_at REAL NOT NULL,
    next_hash TEXT NOT NULL DEFAULT '',  -- the version being written (batch by batch)
    partial INTEGER NOT NULL DEFAULT 0,  -- chunks of next_hash already in Chroma (after a crash)
    PRIMARY KEY (collection_id, path)
);
CREATE TABLE IF NOT EXISTS roots (
    collection_id TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (collection_id, path)
);
"""


@dataclass(frozen=True)
class Entry:
    path: str
    size: int
    mtime_ns: int
    hash: str
    n_chunks: int
    state: str
    indexed_at: float
    next_hash: str = ""
    partial: int = 0


class Manifest:
    """Rows of one collection (by Chroma collection id) in the shared state database."""

    def __init__(self, db_path: Path, collection_id: str) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.collection_id = collection_id
        self.db = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        _add_columns(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def entries(self) -> dict[str, Entry]:
        rows = self.db.execute(
            "SELECT path, size, mtime_ns, hash, n_chunks, state, indexed_at, next_hash, partial "
            "FROM files WHERE collection_id=?",
            (self.collection_id,),
        )
        return {r[0]: Entry(*r) for r in rows}

    def pending(self) -> list[str]:
        """Files a writer was in the middle of (updating or removing) when it stopped."""
        rows = self.db.execute(
            "SELECT path FROM files WHERE collection_id=? AND state IN ('pending', 'removing')", (self.collection_id,)
        )
        return [r[0] for r in rows]

    def total_chunks(self) -> int:
        row = self.db.execute(
            "SELECT COALESCE(SUM(n_chunks + partial), 0) FROM files WHERE collection_id=? AND state='done'",
            (self.collection_id,),
        ).fetchone()
        return int(row[0])

    def mark_pending(self, paths: list[str], next_hash: str = "") -> None:
        """Before writing files' new chunks; `next_hash` names the version (one file's) being written."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO files (collection_id, path, state, indexed_at, next_hash) VALUES (?, ?, 'pending', ?, ?) "
                "ON CONFLICT (collection_id, path) DO UPDATE SET state='pending', next_hash=excluded.next_hash",
                [(self.collection_id, p, now, next_hash) for p in paths],
            )

    def mark_removing(self, paths: list[str]) -> None:
        """Before deleting files' chunks: recovery finishes the removal rather than restoring them."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "UPDATE files SET state='removing' WHERE collection_id=? AND path=?",
                [(self.collection_id, p) for p in paths],
            )

    def restore(self, path: str, next_hash: str = "", partial: int = 0) -> None:
        """Mark a pending file `done` again with the version it had before (its chunks are intact, or it had
        none: n_chunks 0), plus `partial` chunks of version `next_hash` (kept for the next sync)."""
        self.db.execute(
            "UPDATE files SET state='done', next_hash=?, partial=? WHERE collection_id=? AND path=?",
            (next_hash if partial else "", partial, self.collection_id, path),
        )

    def mark_done(self, rows: list[tuple[str, int, int, str, int]]) -> None:
        """rows: (path, size, mtime_ns, hash, n_chunks)."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO files (collection_id, path, size, mtime_ns, hash, n_chunks, state, indexed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'done', ?) ON CONFLICT (collection_id, path) DO UPDATE SET "
                "size=excluded.size, mtime_ns=excluded.mtime_ns, hash=excluded.hash, "
                "n_chunks=excluded.n_chunks, state='done', indexed_at=excluded.indexed_at, next_hash='', partial=0",
                [(self.collection_id, p, s, m, h, n, now) for p, s, m, h, n in rows],
            )

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """Record a new mtime for a file whose content did not change."""
        self.db.execute(
            "UPDATE files SET size=?, mtime_ns=? WHERE collection_id=? AND path=?",
            (size, mtime_ns, self.collection_id, path),
        )

    def forget(self, paths: list[str]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "DELETE FROM files WHERE collection_id=? AND path=?", [(self.collection_id, p) for p in paths]
            )

    def add_roots(self, roots: list[str]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO roots (collection_id, path) VALUES (?, ?)",
            [(self.collection_id, r) for r in roots],
        )

    def roots(self) -> list[str]:
        rows = self.db.execute("SELECT path FROM roots WHERE collection_id=? ORDER BY path", (self.collection_id,))
        return [r[0] for r in rows]

    def drop(self) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM files WHERE collection_id=?", (self.collection_id,))
            self.db.execute("DELETE FROM roots WHERE collection_id=?", (self.collection_id,))


def _add_columns(db: sqlite3.Connection) -> None:
    """Columns newer than a state database made by an older version (batch-by-batch writes)."""
    have = {row[1] for row in db.execute("PRAGMA table_info(files)")}
    for name, decl in (("next_hash", "TEXT NOT NULL DEFAULT ''"), ("partial", "INTEGER NOT NULL DEFAULT 0")):
        if name not in have:
            try:
                db.execute(f"ALTER TABLE files ADD COLUMN {name} {decl}")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise


def manifest_collection_ids(db_path: Path) -> set[str]:
    """Every collection id with rows in the state database (to find ones Chroma no longer has)."""
    if not db_path.exists():
        return set()
    with Manifest(db_path, "") as m:
        rows = m.db.execute("SELECT collection_id FROM files UNION SELECT collection_id FROM roots")
        return {r[0] for r in rows}
