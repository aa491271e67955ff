"""Answer metrics: pure functions over texts, vectors and verdicts, each testable by hand.

Scores are in [0, 1]; None means "does not apply" (no reference, nothing checked) and is left
out of averages rather than counted as 0. Definitions (README "What each metric measures" says
what each one cannot tell you):

- token_f1: SQuAD's token F1 after SQuAD normalisation (lower case, no punctuation, no
  articles a/an/the, single spaces). Needs a reference.
- reference_coverage: share of the reference's content words (stopwords dropped) that the
  answer contains. Needs a reference.
- semantic_similarity: cosine of the two texts' unit embeddings, negatives clipped to 0.
- question_answer_cosine: semantic_similarity(question, answer) - closeness in embedding space,
  which repeating the question earns, so it is not "relevance". The Ragas-style variant is the
  mean cosine between the question and questions an LLM writes back from the answer.
- citation_support: share of the answer's claim sentences that the product's OWN citation check
  (rag/verify/check.py) finds supported by the sources they cite - a self-check, calibrated in
  tests/data/calibration. "Miscited" sentences (supported only by a source they do not cite)
  count as not supported; sentences it skips (headings, fragments) do not count.
- context_recall: share of reference-answer sentences covered by the retrieved context. A
  sentence is covered when its support >= RECALL_SUPPORT, support = max(best cosine with a
  context sentence, share of its content words found in the context).
- source hit / reciprocal rank: first retrieved source whose file name is in relevant_sources.
- abstention precision / recall / F1, the positive class being "should abstain" (answerable
  false): precision = abstentions that were right, recall = unanswerable questions abstained on.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np
from rag.text.words import STOPWORDS

if TYPE_CHECKING:
    from rag.models.embedder import Embedder

    from rag.llm import LLMBackend
    from rag.types import Answer

RECALL_SUPPORT = 0.6
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
_WORD = re.compile(r"\w+")


# -- text overlap --------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation and articles, collapse spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between a prediction and a reference (1.0 when both normalise to empty)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def token_coverage(text: str, context: str) -> float | None:
    """Share of `text`'s content words found in `context` (None when it has none)."""
    words = content_words(text)
    return len(words & content_words(context)) / len(words) if words else None


def sentences(text: str) -> list[str]:
    """Split into sentences with the citation check's splitter (one notion of sentence everywhere)."""
    from rag.verify.text import split_sentences

    return [s for s in (text[a:b].strip() for a, b in split_sentences(text)) if _WORD.search(s)]


# -- embeddings ------------------------------------------------------------------------------------


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (0.0 when either is zero)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na and nb else 0.0


def semantic_similarity(embedder: Embedder, a: str, b: str) -> float:
    """Cosine of the embeddings of `a` and `b`, clipped to [0, 1]."""
    va, vb = embedder.embed([a, b])
    return max(0.0, cosine(va, vb))


def question_answer_cosine(embedder: Embedder, question: str, answer: str) -> float:
    """How close the answer is to the question in embedding space (0.0 for an empty answer)."""
    return semantic_similarity(embedder, question, answer) if answer.strip() else 0.0


def generated_relevance(embedder: Embedder, question: str, generated: Sequence[str]) -> float | None:
    """Ragas-style relevance: mean cosine (clipped at 0) between the question and generated questions."""
    generated = [g for g in generated if g.strip()]
    if not generated:
        return None
    vecs = embedder.embed([question, *generated])
    return float(np.mean([max(0.0, cosine(vecs[0], v)) for v in vecs[1:]]))


