"""Answer or refuse: the evidence that the retrieved sources answer a question, not one absolute cosine.

One cosine threshold fails both ways: MiniLM gives everyday wording low scores against the passage
that answers it ("Is my data private?" 0.24 against the FAQ that says nothing leaves the machine),
and an on-topic question the documents cannot answer scores as high as one they can. The evidence
weighed here:

- **dense, relative to the collection**: the best cosine next to what unrelated questions get in
  this collection (`CollectionNull`: a fixed pool of off-topic questions, searched once per version
  of the collection and remembered). A collection of near-identical texts scores everything high;
  a small one of varied texts scores everything low.
- **the question's key terms, by meaning**: each word that says what is asked is found in the
  sources by spelling, or else by meaning - its vector (the embedding model's own, for the word
  alone) next to the sources' words ("wifi" ~ "network", "ignore" ~ "skipped"). Words are embedded
  once each and remembered (`WordVectors`).
- **the question without the word**: a key term the sources lack by spelling and by word vector may
  still be said in other words ("work *offline*" ~ "works with no network at all"). The sentence
  model sees it in context where a word alone cannot: with the term left out, a question the quote
  answers in other words moves *away* from the quote, one that asks what the quote lacks moves
  *closer* to it ("How much *caffeine* does kombucha contain?" +0.05 against a quote on brewing).
- **the asked type**: the quote carries a number for "how many", a date for "when" (rag/answer/answered.py).

The constants below were calibrated on the tune splits of benchmarks/answerability.py (see there).
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from rag.types import Source

if TYPE_CHECKING:
    from rag.answer.extract import Extract

# Questions about nothing a document collection is likely to hold, in many fields and shapes. Their
# best cosines are what "unrelated" scores in a collection; the median resists the odd one that is
# on topic (a cookery collection answers the egg question).
NULL_QUESTIONS = (
    "What is the capital of France?",
    "Who wrote Pride and Prejudice?",
    "How do I change a flat tyre on a bicycle?",
    "What time does the football match start tonight?",
    "How many legs does a spider have?",
    "What is a good recipe for tomato soup?",
    "When did the Roman Empire fall?",
    "How do I tie a bowline knot?",
    "What is the tallest mountain in Africa?",
    "Which planets have rings?",
    "How do volcanoes form?",
    "What is the best way to learn the guitar?",
    "How long should I boil an egg?",
    "Who painted the Mona Lisa?",
    "What is the exchange rate of the euro to the yen?",
    "How do I grow tomatoes on a balcony?",
    "What are the rules for castling in chess?",
    "Why is the sky blue?",
    "How do migrating birds find their way?",
    "What language is spoken in Brazil?",
    "How do I write a cover letter for a job?",
    "What happens in the last act of Hamlet?",
    "How much does a blue whale weigh?",
    "When is the best season to visit Japan?",
)


@dataclass(frozen=True)
class CollectionNull:
    """What unrelated questions score in one collection: the median and the upper quartile of
    their best cosines."""

    median: float
    high: float

    @classmethod
    def measure(cls, best_cosine: Callable[[list[str]], list[float]]) -> CollectionNull:
        """From the best cosine of each question in `NULL_QUESTIONS` (one search each)."""
        scores = sorted(best_cosine(list(NULL_QUESTIONS)))
        return cls(statistics.median(scores), scores[(3 * len(scores)) // 4])


class WordVectors:
    """Single-word vectors from the embedding model, each word embedded once (bounded, LRU).

    Measured against a static word-embedding model whose wheel carries its weights (wordllama's
    l2_supercat_256): its token vectors put "ignore" 0.09 from "skipped", "switch" 0.06 from "use",
    "offline" 0.10 from "network"; MiniLM's own vectors for the words alone 0.54, 0.34, 0.32, with
    unrelated pairs ("wifi"/"banana") at 0.16. No new dependency, and the words a collection uses
    repeat, so after the first questions most are already known.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], capacity: int = 50_000) -> None:
        self.embed = embed
        self.capacity = capacity
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # UI sessions ask from several threads

    def vectors(self, words: Sequence[str]) -> np.ndarray:
        """(len(words), dim) unit vectors; the unknown ones go to the model in one call."""
        with self._lock:
            todo = [w for w in dict.fromkeys(words) if w not in self._known]
        fresh = dict(zip(todo, self.embed(todo))) if todo else {}
        with self._lock:
            self._known.update(fresh)
            out = np.stack([self._known[w] if w in self._known else fresh[w] for w in words])
            for w in words:
                if w in self._known:
                    self._known.move_to_end(w)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)
        return out

    def nearest(self, terms: Sequence[str], vocabulary: Sequence[str]) -> list[float]:
        """For each term, its best cosine to any word of `vocabulary` (0 with an empty vocabulary)."""
        if not terms:
            return []
        if not vocabulary:
            return [0.0] * len(terms)
        return [float(x) for x in (self.vectors(terms) @ self.vectors(vocabulary).T).max(axis=1)]


