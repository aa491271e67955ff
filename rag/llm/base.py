"""The interface every LLM backend implements: stream a chat, count tokens."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from rag.settings import Settings

ChatMessage = dict[str, str]
"""One chat turn: {"role": "system" | "user" | "assistant", "content": "..."}."""


class LLMBackend(ABC):
    """A chat model. Adding a backend = one module with a subclass + one line in `rag.llm.BACKENDS`.

    Attributes:
        name: Registry name of the backend ("ollama", "embedded").
        model: The model it talks to (Ollama model name, or GGUF file name).
        context_window: Tokens the model sees at once (prompt + answer), as actually configured.
        source_tokens: Most tokens of each source this model reads well (0 = whole chunks); the
            engine focuses longer sources on the question (see rag.answer.focus).
    """

    name: ClassVar[str]
    model: str
    context_window: int
    source_tokens: int = 0

    @classmethod
    @abstractmethod
    def from_spec(cls, settings: Settings, arg: str | None) -> LLMBackend:
        """Build the backend from settings; `arg` is the part after ':' in `--llm NAME:ARG`."""

    @abstractmethod
    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Yield the answer in pieces as the model produces them.

        Args:
            messages: The conversation, oldest first.
            temperature: Sampling temperature; None = the settings' value.
            max_tokens: Most tokens to generate; None = the settings' `max_answer_tokens`.

        Raises:
            LLMError: or a subclass naming the fix (unreachable, model missing, timeout).
        """

    def load(self) -> None:
        """Load the model now if this backend loads it lazily (the engine times it as loading).

        Raises:
            LLMError: the model cannot be loaded; the default loads nothing.
        """
        return None  # a backend that loads lazily overrides this; the rest have nothing to load

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """The whole answer as one string (see `stream_chat`)."""
        return "".join(self.stream_chat(messages, temperature=temperature, max_tokens=max_tokens))

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model's context (exact, or a documented estimate)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"
