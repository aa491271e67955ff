"""Conversations in one SQLite file under the data home (`conversations.sqlite3`).

Every call opens its own short connection: the UI answers from several threads and the CLI may
run beside it; SQLite's own locking keeps them apart. A damaged or locked file raises
ConversationStoreError naming the file and the fix; callers save after answering, so a broken
store costs the saving, never the answer.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.conversations.codec import turn_from_dict, turn_to_dict
from rag.conversations.records import Conversation, SavedTurn, title_for
from rag.errors import RagError, StoreError

FILE_NAME = "conversations.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, collection TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
"""


class ConversationStoreError(StoreError):
    """The conversation database cannot be read or written (damaged, locked, not permitted)."""


class ConversationNotFound(RagError):
    """No conversation with that id belongs to this user."""


class ConversationStore:
    """The saved conversations of every user, each call scoped to one `user`.

    Args:
        path: the SQLite file (made, with its folder, on the first write).
        timeout: seconds to wait for another writer before calling the file locked.
    """

    def __init__(self, path: Path, timeout: float = 2.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    @classmethod
    def for_home(cls, home: Path, timeout: float = 2.0) -> ConversationStore:
        return cls(Path(home) / FILE_NAME, timeout)

    # -- reading ----------------------------------------------------------------------------

    def list(self, user: str = "") -> list[Conversation]:
        """The user's conversations, most recently updated first (turns not loaded)."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.created, c.updated, c.collection, COUNT(t.seq) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation_id = c.id WHERE c.user = ? "
                "GROUP BY c.id ORDER BY c.updated DESC, c.created DESC",
                (user,),
            ).fetchall()
        return [Conversation(r[0], r[1], r[2], r[3], user, r[4], n_turns=r[5]) for r in rows]

    def get(self, conversation_id: str, user: str = "") -> Conversation:
        """One conversation with its turns.

        Raises:
            ConversationNotFound: no such id for this user (another user's ids are not revealed).
        """
        if not self.path.exists():
            raise self._not_found(conversation_id)
        with self._connect() as db:
            row = self._row(db, conversation_id, user)
            records = db.execute(
                "SELECT record FROM turns WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            ).fetchall()
        conv = Conversation(row[0], row[1], row[2], row[3], user, row[4])
        conv.turns = [turn_from_dict(json.loads(r[0])) for r in records]
        conv.n_turns = len(conv.turns)
        return conv

    # -- writing ----------------------------------------------------------------------------

    def create(self, first_question: str, user: str = "", collection: str = "") -> Conversation:
        """A new, empty conversation titled from its first question."""
        now = time.time()
        conv = Conversation(secrets.token_hex(6), title_for(first_question), now, now, user, collection)
        with self._connect() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                (conv.id, user, conv.title, collection, now, now),
            )
        return conv

    def add_turn(self, conversation_id: str, turn: SavedTurn, user: str = "") -> None:
        """Append `turn`; the conversation moves to the top of the list."""
        turn.asked_at = turn.asked_at or time.time()
        with self._connect() as db:
            self._row(db, conversation_id, user)
            db.execute(
                "INSERT INTO turns VALUES"
                " (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id = ?), ?)",
                (conversation_id, conversation_id, json.dumps(turn_to_dict(turn))),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (time.time(), conversation_id))

    def rename(self, conversation_id: str, title: str, user: str = "") -> None:
        title = " ".join((title or "").split())
        if not title:
            raise RagError("A conversation's title cannot be empty - type a title.")
        with self._connect() as db:
            self._row(db, conversation_id, user)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: str, user: str = "") -> None:
        with self._connect() as db:
            self._row(db, conversation_id, user)
            db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # -- plumbing ---------------------------------------------------------------------------

    def _row(self, db: sqlite3.Connection, conversation_id: str, user: str) -> tuple:
        row = db.execute(
            "SELECT id, title, created, updated, collection FROM conversations WHERE id = ? AND user = ?",
            (conversation_id, user),
        ).fetchone()
        if row is None:
            raise self._not_found(conversation_id)
        return row

    def _not_found(self, conversation_id: str) -> ConversationNotFound:
        return ConversationNotFound(
            f"No saved conversation {conversation_id!r} - `rag conversations list` shows their ids."
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (committed at the end); SQLite errors become ours."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=self.timeout)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        try:
            with db:
                db.executescript(SCHEMA)
                yield db
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        finally:
            db.close()

    def _error(self, exc: Exception) -> ConversationStoreError:
        p = self.path
        said = str(exc)
        if "locked" in said or "busy" in said:
            return ConversationStoreError(
                f"The conversation database {p} is locked by another program ({said}) - close the program "
                "that holds it open (another `rag` process or an `sqlite3` shell) and try again."
            )
        if "malformed" in said or "not a database" in said or type(exc) is sqlite3.DatabaseError:
            return ConversationStoreError(
                f"The conversation database {p} is damaged ({said}) - move it aside "
                f"(`mv {p} {p}.broken`); a new, empty one is made on the next save."
            )
        return ConversationStoreError(
            f"Cannot use the conversation database {p} ({said}) - check that its folder exists and you may write it."
        )
