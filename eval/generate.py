"""`rag eval generate`: a QA set from the user's own documents, for people who have none.

Chunks are sampled (fixed seed) from the collection; for each, the LLM writes one question the
chunk answers. Bad generations are dropped with a reason: no question mark, too short or long,
copied from the passage, or not about the passage (too few of its words in the chunk). The
reference answer is the chunk sentence closest to the question; the source file is recorded.

When the LLM fails on a chunk (the bundled 135M model often does), `method="auto"` falls back to
a *cloze* question - a sentence of the chunk with a key term blanked out - which needs no LLM and
is labelled `"generator": "cloze"` so nobody mistakes it for a natural question (the answers
report keeps cloze items out of its headline means). A few unanswerable questions are added
with `answerable: false`, so abstention is measured too: they are drawn (seeded) from a fixed,
shipped pool of general-knowledge questions and kept WHATEVER the engine scores them. Picking
only those that retrieve below the relevance threshold - the engine's own abstain rule - would
make abstention recall 1.0 by construction.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eval.metrics_answers import content_words, sentences, token_coverage
from eval.qa import QAItem
from eval.runs import EvalError
from rag.llm import LLMTimeout
from rag.settings import Settings

PROMPT = (
    "Here is a passage from a document:\n\n{chunk}\n\n"
    "Write one question that this passage answers. Reply with the question only."
)
MIN_CHUNK_WORDS = 25
MIN_Q_WORDS, MAX_Q_WORDS = 4, 30
COPY_RUN = 8  # this many consecutive passage words in a question = copied, not asked
MIN_COVERAGE = 0.34  # share of the question's content words the chunk must contain
# general knowledge, on no particular document set; a user's corpus may well answer one of them
# (a medical corpus, the ibuprofen dose), and then the eval says so instead of hiding it
OFF_CORPUS = (
    "Which country won the 1998 FIFA World Cup?",
    "What was the closing price of Apple shares last Friday?",
    "How many goals did Pele score in his career?",
    "What is the recommended daily dose of ibuprofen for adults?",
    "Who painted the ceiling of the Sistine Chapel?",
    "What is the capital city of Mongolia?",
    "How do I change a flat bicycle tyre?",
    "Which actor played James Bond in Goldfinger?",
    "What is the boiling point of ethanol at sea level?",
    "When did the Berlin Wall fall?",
    "Who wrote the novel War and Peace?",
    "How many players are on a rugby union team?",
    "What is the tallest mountain in Africa?",
    "Which planet has the most moons?",
    "What year did the first human land on the Moon?",
)


@dataclass
class Generated:
    """The outcome of `generate_qa`: the questions, and what was thrown away and why."""

    items: list[QAItem] = field(default_factory=list)
    attempts: int = 0
    rejected: Counter = field(default_factory=Counter)
    cloze: int = 0
    timeouts: int = 0  # LLM calls that timed out (each counted in `rejected` too)
    llm: str | None = None

    @property
    def warning(self) -> str | None:
        """Set when the LLM's questions were mostly rejected (a weak model)."""
        if self.attempts and sum(self.rejected.values()) > self.attempts / 2:
            return (
                f"the LLM ({self.llm}) wrote a usable question for only {self.attempts - sum(self.rejected.values())}"
                f" of {self.attempts} passages; {self.cloze} cloze questions stand in - for natural questions use a "
                "stronger model with --llm ollama:MODEL"
            )
        return None


