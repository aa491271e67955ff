"""What marks a sentence as the answer beyond its meaning: its words, the type of thing it states, its role.

Used by the quote (rag/answer/extract.py). Measured on the tune splits of benchmarks/answers.py: the
sentence that restates a question ("To evaluate renal damage after ... nephrectomy.", the study's
aim) shares most of its words and its meaning, so similarity and word overlap pick it, while the
sentence that answers ("From July 2004 to June 2005, 18 patients underwent ...") says something the
question does not: a figure, a date, a finding.
"""

from __future__ import annotations

import re

from rag.answer.answered import WORD, stem
from rag.text.words import STOPWORDS

# A study's aim or design, which restates the question rather than answering it.
_AIM = re.compile(
    r"^\W*(?:(?:first|firstly|second|secondly|third|thirdly),\s*)?"  # "First, to establish whether ..."
    r"(?:(?:the |our |its )?(?:main |primary )?(?:aims?|purposes?|objectives?|goals?|intent)\b"
    r"|to (?:evaluate|determine|examine|investigate|assess|compare|study|describe|analy[sz]e|establish|explore"
    r"|identify|test|review|report|clarify|characteri[sz]e|quantify|measure|estimate|validate|ascertain)\b"
    r"|(?:we|this (?:study|paper|article|report|review|work)|the (?:present|current) (?:study|work|paper))"
    r" (?:aim|aimed|aims|sought|seek|hypothesi[sz]ed|investigated|investigate|examined|examine|evaluated"
    r"|evaluate|assessed|assess|report|describe|address|addresses|set out|was designed|is designed"
    r"|were to|was to|is to)\b)",
    re.I,
)
# what is known already, which sets the question up: "X is defined as ...", "little is known about ..."
_BACKGROUND = re.compile(
    r"\b(?:is|are) (?:defined as|thought to|believed to|not uncommon)|\b(?:has|have) been (?:reported|suggested|"
    r"proposed|shown|described|recognized|studied)|\blittle is known|\bremains? (?:unclear|unknown|controversial)",
    re.I,
)
# what a study found: a comparison, a significance, a change ("significantly higher", "no difference")
_FINDING = re.compile(
    r"\b(?:significant(?:ly)?|p\s*[<=>]|compared (?:with|to)|higher|lower|greater|fewer|more likely|less likely"
    r"|increased?|decreased?|reduc(?:ed|tion)|improve(?:d|ment)|differences?|associated with|correlated"
    r"|no longer|most common|steepest)\b",
    re.I,
)
_DIGIT = re.compile(r"\d")
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|half|twice|dozen|"
    r"several)\b",
    re.I,
)
# an enumeration: at least three short comma-separated items ("Plain text, Markdown, HTML, PDF, ...")
_LIST = re.compile(r"(?:^|:\s*)(?:[^,;:]{1,32},\s+){2,}[^,;:]{1,32}(?:,\s+)?(?:and|or)\s")
# a question asking which kinds of things ("Which file types ...", "What formats ...")
_KINDS = re.compile(r"\b(?:which|what)\b(?:\s+\w+)?\s+(?:types?|formats?|kinds?|sorts?|languages?|extensions?)\b", re.I)
_ASKS_SHARE = re.compile(r"\b(?:percent(?:age)?|proportion|share|fraction|rate)\b", re.I)
_PERCENT = re.compile(r"\d\s*%|\bper ?cent\b", re.I)
_ASKS_DURATION = re.compile(r"\bhow long\b|\b(?:time|duration)\b", re.I)
_DURATION = re.compile(r"\d\s*(?:s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|weeks?|months?|years?)\b", re.I)
_MARKUP = re.compile(r"[*_`#>\s]+$")
_FIGURE = re.compile(r"\d[\d.,:]*\d|\d")
# a point in time: a year, a month or weekday, a calendar or clock figure ("1 December", "7:00 am")
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_POINT = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:" + _MONTHS + r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|\d:\d\d|\d\s*(?:am|pm)\b",
    re.I,
)
_TIME_WORD = re.compile(r"\b(?:before|after|during|until|since|ago|daily|weekly|yearly|annually|today|tonight)\b", re.I)
# "How many casualties ...": the noun counted, which the answer names next to its figure ("Fourteen casualties")
_COUNTED = re.compile(r"\bhow many (?:\w+ ){0,2}?(\w+)", re.I)
_SUPERLATIVE_Q = re.compile(
    r"\b(?:most|least|best|worst|highest|lowest|largest|smallest|greatest|steepest|main|commonest|primary)\b", re.I
)
_SUPERLATIVE = re.compile(
    r"\b(?:most|least|best|worst|highest|lowest|largest|smallest|greatest|steepest|strongest|weakest|main"
    r"|commonest|predominant|leading|majority)\b",
    re.I,
)


