"""Evidence-first answers: quote the source sentences that answer the question, cited to the character.

Why: the bundled 135M model often writes fluent text its sources do not say, while retrieval has
already found the passage that does. A quote is grounded by construction, costs no generation,
and is shown as soon as retrieval is done. Signals, all cheap on CPU:

- the question's vector against each source sentence's vector (the same MiniLM vectors focusing
  uses; cached per chunk in `SentenceVectors`; with many sentences only those sharing the question's
  rarer words and the best one's neighbours are embedded),
- overlap with the question's rarer words (IDF over the retrieved sentences: a word every
  sentence has says little),
- the heading or FAQ question a sentence sits under (a matching heading lifts its section),
- the answer type the question asks for (a number for "how many", a date or duration for "when", a
  name for "who", a place for "where", an enumeration for "Can it read PDFs?" / "which file types"),
  which also decides whether the sources answer at all,
- the sentence's role (rag/answer/quote_signals.py): a study's aim restates the question, a bold FAQ line
  is a heading whose answer is the line under it.
Weights were tuned with benchmarks/answers.py on its tune splits only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.answer.answered import has_type, question_type, why_unanswered
from rag.answer.question_words import topic_words, without_common_words
from rag.answer.quote_clause import answering_clause
from rag.answer.quote_signals import (
    asks_kinds,
    date_strength,
    is_aim,
    is_background,
    is_finding,
    is_list,
    is_question_line,
    number_strength,
    superlative,
    terms,
)
from rag.answer.sentence_vectors import SentenceVectors
from rag.types import Source

__all__ = ["Extract", "SentenceVectors", "Span", "extract_answer", "pick_sentences"]

W_COS, W_TERMS, W_HEAD, W_LEAD, W_TYPE, W_RANK, W_HOW = 0.5, 0.35, 0.3, 0.25, 0.12, 0.01, 0.08
W_LIST = 0.15  # an enumeration naming what a yes/no or "which kinds" question asks about
W_AIM = 0.15  # a study's aim restates the question: "To evaluate renal damage after ..."
# ...but for a yes/no question the aim is as near to the conclusion as any sentence
W_AIM_YES_NO = 0.0  # (PubMedQA long answers covered 0.36 -> 0.26 with it at 0.15)
W_BACKGROUND = 0.05  # what was known before sets the question up: "X is defined as ..."
W_FINDING = 0.05  # what a study found answers it: "significantly higher", "no difference"
W_SUPERLATIVE = 0.1  # "what topic did studies most often address?": "The most common topic was ..."
SCORE_ALL = 12  # sentences: up to this many in the sources, every one is embedded and scored
LEXICAL_TOP = 5  # otherwise: the sentences sharing most rare question words (then the best one's neighbours)
LEXICAL_TYPE = 0.5  # ...plus this share of the rarest question word's weight for holding the asked type
LEXICAL_NEIGHBOURS = 1  # ...and the neighbours of the first of them, in the same batch (saves a second one)
FIRST_SENTENCE = False  # score each source's first sentence too (PubMedQA: as good without, 2x faster)
SHORT = 4  # words: a sentence this short ("No.") is read with the one after it
HEAD_FLOOR = 0.5  # heading similarity below this says nothing about the section
NEIGHBOUR_DROP = 0.12  # a following sentence joins the best one when it scores within this much
OTHER_SOURCE = 0.92  # a second source's best sentence joins when it scores this close to the best
_ANAPHORIC = re.compile(r"(?:it|this|that|these|those|they|then|he|she|its|their|there)\b", re.I)

_HOW_TO = re.compile(r"\bhow (?:do|can|should|would) (?:i|you|we)\b|\bhow to\b", re.I)
# an instruction: code, a command, or a sentence that opens with an imperative / "To restore, ..."
_INSTRUCTION = re.compile(
    r"`|^(?:to \w+[^,]{0,30},\s*)?(?:run|use|add|open|click|type|set|delete|remove|install|start|choose|"
    r"select|press|put|pour|cover|leave|feed|bake|dissolve|check|free|pass|call|edit|create|copy|move)\b",
    re.I,
)
_YES_NO_Q = re.compile(r"^\s*(?:does|do|is|are|can|could|will|would|should|has|have|did|was|were|may)\b", re.I)
_YES_NO_A = re.compile(r"^(?:yes|no)\b", re.I)


@dataclass
class Span:
    """An extracted piece: `sources[n-1].text[start:end]`."""

    n: int
    start: int
    end: int


@dataclass
class Extract:
    """The quoted answer, where each piece came from, and whether the sources answer at all."""

    text: str
    spans: list[Span] = field(default_factory=list)
    answered: bool = True
    qtype: str | None = None
    score: float = 0.0
    topic: list[str] = field(default_factory=list)  # question words the sources do contain
    why_unanswered: str | None = None  # e.g. 'say nothing about "cost"', 'give no number'


@dataclass
class _Sent:
    n: int
    start: int
    end: int
    text: str
    kind: str
    vector: np.ndarray
    head: float = 0.0  # similarity of the heading / FAQ question above it
    score: float = 0.0
    pickable: bool = True
    lead: bool = False  # first sentence under a heading
    idx: int = 0  # the sentence's index among its chunk's segments (neighbours differ by 1)


def _worth_scoring(
    sources: Sequence[Source], segs_all: list[list[tuple[int, int, str]]], question: str
) -> list[list[int]] | None:
    """Which sentences to embed for scoring (None: all of them).

    Embedding every sentence of five long chunks costs more than the quote's time budget (about 45
    sentences for five SciFact abstracts). With more than `SCORE_ALL` sentences, only headings (and
    the answer under each FAQ question), the `LEXICAL_TOP` sentences sharing most of the question's
    rarer words or holding the asked type (and each source's first
    sentence with `FIRST_SENTENCE`) are embedded and scored, then the best one's neighbours, which
    may join the quote. The first `LEXICAL_NEIGHBOURS` of them bring their neighbours into the same
    batch: a call to the model costs ~15 ms on 2 cores whatever its length, and the best sentence is
    usually the lexical first (PubMedQA 60 + SciFact 50: 2.2 -> 1.3 calls per quote). `SCORE_ALL`
    is 12, not more: 18-24 sentences embedded at once took 450-600 ms (SciFact at 10k chunks).
    """
    total = sum(len(segs) for segs in segs_all)
    if total <= SCORE_ALL:
        return None
    qterms = terms(question)
    texts = [
        (i, j, s.text[a:b]) for i, (s, segs) in enumerate(zip(sources, segs_all)) for j, (a, b, _) in enumerate(segs)
    ]
    idf, bags = _idf([t for _, _, t in texts])
    lexical = [sum(idf.get(t, 0.0) for t in bag & qterms) - 0.01 * i for (i, _, _), bag in zip(texts, bags)]
    qtype = question_type(question)
    if qtype and LEXICAL_TYPE:  # a sentence with the asked-for figure or date is worth embedding
        top = max((idf.get(t, 0.0) for t in qterms), default=0.0)
        lexical = [x + LEXICAL_TYPE * top * _type_strength(t, qtype, question) for x, (_, _, t) in zip(lexical, texts)]
    wanted: list[set[int]] = [set() for _ in sources]
    for r, rank in enumerate(sorted(range(len(texts)), key=lambda k: -lexical[k])[:LEXICAL_TOP]):
        i, j = texts[rank][0], texts[rank][1]
        wanted[i].add(j)
        if r < LEXICAL_NEIGHBOURS:
            wanted[i].update(_neighbours(j, len(segs_all[i])))
    for i, segs in enumerate(segs_all):
        heads = {
            j for j, (a, b, kind) in enumerate(segs) if kind == "heading" or is_question_line(sources[i].text[a:b])
        }
        # the answer under an FAQ question, and the sentence after a bare "No." that says why
        under = {j + 1 for j in heads if j + 1 < len(segs)}
        under |= {j + 1 for j in under if j + 1 < len(segs) and _words(sources[i].text[slice(*segs[j][:2])]) <= SHORT}
        wanted[i].update(heads | under | ({0} if segs and FIRST_SENTENCE else set()))
    return [sorted(w) for w in wanted]


def _neighbours(j: int, count: int) -> set[int]:
    """The indices next to sentence j among a chunk's `count` sentences."""
    return {j - 1, j + 1} & set(range(count))


