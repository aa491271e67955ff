"""A "Sources" list to end an answer's text with, for clients that show only the text.

The OpenAI-compatible API sends the sources as a field of its own, which the openai client, `llm`
and LangChain never show; their users saw bare [1] markers. Each entry says which source, where
in it (page, or the lines of a text file) and a short quote: the piece the answer quoted, else
the start of the passage.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.types import Answer, Source

QUOTE_CHARS = 100
MAX_READ_BYTES = 8 * 2**20  # larger files are not read again just to number their lines
_CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(text: str) -> set[int]:
    """The source numbers `text` cites, as [1], [1][2] or [1, 2]."""
    return {int(n) for group in _CITED.findall(text) for n in group.split(",")}


def footnotes(answer: Answer) -> str:
    """The list for the sources the answer cites (all of its sources when it cites none), as
    `\\n\\nSources:\\n- [1] file, lines 3-7: "quote"`; "" for an abstention that cites nothing
    (its text names the closest passages)."""
    cited = cited_numbers(answer.text)
    shown = [s for s in answer.sources if s.n in cited] if cited else answer.sources
    if not shown or (answer.abstained and not cited):
        return ""
    return "\n\nSources:\n" + "\n".join(f'- [{s.n}] {where(s)}: "{quote(answer, s)}"' for s in shown)


def where(source: Source) -> str:
    """ "guide.pdf, page 4", "notes.md, lines 3-7", or the file name alone when lines cannot be told."""
    name = source.path.replace("\\", "/").rsplit("/", 1)[-1]
    if source.page:
        return f"{name}, page {source.page}"
    lines = line_range(source)
    if lines is None:
        return name
    return f"{name}, line {lines[0]}" if lines[0] == lines[1] else f"{name}, lines {lines[0]}-{lines[1]}"


def line_range(source: Source) -> tuple[int, int] | None:
    """The 1-based first and last line of `source` in its file, when the file as it is now holds the
    passage at its recorded offsets (a plain-text file, unchanged since indexing); else None, rather
    than a guess: offsets of HTML, JSON or office files point into their extracted text."""
    path = Path(source.path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_READ_BYTES:
            return None
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    start = source.start_char
    if text[start : start + len(source.text)] != source.text:
        return None
    first = text.count("\n", 0, start) + 1
    return first, first + source.text.rstrip("\n").count("\n")


def quote(answer: Answer, source: Source) -> str:
    """What the answer quoted from `source`, else the passage's start; one line, cut at a word."""
    spans = [sp for sp in answer.spans if sp.n == source.n]
    text = source.text[spans[0].start : spans[0].end] if spans else source.text
    text = " ".join(text.split()).replace('"', "'")
    if len(text) <= QUOTE_CHARS:
        return text
    cut = text[:QUOTE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "..."