@dataclass
class Verdict:
    """The decision and the evidence behind it (what benchmarks/answerability.py records)."""

    answer: bool
    sources: list[Source] = field(default_factory=list)  # the sources that count, best first
    best: float = 0.0
    null_median: float = 0.0
    null_high: float = 0.0
    floor: float = 0.0  # least cosine a source needed to count (with every key term found)
    reason: str = ""  # why not: "far" (nothing near enough) or "unanswered" (on topic, what is asked is absent)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["sources"] = [round(s.score, 4) for s in self.sources]
        return out


# -- calibrated on the tune splits (benchmarks/answerability.py) ------------------------------------
WORD_NEAR = 0.6  # a key term this close to a word of the sources (MiniLM, words alone) is there by meaning
TERM_SENTENCE = 0.4  # ... or this close to one of the sources' embedded sentences
NULL_GAP = 0.0  # the band's floor: at least this far above what unrelated questions score (upper quartile)
# Leaving a key term out of the question moves it this much closer to the quote, or more: the quote does
# not say it in other words (less, or farther: it does). Measured on the tune splits (terms absent by
# spelling and word vector): answered "wildcards" -0.27, "offline" -0.05, "switch" -0.03; not answered
# "alexa" +0.15, "license" +0.12, "IPv6" +0.09, "caffeine" +0.05; the two overlap between -0.03 and +0.09.
CLOSER = -0.02
# ... this much closer or more: that one term is what the quote lacks, refused alone even in a long question
# (where one unknown word among many is otherwise taken for a paraphrase; see rag.answer.answered.MISSING_SHARE)
CLOSER_SURE = 0.05


def vocabulary(sources: Sequence[Source]) -> list[str]:
    """The sources' content words, lower-case, once each (what key terms are matched against)."""
    from rag.answer.answered import WORD
    from rag.text.words import STOPWORDS

    words = (w.lower() for s in sources for w in WORD.findall(s.text))
    return list(dict.fromkeys(w for w in words if len(w) > 2 and w not in STOPWORDS and not w[0].isdigit()))


def unmatched(
    terms: Sequence[str], sources: Sequence[Source], words: WordVectors, sentences: np.ndarray | None = None
) -> list[str]:
    """The `terms` (absent from the sources by spelling) that no source word or sentence means either."""
    if not terms:
        return []
    low = [t.lower() for t in terms]
    near = np.array(words.nearest(low, vocabulary(sources))) >= WORD_NEAR
    if sentences is not None and len(sentences):
        near |= (words.vectors(low) @ sentences.T).max(axis=1) >= TERM_SENTENCE
    # a term with a digit names one thing (error VS-30, IPv6, 2019): its neighbours in meaning
    # (VS-22 at 0.69) are other things, so only its spelling finds it
    near &= np.array([not any(c.isdigit() for c in t) for t in terms])
    return [t for t, found in zip(terms, near) if not found]


