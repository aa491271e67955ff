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
from typing import TYPE_CHECKING, NamedTuple

from rag.types import Chunk

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter

    from ingest.headers import HeadingPath

CHUNKER_ID = "sentence-v2"  # v2: Markdown headings start a new chunk
HEADING = re.compile(r"^#{1,6} \S", re.M)


@dataclass(frozen=True)
class PageText:
    text: str
    page: int | None


class Span(NamedTuple):
    """Where one chunk lies: page (index into the file's pages), [start, end) there, chunk index."""

    page: int
    start: int
    end: int
    index: int  # type: ignore[assignment]  # the chunk's number; shadows tuple.index, never called here


RUN_ON_CHARS = 4096  # a stretch with no sentence end or line break this long is cut on word pieces
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
        # a run-on stretch (no sentence end or line break, over the limit) costs the splitter one tokenizer
        # call per word (0.3 MB on one line: 21 s); such stretches are cut on word pieces in one call
        # instead, and the text around them goes to the splitter as before (prose has no such stretch)
        if not text.strip():
            return []
        spans: list[tuple[int, int]] = []
        lo = 0
        for start, end in self._run_ons(text):
            spans += [(lo + a, lo + b) for a, b in self._split_sentences(text[lo:start])]
            spans += [(start + a, start + b) for a, b in self._token_windows(text[start:end])]
            lo = end
        return spans + [(lo + a, lo + b) for a, b in self._split_sentences(text[lo:])]

    def _run_ons(self, text: str) -> list[tuple[int, int]]:
        """Stretches with no sentence end or line break that are over the limit in word pieces."""
        # Only long stretches: the splitter handles a sentence over the limit as it always did (and
        # a test fixture's 24-piece chunks keep their boundaries); its per-word cost matters only
        # for stretches of thousands of characters, such as a 10 MB single line.
        least = max(2 * self.limit, RUN_ON_CHARS)
        found = [m.span() for m in re.finditer(rf"[^.!?\n]{{{least},}}", text)]
        if not found:
            return []
        ids = self.tokenizer([text[a:b] for a, b in found], add_special_tokens=False, verbose=False)["input_ids"]
        return [span for span, pieces in zip(found, ids) if len(pieces) > self.limit]

    def _token_windows(self, text: str) -> list[tuple[int, int]]:
        """`limit` word pieces a chunk, `overlap` shared, each cut at a word's start where there is one."""
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)[
            "offset_mapping"
        ]
        n, spans, i = len(offsets), [], 0
        while i < n:
            j = min(i + self.limit, n)
            if j < n:
                j = _word_start(text, offsets, j, i + 1)
            spans.append((offsets[i][0], offsets[j - 1][1]))
            if j >= n:
                break
            i = max(_word_start(text, offsets, j - self.overlap, i + 1), i + 1)
        cap = 16 * self.limit  # one "word piece" can be a whole 100k-character [UNK] word: cut by characters
        return [(a + k, min(b, a + k + cap)) for a, b in spans for k in range(0, b - a, cap)]

    def _split_sentences(self, text: str) -> list[tuple[int, int]]:
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

    def plan(self, pages: Sequence[PageText]) -> list[Span]:
        """Where every chunk of a file lies, without its text: a few ints per chunk, however big the file.

        A span's `index` counts blank pieces too (they are dropped), so ids match what `chunks` always gave.
        """
        spans: list[Span] = []
        index = 0
        for p, page in enumerate(pages):
            for start, end in self.split_page(page.text):
                for s, e in self._enforce_limit(page.text, start, end):
                    if not page.text[s:e].isspace() and s < e:
                        spans.append(Span(p, s, e, index))
                    index += 1
        return spans

    def chunks(self, path: str, file_hash: str, pages: Sequence[PageText], title: str = "") -> list[Chunk]:
        """All chunks of one file, ids deterministic in (path, content hash, position).

        With `headers` on, each chunk carries a header of `title` and the headings above it.
        """
        return self.build(path, file_hash, pages, self.plan(pages), title)

    def build(
        self,
        path: str,
        file_hash: str,
        pages: Sequence[PageText],
        spans: Sequence[Span],
        title: str = "",
        headings: HeadingPath | None = None,
    ) -> list[Chunk]:
        """The chunks of `spans` (some of a file's `plan`, in order): text, word-piece count and header.

        `headings`: the file's `heading_path`, kept across the batches of one file (else made here).
        """
        texts = [pages[sp.page].text[sp.start : sp.end] for sp in spans]
        counts = (
            [len(x) for x in self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]
            if texts
            else []
        )
        heads = self._headers(pages, spans, texts, counts, title, headings) if self.headers else [""] * len(spans)
        return [
            Chunk(
                id=chunk_id(path, file_hash, sp.index),
                text=text,
                path=path,
                index=sp.index,
                page=pages[sp.page].page,
                start_char=sp.start,
                end_char=sp.end,
                n_tokens=n,
                header=head,
            )
            for sp, text, n, head in zip(spans, texts, counts, heads)
        ]

    def heading_path(self, pages: Sequence[PageText]) -> HeadingPath:
        """The walker over a file's headings that `build` takes (empty when headers are off)."""
        from ingest.headers import HeadingPath, heading_marks

        return HeadingPath(heading_marks([p.text for p in pages]) if self.headers else [])

    def _headers(self, pages, spans, texts: list[str], counts: list[int], title: str, headings) -> list[str]:
        """Each chunk's header, within the room its chunk leaves under the limit (chunks keep their text)."""
        from ingest.headers import fit_header, header_parts

        above = headings if headings is not None else self.heading_path(pages)
        return [
            fit_header(header_parts(title, above.at(sp.page, sp.start), text), self.tokenizer, self.model_limit - n)
            for sp, text, n in zip(spans, texts, counts)
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


def _word_start(text: str, offsets: list[tuple[int, int]], k: int, floor: int) -> int:
    """The last token at or before `k` (not before `floor`) that starts a word, else `k`."""
    for at in range(k, floor - 1, -1):
        start = offsets[at][0]
        if start == 0 or text[start - 1].isspace():
            return at
    return k


def _fuzzy_find(text: str, piece: str, cursor: int) -> int:
    head = piece.strip()[:40]
    pos = text.find(head, cursor)
    return pos if pos >= 0 else cursor
