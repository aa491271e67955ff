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
- the answer type the question asks for (a number for "how many", a date for "when", a name for
  "who", a place for "where"), which also decides whether the sources answer at all.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.types import Source
from rag.verify_text import segments
from rag.words import STOPWORDS

Embed = Callable[[list[str]], np.ndarray]

W_COS, W_TERMS, W_HEAD, W_LEAD, W_TYPE, W_RANK, W_HOW = 0.5, 0.35, 0.3, 0.25, 0.12, 0.02, 0.08
SCORE_ALL = 24  # sentences: up to this many in the sources, every one is embedded and scored
LEXICAL_TOP = 4  # otherwise: the sentences sharing most rare question words (then the best one's neighbours)
FIRST_SENTENCE = False  # score each source's first sentence too (PubMedQA: as good without, 2x faster)
SHORT = 4  # words: a sentence this short ("No.") is read with the one after it
HEAD_FLOOR = 0.5  # heading similarity below this says nothing about the section
NEIGHBOUR_DROP = 0.12  # a following sentence joins the best one when it scores within this much
OTHER_SOURCE = 0.92  # a second source's best sentence joins when it scores this close to the best
MISSING_COS = 0.3  # a question word no source contains, this far from the quotes in meaning, is not answered
# One unknown word among many known ones is more likely the user's (or the paper's) paraphrase than the
# missing subject: "not answered" needs at least this share of the question's asked words absent.
MISSING_SHARE = 1 / 3
# question words that say what kind of answer is wanted rather than what it is about
GENERIC = frozenset(
    "way ways use used using make get work works need happen happens mean means kind type many much long tall "
    "high far big large old often heavy hot cold deep fast percentage percent number proportion size year "
    "date day month time country city place region name names called "
    # words that frame the question ("another model", "instead of", "which types") rather than name its subject
    "instead another other others different own sort sorts possible able kinds types".split()
)
# Common verbs: a question's verb is often phrased differently in the answer ("how much sugar *goes*
# into", "where is the log *written*"), so a missing one is weak evidence; a missing noun ("cost",
# "caffeine") is strong. Without a POS tagger (nltk's needs a download), inflections are listed.
COMMON_VERBS = frozenset(
    "go goes went gone going come comes came coming take takes took taken put puts give gives gave given "
    "see sees saw seen look looks looked like likes liked keep keeps kept write writes wrote written "
    "contain contains contained include includes included show shows showed shown find finds found "
    "call calls called say says said tell tells told know knows knew known think thinks thought want "
    "wants wanted try tries tried leave leaves left feel feels felt become becomes became seem seems "
    "seemed turn turns turned start starts started run runs ran bring brings brought happen happened "
    "set sets hold holds held stand stands stood mean meant let lets help helps helped play plays "
    "move moves moved live lives lived believe believes believed pay pays paid fix fixes fixed solve "
    "solved resolve resolved change changes changed stop stops stopped avoid prevent exchange exchanged "
    "return returns returned edit edits edited do does did get gets got".split()
)
# Adverbs and verb particles ("keep projects *apart*", "start *over*"): the answer rarely repeats them.
PARTICLES = frozenset(
    "apart together away back around along across ahead aside forward forwards again instead anyway "
    "already always never ever still also else exactly really actually simply just quickly".split()
)
# After one of these the question describes a circumstance ("... while I *edit* files", "... when a
# file *fails*"), not what it asks for: a word there missing from the sources is weak evidence.
_CLAUSE = re.compile(r"\b(?:while|when|whenever|if|after|before|because|as|once|unless|until|since)\b", re.I)
TYPE_NAMES = {"number": "number", "date": "date or time", "person": "name", "place": "place"}
_WORD = re.compile(r"[A-Za-z][\w'-]*|\d[\d.,:/-]*")
_ANAPHORIC = re.compile(r"(?:it|this|that|these|those|they|then|he|she|its|their|there)\b", re.I)