def closer_without(
    question: str, quote: str, terms: Sequence[str], embed: Callable[[list[str]], np.ndarray]
) -> list[float]:
    """For each term, how much closer the question is to the quote with that term left out (cosine).

    One call to the model for the question, the quote and each question without one term. The quote's
    [n] markers are dropped first: they are not what it says.
    """
    if not terms:
        return []
    plain = re.sub(r"\s*\[\d+\]", "", quote)
    without = [re.sub(r"(?<![\w-])" + re.escape(t) + r"(?![\w-])", " ", question) for t in terms]
    vectors = embed([question, plain, *without])
    full = float(vectors[0] @ vectors[1])
    return [float(v @ vectors[1]) - full for v in vectors[2:]]


def checked(
    question: str, sources: Sequence[Source], extract: Extract, words: WordVectors, sentences: np.ndarray | None,
    *, band: bool,
) -> Extract:
    """The quote's own verdict, with the question's key terms matched by meaning instead of spelling.

    A type the quote lacks ("give no number") stays a refusal. Otherwise the key terms absent from
    the sources by spelling are looked up by meaning; above the relevance threshold the sources do
    not answer when at least `MISSING_SHARE` of the asked words are absent in meaning too, in the
    band under it every key term must be there (`band`: the score alone is weak evidence).
    """
    from rag.answer.answered import MISSING_SHARE, asked_words, join_words, missing_terms, verbs

    if extract.why_unanswered and extract.why_unanswered.startswith("give no"):
        return extract
    if band:
        weak = verbs(question)
        terms = [t for t in missing_terms(question, sources, strict=True) if t not in weak]
        needed = 1.0
    else:  # the question's verb counts too, on what leaving it out does ("how much did it *cost*")
        terms = missing_terms(question, sources)
        shifts = closer_without(question, extract.text, terms, words.embed) if terms else []
        terms = [t for t, shift in zip(terms, shifts) if shift > CLOSER]
        sure = any(shift > CLOSER_SURE for shift in shifts)
        needed = 1.0 if sure else max(1.0, MISSING_SHARE * len(asked_words(question)))
    if len(terms) < needed:  # too few to refuse even if none were there in meaning: no words embedded
        return replace(extract, answered=True, why_unanswered=None)
    absent = unmatched(terms, sources, words, sentences)
    refused = len(absent) >= needed
    why = f"say nothing about {join_words([chr(34) + w + chr(34) for w in absent])}" if refused else None
    return replace(extract, answered=not refused, why_unanswered=why)


def judge(
    question: str,
    candidates: Sequence[Source],
    threshold: float,
    band: float,
    null: CollectionNull,
    extract: Callable[[str, list[Source]], Extract | None],
    words: WordVectors,
    sentences: Callable[[list[Source]], np.ndarray | None],
) -> tuple[Verdict, Extract | None]:
    """Which of the `candidates` (best first, any score) answer `question`, and the quote from them.

    Sources at or above `threshold` count on their score; their quote still has to carry what is
    asked (`checked`). Under it, down to `band` below and never to what unrelated questions reach
    in this collection (`null`), sources count only when every key term of the question is in them
    by spelling or meaning and their quote answers. Neither: the answer is a refusal, with the
    strong sources' quote when there were any (on topic, not answered), else with nothing (far).
    """
    from rag.answer.answered import missing_terms, verbs

    best = max((s.score for s in candidates), default=0.0)
    floor = max(threshold - band, null.high + NULL_GAP)
    verdict = Verdict(False, best=best, null_median=null.median, null_high=null.high, floor=floor)
    strong = [s for s in candidates if s.score >= threshold]
    first = extract(question, strong) if strong else None
    if first is not None:
        first = checked(question, strong, first, words, sentences(strong), band=False)
        if first.answered:
            return replace(verdict, answer=True, sources=strong), first
    pool = [s for s in candidates if s.score >= floor]
    if band > 0 and len(pool) > len(strong):
        terms = [t for t in missing_terms(question, pool, strict=True) if t not in verbs(question)]
        if not unmatched(terms, pool, words):  # cheap first: no quote is made for a word nothing means
            quote = extract(question, pool)
            quote = quote and checked(question, pool, quote, words, sentences(pool), band=True)
            if quote is not None and quote.answered:
                return replace(verdict, answer=True, sources=pool), quote
    if strong:
        return replace(verdict, sources=strong, reason="unanswered"), first
    return replace(verdict, reason="far"), None
