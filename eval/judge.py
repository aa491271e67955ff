"""An optional LLM judge (`rag eval answers --judge ollama:MODEL`), reported apart from the metrics.

The prompts follow llama-index's FaithfulnessEvaluator and RelevancyEvaluator (a YES/NO verdict
per answer). We prompt the backend directly instead of importing those evaluators because they
need a llama-index LLM object and, unconfigured, fall back to OpenAI; our backend is already
offline and local.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.settings import Settings

FAITHFUL = (
    "Please tell if a given piece of information is supported by the context.\n"
    "You need to answer with either YES or NO.\n"
    "Answer YES if any of the context supports the information, even if most of the context is unrelated.\n\n"
    "Information: {answer}\n\nContext: {context}\n\nAnswer (YES or NO):"
)
RELEVANT = (
    "Your task is to evaluate if the response for the query is in line with the context information provided.\n"
    "You have two options to answer. Either YES or NO.\n"
    "Answer YES if the response for the query is in line with context information, otherwise NO.\n\n"
    "Query and Response:\nQuery: {question}\nResponse: {answer}\n\nContext: {context}\n\nAnswer (YES or NO):"
)
MAX_CONTEXT_CHARS = 6000  # keeps the judge prompt inside a small model's window


def parse_verdict(text: str) -> float | None:
    """1.0 for a YES, 0.0 for a NO (the first such word wins), None when it said neither."""
    m = re.search(r"\b(yes|no)\b", text, re.IGNORECASE)
    return None if m is None else float(m.group(1).lower() == "yes")


class Judge:
    """Asks an LLM for faithfulness and relevancy verdicts on one answer at a time."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.name = f"{llm.name}:{llm.model}"

    @classmethod
    def from_spec(cls, settings: Settings, spec: str) -> Judge:
        """A judge on the backend named by `spec` (e.g. `ollama:llama3.2`)."""
        from rag.llm import resolve_llm

        return cls(resolve_llm(settings, spec))

    def _ask(self, prompt: str) -> float | None:
        return parse_verdict(self.llm.chat([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=8))

    def verdicts(self, question: str, answer: str, contexts: Sequence[str]) -> dict[str, float | None]:
        """{"faithful": 1/0/None, "relevant": 1/0/None} for `answer` given the retrieved `contexts`."""
        context = "\n\n".join(contexts)[:MAX_CONTEXT_CHARS]
        return {
            "faithful": self._ask(FAITHFUL.format(answer=answer, context=context)),
            "relevant": self._ask(RELEVANT.format(question=question, answer=answer, context=context)),
        }
