"""Contextual chunk headers: "title > heading > sub-heading" embedded with each chunk.

A chunk cut from the middle of a section often never names what it is about (the paper's title,
the section it sits in). With `chunk_headers` on, the text that is *embedded* (and indexed for BM25)
starts with a short header naming the document and the headings above the chunk; the stored chunk
text, its offsets and what is shown or cited stay exactly the original text.

The header never costs the chunk any text: chunk boundaries are the same as without headers, and
the header gets at most HEADER_PIECES word pieces and never more than the room the chunk leaves
under the model's limit (a full chunk gets a shorter header, or none).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

HEADER_PIECES = 32  # most word pieces a header takes: a title plus a heading or two
SEPARATOR = " > "
_MD_HEADING = re.compile(r"^(#{1,6}) +(\S.*?)\s*#*\s*$", re.MULTILINE)
_HTML_TITLE = re.compile(r"<(title|h1)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_LETTER = re.compile(r"[^\W\d_]")
Mark = tuple[int, int, int, str]  # (page index, offset, level, heading text)
TITLE_LINE_WORDS = 20  # a plain-text first line this short, followed by a blank line, is a title


def _clean(text: str) -> str:
    return " ".join(text.split())


def _metadata_title(path: Path, data: bytes) -> str:
    """The title a PDF or DOCX records in its metadata ("" when none or unreadable)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            from pypdf import PdfReader

            meta = PdfReader(io.BytesIO(data)).metadata
            return _clean(str(meta.title or "")) if meta else ""
        if suffix == ".docx":
            import docx

            return _clean(docx.Document(io.BytesIO(data)).core_properties.title or "")
    except Exception as exc:  # the loader already read the text; a title is a nicety
        log.debug("no title metadata in %s: %s", path, exc)
    return ""


def _text_title(path: Path, data: bytes, first_text: str) -> str:
    """The first Markdown heading, HTML <title>/<h1>, or a short first line followed by a blank line."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        m = _HTML_TITLE.search(data[:200_000].decode("utf-8", "replace"))
        if m:
            import html

            return _clean(html.unescape(_TAG.sub(" ", m.group(2))))
    m = _MD_HEADING.search(first_text)
    if m and suffix in (".md", ".markdown"):
        return _clean(m.group(2))
    head, sep, _ = first_text.lstrip().partition("\n\n")
    if sep and "\n" not in head.strip() and 0 < len(head.split()) <= TITLE_LINE_WORDS:
        return _clean(head)
    return _clean(m.group(2)) if m else ""


def doc_title(path: Path, data: bytes, first_text: str) -> str:
    """A document's title: its metadata title, else one from its text, else its file name stem.

    A stem without letters (`4983.txt`, `12345678.pdf`) names nothing and is not used.
    """
    title = _metadata_title(path, data) or _text_title(path, data, first_text)
    if title:
        return title
    stem = path.stem.replace("_", " ").replace("-", " ").strip()
    return stem if _LETTER.search(stem) else ""


def heading_marks(texts: Sequence[str]) -> list[Mark]:
    """(page index, offset, level, heading text) of every Markdown heading, in document order."""
    return [
        (i, m.start(), len(m.group(1)), _clean(m.group(2)))
        for i, text in enumerate(texts)
        for m in _MD_HEADING.finditer(text)
    ]


class HeadingPath:
    """The heading path above positions asked in document order, in one pass over the marks.

    Walking every earlier mark for each chunk cost chunks x headings (a file of 100k one-line
    sections: 10^10 steps); a position before the last one asked starts the walk again.
    """

    def __init__(self, marks: list[Mark]) -> None:
        self.marks = marks
        self._reset()

    def _reset(self) -> None:
        self.next, self.last = 0, (-1, -1)
        self.path: list[tuple[int, str]] = []

    def at(self, page_index: int, start: int) -> list[str]:
        if (page_index, start) < self.last:
            self._reset()
        self.last = (page_index, start)
        while self.next < len(self.marks):
            i, offset, level, heading = self.marks[self.next]
            if (i, offset) >= (page_index, start):
                break
            self.path = [(lvl, h) for lvl, h in self.path if lvl < level] + [(level, heading)]
            self.next += 1
        return [h for _, h in self.path]


def header_parts(title: str, headings: list[str], text: str) -> list[str]:
    """Title and the heading path above a chunk (`HeadingPath.at`), minus what the chunk already says."""
    parts = [title] if title else []
    parts += [h for h in headings if h not in parts]
    head = text[:300]
    return [p for p in parts if p and p not in head]  # the first chunk already starts with its title


def fit_header(parts: list[str], tokenizer, room: int) -> str:
    """`parts` joined, cut at a word boundary to at most min(HEADER_PIECES, room) word pieces ("" if none fit)."""
    budget = min(HEADER_PIECES, room)
    header = SEPARATOR.join(parts)
    while header and budget > 0:
        offsets = _offsets(tokenizer, header)
        if len(offsets) <= budget:
            return header
        # whole words only: a word cut in two can take more pieces than it had whole
        cut = header.rfind(" ", 0, offsets[budget][0] + 1)
        header = header[: max(cut, 0)].rstrip(" >")
    return ""


def _offsets(tokenizer, text: str) -> list[tuple[int, int]]:
    return tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]


def built_with_headers(col, wanted: bool, *, asked: bool = True) -> bool:
    """Whether `col`'s chunks are embedded with headers: what it recorded, never what settings ask now.

    A collection built before `chunk_headers` existed records nothing and counts as off. Following
    the record keeps every vector of a collection made one way, and asks no rebuild of old ones; a
    setting the user `asked` for (not just the default) that differs is said, naming the fix.
    """
    from rag.index.store import read_fingerprint

    recorded = bool(read_fingerprint(col.metadata).get("chunk_headers", False))
    if recorded != wanted and asked:
        log.warning(
            "collection %r was built %s chunk headers; its new chunks are embedded the same way (chunk_headers=%s "
            "is not applied) so the index stays uniform - `rag ingest PATH --collection %s --rebuild` rebuilds it %s",
            col.name, "with" if recorded else "without", wanted, col.name, "with them" if wanted else "without them",
        )  # fmt: skip
    return recorded