def _sentences(
    sources: Sequence[Source], cache: SentenceVectors, qvec: np.ndarray, wanted: list[list[int]] | None = None
) -> list[_Sent]:
    out: list[_Sent] = []
    for s, (segs, vectors) in zip(sources, cache.pick(sources, wanted)):
        head, lead = 0.0, False
        for j, (a, b, kind) in enumerate(segs):
            text = s.text[a:b]
            is_head = kind == "heading" or is_question_line(text)
            vec = vectors.get(j)
            if vec is not None:
                pickable = not is_head and kind != "code"
                out.append(_Sent(s.n, a, b, text, kind, vec, head=head, pickable=pickable, lead=lead, idx=j))
            if is_head and vec is not None:
                head = float(vec @ qvec)  # the sentences below it inherit how well it matches
            # the sentence right under an FAQ question is its direct answer ("No." and the one after it)
            lead = is_question_line(text) if is_head else (lead and len(text.split()) <= SHORT)
    return out


def _ranked(
    sources: Sequence[Source],
    cache: SentenceVectors,
    qvec: np.ndarray,
    question: str,
    qtype: str | None,
    wanted: list[list[int]] | None,
) -> list[_Sent]:
    """The scored sentences; a near-best one with the asked-for type is lifted above a best without."""
    sents = _sentences(sources, cache, qvec, wanted)
    if not any(s.pickable for s in sents):
        return sents
    _score(sents, qvec, question, qtype)
    if qtype:
        typed = [s for s in sents if s.pickable and _type_strength(s.text, qtype, question) >= 1]
        best = max((s for s in sents if s.pickable), key=lambda s: s.score)
        if typed and _type_strength(best.text, qtype, question) < 1:
            alt = max(typed, key=lambda s: s.score)
            if alt.score >= best.score - 2 * W_TYPE - 0.05:
                alt.score = best.score + 1e-6
    return sents


