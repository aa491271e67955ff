"""Ollama backend: the official `ollama` client against a local (or remote) Ollama server."""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import httpx
import ollama
import pydantic

from rag.llm.base import ChatMessage, LLMBackend
from rag.llm.errors import LLMError, LLMModelMissing, LLMTimeout, LLMUnavailable

if TYPE_CHECKING:
    from rag.settings import Settings

# Ollama has no tokenize endpoint we can rely on, so token counts are estimated. Llama-family
# BPE tokenizers average ~4 characters per English token; 3.5 over-counts a little on purpose,
# so prompts budgeted with it still fit the context window.
CHARS_PER_TOKEN = 3.5

# /api/tags and /api/show answer in milliseconds; do not wait llm_timeout_s for them.
_METADATA_TIMEOUT_S = 10.0


def list_models(host: str, timeout: float = _METADATA_TIMEOUT_S) -> list[str]:
    """Names of the models installed in the Ollama server at `host` (via /api/tags).

    Raises:
        LLMUnavailable: the server does not answer.
        LLMTimeout: it answered too slowly.
    """
    with _translate_errors(host, None, timeout):
        response = ollama.Client(host=host, timeout=timeout).list()
    return [m.model for m in response.models if m.model]


def ollama_available(host: str, model: str, timeout: float = 1.0) -> bool:
    """True when Ollama answers at `host` within `timeout` and has `model`. Never raises."""
    try:
        return has_model(model, list_models(host, timeout))
    except Exception:  # a probe for `auto`: any failure means "use embedded"
        return False


def has_model(model: str, installed: Sequence[str]) -> bool:
    """Whether `model` is in `installed`; a name without a tag means ':latest', as in Ollama."""
    return model in installed or (":" not in model and f"{model}:latest" in installed)


class OllamaBackend(LLMBackend):
    """Chat with a model served by Ollama; `num_ctx` is always sent explicitly."""

    name = "ollama"

    def __init__(
        self,
        host: str,
        model: str,
        *,
        num_ctx: int = 4096,
        timeout_s: float = 120.0,
        keep_alive: str = "10m",
        temperature: float = 0.1,
        max_tokens: int = 384,
    ) -> None:
        self.host = host
        self.model = model
        self.num_ctx = num_ctx
        self.timeout_s = timeout_s
        self.keep_alive = keep_alive
        self.temperature = temperature
        self.max_tokens = max_tokens
        # No request is made here: building a backend must stay cheap (`auto`, `rag --help`).
        self._client = ollama.Client(host=host, timeout=timeout_s)

    @classmethod
    def from_spec(cls, settings: Settings, arg: str | None) -> OllamaBackend:
        """`ollama` uses `settings.ollama_model`; `ollama:MODEL` names another model."""
        return cls(
            settings.ollama_host,
            arg or settings.ollama_model,
            num_ctx=settings.num_ctx,
            timeout_s=settings.llm_timeout_s,
            keep_alive=settings.ollama_keep_alive,
            temperature=settings.temperature,
            max_tokens=settings.max_answer_tokens,
        )

    @cached_property
    def context_window(self) -> int:  # type: ignore[override]
        """`num_ctx`, capped by the model's trained context length from /api/show (asked once)."""
        with self._errors(self.timeout_s):
            try:
                info = self._client.show(self.model).modelinfo or {}
            except pydantic.ValidationError:  # a server that omits model_info: length unknown
                info = {}
        trained = [v for k, v in info.items() if k.endswith(".context_length") and v]
        return min([self.num_ctx, *(int(v) for v in trained)])

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Stream the answer from /api/chat. See `LLMBackend.stream_chat`."""
        options: dict[str, Any] = {
            # Ollama's own default context (2048 in many versions) silently cuts RAG prompts.
            "num_ctx": self.context_window,
            "temperature": self.temperature if temperature is None else temperature,
            "num_predict": self.max_tokens if max_tokens is None else max_tokens,
        }
        with self._errors(self.timeout_s):
            parts = self._client.chat(
                self.model,
                list(messages),
                stream=True,
                options=options,
                keep_alive=self.keep_alive,
            )
            # closing(): a caller that stops reading early also ends the HTTP stream. The client's
            # hints say Iterator; what it returns is a generator over the response, which has close().
            with closing(cast("Generator[ollama.ChatResponse, None, None]", parts)):
                for part in parts:
                    if part.message.content:
                        yield part.message.content

    def count_tokens(self, text: str) -> int:
        """Estimate: characters / `CHARS_PER_TOKEN`, rounded up (Ollama cannot tokenize for us)."""
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def _errors(self, timeout: float) -> AbstractContextManager[None]:
        return _translate_errors(self.host, self.model, timeout)


@contextmanager
def _translate_errors(host: str, model: str | None, timeout: float) -> Iterator[None]:
    """Turn client and transport errors into our errors, each naming its fix."""
    try:
        yield
    except ollama.ResponseError as exc:
        if model and (exc.status_code == 404 or "not found" in str(exc.error).lower()):
            raise LLMModelMissing.ollama(model, _installed_or_empty(host)) from None
        raise LLMError(f"Ollama at {host} failed: {exc.error} - check the output of `ollama serve`") from None
    # A refused or unanswered connection means no server, not a slow model.
    except (httpx.ConnectError, httpx.ConnectTimeout, ConnectionError):
        raise LLMUnavailable(host) from None
    except httpx.TimeoutException:
        raise LLMTimeout(timeout) from None
    except httpx.HTTPError as exc:
        raise LLMError(
            f"The connection to Ollama at {host} broke ({exc}) - check that `ollama serve` "
            "is still running and try again"
        ) from None


def _installed_or_empty(host: str) -> list[str]:
    try:
        return list_models(host, timeout=2.0)
    except LLMError:
        return []