def is_aim(text: str) -> bool:
    """Does the sentence state what a study set out to do (and so echo the question)?"""
    return bool(_AIM.match(text))


def is_background(text: str) -> bool:
    """Does the sentence state what was known before (and so set the question up, not answer it)?"""
    return bool(_BACKGROUND.search(text))


def is_finding(text: str) -> bool:
    """Does the sentence report a finding (a comparison, a significance, a change)?"""
    return bool(_FINDING.search(text))


def is_question_line(text: str) -> bool:
    """A line that asks ("**Where should I put the router?**") or is bold all through ("**The app still
    shows my ride.**"): an FAQ entry's heading, which the sentences under it answer."""
    text = text.strip()
    bold = text.startswith("**") and text.endswith("**") and "**" not in text[2:-2]
    return bold or _MARKUP.sub("", text).endswith("?")


def is_list(text: str) -> bool:
    """Does the sentence enumerate things (three or more items)?"""
    return bool(_LIST.search(text))


def asks_kinds(question: str) -> bool:
    """Does the question ask which kinds of things (formats, types, languages)?"""
    return bool(_KINDS.search(question))


def _without_question_figures(text: str, question: str) -> str:
    """`text` without the figures the question itself names: "in February 2007" restates, not answers."""
    asked = set(_FIGURE.findall(question))
    return _FIGURE.sub(lambda m: " " if m.group() in asked else m.group(), text) if asked else text


def number_strength(text: str, question: str = "") -> float:
    """How clearly `text` holds the figure asked for: 1 for a figure in digits (a percentage for
    "what share", a duration for "how long") or any number next to the noun "how many" counts
    ("Fourteen casualties"), 0.5 for a bare or spelled-out number, 0 for none. Figures the question
    names do not count."""
    text = _without_question_figures(text, question)
    counted = _COUNTED.search(question)
    if counted and _counts(text, term(counted.group(1))):
        return 1.0
    if not _DIGIT.search(text):
        return 0.5 if _NUMBER_WORD.search(text) else 0.0
    if _ASKS_SHARE.search(question):
        return 1.0 if _PERCENT.search(text) else 0.5
    if _ASKS_DURATION.search(question):
        return 1.0 if _DURATION.search(text) else 0.5
    return 1.0


def _counts(text: str, noun: str) -> bool:
    """Does a number stand right before `noun` (one word may sit between: "14 wounded casualties")?"""
    words = WORD.findall(text)
    for i, w in enumerate(words):
        if (w[0].isdigit() or _NUMBER_WORD.fullmatch(w)) and noun in {term(x) for x in words[i + 1 : i + 3]}:
            return True
    return False


def date_strength(text: str, question: str = "") -> float:
    """How clearly `text` holds the time asked for: 1 for a point in time (a year, a month, a clock
    time) the question does not name, 0.75 for a duration in figures ("within 2 business days"), 0.5
    for a word of time ("before", "daily"), 0 for none."""
    text = _without_question_figures(text, question)
    asked = {w.lower() for w in WORD.findall(question)}
    if any(m.group().lower() not in asked for m in _POINT.finditer(text)):
        return 1.0
    if _DURATION.search(text):
        return 0.75
    return 0.5 if _TIME_WORD.search(text) else 0.0


def superlative(question: str, text: str) -> bool:
    """Does the question ask for the most / main / best one, and the sentence name one?"""
    return bool(_SUPERLATIVE_Q.search(question)) and bool(_SUPERLATIVE.search(text))


def term(word: str) -> str:
    """A word's matching form: `stem`, and plurals of short words and acronyms too (PDFs -> pdf);
    without hyphens (sub-group, subgroup) and a final e (conceptualize, conceptualized; average,
    averaged)."""
    w = stem(word.replace("-", "")) if "-" in word[1:-1] else stem(word)
    if len(w) >= 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    if len(w) >= 5 and w.endswith("e") and not w.endswith("ee"):
        return w[:-1]
    return w


def terms(text: str) -> set[str]:
    """The content words of `text` in matching form."""
    return {term(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1}
