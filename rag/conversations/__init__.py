"""Saved conversations: a SQLite store under the data home (store.py), the record of each turn
(records.py, codec.py), where a cited passage sits in its file (lines.py), and export (export.py).

Importing this package opens nothing; the database file is made on the first save.
"""

from __future__ import annotations

from rag.conversations.records import Conversation, SavedTurn
from rag.conversations.store import ConversationNotFound, ConversationStore, ConversationStoreError

__all__ = ["Conversation", "ConversationNotFound", "ConversationStore", "ConversationStoreError", "SavedTurn"]
