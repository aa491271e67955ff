"""Where a cited passage sits in its file, as a line range, for files without pages.

A source carries character offsets into the text its loader read. For plain-text files (Markdown,
text, code) that text is the file's, so the offsets give line numbers; the range is reported only
when the file still holds the passage at those offsets (else the file changed or its loader
transformed the text, and a wrong line number would mislead).
"""

from __future__ import annotations

from pathlib import Path

from rag.types import Source

MAX_BYTES = 20 * 1024 * 1024  # larger files are not read again just to number lines


def _file_text(path: str) -> str | None:
    p = Path(path)
    try:
        if not p.is_file() or p.stat().st_size > MAX_BYTES:
            return None
        return p.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return None


def line_range(source: Source, text: str | None = None) -> tuple[int, int] | None:
    """(first line, last line), 1-based, of `source`'s passage in its file; None when unknown."""
    if source.page or source.end_char <= source.start_char:
        return None
    text = _file_text(source.path) if text is None else text
    if text is None:
        return None
    for candidate in (text, text.replace("\r\n", "\n")):
        if candidate[source.start_char : source.end_char] == source.text:
            first = candidate.count("\n", 0, source.start_char) + 1
            return first, first + source.text.rstrip("\n").count("\n")
    return None


def line_ranges(sources: list[Source]) -> dict[int, tuple[int, int]]:
    """Source number -> line range, for the sources whose range is known (each file read once)."""
    texts: dict[str, str | None] = {}
    out: dict[int, tuple[int, int]] = {}
    for s in sources:
        if s.page:
            continue
        if s.path not in texts:
            texts[s.path] = _file_text(s.path)
        found = line_range(s, texts[s.path]) if texts[s.path] is not None else None
        if found:
            out[s.n] = found
    return out