def generate_questions(llm: LLMBackend, answer: str, n: int = 2) -> list[str]:
    """Ask the LLM for `n` questions that `answer` would answer (Ragas' answer-relevancy step)."""
    prompt = (
        f"Write {n} different questions that the following text answers. One question per line, nothing else.\n\n"
        f"Text: {answer}"
    )
    out = llm.chat([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=40 * n)
    lines = [re.sub(r"^\s*(\d+[.)]|[-*])\s*", "", line).strip() for line in out.splitlines()]
    # a line without "?" is the model echoing the text, not a question: it would inflate the score
    questions = [line[: line.index("?") + 1] for line in lines if "?" in line]
    return [q for q in questions if len(q.split()) >= 3][:n]


def reference_coverage(answer: str, reference: str) -> float | None:
    """Share of the reference's content words found in the answer (None when it has none)."""
    return token_coverage(reference, answer)


def context_recall(embedder: Embedder, reference: str, contexts: Sequence[str]) -> float | None:
    """Share of the reference's sentences covered by the contexts (see the module docstring)."""
    refs = sentences(reference) or ([reference] if reference.strip() else [])
    ctx = [s for c in contexts for s in sentences(c)]
    if not refs:
        return None
    if not ctx:
        return 0.0
    joined = " ".join(contexts)
    vecs = embedder.embed(refs + ctx)
    ref_v, ctx_v = vecs[: len(refs)], vecs[len(refs) :]
    best = (ref_v @ ctx_v.T).max(axis=1)  # unit vectors: dot = cosine
    covered = [max(float(b), token_coverage(r, joined) or 0.0) >= RECALL_SUPPORT for r, b in zip(refs, best)]
    return sum(covered) / len(covered)


# -- verdicts --------------------------------------------------------------------------------------


def citation_support_counts(statuses: Iterable[str]) -> tuple[int, int]:
    """(supported, checked) from the citation check's sentence statuses.

    Only "supported" counts: a "miscited" sentence sends the reader to a source that does not
    say it, so it is not grounded where the answer claims. Skipped sentences make no claim.
    """
    checked = [s for s in statuses if s != "skipped"]
    return sum(s == "supported" for s in checked), len(checked)


def citation_support(answer: Answer, embedder: Embedder) -> tuple[float | None, int, int]:
    """(share supported, supported, checked) for an engine Answer.

    An abstention or an empty answer to an answerable question scores 0.0 (it grounded nothing),
    so abstaining more cannot raise the mean; None only when no sentence made a claim.
    """
    if answer.abstained or not answer.text.strip() or not answer.sources:
        return 0.0, 0, 0
    from rag.verify.check import check_answer

    result = check_answer(answer.text, answer.sources, embedder)
    supported, checked = citation_support_counts(s.status for s in result.per_sentence)
    return (supported / checked if checked else None), supported, checked


def source_rank(retrieved_paths: Sequence[str], relevant: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved path whose file name is in `relevant`, else None."""
    names = {PurePath(r).name for r in relevant}
    for rank, path in enumerate(retrieved_paths, 1):
        if PurePath(path).name in names:
            return rank
    return None


def hit_and_rr(retrieved_paths: Sequence[str], relevant: Sequence[str]) -> tuple[float | None, float | None]:
    """(hit 0/1, reciprocal rank) against relevant file names; (None, None) when none are given."""
    if not relevant:
        return None, None
    rank = source_rank(retrieved_paths, relevant)
    return (1.0, 1.0 / rank) if rank else (0.0, 0.0)


def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Precision, recall, F1 of abstaining, from (answerable, abstained) pairs (None when undefined)."""
    pairs = list(pairs)
    tp = sum(1 for answerable, abstained in pairs if abstained and not answerable)
    abstained = sum(1 for _, a in pairs if a)
    unanswerable = sum(1 for answerable, _ in pairs if not answerable)
    precision = tp / abstained if abstained else None
    recall = tp / unanswerable if unanswerable else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"abstention_precision": precision, "abstention_recall": recall, "abstention_f1": f1}


# -- aggregation -----------------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return sum(kept) / len(kept) if kept else None


def latency_stats(values: Iterable[float | None]) -> dict[str, float] | None:
    """p50, p95 and mean of the values that are not None, in seconds."""
    kept = np.array([v for v in values if v is not None], dtype=float)
    if not kept.size:
        return None
    return {
        "p50": round(float(np.percentile(kept, 50)), 4),
        "p95": round(float(np.percentile(kept, 95)), 4),
        "mean": round(float(kept.mean()), 4),
    }
