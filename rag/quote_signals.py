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
    r"^\W*(?:(?:the |our |its )?(?:main |primary )?(?:aims?|purposes?|objectives?|goals?)\b"
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
    r"proposed|shown|described|recognized|studied)|\blittle is known|\bremains? (?:unclear|unknown|controversial)"
    r"|^\W*(?:the )?intent of this|^\W*first, to\b",
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
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|half|twice|dozen|several)\b",
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


def number_strength(text: str, question: str = "") -> float:
    """How clearly `text` holds the figure asked for: 1 for a figure in digits (a percentage for
    "what share", a duration for "how long"), 0.5 for a bare or spelled-out number, 0 for none."""
    if not _DIGIT.search(text):
        return 0.5 if _NUMBER_WORD.search(text) else 0.0
    if _ASKS_SHARE.search(question):
        return 1.0 if _PERCENT.search(text) else 0.5
    if _ASKS_DURATION.search(question):
        return 1.0 if _DURATION.search(text) else 0.5
    return 1.0


def term(word: str) -> str:
    """A word's matching form: `stem`, and plurals of short words and acronyms too (PDFs -> pdf)."""
    w = stem(word)
    if len(w) >= 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def terms(text: str) -> set[str]:
    """The content words of `text` in matching form."""
    return {term(w) for w in WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 1}
