"""The embedded model as a *selector*: it picks one of the quote's numbered candidate sentences.

Why: a tiny model (the bundled SmolLM2-135M) writes text its sources do not say, but choosing
among a few numbered sentences is a much easier task. A llama.cpp GBNF grammar restricts its whole
output to one candidate number (or 0 = none answers), so the reply can always be mapped back to a
sentence and the quote keeps its exact character spans. The heuristic in rag.extract ranks the
sentences first; this only reorders its top few. Any failure of the model leaves the heuristic's
choice (a selector is an optional refinement, never a new way for an answer to fail).

Cost: the model reads the question and the candidates before it answers (~3 ms per prompt token
on 2 cores), so this is opt-in (`extract_selector = "llm"`); see the README's measurements.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.llm.base import LLMBackend

log = logging.getLogger(__name__)

SELECTORS = ("heuristic", "llm")
CANDIDATES = 6  # the heuristic's top sentences shown to the model; one digit each keeps the grammar simple
CANDIDATE_WORDS = 40  # a longer sentence is shown cut (the prompt is what costs time); its span stays whole
SYSTEM = (
    "You choose which numbered sentence answers the question. "
    "Reply with the number of that sentence only, or 0 if none of them answers it."
)


@dataclass
class Choice:
    """What the model chose: `index` into the candidates (None = keep the heuristic's order)."""

    index: int | None
    none: bool = False  # the model answered 0: no candidate answers the question
    error: str | None = None  # the backend failed; the heuristic's choice stands


def grammar_text(count: int) -> str:
    """GBNF admitting exactly one of "0".."count" (and nothing else)."""
    if not 1 <= count <= 9:
        raise ValueError(f"between 1 and 9 candidates fit a one-digit grammar, not {count}")
    return f"root ::= [0-{count}]\n"


def prompt_messages(question: str, candidates: Sequence[str]) -> list[dict[str, str]]:
    """The chat asking the model to pick a sentence, candidates numbered from 1."""
    lines = []
    for i, text in enumerate(candidates, 1):
        words = " ".join(text.split()).split(" ")
        shown = " ".join(words[:CANDIDATE_WORDS]) + (" ..." if len(words) > CANDIDATE_WORDS else "")
        lines.append(f"{i}. {shown}")
    user = f"Question: {question.strip()}\n\nSentences:\n" + "\n".join(lines) + "\n\nNumber of the answering sentence:"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


class LLMSelector:
    """Callable `(question, candidate texts) -> Choice`, run on an embedded (llama.cpp) backend.

    Args:
        llm: The backend, or a function returning it (resolved on first use, so building an engine
            never loads a model). Only backends with a local llama.cpp model (`loaded()`) can be
            constrained by a grammar; any other backend leaves the heuristic's choice.
        candidates: How many of the heuristic's top sentences the model sees (1-9).
    """

    def __init__(self, llm: LLMBackend | Callable[[], LLMBackend], candidates: int = CANDIDATES) -> None:
        grammar_text(candidates)  # validate now, not at the first question
        self._llm = llm
        self.candidates = candidates
        self._grammars: dict[int, Any] = {}

    def __call__(self, question: str, texts: Sequence[str]) -> int | None:
        """The index of the sentence to quote (None = keep the heuristic's choice); the `Select` hook."""
        return self.choose(question, texts).index

    def choose(self, question: str, texts: Sequence[str]) -> Choice:
        """Ask the model which of `texts` (best first; only the first `candidates` are shown) answers."""
        texts = list(texts)[: self.candidates]
        if len(texts) < 2:
            return Choice(None)  # nothing to choose between
        try:
            reply = self._ask(question, texts)
        except Exception as exc:  # noqa: BLE001 - any backend failure leaves the heuristic's quote
            log.warning("extract selector failed, keeping the heuristic's choice: %s", exc)
            return Choice(None, error=f"{type(exc).__name__}: {exc}")
        digit = reply.strip()[:1]
        if not digit.isdigit() or int(digit) > len(texts):  # the grammar forbids it; never trust blindly
            return Choice(None, error=f"unexpected reply {reply!r}")
        pick = int(digit)
        return Choice(None, none=True) if pick == 0 else Choice(pick - 1)

    def _ask(self, question: str, texts: list[str]) -> str:
        llm = self._llm if isinstance(self._llm, LLMBackend) else self._llm()
        self._llm = llm
        loaded = getattr(llm, "loaded", None)
        if loaded is None:
            raise TypeError(f"the {llm.name} backend cannot be constrained by a grammar (only embedded GGUF models)")
        model = loaded()
        grammar = self._grammar(len(texts))
        with model.lock:  # llama.cpp contexts are not thread-safe (see rag.llm.embedded_backend)
            out = model.llama.create_chat_completion(
                prompt_messages(question, texts), grammar=grammar, temperature=0.0, max_tokens=2
            )
        return out["choices"][0]["message"]["content"] or ""

    def _grammar(self, count: int) -> Any:
        if count not in self._grammars:
            from llama_cpp import LlamaGrammar

            self._grammars[count] = LlamaGrammar.from_string(grammar_text(count), verbose=False)
        return self._grammars[count]