# question forms -> the answer type they ask for
_QTYPES = [
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|long|tall|high|far|big|large|old|often|heavy|hot|cold|deep|fast)\b"
            r"|\bwhat (?:percentage|percent|number|proportion|size|temperature)\b",
            re.I,
        ),
    ),
    # "when" asks for a time only as the question word ("When was ...", "Since when ..."), not as a
    # conjunction inside the question ("what does it do when the documents do not answer?")
    (
        "date",
        re.compile(
            r"^\W*(?:and |but |so |since |until |by )?when\b|\bwhat (?:year|date|day|month|time)\b|\bwhich year\b", re.I
        ),
    ),
    ("person", re.compile(r"\bwho(?:m|se)?\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\bwhat (?:country|city|place|region)\b", re.I)),
]
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|half|twice|dozen|once|several)\b",
    re.I,
)
_HOW_TO = re.compile(r"\bhow (?:do|can|should|would) (?:i|you|we)\b|\bhow to\b", re.I)
# an instruction: code, a command, or a sentence that opens with an imperative / "To restore, ..."
_INSTRUCTION = re.compile(
    r"`|^(?:to \w+[^,]{0,30},\s*)?(?:run|use|add|open|click|type|set|delete|remove|install|start|choose|"
    r"select|press|put|pour|cover|leave|feed|bake|dissolve|check|free|pass|call|edit|create|copy|move)\b",
    re.I,
)
_YES_NO_Q = re.compile(r"^\s*(?:does|do|is|are|can|could|will|would|should|has|have|did|was|were|may)\b", re.I)
_YES_NO_A = re.compile(r"^(?:yes|no)\b", re.I)
_MONTHS = "january february march april may june july august september october november december"
_DATE = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:" + "|".join(_MONTHS.split()) + r")\b|\b(?:century|decade|"
    r"yesterday|today|daily|weekly|monday|tuesday|wednesday|thursday|friday|saturday|sunday|ago|"
    r"morning|evening|night|before|after|during|until|since)\b",
    re.I,
)
_PLACE = re.compile(r"\b(?:in|at|on|near|from|to|into|inside|under|folder|directory|file)\b|[~/\\]\w", re.I)


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
        todo: dict[tuple[int, int], str] = {}
        for i, (s, segs) in enumerate(zip(sources, segs_all)):
            want = range(len(segs)) if wanted is None else wanted[i]
            for j in want:
                if j not in entries[i][1] and (id(entries[i]), j) not in todo:
                    a, b, _ = segs[j]
                    todo[(i, j)] = s.text[a:b]
        if todo:
            vectors = self.embed(list(todo.values()))
            for (i, j), v in zip(todo, vectors):
                entries[i][1][j] = v
        return [(segs, entry[1]) for segs, entry in zip(segs_all, entries)]

    def get(self, sources: Sequence[Source]) -> list[tuple[list[tuple[int, int, str]], np.ndarray]]:
        """(segments, vectors) of each source, every sentence embedded (all unseen ones in one batch)."""
        out = []
        for segs, vecs in self.pick(sources):
            out.append((segs, np.stack([vecs[j] for j in range(len(segs))]) if segs else np.zeros((0, 1))))
        return out

    def _put(self, key: tuple[str, int], value: tuple[list, dict]) -> None:
        self._cache[key] = value
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)


def question_type(question: str) -> str | None:
    """number | date | person | place, or None when the question asks for no particular type."""
    for name, pattern in _QTYPES:
        if pattern.search(question):
            return name
    return None


def has_type(text: str, qtype: str | None, question: str = "") -> bool:
    """Does `text` contain something of the type the question asks for?"""
    if qtype is None:
        return True
    if qtype == "number":
        return bool(_NUMBER.search(text))
    if qtype == "date":
        return bool(_DATE.search(text))
    asked = {w.lower() for w in _WORD.findall(question)}
    names = [w for w in re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'-]+", text) if w.lower() not in asked]
    if qtype == "person":
        return bool(names)
    return bool(names) or bool(_PLACE.search(text))


def stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix) and not w.endswith("ss"):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def content_terms(text: str) -> list[str]:
    """Stemmed content words, in order, without duplicates."""
    terms = [stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(terms))


