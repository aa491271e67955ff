"""Answer and source text for the citation check: sentences, citation markers, content words.

Regex-based on purpose: nltk's punkt and stemmers would cost a 2 s import, and answers
need markdown awareness (list items, headings, code) that punkt lacks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.text.words import DISCOURSE_WORDS, FUNCTION_WORDS, SOURCE_WORDS
from rag.verify.code import CODE_KINDS, Piece, block_pieces, code_pieces

MAX_RANGE = 20  # [1-20] is a citation range; [1-500] is not
# how much a matched term counts; commands, flags and paths as much as numbers (rag.verify.code)
WEIGHTS = {"word": 1.0, "name": 1.5, "num": 2.0, "id": 2.0} | dict.fromkeys(CODE_KINDS, 2.0)

# --- sentences -------------------------------------------------------------------------

_SRC = r"(?:(?:sources?|src|doc)\s*)?"
_CITE = r"\[\s*" + _SRC + r"\d+(?:\s*(?:[,;]|[-–]|and)\s*" + _SRC + r"\d+)*\s*\]"
CITE_RE = re.compile(_CITE, re.I)
_END = re.compile(r"(?:\.\.\.|…|[.!?])+[\"'”’)*_]*(?:\s*" + _CITE + r")*", re.I)
_LIST = re.compile(r"[ \t]*(?:[-*+•>]|\d{1,3}[.)])[ \t]+")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+")
_FENCE = re.compile(r"[ \t]*(?:```|~~~)")
_ABBREV = set(
    "e.g i.e cf vs al dr mr mrs ms prof st mt jr sr fig figs approx ca inc ltd co corp dept est "
    "u.s u.k a.m p.m ph.d jan feb mar apr aug sep sept oct nov dec vol pp eq".split()
)


def _starts_block(body: str) -> bool:
    """Blank lines, fences, headings, list items and table rows end the paragraph before."""
    return (
        not body.strip()
        or bool(_FENCE.match(body) or _HEADING.match(body) or _LIST.match(body))
        or body.lstrip().startswith("|")
    )


def _blocks(text: str) -> list[tuple[int, int, str]]:
    """Line-level structure: paragraphs and list items ("text"), headings, tables, code."""
    blocks: list[tuple[int, int, str]] = []
    cur: list = []  # [start, end, kind] of the open block
    pos = 0
    for line in text.splitlines(keepends=True):
        start, end = pos, pos + len(line.rstrip("\r\n"))
        pos += len(line)
        body = text[start:end]
        if cur and cur[2] == "code":
            cur[1] = end
            if _FENCE.match(body):
                blocks.append(tuple(cur))
                cur = []
            continue
        if cur and _starts_block(body):
            blocks.append(tuple(cur))
            cur = []
        if not body.strip():
            continue
        if _FENCE.match(body):
            cur = [start, end, "code"]
        elif m := _HEADING.match(body):
            blocks.append((start + m.end(), end, "heading"))
        elif body.lstrip().startswith("|"):
            blocks.append((start, end, "table"))
        elif cur:
            cur[1] = end  # a soft-wrapped line continues the paragraph
        else:
            m = _LIST.match(body)
            cur = [start + (m.end() if m else len(body) - len(body.lstrip())), end, "text"]
    return [*blocks, tuple(cur)] if cur else blocks


def _is_boundary(text: str, lo: int, m: re.Match) -> bool:
    """Does the terminator m end a sentence, given what precedes and follows it?"""
    rest = text[m.end() :]
    if rest and not rest[0].isspace():
        return False  # 3.5, file.py
    nxt = rest.lstrip()[:1]
    if nxt and not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘([*_`"):
        return False  # "e.g. the", "approx. twenty"
    if m.group().startswith(".") and not m.group().startswith(".."):
        tail = re.search(r"[\w.]*$", text[lo : m.start()])  # always matches, maybe empty
        word = tail.group().lower() if tail else ""
        initial = len(word) == 1 and word.isalpha()
        if word in _ABBREV or initial or (word == "no" and nxt.isdigit()):
            return False  # Dr. Smith, J. Smith, No. 5
    return True


def segments(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every sentence ("text"), heading, table row and code block."""
    out = []
    for lo, hi, kind in _blocks(text):
        start = lo
        if kind == "text":
            for m in _END.finditer(text, lo, hi):
                if _is_boundary(text[:hi], lo, m):
                    out.append((start, m.end(), kind))
                    start = m.end()
        out.append((start, hi, kind))
    trimmed = []
    for s, e, kind in out:
        piece = text[s:e]
        if piece.strip():
            s += len(piece) - len(piece.lstrip())
            trimmed.append((s, s + len(piece.strip()), kind))
    return trimmed


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split an answer into sentences as (start, end) offsets into `text`.

    Knows abbreviations (e.g., Dr.), decimals (3.5), citations after the full stop
    ("... rust. [1]" stays with its sentence), list items, headings and line breaks.
    List markers and heading hashes are left outside the spans.
    """
    return [(s, e) for s, e, _ in segments(text)]


# --- citations -------------------------------------------------------------------------


def marker_numbers(marker: str) -> list[int]:
    """Numbers in one citation marker: "[1, 3-4]" -> [1, 3, 4]."""
    nums: list[int] = []
    for m in re.finditer(r"(\d+)(?:\s*[-–]\s*(\d+))?", marker):
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) else a
        for n in range(a, b + 1) if 0 <= b - a <= MAX_RANGE else (a, b):
            if n not in nums:
                nums.append(n)
    return nums


def parse_citations(sentence: str) -> list[int]:
    """Source numbers cited in a sentence, in order of first mention: "[1][3-4]" -> [1, 3, 4]."""
    nums: list[int] = []
    for m in CITE_RE.finditer(sentence):
        nums += [n for n in marker_numbers(m.group()) if n not in nums]
    return nums


def drop_invalid(piece: str, valid: set[int]) -> str:
    """Remove citations of sources that do not exist: "[7]" goes, "[1, 7]" becomes "[1]"."""
    out, last = [], 0
    for m in CITE_RE.finditer(piece):
        nums = marker_numbers(m.group())
        keep = [n for n in nums if n in valid]
        if len(keep) == len(nums):
            continue
        before = piece[last : m.start()]
        # "rust [7]." -> "rust.": the space belonged to the marker
        out.append(f"{before}[{', '.join(map(str, keep))}]" if keep else before.rstrip(" \t"))
        last = m.end()
    out.append(piece[last:])
    return re.sub(r"[ \t]{2,}", " ", "".join(out)) if len(out) > 1 else piece


# --- content words ---------------------------------------------------------------------

_STOP = FUNCTION_WORDS | SOURCE_WORDS | DISCOURSE_WORDS
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split()
)
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUM_WORDS = (
    {w: i for i, w in enumerate(_UNITS)}
    | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
    | {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "dozen": 12}
    | {"twice": 2, "thrice": 3, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7}
    | {"eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12}
)
_TOKEN = re.compile(r"\w(?:[\w'’\-.:/]*\w)?")
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*(?:[-–]\d+(?:[.,:]\d+)*)*")
_WITH_UNIT = re.compile(r"(\d+(?:\.\d+)?)(?:st|nd|rd|th|[a-zA-Z%°]{1,3})")  # 4th, 22km
_IDENT = re.compile(r"\d|_|[a-z][A-Z]|\w\.\w")  # ZX-4471, TIME_WAIT, camelCase, file.py
# units written in capitals would read as identifiers: "50 MB" is glued to "50MB", the number 50
_UNIT_GAP = re.compile(r"(?<=\d)[ \t]+(?=(?:[KMGTP]i?B|[kMG]?Hz|ms|kW|MW|GW)\b)")
_SENTENCE_OPENERS = ".!?:;*_\"'“‘(—–-•>"
_SUFFIXES = (
    "ations",
    "ation",
    "ments",
    "ment",
    "ness",
    "ingly",
    "ings",
    "ing",
    "edly",
    "ied",
    "ies",
    "ed",
    "es",
    "ly",
    "s",
)


@dataclass(frozen=True)
class Term:
    """One content word of a text."""

    kind: str  # word | name (capitalised mid-sentence) | num | id (ZX-4471, TIME_WAIT, TCP) | cmd | flag | path
    key: str  # stem, normalised number, lower-cased identifier; commands, flags and paths exact
    shown: str  # as written, for reasons
    where: str = ""  # the command it is part of, shown in reasons instead of the piece alone


def _stem(word: str) -> str:
    # a light suffix stripper; TermIndex's prefix matching absorbs what it misses
    word = re.sub(r"tre(s?)$", r"ter\1", word)  # British spelling: kilometres = kilometers, centre = center
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            base = word[: -len(suf)]
            if suf in ("ies", "ied"):
                return base + "y"
            if suf == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                return word[:-1]
            return word if suf == "s" and base.endswith(("s", "u", "i")) else base
    return word


def _number(raw: str) -> str:
    raw = re.sub(r"(?<=\d),(?=\d{3}\b)", "", raw)  # 4,000 -> 4000
    return re.sub(r"\.0+$", "", raw)


def _word_terms(tok: str, first: bool, source: bool) -> list[Term]:
    parts = tok.split("-")
    if len(parts) == 2 and parts[0].lower() in _TENS and parts[1].lower() in _UNITS:
        value = _NUM_WORDS[parts[0].lower()] + _NUM_WORDS[parts[1].lower()]  # twenty-two
        return [Term("num", str(value), tok)]
    out = []
    for part in filter(None, parts):
        low = part.lower()
        # "one" is as often a pronoun as a number: it may support a claim but is never demanded
        if low in _NUM_WORDS and (source or low not in ("zero", "one")):
            out.append(Term("num", str(_NUM_WORDS[low]), part))
        elif low not in _STOP and len(low) > 1:
            kind = "name" if part[0].isupper() and not first else "word"
            out.append(Term(kind, _stem(low), part))
    return out


def code_terms(block: str) -> list[Term]:
    """The commands, flags and paths of a fenced code block (rag.verify.code)."""
    return [_code_term(p) for p in block_pieces(block)]


def _code_term(p: Piece) -> Term:
    return Term(p.kind, p.key, p.shown, p.where)


def terms(text: str, source: bool = False, programs: set[str] | None = None) -> list[Term]:
    """Content terms of a text, duplicates kept: commands, flags and paths first, then the words.

    `source` also indexes id parts and every word pair as a command head it contains; `programs`
    are the programs the sources run, to find commands written in prose (rag.verify.code).
    """
    text = CITE_RE.sub(" ", text)
    pieces, text = code_pieces(text, programs, source)
    out = [_code_term(p) for p in pieces]
    text = re.sub(r"(?<=\d)(?=[A-Za-z]{4,}\b)", " ", text)  # 22kilometers -> 22 kilometers
    text = _UNIT_GAP.sub("", text)
    for m in _TOKEN.finditer(text):
        tok = re.sub(r"['’]s$", "", m.group().strip(".:/'’-"))
        unit = _WITH_UNIT.fullmatch(tok)
        if not tok:
            continue
        if _NUMBER.fullmatch(tok) or unit:
            nums = [unit.group(1)] if unit else re.split(r"[-–]", tok)
            out += [Term("num", _number(n), n) for n in nums]
        elif _IDENT.search(tok) or (tok.isupper() and len(tok) > 1):
            if tok.lower() not in _STOP:
                out.append(Term("id", tok.lower(), tok))
                parts = re.split(r"[-_./]", tok.lower()) if source else []
                out += [Term("id", p, p) for p in parts if p]  # SYN-ACK also says SYN
        else:
            # capitals after a colon, bold label, quote or dash start a sentence, not a name
            before = text[: m.start()].rstrip()[-1:]
            out += _word_terms(tok, before in _SENTENCE_OPENERS, source)
    return out


@dataclass
class TermIndex:
    """The terms a set of sources contains, for matching a sentence's terms."""

    exact: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)

    def add(self, new: Sequence[Term]) -> TermIndex:
        for t in new:
            self.exact.add(t.key)
            if t.kind in ("word", "name"):
                self.prefixes.update(t.key[:k] for k in range(4, len(t.key)))
        return self

    def __or__(self, other: TermIndex) -> TermIndex:
        return TermIndex(self.exact | other.exact, self.prefixes | other.prefixes)

    def has(self, t: Term) -> bool:
        if t.key in self.exact:
            return True
        if t.kind not in ("word", "name"):
            return False
        # prefix match either way: "tall" ~ "tallest", "discover" ~ "discovery"
        return t.key in self.prefixes or any(t.key[:k] in self.exact for k in range(4, len(t.key)))
