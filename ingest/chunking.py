"""Sentence-aware chunking measured in the embedding model's own word pieces.

llama-index's SentenceSplitter does the sentence-aware packing with our tokenizer; we then check
every chunk with the same tokenizer and split any chunk that is still over the model's limit, so
the model never silently truncates a chunk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.types import Chunk

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

CHUNKER_ID = "sentence-v2"  # v2: Markdown headings start a new chunk
HEADING = re.compile(r"^#{1,6} \S", re.M)


@dataclass(frozen=True)
class PageText:
    text: str
    page: int | None


WINDOW_CHARS = 100_000  # ~25k word pieces: a hundred chunks per window


def _windows(text: str, size: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """[lo, hi) windows of at most `size` characters covering `text`, each cut at the last line break,
    else sentence end, else space in its second half (a hard cut only where there is none)."""
    out, lo = [], 0
    while len(text) - lo > size:
        hi, half = lo + size, lo + size // 2
        cut = hi
        for mark in ("\n", ". ", " "):
            at = text.rfind(mark, half, hi)
            if at >= 0:
                cut = at + len(mark)
                break
        out.append((lo, cut))
        lo = cut
    out.append((lo, len(text)))
    return out


def chunk_id(path: str, file_hash: str, index: int) -> str:
    """Deterministic: the same file content always gives the same ids."""
    return hashlib.sha1(f"{path}\0{file_hash}\0{index}".encode()).hexdigest()


class Chunker:
    """Splits page texts into chunks of at most `limit` word pieces, with overlap."""

    def __init__(
        self, tokenizer, chunk_size: int, chunk_overlap: int, model_limit: int, *, headers: bool = False
    ) -> None:
        self.tokenizer = tokenizer
        self.limit = min(chunk_size, model_limit)
        self.model_limit = model_limit
        self.overlap = min(chunk_overlap, self.limit // 2)
        self.headers = headers  # contextual headers in the embedded text (ingest/headers.py)
        self._splitter: SentenceSplitter | None = None

    @property
    def settings(self) -> dict[str, int | str | bool]:
        return {
            "chunker": CHUNKER_ID,
            "chunk_size": self.limit,
            "chunk_overlap": self.overlap,
            "chunk_headers": self.headers,
        }

    def _count(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]

    @property
    def splitter(self) -> SentenceSplitter:
        if self._splitter is None:
            from llama_index.core.node_parser import SentenceSplitter

            self._splitter = SentenceSplitter(chunk_size=self.limit, chunk_overlap=self.overlap, tokenizer=self._count)
        return self._splitter

    def split_page(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character spans of the chunks of one page's text.

        A Markdown heading always starts a new chunk: a section is about one thing, and a chunk
        that mixes the end of one section with the start of the next matches neither well.
        """
        bounds = [m.start() for m in HEADING.finditer(text) if m.start() > 0]
        spans: list[tuple[int, int]] = []
        for lo, hi in zip([0, *bounds], [*bounds, len(text)]):
            spans += [(lo + s, lo + e) for s, e in self._split_section(text[lo:hi])]
        return spans

    def _split_section(self, text: str) -> list[tuple[int, int]]:
        # the splitter's time and memory grow faster than the text when a section has no breaks (a 5 MB
        # single line: 44 s and +800 MB): a long section is split window by window, cut at a line, a
        # sentence or a space; sections under WINDOW_CHARS (nearly all) are split exactly as before
        spans: list[tuple[int, int]] = []
        for lo, hi in _windows(text):
            spans += [(lo + s, lo + e) for s, e in self._split_window(text[lo:hi])]
        return spans

    def _split_window(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        cursor = 0
        if not text.strip():
            return spans
        for piece in self.splitter.split_text(text):
            start = text.find(piece, cursor)
            if start < 0:  # the splitter normalised something; fall back to a whitespace-tolerant search
                start = _fuzzy_find(text, piece, cursor)
            end = start + len(piece)
            spans.append((start, end))
            cursor = start + 1
        return spans

    def chunks(self, path: str, file_hash: str, pages: Sequence[PageText], title: str = "") -> list[Chunk]:
        """All chunks of one file, ids deterministic in (path, content hash, position).

        With `headers` on, each chunk carries a header of `title` and the headings above it.
        """
        raw: list[tuple[PageText, int, int]] = []
        for page in pages:
            for start, end in self.split_page(page.text):
                raw.extend((page, s, e) for s, e in self._enforce_limit(page.text, start, end))
        texts = [p.text[s:e] for p, s, e in raw]
        counts = (
            [len(x) for x in self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]
            if texts
            else []
        )
        heads = self._headers(pages, raw, texts, counts, title) if self.headers else [""] * len(raw)
        return [
            Chunk(
                id=chunk_id(path, file_hash, i),
                text=text,
                path=path,
                index=i,
                page=page.page,
                start_char=s,
                end_char=e,
                n_tokens=n,
                header=head,
            )
            for i, ((page, s, e), text, n, head) in enumerate(zip(raw, texts, counts, heads))
            if text.strip()
        ]

    def _headers(self, pages, raw, texts: list[str], counts: list[int], title: str) -> list[str]:
        """Each chunk's header, within the room its chunk leaves under the limit (chunks keep their text)."""
        from ingest.headers import fit_header, header_parts, heading_marks

        marks = heading_marks([p.text for p in pages])
        index = {id(p): i for i, p in enumerate(pages)}
        return [
            fit_header(header_parts(title, marks, index[id(page)], s, text), self.tokenizer, self.model_limit - n)
            for (page, s, _), text, n in zip(raw, texts, counts)
        ]

    def _enforce_limit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Split [start, end) into pieces of at most `limit` word pieces using token offsets."""
        enc = self.tokenizer(text[start:end], add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        if len(offsets) <= self.limit:
            return [(start, end)]
        pieces = []
        for i in range(0, len(offsets), self.limit):
            window = offsets[i : i + self.limit]
            s = start + window[0][0]
            e = start + (offsets[i + self.limit][0] if i + self.limit < len(offsets) else end - start)
            pieces.append((s, e))
        return pieces


def _fuzzy_find(text: str, piece: str, cursor: int) -> int:
    head = piece.strip()[:40]
    pos = text.find(head, cursor)
    return pos if pos >= 0 else cursor