def _worth_scoring(
    sources: Sequence[Source], segs_all: list[list[tuple[int, int, str]]], question: str
) -> list[list[int]] | None:
    """Which sentences to embed for scoring (None: all of them).

    Embedding every sentence of five long chunks costs more than the quote's time budget (about 45
    sentences for five SciFact abstracts). With more than `SCORE_ALL` sentences, only headings, the
    `LEXICAL_TOP` sentences sharing most of the question's rarer words (and each source's first
    sentence with `FIRST_SENTENCE`) are embedded and scored, then the best one's neighbours, which
    may join the quote.
    """
    total = sum(len(segs) for segs in segs_all)
    if total <= SCORE_ALL:
        return None
    qterms = set(content_terms(question))
    texts = [
        (i, j, s.text[a:b]) for i, (s, segs) in enumerate(zip(sources, segs_all)) for j, (a, b, _) in enumerate(segs)
    ]
    bags = [set(content_terms(t)) for _, _, t in texts]
    df: dict[str, int] = {}
    for bag in bags:
        for t in bag & qterms:
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(1 + total / (1 + d)) for t, d in df.items()}
    lexical = [sum(idf.get(t, 0.0) for t in bag & qterms) - 0.01 * i for (i, _, _), bag in zip(texts, bags)]
    wanted = [set() for _ in sources]
    for rank in sorted(range(len(texts)), key=lambda k: -lexical[k])[:LEXICAL_TOP]:
        wanted[texts[rank][0]].add(texts[rank][1])
    for i, segs in enumerate(segs_all):
        heads = {
            j for j, (a, b, kind) in enumerate(segs) if kind == "heading" or sources[i].text[a:b].rstrip().endswith("?")
        }
        wanted[i].update(
            heads | {j + 1 for j in heads if j + 1 < len(segs)} | ({0} if segs and FIRST_SENTENCE else set())
        )
    return [sorted(w) for w in wanted]


def _sentences(
    sources: Sequence[Source], cache: SentenceVectors, qvec: np.ndarray, wanted: list[list[int]] | None = None
) -> list[_Sent]:
    out: list[_Sent] = []
    for s, (segs, vectors) in zip(sources, cache.pick(sources, wanted)):
        head, lead = 0.0, False
        for j, (a, b, kind) in enumerate(segs):
            text = s.text[a:b]
            is_head = kind == "heading" or text.rstrip().endswith("?")
            vec = vectors.get(j)
            if vec is not None:
                pickable = not is_head and kind != "code"
                out.append(_Sent(s.n, a, b, text, kind, vec, head=head, pickable=pickable, lead=lead, idx=j))
            if is_head and vec is not None:
                head = float(vec @ qvec)  # the sentences below it inherit how well it matches
            # the sentence right under an FAQ question is its direct answer ("No." and the one after it)
            lead = text.rstrip().endswith("?") if is_head else (lead and len(text.split()) <= SHORT)
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
        typed = [s for s in sents if s.pickable and has_type(s.text, qtype, question)]
        best = max((s for s in sents if s.pickable), key=lambda s: s.score)
        if typed and not has_type(best.text, qtype, question):
            alt = max(typed, key=lambda s: s.score)
            if alt.score >= best.score - 2 * W_TYPE - 0.05:
                alt.score = best.score + 1e-6
    return sents


def _idf(sents: list[_Sent]) -> tuple[dict[str, float], list[set[str]]]:
    bags = [set(content_terms(s.text)) for s in sents]
    df: dict[str, int] = {}
    for bag in bags:
        for t in bag:
            df[t] = df.get(t, 0) + 1
    n = max(1, len(bags))
    return {t: math.log(1 + n / (1 + d)) for t, d in df.items()}, bags


