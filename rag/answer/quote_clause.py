"""The clause of a long sentence that carries the asked-for answer, so the quote says only that.

Why: an abstract's results sentence lists several figures ("The mean tumor size was 8.3 cm
(range 7-13 cm), the mean operative time was 137 min, the mean blood loss was 182 mL, ...") and
the question asks for one; quoting all of it buries the answer (tune: quotes had a median of 28
words against about 6 for the references). The clause is cut at the sentence's own commas and
semicolons (never inside brackets), must still hold the asked type and at least one of the
question's words, and must read as a clause: a verb and a few words, not a bare figure.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.answer.quote_signals import terms

CLAUSE_WORDS = 20  # sentences up to this long are quoted whole
MIN_WORDS = 5  # a shorter piece is a fragment ("137 min"), not something a reader can take in
MAX_SHARE = 0.7  # trim only when it saves a good part of the sentence
WORD_COST = 0.06  # per word, against one question word covered: shorter wins unless it drops a word
_CUT = re.compile(r"[;,]\s+")
# a finite verb (or a participle carrying the clause): what makes a piece read as a statement
_VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|did|does|do|can|could|will|would|may|might|must|should"
    r"|shows?|showed|remained|occurred|increased|decreased|reached|took|found|received|used)\b|\b\w{3,}ed\b",
    re.I,
)


# what opens a clause after a comma: a subject ("the mean operative time was ..."), or a connective
# before one ("but only in women"); not the next item of a list ("96.5% of ThinPrep", "urban fire-based
# EMS agency") nor a relative or comparative tail ("which included ...", "as compared with 2.1%")
_OPENER = re.compile(
    r"(?:(?:and|but|while|whereas|although|though|however|yet),?\s+)?(?:the|a|an|this|that|these|those|its|their"
    r"|his|her|our|we|it|they|there|only|most|no|none|all|each|both|in|at|on|during|after|before|among|for)\b",
    re.I,
)


def _cuts(text: str) -> list[int]:
    """Where a clause may start: 0, after a semicolon or a comma (outside brackets) that a clause
    opener follows, and the end."""
    depth, out = 0, [0]
    marks = {m.start(): m for m in _CUT.finditer(text)}
    for i, ch in enumerate(text):
        depth += ch in "([{"
        depth -= ch in ")]}" and depth > 0
        m = marks.get(i)
        if depth == 0 and m and (m.group().startswith(";") or _OPENER.match(text, m.end())):
            out.append(m.end())
    return [*out, len(text)]


def answering_clause(text: str, question: str, strength: Callable[[str], float]) -> tuple[int, int] | None:
    """(start, end) in `text` of its shortest run of clauses that holds the asked type (`strength` 1)
    and the most question words, or None when the whole sentence should stay."""
    words = len(text.split())
    if words <= CLAUSE_WORDS:
        return None
    qterms = terms(question)
    cuts = _cuts(text)
    best, best_score = None, float("-inf")
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            if (i, j) == (0, len(cuts) - 1):
                continue
            piece = text[cuts[i] : cuts[j]].rstrip(" ,;")
            n = len(piece.split())
            if n > MAX_SHARE * words:
                break
            if n < MIN_WORDS or not _VERB.search(piece) or strength(piece) < 1:
                continue
            hits = len(qterms & terms(piece))
            score = hits - WORD_COST * n
            if hits and score > best_score:
                best, best_score = (cuts[i], cuts[i] + len(piece)), score
    return best
