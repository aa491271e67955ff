"""Domain errors. Each message says what was wrong and what to do about it.

They are translated into exit codes and UI messages only at the edges (cli, ui).
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error ragspace reports to a person."""

    exit_code = 2


class ConfigError(RagError):
    """A setting, a flag or rag.toml is wrong."""


class ModelError(RagError):
    """The embedding model cannot be found, loaded or verified."""


class StoreError(RagError):
    """Chroma cannot be reached or the collection cannot be used."""


class FingerprintMismatch(StoreError):
    """The collection was built with other embedding or chunking settings."""


class CollectionNotFound(StoreError):
    """The collection does not exist (nothing has been ingested into it)."""


class EmptyCollection(StoreError):
    """The collection exists but holds no chunks yet."""


class QuestionError(RagError):
    """The question itself cannot be asked (empty, too long)."""