def _idf(texts: list[str]) -> tuple[dict[str, float], list[set[str]]]:
    """IDF of each content word over `texts` (the retrieved sentences), and each text's word set."""
    bags = [terms(t) for t in texts]
    df: dict[str, int] = {}
    for bag in bags:
        for t in bag:
            df[t] = df.get(t, 0) + 1
    n = max(1, len(bags))
    return {t: math.log(1 + n / (1 + d)) for t, d in df.items()}, bags


def _score(sents: list[_Sent], qvec: np.ndarray, question: str, qtype: str | None) -> None:
    idf, bags = _idf([s.text for s in sents])
    qterms = terms(question)
    top = max((idf.get(t, math.log(1 + len(sents))) for t in qterms), default=1.0)
    weight = {t: idf.get(t, top) for t in qterms}
    total = sum(weight.values()) or 1.0
    asks = {"how_to": bool(_HOW_TO.search(question)), "yes_no": bool(_YES_NO_Q.match(question))}
    asks["kinds"] = asks_kinds(question)
    for s, bag in zip(sents, bags):
        share = sum(w for t, w in weight.items() if t in bag) / total
        s.score = (
            W_COS * float(s.vector @ qvec)
            + W_TERMS * share
            + (W_HEAD + W_LEAD * s.lead) * max(0.0, (s.head - HEAD_FLOOR) / (1 - HEAD_FLOOR))
            + _kind(s, question, qtype, asks, share)
            - W_RANK * (s.n - 1)
        )


def _kind(s: _Sent, question: str, qtype: str | None, asks: dict[str, bool], share: float) -> float:
    """What the sentence's type and role add: the asked type, a finding, a list; an aim or background."""
    out = 0.0 if qtype is None else W_TYPE * (2 * _type_strength(s.text, qtype, question) - 1)
    if is_aim(s.text):
        out -= W_AIM_YES_NO if asks["yes_no"] else W_AIM
    if is_background(s.text):
        out -= W_BACKGROUND
    if is_finding(s.text):
        out += W_FINDING
    # "Can it read PDFs?" / "Which file types ...": the list naming the item answers it
    if (asks["kinds"] or (asks["yes_no"] and share > 0)) and is_list(s.text):
        out += W_LIST
    if superlative(question, s.text):
        out += W_SUPERLATIVE
    if asks["how_to"] and _INSTRUCTION.search(s.text):
        out += W_HOW
    if asks["yes_no"] and _YES_NO_A.match(s.text) and s.head >= HEAD_FLOOR:  # "Yes." answers its own FAQ question
        out += W_TYPE
    return out


def _type_strength(text: str, qtype: str, question: str) -> float:
    """How clearly `text` holds the asked type, 0..1 (a figure in digits beats "three manikin intubations")."""
    if qtype == "number":
        return number_strength(text, question)
    if qtype == "date":
        return date_strength(text, question)
    return float(has_type(text, qtype, question))


def _words(text: str) -> int:
    return len(text.split())


def _trim(s: _Sent, question: str, max_words: int) -> tuple[int, int]:
    """The clause window of a too-long sentence that best covers the question's words."""
    cuts = [0] + [m.end() for m in re.finditer(r"[;:]\s+|,\s+(?=(?:and|but|which|while|so)\b)", s.text)] + [len(s.text)]
    qterms = terms(question)
    best, best_hit = (0, len(s.text)), -1.0
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            piece = s.text[cuts[i] : cuts[j]]
            if _words(piece) > max_words and j > i + 1:
                break
            hit = len(qterms & terms(piece)) - 0.01 * _words(piece)
            if hit > best_hit:
                best, best_hit = (cuts[i], cuts[j]), hit
    a, b = best
    piece = s.text[a:b]
    if _words(piece) > max_words:  # one clause is still too long: keep its first max_words words
        ends = [m.end() for m in re.finditer(r"\S+", piece)]
        b = a + ends[max_words - 1]
    a += len(piece) - len(piece.lstrip())
    return s.start + a, s.start + len(s.text[:b].rstrip(" ,;:"))


