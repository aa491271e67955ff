"""The question's own words, as the quote sees them: which the sources name, which most chunks share."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.answered import WORD, content_terms, stem
from rag.text.words import STOPWORDS
from rag.types import Source


def topic_words(question: str, sources: Sequence[Source]) -> list[str]:
    """The question's content words the sources contain (what "The documents discuss ..." names)."""
    present = set().union(*(set(content_terms(s.text)) for s in sources))
    return list(dict.fromkeys(w for w in WORD.findall(question) if w.lower() not in STOPWORDS and stem(w) in present))


def without_common_words(question: str, common_words: Callable[[str, float], list[str]] | None, share: float) -> str:
    """The question without the words of it that at least `share` of the collection's chunks contain."""
    common = common_words(question, share) if share < 1 and common_words is not None else []
    if not common:
        return question
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in common) + r")\b"
    return " ".join(re.sub(pattern, " ", question).split())
