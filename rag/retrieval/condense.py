"""A question plus the conversation so far -> the standalone query retrieval searches for.

Only a question that depends on the history is rewritten: a pronoun or demonstrative with nothing
to point at in the question itself ("how do I fix it?", "how long does that take?"), an ellipsis
("and on Linux?", "what about PDFs?") or a fragment with no topic of its own ("why?", "which one?").
Anything else is searched exactly as written, whatever came before: "Is my data private?" after a
question about PDFs is a new question, and mixing in the PDF words only lowers what it finds.

The rules read the question's words, no model: they run on every turn, and a rule can be tested.
An "it" that is the subject of a question with its own topic ("Can it read PDFs?", "What vector
database does it use?") is taken to mean the product the documents describe and is left alone; an
"it" as the object of a verb ("how do I fix it?") or a question with no topic ("is it fast?") is the
thing the previous question was about.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rag.llm import LLMBackend, LLMError, prompts
from rag.text.words import ABSTAINS, STOPWORDS

AUX = frozenset(
    "am is are was were be been being do does did can could will would shall should may might must "
    "has have had".split()
)
WH = frozenset("what why how which where when who whom whose".split())
SUBJECT_PRONOUNS = frozenset("i you we".split())
OPENERS = frozenset("and or but also plus".split())  # a question that starts with these continues the last one
ELLIPSIS_PAIRS = frozenset({("what", "about"), ("how", "about"), ("same", "for"), ("same", "with")})
PREPOSITIONS = frozenset(
    "on for in with without from under at via by to into during over before after than about".split()
)
PLURAL_PRONOUNS = frozenset("they them their theirs he she him his her".split())
DEMONSTRATIVES = frozenset("this these those".split())  # "that" is often a relative pronoun: see _points_back
# Words that may point back into the history ("there" is not one: "is there a limit?" asks afresh)
ANAPHORA = PLURAL_PRONOUNS | DEMONSTRATIVES | frozenset("it its that one ones".split())
# Words that name no topic: a question made only of these and function words cannot be searched alone.
GENERIC = frozenset(
    "do done doing get gets got make makes made use uses used using work works worked working take "
    "takes took taken mean means meant happen happens happened go goes need needs needed help helps "
    "want know like look come give put long longer big bigger small smaller fast faster slow slower "
    "quick quicker good better best bad worse useful possible easy hard difficult safe reliable "
    "accurate important necessary different same else other another exactly really actually "
    "instead then now example instance more less enough way ways thing things stuff one ones kind "
    "sort case time much many often well ok okay right wrong correct true false sure lot lots "
    "anything something everything s t not".split()
)
# Topical words before a pronoun from which on its referent is taken to be in the question itself
SELF_CONTAINED = 3
PRODUCT = frozenset({"ragspace"})  # the default referent: naming it adds nothing to a search
WORD = re.compile(r"`[^`]+`|[\w][\w.+-]*[\w]|\w")
IDENTIFIER = re.compile(r"^`.+`$|\d|\w-\w")  # codes, versions, commands: a concrete thing was named


def key_words(text: str) -> list[str]:
    """Content words of a text, in order, without duplicates (as they are written)."""
    seen: list[str] = []
    for word in WORD.findall(text):
        if word.lower() not in STOPWORDS and word not in seen:
            seen.append(word)
    return seen


def _normal(question: str) -> str:
    """Contractions spelled out, so "what's" has its "is" and "isn't" its "not"."""
    q = re.sub(r"(?i)n't\b", " not", question.replace("\u2019", "'"))
    return re.sub(r"(?i)'s\b", " is", q)


def _words(question: str) -> list[re.Match[str]]:
    return list(WORD.finditer(_normal(question)))


def topical(words: list[str]) -> list[str]:
    """The words that name what a question is about (not function, question or generic words)."""
    return [w for w in words if w.lower() not in STOPWORDS and w.lower() not in GENERIC and w.lower() not in AUX]


def _points_back(words: list[str], i: int) -> bool:
    """Whether words[i] is a pronoun that refers to something outside the question."""
    w, before = words[i].lower(), words[i - 1].lower() if i else ""
    last = i == len(words) - 1
    if len(topical(words[:i])) >= SELF_CONTAINED:  # "I indexed a folder of notes, how do I remove it?"
        return False
    if w in PLURAL_PRONOUNS or w in DEMONSTRATIVES or w == "its":
        return True
    if w == "that":  # "files that I delete" is a relative clause; "does that work?" / "do that" point back
        return last or not before or before in AUX or before in PREPOSITIONS or before in WH
    if w in ("one", "ones"):  # "remove one", "which one": the noun is in the last question
        return last or before in WH | {"the", "another", "other", "this", "that"}
    if w == "it":
        if before in AUX or not before:  # the subject: the product, unless it only has attributes here
            return "have" in words or "has" in words or "had" in words
        return True  # the object of a verb or a preposition: "fix it", "about it"
    return False


def follow_up_kind(question: str) -> str | None:
    """Why `question` depends on the conversation: "pronoun", "ellipsis", "fragment" - or None.

    None means the question is standalone and is searched exactly as written.
    """
    words = [m.group() for m in _words(question)]
    low = [w.lower() for w in words]
    if not low:
        return None
    if set(low) & ANAPHORA and any(_points_back(words, i) for i in range(len(words))):
        return "pronoun"
    if low[0] in OPENERS or tuple(low[:2]) in ELLIPSIS_PAIRS or low[-1] == "too" or low[-2:] == ["as", "well"]:
        return "ellipsis"
    if low[0] in PREPOSITIONS and not set(low) & (AUX | SUBJECT_PRONOUNS):  # "on Linux?", "by what method?"
        return "ellipsis"
    if low[0] == "which" and (len(low) == 1 or low[1] in AUX):  # "which is faster?": the options came before
        return "fragment"
    if not topical(words):  # "why?", "how so?", "is it fast?": nothing to search for alone
        return "fragment"
    return None


def depends_on_history(question: str) -> bool:
    """True when `question` means something only with the conversation before it."""
    return follow_up_kind(question) is not None


def subject(question: str) -> str:
    """The key noun phrase of a question: what a later "it" or "and ...?" refers to ("" if none).

    A named thing (a code, an identifier, a command in backticks) wins with the words around it
    ("error code ZX-4471"); otherwise the topical words, without the verb after "I/you/we" ("How do
    I add a folder?" -> "folder") and without the product's own name.
    """
    words = [m.group() for m in _words(question)]
    keep = [
        w.lower() not in STOPWORDS | GENERIC | AUX | PRODUCT
        and not (i and words[i - 1].lower() in SUBJECT_PRONOUNS)  # "how do I add a folder": "add" is the verb
        for i, w in enumerate(words)
    ]
    runs, run = [], []
    for w, k in zip(words, keep):
        if k:
            run.append(w)
        elif run:
            runs.append(run)
            run = []
    runs += [run] if run else []
    named = [r for r in runs if any(IDENTIFIER.search(w) for w in r)]
    chosen = [w for r in (named or runs) for w in r]
    return " ".join(dict.fromkeys(chosen))


def _previous(history: list[dict[str, Any]], depth: int = 3) -> str:
    """The last user question, itself made standalone (a chain of follow-ups keeps its subject)."""
    for i in range(len(history) - 1, -1, -1):
        if history[i].get("role") == "user" and str(history[i].get("content", "")).strip():
            text = str(history[i]["content"]).strip()
            return heuristic_condense(history[:i], text, depth - 1) if depth > 1 else text
    return ""


def _substitute(question: str, phrase: str) -> str:
    """`question` with its back-pointing pronouns replaced by `phrase`, and an opening "and" dropped.

    In a question with no topic of its own, the subject "it"/"that" is the previous subject too
    ("why is it useful?" -> "Why is hybrid search useful?").
    """
    spans = _words(question)
    text = _normal(question)
    words = [m.group() for m in spans]
    bare = not topical(words)
    out, pos = [], 0
    for i, m in enumerate(spans):
        if _points_back(words, i) or (bare and words[i].lower() in ("it", "that")):
            owner = words[i].lower() in ("its", "his", "her")  # "what is its size?" -> "what is X's size?"
            out += [text[pos : m.start()], f"{phrase}'s" if owner else phrase]
            pos = m.end()
    out.append(text[pos:])
    return _strip_opener("".join(out))


def _strip_opener(text: str) -> str:
    """Without the "and"/"what about" that tied the question to the last one (its words are what count)."""
    out = re.sub(r"(?i)^\s*(?:(?:and|or|but|also|plus)\b[\s,]*|(?:what|how) about\b\s*)+", "", text).strip()
    return out[:1].upper() + out[1:] if out else text.strip()


def heuristic_condense(history: list[dict[str, Any]], question: str, depth: int = 3) -> str:
    """Make a follow-up searchable without an LLM; a standalone question comes back unchanged.

    A pronoun is replaced by the previous question's subject ("how do I fix it?" after "What does
    error code ZX-4471 mean?" -> "How do I fix error code ZX-4471?"); an ellipsis or fragment keeps
    its own words first and adds the previous question's key words ("and the overlap?" after "What is
    the maximum chunk size?" -> "The overlap? (maximum chunk size)"), and a prepositional phrase
    narrows the previous question ("and on Linux?" -> "On Linux, where is my data stored?").
    """
    kind = follow_up_kind(question)
    previous = _previous(history, depth) if kind else ""
    if not previous:
        return question
    phrase = subject(previous) if kind in ("pronoun", "fragment") else ""
    if phrase and (rewritten := _substitute(question, phrase)) != _strip_opener(question):
        return rewritten
    core = _strip_opener(question)
    head = [w.lower() for w in WORD.findall(core)]
    if head and head[0] in PREPOSITIONS and not set(head) & WH:  # "and on Linux?" narrows the last question
        return f"{core.rstrip('?!. ')}, {previous[:1].lower()}{previous[1:]}"
    own = {w.lower() for w in key_words(question)}
    extra = [w for w in key_words(previous) if w.lower() not in own and w.lower() not in GENERIC | AUX | PRODUCT]
    return f"{_strip_opener(question)} ({' '.join(extra)})" if extra else question


def standalone_query(
    question: str, history: list[dict[str, str]], mode: str, llm: Callable[[], LLMBackend]
) -> tuple[str, str | None]:
    """The answer pipeline's first stage: the search query for `question`, and it again when rewritten.

    Only a question that depends on the conversation is rewritten; a standalone one is searched as
    written, by the LLM path too. `mode` (settings.condense): `llm` asks the model, `auto` asks it
    unless it is the bundled one, otherwise (and when the model fails) the rules above rewrite.
    `llm` is called only when the model is asked: a heuristic rewrite never loads one.
    """
    if not history or not depends_on_history(question):
        return question, None
    if mode == "llm" or (mode == "auto" and llm().name != "embedded"):
        try:
            out = llm().chat(prompts.condense_messages(history, question), temperature=0.0, max_tokens=64)
            out = out.strip().strip('"').splitlines()[0].strip() if out.strip() else ""
            if 3 <= len(out) <= 3 * len(question) + 200 and not ABSTAINS.search(out):
                return out, out
        except LLMError:
            pass  # the cheap fallback below still gives a usable query
    rewritten = heuristic_condense(history, question)
    return rewritten, (rewritten if rewritten != question else None)