def _choose(sents: list[_Sent], max_words: int) -> list[_Sent]:
    """The best sentence, its follow-on sentence, and a near-equal one from another source."""
    ranked = sorted((s for s in sents if s.pickable), key=lambda s: -s.score)
    best = ranked[0]
    picks, used = [best], _words(best.text)
    i = sents.index(best)
    prev = sents[i - 1] if i > 0 else None
    before = prev is not None and prev.n == best.n and prev.idx == best.idx - 1 and prev.pickable
    # "It rises 22 km" needs the sentence naming "it"; "The included time is per ride" its "No."
    if (
        before
        and prev is not None
        and (_ANAPHORIC.match(best.text) or (_YES_NO_A.match(prev.text) and _words(prev.text) <= SHORT))
        and used + _words(prev.text) <= max_words
    ):
        picks.insert(0, prev)
        used += _words(prev.text)
    nxt = sents[i + 1] if i + 1 < len(sents) else None
    if (
        nxt is not None
        and nxt.n == best.n
        and nxt.idx == best.idx + 1
        and nxt.pickable
        and used + _words(nxt.text) <= max_words
        and (nxt.score >= best.score - NEIGHBOUR_DROP or _ANAPHORIC.match(nxt.text) or used <= SHORT)
    ):
        picks.append(nxt)
        used += _words(nxt.text)
    other = next((s for s in ranked if s.n != best.n), None)
    if (
        other
        and other.score >= OTHER_SOURCE * best.score
        and used + _words(other.text) <= max_words
        and all(float(other.vector @ p.vector) < 0.9 for p in picks)
    ):
        picks.append(other)
    return picks


def extract_answer(
    question: str, qvec: np.ndarray, sources: Sequence[Source], cache: SentenceVectors, max_words: int = 60
) -> Extract:
    """Quote the sentences of `sources` that answer `question`, each followed by its [n].

    Args:
        question: The (standalone) question.
        qvec: Its normalised embedding (the one retrieval used).
        sources: The relevant sources, best first.
        cache: Sentence vectors per chunk (shared with focusing).
        max_words: About how many words the extract may have.
    """
    qtype = question_type(question)
    segs_all = cache.segments(sources)
    wanted = _worth_scoring(sources, segs_all, question)
    sents = _ranked(sources, cache, qvec, question, qtype, wanted)
    if not any(s.pickable for s in sents):
        return Extract(text="", answered=False, qtype=qtype)
    if wanted is not None:  # the best sentence's neighbours may join the quote: score them too
        best = max((s for s in sents if s.pickable), key=lambda s: s.score)
        i = next(k for k, src in enumerate(sources) if src.n == best.n)
        near = _neighbours(best.idx, len(segs_all[i]))
        if not near <= set(wanted[i]):
            wanted[i] = sorted(set(wanted[i]) | near)
            sents = _ranked(sources, cache, qvec, question, qtype, wanted)
    picks = _choose(sents, max_words)
    spans = []
    for p in picks:
        start, end = (p.start, p.end) if _words(p.text) <= max_words else _trim(p, question, max_words)
        clause = qtype and answering_clause(p.text, question, lambda t: _type_strength(t, qtype, question))
        if clause and _words(p.text[clause[0] : clause[1]]) <= max_words:  # the asked-for figure, date or
            # name in its own clause: the rest of the sentence is noise (the word budget still rules)
            start, end = p.start + clause[0], p.start + clause[1]
        spans.append(Span(p.n, start, end))
    by_n = {s.n: s for s in sources}
    text = " ".join(f"{' '.join(by_n[sp.n].text[sp.start : sp.end].split())} [{sp.n}]" for sp in spans)
    why = why_unanswered(picks, question, qtype, sources, cache.embed)
    score = max(p.score for p in picks)
    return Extract(text, spans, why is None, qtype, score, topic_words(question, sources), why)


def pick_sentences(
    question: str,
    sources: Sequence[Source],
    embedder,
    cache: SentenceVectors | None,
    common_words: Callable[[str, float], list[str]] | None,
    share: float,
    max_words: int,
) -> Extract | None:
    """The answer pipeline's sentence-picking stage: the quote from `sources` (None without an embedder).

    The words most of the collection contains (`common_words`, see Retriever.common_words) are left
    out when choosing: "where does ragspace keep its data?" is about "data". The refusal still names
    the words the user used ("The documents discuss ragspace, but ...").
    """
    if embedder is None or cache is None:  # nothing to embed sentences with: no quote
        return None
    focused = without_common_words(question, common_words, share)
    qvec = embedder.embed_query(focused)  # remembered from retrieval when nothing was dropped
    extract = extract_answer(focused, qvec, sources, cache, max_words)
    if focused != question:
        extract.topic = topic_words(question, sources)
    return extract
