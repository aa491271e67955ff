"""A huge section with no breaks (issue 26 item 5: a 5 MB single line) is split window by window: the
splitter's cost stays linear and its memory bounded (measured: 5 MB line, chunking +800 MB -> +274 MB)."""

from __future__ import annotations

import random
from itertools import pairwise

from ingest.chunking import WINDOW_CHARS, Chunker, PageText, _windows


def test_windows_cover_the_text_and_cut_at_the_best_break():
    text = ("word " * 30 + "end. ") * 2000 + "x" * 250  # ~310k characters
    windows = _windows(text, 10_000)
    assert windows[0][0] == 0 and windows[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in pairwise(windows))  # contiguous, nothing lost
    assert all(hi - lo <= 10_000 for lo, hi in windows)
    assert all(text[hi - 2 : hi] == ". " for _, hi in windows[:-1])  # a sentence end beats a space
    with_lines = "line of words\n" * 2000
    assert all(with_lines[hi - 1] == "\n" for _, hi in _windows(with_lines, 5_000)[:-1])  # a line beats both
    assert _windows("x" * 25, 10) == [(0, 10), (10, 20), (20, 25)]  # no break at all: a hard cut
    assert _windows("short text") == [(0, 10)]


def test_a_long_single_line_chunks_within_the_limit_in_order(embedder):
    chunker = Chunker(embedder.tokenizer, 254, 32, 254)
    random.seed(3)
    words = "harbour ferry noon island tide lighthouse keeper ship log rope".split()
    text = " ".join(random.choice(words) for _ in range(WINDOW_CHARS // 2))  # ~3 windows, one line
    assert len(text) > 2 * WINDOW_CHARS
    chunks = chunker.chunks("big.txt", "h", [PageText(text=text, page=None)])
    assert all(c.n_tokens <= 254 for c in chunks)
    starts = [c.start_char for c in chunks]
    assert starts == sorted(starts) and chunks[0].start_char == 0 and chunks[-1].end_char == len(text)
    assert all(text[c.start_char : c.end_char] == c.text for c in chunks)
    covered = sum(c.end_char - c.start_char for c in chunks)
    assert covered >= len(text) * 0.95  # every window's text is in some chunk (overlaps only add)
