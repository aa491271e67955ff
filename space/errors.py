"""Errors of the space explorer; each says what was wrong and what to do."""

from __future__ import annotations

from rag.errors import RagError


class SpaceError(RagError):
    """A space command cannot run with the given input or options."""
