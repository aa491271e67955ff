"""What a saved conversation holds: its turns, each the question and the whole Answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.types import Answer

TITLE_CHARS = 80


def title_for(question: str) -> str:
    """A conversation's title: its first question on one line, cut at a word near TITLE_CHARS."""
    one_line = " ".join((question or "").split())
    if len(one_line) <= TITLE_CHARS:
        return one_line or "Untitled"
    cut = one_line[:TITLE_CHARS].rsplit(" ", 1)[0] or one_line[:TITLE_CHARS]
    return cut + "…"


@dataclass
class SavedTurn:
    """One question and what came back: an Answer, the text of a stopped answer, or an error."""

    question: str
    answer: Answer | None = None
    text: str = ""  # what a stopped answer had written
    error: str | None = None
    asked_at: float = 0.0
    # source number -> (first line, last line) of its passage in the file, for files without pages;
    # found when the turn was saved (lines.py), as the file may change later
    lines: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Conversation:
    """A conversation of one user (`user` "" when the UI runs without auth, and for the CLI)."""

    id: str
    title: str
    created: float
    updated: float
    user: str = ""
    collection: str = ""
    turns: list[SavedTurn] = field(default_factory=list)
    n_turns: int = 0  # in listings, where `turns` is not loaded