def _score(sents: list[_Sent], qvec: np.ndarray, question: str, qtype: str | None) -> None:
    idf, bags = _idf(sents)
    qterms = content_terms(question)
    top = max((idf.get(t, math.log(1 + len(sents))) for t in qterms), default=1.0)
    weight = {t: idf.get(t, top) for t in qterms}
    total = sum(weight.values()) or 1.0
    how_to, yes_no = bool(_HOW_TO.search(question)), bool(_YES_NO_Q.match(question))
    for s, bag in zip(sents, bags):
        terms = sum(w for t, w in weight.items() if t in bag) / total
        typed = 0.0 if qtype is None else (W_TYPE if has_type(s.text, qtype, question) else -W_TYPE)
        if how_to and _INSTRUCTION.search(s.text):
            typed += W_HOW
        if yes_no and _YES_NO_A.match(s.text):  # a yes/no question's answer type
            typed += W_TYPE
        s.score = (
            W_COS * float(s.vector @ qvec)
            + W_TERMS * terms
            + (W_HEAD + W_LEAD * s.lead) * max(0.0, (s.head - HEAD_FLOOR) / (1 - HEAD_FLOOR))
            + typed
            - W_RANK * (s.n - 1)
        )


def _words(text: str) -> int:
    return len(text.split())


def _trim(s: _Sent, question: str, max_words: int) -> tuple[int, int]:
    """The clause window of a too-long sentence that best covers the question's words."""
    cuts = [0] + [m.end() for m in re.finditer(r"[;:]\s+|,\s+(?=(?:and|but|which|while|so)\b)", s.text)] + [len(s.text)]
    qterms = set(content_terms(question))
    best, best_hit = (0, len(s.text)), -1.0
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            piece = s.text[cuts[i] : cuts[j]]
            if _words(piece) > max_words and j > i + 1:
                break
            hit = len(qterms & set(content_terms(piece))) - 0.01 * _words(piece)
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
    if _ANAPHORIC.match(best.text) and prev and prev.n == best.n and prev.idx == best.idx - 1 and prev.pickable:
        if used + _words(prev.text) <= max_words:  # "It rises 22 km" needs the sentence naming "it"
            picks.insert(0, prev)
            used += _words(prev.text)
    nxt = sents[i + 1] if i + 1 < len(sents) else None
    if nxt and nxt.n == best.n and nxt.idx == best.idx + 1 and nxt.pickable and used + _words(nxt.text) <= max_words:
        if nxt.score >= best.score - NEIGHBOUR_DROP or _ANAPHORIC.match(nxt.text) or used <= SHORT:
            picks.append(nxt)
            used += _words(nxt.text)
    other = next((s for s in ranked if s.n != best.n), None)
    if other and other.score >= OTHER_SOURCE * best.score and used + _words(other.text) <= max_words:
        if all(float(other.vector @ p.vector) < 0.9 for p in picks):
            picks.append(other)
    return picks


def missing_terms(question: str, sources: Sequence[Source], strict: bool = False) -> list[str]:
    """Question words that no source contains, even as the start of a longer word (ferment/fermentation).

    Only words that say what is asked count: not generic question words, common verbs or particles,
    not words in a circumstance clause ("while I edit files"), and not a plain modifier directly in
    front of a noun the sources do name ("the *bundled* model": the model is there, the adjective is
    how the user calls it). Names, numbers and identifiers (capitals, digits) always count.
    `strict` drops those two allowances: every content word must be there.
    """
    text = " ".join(s.text.lower() for s in sources)
    words = _WORD.findall(question)
    clause = _CLAUSE.search(question[1:])
    clause_at = clause.start() + 1 if clause and question.strip()[:1] else len(question)

    def present(low: str) -> bool:
        return low[: max(4, len(low) - 2)] in text

    out, at = [], 0
    for i, w in enumerate(words):
        at = question.find(w, at)
        low = w.lower()
        if not _asks(low):
            continue
        if present(low):
            continue
        plain = w.isalpha() and w.islower() and not strict
        if plain and at > clause_at:
            continue
        after = words[i + 1].lower() if i + 1 < len(words) else ""
        if plain and after and after not in STOPWORDS | GENERIC | COMMON_VERBS and present(after):
            continue
        out.append(w)
    return list(dict.fromkeys(out))