def check_question(question: str, chunk: str) -> tuple[str | None, str | None]:
    """(cleaned question, None) if usable, else (None, reason it was rejected)."""
    line = next((ln.strip() for ln in question.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(question|q)\s*[:.-]\s*", "", line, flags=re.IGNORECASE).strip(" \"'*")
    if "?" not in line:
        return None, "no question mark"
    line = line[: line.index("?") + 1]
    words = line.split()
    if len(words) < MIN_Q_WORDS:
        return None, "too short"
    if len(words) > MAX_Q_WORDS:
        return None, "too long"
    passage = " ".join(re.findall(r"\w+", chunk.lower()))
    q_words = re.findall(r"\w+", line.lower())
    runs = (" ".join(q_words[i : i + COPY_RUN]) for i in range(max(1, len(q_words) - COPY_RUN + 1)))
    if len(q_words) >= COPY_RUN and any(f" {r} " in f" {passage} " for r in runs):
        return None, "copies the passage"
    if (token_coverage(line, chunk) or 0.0) < MIN_COVERAGE:
        return None, "not about the passage"
    return line, None


def cloze(chunk: str, rng: random.Random) -> tuple[str, str, str] | None:
    """(question, the sentence, the blanked term) from one chunk sentence, or None if none fits."""
    candidates = [s for s in sentences(chunk) if 8 <= len(s.split()) <= 40]
    rng.shuffle(candidates)
    for sent in candidates:
        words = re.findall(r"[A-Za-z0-9][\w-]*", sent)
        numbers = [w for w in words if any(c.isdigit() for c in w)]
        names = [w for w in words[1:] if w[0].isupper() and len(w) > 2]
        long_words = sorted((w for w in words if w.lower() in content_words(sent) and len(w) >= 6), key=len)
        term = (numbers or names or long_words[-1:] or [None])[0]
        if term:
            blanked = re.sub(rf"\b{re.escape(term)}\b", "____", sent, count=1)
            return f'Which word fills the blank: "{blanked}"?', sent, term
    return None


def best_sentence(embedder, question: str, chunk: str) -> str:
    """The chunk sentence closest to the question: the extracted reference answer."""
    sents = sentences(chunk) or [chunk]
    vecs = embedder.embed([question, *sents])
    return sents[int((vecs[1:] @ vecs[0]).argmax())]


def sample_chunks(store, settings: Settings, rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """Up to `n` (id, text, path) chunks of the collection with enough words, in a seeded order."""
    col = store.get(settings.collection)
    ids = sorted(col.get(include=[])["ids"])  # sorted: Chroma's order is not a promise
    rng.shuffle(ids)
    out: list[tuple[str, str, str]] = []
    for start in range(0, len(ids), 256):
        got = col.get(ids=ids[start : start + 256], include=["documents", "metadatas"])
        by_id = {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
        for cid in ids[start : start + 256]:
            text, meta = by_id[cid]
            if len(text.split()) >= MIN_CHUNK_WORDS:
                out.append((cid, text, meta["path"]))
            if len(out) >= n:
                return out
    return out


def off_corpus(retriever, k: int, rng: random.Random) -> list[QAItem]:
    """`k` questions drawn from the shipped OFF_CORPUS pool, kept whatever they score.

    The best retrieval score is recorded for the reader (a high one says the corpus may answer
    the question after all); it never decides whether a question is kept.
    """
    pool = list(OFF_CORPUS)
    rng.shuffle(pool)
    items = []
    for question in pool[:k]:
        best = retriever.search(question, top_k=1, threshold=-1.0)
        extra = {"generator": "off-corpus", "best_score": round(best[0].score, 4) if best else None}
        items.append(QAItem(id=f"off-{len(items) + 1}", question=question, answerable=False, extra=extra))
    return items


def generate_qa(
    settings: Settings, embedder, store, *, n: int = 20, unanswerable: int = 3, seed: int = 0,
    method: str = "auto", on_item=None,
) -> Generated:  # fmt: skip
    """Synthesise up to `n` answerable + `unanswerable` off-corpus questions from the collection.

    Args:
        method: "llm" (LLM questions only), "cloze" (no LLM), or "auto" (LLM, cloze when it fails).
    """
    from rag.retrieval.retriever import Retriever

    if method not in ("llm", "cloze", "auto"):
        raise EvalError(f"unknown --method {method!r} - use llm, cloze or auto")
    if unanswerable > len(OFF_CORPUS):
        raise EvalError(f"--unanswerable {unanswerable} is more than the {len(OFF_CORPUS)} shipped general-knowledge "
                        f"questions - choose at most {len(OFF_CORPUS)}, or add your own with answerable: false")
    rng = random.Random(seed)
    llm = None
    if method != "cloze":
        from rag.llm import resolve_llm

        llm = resolve_llm(settings)
    out = Generated(llm=f"{llm.name}:{llm.model}" if llm else None)
    seen: set[str] = set()
    for cid, text, path in sample_chunks(store, settings, rng, 3 * n):
        if len(out.items) >= n:
            break
        item = _one(llm, embedder, cid, text, path, rng, out, seen, method)
        if item is not None:
            item.id = f"gen-{len(out.items) + 1:03d}"
            out.items.append(item)
            if on_item:
                on_item(len(out.items), n)
    if not out.items:
        raise EvalError(
            f"no question could be generated from collection {settings.collection!r} - it needs chunks of "
            f"at least {MIN_CHUNK_WORDS} words; ingest longer documents"
        )
    out.items += off_corpus(Retriever(settings, embedder, store), unanswerable, rng)
    return out


def _one(llm, embedder, cid, text, path, rng, out: Generated, seen: set[str], method: str) -> QAItem | None:
    source = {"relevant_sources": [Path(path).name], "answerable": True}
    if llm is not None:
        out.attempts += 1
        try:
            raw = llm.chat([{"role": "user", "content": PROMPT.format(chunk=text)}], temperature=0.0, max_tokens=48)
        except LLMTimeout:  # one slow chunk should not abort the set: count it, fall back like a bad question
            raw = ""
            out.timeouts += 1
        question, reason = check_question(raw, text) if raw else (None, "LLM timed out")
        if question and question.lower() in seen:
            question, reason = None, "duplicate"
        if question:
            seen.add(question.lower())
            ref = best_sentence(embedder, question, text)
            return QAItem(id="", question=question, reference_answer=ref, **source,
                          extra={"generator": out.llm, "chunk_id": cid})  # fmt: skip
        out.rejected[reason] += 1
        if method == "llm":
            return None
    made = cloze(text, rng)
    if made is None:
        return None
    question, sentence, term = made
    out.cloze += 1
    return QAItem(id="", question=question, reference_answer=sentence, **source,
                  extra={"generator": "cloze", "cloze_answer": term, "chunk_id": cid})  # fmt: skip
