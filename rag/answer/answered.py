"""Whether quoted sources answer a question: the answer type it asks for, and the words it asks about.

A question the documents are on topic for but do not answer usually asks about something no source
names ("how much did it *cost*"), or for a type of answer no quoted sentence has (a number for "how
many"). Both are judged here, with word lists shared by the quoting step (rag/answer/extract.py) and the
similarity band (rag/answer/answerability.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from rag.text.words import STOPWORDS
from rag.types import Source

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
# Words that stand in for something rather than name it ("did I lose *anything*", "I *myself*"), and
# degree words ("refuse *less* often"): the answer names the thing itself, not these.
STAND_INS = frozenset(
    "something anything everything nothing someone anyone everyone somebody anybody nobody somewhere anywhere "
    "everywhere myself yourself itself ourselves themselves himself herself less more least most next".split()
)
# After one of these the question describes a circumstance ("... while I *edit* files", "... when a
# file *fails*"), not what it asks for: a word there missing from the sources is weak evidence.
_CLAUSE = re.compile(r"\b(?:while|when|whenever|if|after|before|because|as|once|unless|until|since)\b", re.I)
TYPE_NAMES = {"number": "number", "date": "date or time", "person": "name", "place": "place"}
WORD = re.compile(r"[A-Za-z][\w'-]*|\d[\d.,:/-]*")

# question forms -> the answer type they ask for
_QTYPES = [
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|long|tall|high|far|big|large|old|often|heavy|hot|cold|deep|fast)\b"
            r"|\bwhat (?:percentage|percent|number|proportion|share|fraction|size|temperature)\b"
            # "what was the median time until ...": a measured quantity named after the article
            r"|\bwhat (?:is|was|are|were) the (?:\w+ )?(?:time|duration|number|percentage|proportion|rate|age|dose)\b",
            re.I,
        ),
    ),
    # "when" asks for a time only as the question word ("When was ...", "Since when ..."), not as a
    # conjunction inside the question ("what does it do when the documents do not answer?")
    (
        "date",
        re.compile(
            r"^\W*(?:and |but |so |since |until |by )?when\b|\bwhat (?:year|date|day|month|time)\b"
            r"|\b(?:which|what) (?:years|dates|period|months)\b|\bwhich year\b",
            re.I,
        ),
    ),
    # "who" asks for a person as the question word (at the start or a clause's start), not as the
    # relative pronoun after a noun ("Where did most people *who* died of cancer die?")
    ("person", re.compile(r"(?:^|[,;:]\s*)\W*(?:and |but |so )?who(?:m|se)?\b|\b(?:by|to|with|from|for) whom\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\bwhat (?:country|city|place|region)\b", re.I)),
]
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|half|twice|dozen|once|several)\b",
    re.I,
)
_MONTHS = "january february march april may june july august september october november december"
_DATE = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:" + "|".join(_MONTHS.split()) + r")\b|\b(?:century|decade|"
    r"yesterday|today|daily|weekly|monday|tuesday|wednesday|thursday|friday|saturday|sunday|ago|"
    r"morning|evening|night|before|after|during|until|since)\b"
    # a duration or a clock time ("within 5 minutes", "7:00 am") answers "when" and "how long" too
    r"|\d\s*(?:s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?|yr|am|pm)\b|\d:\d\d",
    re.I,
)
_QUANTITY = re.compile(r"\bhow (?:many|much)\b", re.I)
_YEAR_AT = re.compile(
    r"\b(?:in|since|from|until|till|by|before|after|during|between|and|to)\s+(?:1[5-9]\d\d|20\d\d)s?\b", re.I
)
_PLACE = re.compile(r"\b(?:in|at|on|near|from|to|into|inside|under|folder|directory|file)\b|[~/\\]\w", re.I)


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
        if _QUANTITY.search(question):  # "how much were they paid": "since 1989" is a date, not an amount
            text = _YEAR_AT.sub(" ", text)
        return bool(_NUMBER.search(text))
    if qtype == "date":
        return bool(_DATE.search(text))
    asked = {w.lower() for w in WORD.findall(question)}
    names = [w for w in re.findall(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'-]+", text) if w.lower() not in asked]
    if qtype == "person":  # a person's name has small letters too: DEST, SOURCE or BM25 are identifiers
        return any(not w.isupper() for w in names)
    return bool(names) or bool(_PLACE.search(text))  # RAG_HOME is a place


def stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix) and not w.endswith("ss"):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def content_terms(text: str) -> list[str]:
    """Stemmed content words, in order, without duplicates."""
    terms = [stem(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1]
    return list(dict.fromkeys(terms))


def missing_terms(question: str, sources: Sequence[Source], strict: bool = False) -> list[str]:
    """Question words that no source contains, even as the start of a longer word (ferment/fermentation).

    Only words that say what is asked count: not generic question words, common verbs or particles,
    not words in a circumstance clause ("while I edit files"), and not a plain modifier directly in
    front of a noun the sources do name ("the *bundled* model": the model is there, the adjective is
    how the user calls it). Names, numbers and identifiers (capitals, digits) always count.
    `strict` drops those two allowances: every content word must be there.
    """
    text = " ".join(s.text.lower() for s in sources)
    words = WORD.findall(question)
    clause = _CLAUSE.search(question[1:])
    clause_at = clause.start() + 1 if clause else len(question)  # a leading "When ..." asks, not describes

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


_SUBJECT = frozenset("i it you we they he she to".split())


def verbs(question: str) -> set[str]:
    """Plain words the question uses as its verb: right after a subject pronoun or "to" ("will it
    *pick* up", "do I *wipe*", "have to *download*"), or a past participle ("chunks *capped* at").
    The answer often says it in other words ("walks the folder recursively"): weak evidence."""
    words = WORD.findall(question)
    out = set()
    for i, w in enumerate(words):
        verb = (i and words[i - 1].lower() in _SUBJECT) or (len(w) > 4 and w.endswith("ed"))
        if verb and w.isalpha() and w.islower():
            out.add(w)
    return out


def asked_words(question: str) -> set[str]:
    """The question's words that say what is asked (lower-case)."""
    return {w.lower() for w in WORD.findall(question) if _asks(w.lower())}


def _asks(low: str) -> bool:
    """Is this (lower-case) question word about what is asked, rather than how it is asked?"""
    base, mark, rest = low.replace("\u2019", "'").partition("'")
    if mark and (base in STOPWORDS or rest in ("t", "m", "re", "ve", "ll", "d")):
        return False  # a contraction ("what's", "don't", "I'm") is a function word; "tallybook's" is not
    return not (
        low in STOPWORDS or len(low) < 3 or low in GENERIC or low in COMMON_VERBS or low in PARTICLES
        or low in STAND_INS
    )


def why_unanswered(
    picks: Sequence,
    question: str,
    qtype: str | None,
    sources: Sequence[Source],
    embed: Callable[[list[str]], np.ndarray],
) -> str | None:
    """Why the sources do not answer what is asked (None: they do).

    A question the documents are on topic for but do not answer usually asks about something no
    source names ("how much did it *cost*"): a question word that appears nowhere, and whose meaning
    is not in the quoted sentences either (that would be a paraphrase: "temperature" for "degrees").
    """
    if qtype and not any(has_type(p.text, qtype, question) for p in picks):
        return f"give no {TYPE_NAMES[qtype]}"
    missing = missing_terms(question, sources)
    asked = asked_words(question)
    if not missing or len(missing) < MISSING_SHARE * len(asked):  # too few even if none were paraphrased
        return None  # (and no call to the model: each costs ~15 ms on 2 cores, whatever its length)
    near = np.stack([p.vector for p in picks])
    sims = (embed(missing) @ near.T).max(axis=1)
    absent = [w for w, sim in zip(missing, sims) if sim < MISSING_COS]
    if len(absent) < MISSING_SHARE * len(asked):
        return None
    return f"say nothing about {join_words([chr(34) + w + chr(34) for w in absent])}" if absent else None


def join_words(words: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
