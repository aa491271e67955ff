"""Sentence vectors per retrieved chunk, embedded on demand and remembered across questions."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from rag.types import Source
from rag.verify.text import segments

Embed = Callable[[list[str]], np.ndarray]


class SentenceVectors:
    """Sentence offsets and vectors per chunk, remembered across questions (bounded, LRU).

    Vectors are embedded per sentence, on demand: quoting asks only for the sentences worth
    scoring (`pick`), focusing for all of them; what one asked for, the other reuses.
    """

    def __init__(self, embed: Embed, capacity: int = 4096) -> None:
        self.embed = embed
        self.capacity = capacity
        self._cache: OrderedDict[tuple[str, int], tuple[list, dict[int, np.ndarray]]] = OrderedDict()

    def segments(self, sources: Sequence[Source]) -> list[list[tuple[int, int, str]]]:
        """Each source's sentence segments (start, end, kind), no embedding."""
        out = []
        for s in sources:
            key = (s.id, hash(s.text))
            if key not in self._cache:
                self._put(key, (segments(s.text), {}))
            self._cache.move_to_end(key)
            out.append(self._cache[key][0])
        return out

    def pick(
        self, sources: Sequence[Source], wanted: Sequence[Sequence[int]] | None = None
    ) -> list[tuple[list[tuple[int, int, str]], dict[int, np.ndarray]]]:
        """(segments, {segment index: vector}) of each source, with at least the `wanted` indices
        (default: all) embedded; everything missing goes to the model in one batch."""
        segs_all = self.segments(sources)
        entries = [self._cache[(s.id, hash(s.text))] for s in sources]
        todo: dict[tuple[int, int], tuple[dict, str]] = {}  # (chunk entry, index) -> where it goes, its text
        for i, (s, segs) in enumerate(zip(sources, segs_all)):
            vecs = entries[i][1]
            for j in range(len(segs)) if wanted is None else wanted[i]:
                if j not in vecs:  # a chunk retrieved twice shares its entry: embedded once
                    todo[(id(vecs), j)] = (vecs, s.text[segs[j][0] : segs[j][1]])
        if todo:
            vectors = self.embed([text for _, text in todo.values()])
            for ((_, j), (vecs, _)), v in zip(todo.items(), vectors):
                vecs[j] = v
        return [(segs, entry[1]) for segs, entry in zip(segs_all, entries)]

    def get(self, sources: Sequence[Source]) -> list[tuple[list[tuple[int, int, str]], np.ndarray]]:
        """(segments, vectors) of each source, every sentence embedded (all unseen ones in one batch)."""
        out = []
        for segs, vecs in self.pick(sources):
            out.append((segs, np.stack([vecs[j] for j in range(len(segs))]) if segs else np.zeros((0, 1))))
        return out

    def known(self, sources: Sequence[Source]) -> dict[str, np.ndarray]:
        """The vectors already embedded for these sources' sentences, by whitespace-collapsed text
        (what the citation check can reuse instead of embedding the same sentences again)."""
        out = {}
        for s in sources:
            entry = self._cache.get((s.id, hash(s.text)))
            if entry is not None:
                segs, vecs = entry
                for j, v in list(vecs.items()):
                    a, b, _ = segs[j]
                    out[" ".join(s.text[a:b].split())] = v
        return out

    def _put(self, key: tuple[str, int], value: tuple[list, dict]) -> None:
        self._cache[key] = value
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