def _asks(low: str) -> bool:
    """Is this (lower-case) question word about what is asked, rather than how it is asked?"""
    return not (low in STOPWORDS or len(low) < 3 or low in GENERIC or low in COMMON_VERBS or low in PARTICLES)


def _why_unanswered(
    picks: list[_Sent], question: str, qtype: str | None, sources: Sequence[Source], embed: Embed
) -> str | None:
    """Why the sources do not answer what is asked (None: they do).

    A question the documents are on topic for but do not answer usually asks about something no
    source names ("how much did it *cost*"): a question word that appears nowhere, and whose meaning
    is not in the quoted sentences either (that would be a paraphrase: "temperature" for "degrees").
    """
    if qtype and not any(has_type(p.text, qtype, question) for p in picks):
        return f"give no {TYPE_NAMES[qtype]}"
    missing = missing_terms(question, sources)
    if not missing:
        return None
    near = np.stack([p.vector for p in picks])
    sims = (embed(missing) @ near.T).max(axis=1)
    absent = [w for w, sim in zip(missing, sims) if sim < MISSING_COS]
    asked = {w.lower() for w in _WORD.findall(question) if _asks(w.lower())}
    if len(absent) < MISSING_SHARE * len(asked):
        return None
    return f"say nothing about {_join([chr(34) + w + chr(34) for w in absent])}" if absent else None


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
    wanted = _worth_scoring(sources, cache.segments(sources), question)
    sents = _ranked(sources, cache, qvec, question, qtype, wanted)
    if not any(s.pickable for s in sents):
        return Extract(text="", answered=False, qtype=qtype)
    if wanted is not None:  # the best sentence's neighbours may join the quote: score them too
        best = max((s for s in sents if s.pickable), key=lambda s: s.score)
        i = next(k for k, src in enumerate(sources) if src.n == best.n)
        near = {best.idx - 1, best.idx + 1} & set(range(len(cache.segments([sources[i]])[0])))
        if not near <= set(wanted[i]):
            wanted[i] = sorted(set(wanted[i]) | near)
            sents = _ranked(sources, cache, qvec, question, qtype, wanted)
    picks = _choose(sents, max_words)
    spans = []
    for p in picks:
        start, end = (p.start, p.end) if _words(p.text) <= max_words else _trim(p, question, max_words)
        spans.append(Span(p.n, start, end))
    by_n = {s.n: s for s in sources}
    text = " ".join(f"{' '.join(by_n[sp.n].text[sp.start : sp.end].split())} [{sp.n}]" for sp in spans)
    present = set().union(*(set(content_terms(s.text)) for s in sources))
    topic = [w for w in _WORD.findall(question) if w.lower() not in STOPWORDS and stem(w) in present]
    why = _why_unanswered(picks, question, qtype, sources, cache.embed)
    score = max(p.score for p in picks)
    return Extract(text, spans, why is None, qtype, score, list(dict.fromkeys(topic)), why)


def unanswered_text(question: str, extract: Extract) -> str:
    """Say the documents are on topic but do not answer, and quote the closest passage."""
    about = _join(extract.topic[:4]) or "this topic"
    why = extract.why_unanswered or "do not say"
    asked = question.strip().rstrip("?").strip()
    return (
        f'The documents discuss {about}, but they {why}, so they do not answer "{asked}?". '
        f"The closest passages: {extract.text}"
    )


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
