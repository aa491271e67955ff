"""Focus a source on the question: keep its sentences most similar to it, within a token budget.

Why: a small model reads a short, relevant context better than five whole chunks, and on a CPU
every prompt token costs time before the first answer token (SmolLM2-135M processes roughly
200-300 prompt tokens a second on 2 cores). The full chunk stays in the `Source` (shown to the
user, and used by the citation check); only the prompt gets the focused text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

from rag.verify.text import split_sentences

GAP = " … "  # marks where sentences were left out, so the model does not read across the gap


def _pick(sims: np.ndarray, costs: list[int], budget: int) -> list[int]:
    """Sentences in order of similarity that fit the budget, returned in text order."""
    chosen, used = [], 0
    for i in np.argsort(-sims, kind="stable"):
        if used + costs[i] <= budget:
            chosen.append(int(i))
            used += costs[i]
    return sorted(chosen)


def focus_texts(
    question_vector: np.ndarray,
    texts: Sequence[str],
    budget: int,
    count_tokens: Callable[[str], int],
    embed: Callable[[list[str]], np.ndarray],
) -> list[str]:
    """Each text cut to at most `budget` tokens of its sentences most similar to the question.

    Texts already within the budget are returned whole. All sentences are embedded in one batch.

    Args:
        question_vector: The normalised query embedding.
        texts: The source texts, best-ranked first.
        budget: Most tokens kept per text (in the LLM's tokens).
        count_tokens: The LLM's token counter.
        embed: Embeds a list of sentences into normalised vectors.
    """
    out: list[str | None] = [t if count_tokens(t) <= budget else None for t in texts]
    todo = [i for i, t in enumerate(out) if t is None]
    sentences = {i: [texts[i][a:b] for a, b in split_sentences(texts[i])] for i in todo}
    flat = [s for i in todo for s in sentences[i]]
    vectors = embed(flat) if flat else np.zeros((0, len(question_vector)), dtype=np.float32)
    at = 0
    for i in todo:
        sents = sentences[i]
        sims = vectors[at : at + len(sents)] @ question_vector
        at += len(sents)
        keep = _pick(sims, [count_tokens(s) + 1 for s in sents], budget)
        if not keep:  # one sentence longer than the whole budget: keep the head of the best one
            best = sents[int(np.argmax(sims))] if sents else texts[i]
            keep_chars = max(1, len(best) * budget // max(1, count_tokens(best)))
            out[i] = best[:keep_chars]
            continue
        pieces = [sents[keep[0]]]
        for prev, j in pairwise(keep):
            pieces.append((" " if j == prev + 1 else GAP) + sents[j])
        out[i] = "".join(pieces)
    return [t or "" for t in out]
