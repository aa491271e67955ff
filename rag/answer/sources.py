"""The sources an answer lists: numbered 1..n in score order, far weaker ones set aside as "also near".

Retrieval ranks by fused rank when hybrid search is on, while `Source.score` is the cosine a user
sees; filtering that list by a threshold left gaps ([1], [2], [4]) and scores that went up and down.
A source far below the best one (0.12 next to 0.61) is rarely what answers, and listing it as a
source suggests it does, so it is offered as "also near" instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rag.types import Source

# A source is set aside when it scores more than FAR_BELOW under the best (absolute cosine) or
# under HALF_OF_BEST of it: the first matters for high scores (0.35 next to 0.78), the second for
# low ones (0.11 next to 0.27). Measured on 79 quoted answers (tests/data/extract, tests/data/qa
# over tests/data/docs, and the samples' FAQ and paraphrases, with nothing set aside): every
# source a quote cites scores within 0.149 of the best and at least 0.79 x the best, and the rule
# sets aside 38 of the 224 sources those answers listed.
FAR_BELOW = 0.25
HALF_OF_BEST = 0.5


def floor_of(best: float) -> float:
    """The lowest score still listed next to a best source scoring `best`."""
    near = best - FAR_BELOW
    return max(near, HALF_OF_BEST * best) if best > 0 else near


def arrange(sources: Sequence[Source]) -> tuple[list[Source], list[Source]]:
    """Sources to list, renumbered 1..n by descending score, and the far weaker ones ("also near").

    Pure: the given objects are not changed; copies carry the new numbers. Ties keep the order
    retrieval gave them. The set-aside ones are numbered on after the listed ones (n+1, ...), so
    no number is used twice, but nothing cites them.
    """
    ranked = sorted(sources, key=lambda s: s.score, reverse=True)
    if not ranked:
        return [], []
    floor = floor_of(ranked[0].score)
    listed = [s for s in ranked if s.score >= floor]
    near = [s for s in ranked if s.score < floor]
    numbered = [replace(s, n=i) for i, s in enumerate(listed + near, 1)]
    return numbered[: len(listed)], numbered[len(listed) :]


def by_file(near: Sequence[Source]) -> list[Source]:
    """One entry per file and page, its closest chunk: what "Also near: file (score)" names."""
    seen: dict[tuple[str, int | None], Source] = {}
    for s in near:
        seen.setdefault((s.path, s.page), s)  # `near` comes best first
    return list(seen.values())
