"""LLM backends behind one small interface, chosen by a spec such as `auto` or `ollama:llama3.2`.

Importing this package loads neither `ollama` nor `llama_cpp`: a backend's module is imported
only when that backend is resolved, so `rag --help` stays instant.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.errors import ConfigError
from rag.llm.base import ChatMessage, LLMBackend
from rag.llm.errors import LLMError, LLMModelMissing, LLMTimeout, LLMUnavailable

if TYPE_CHECKING:
    from rag.settings import Settings

# name -> "module:Class" of an LLMBackend subclass. A new backend is one module plus one line here.
BACKENDS: dict[str, str] = {
    "ollama": "rag.llm.ollama_backend:OllamaBackend",
    "embedded": "rag.llm.embedded_backend:EmbeddedBackend",
}

SPEC_FORMS = "auto, ollama, ollama:MODEL, embedded, embedded:PATH.gguf"

__all__ = [
    "BACKENDS",
    "ChatMessage",
    "LLMBackend",
    "LLMError",
    "LLMModelMissing",
    "LLMSpec",
    "LLMTimeout",
    "LLMUnavailable",
    "backend_class",
    "parse_llm_spec",
    "resolve_llm",
]


@dataclass(frozen=True)
class LLMSpec:
    """A parsed spec: `backend` is `auto` or a backend name; `arg` its model or GGUF path (None: the default)."""

    backend: str
    arg: str | None = None

    def ollama_model(self, settings: Settings) -> str | None:
        """The Ollama model this spec would use (`auto` tries `ollama_model`); None for `embedded`."""
        if self.backend == "ollama":
            return self.arg or settings.ollama_model
        return settings.ollama_model if self.backend == "auto" else None


def parse_llm_spec(raw: str) -> LLMSpec:
    """`raw` as an LLMSpec. Splits at the first ':' only: Ollama tags ("llama3.2:3b") and Windows paths keep theirs.

    Raises:
        ConfigError: the spec is not one of SPEC_FORMS.
    """
    text = (raw or "").strip()
    name, sep, arg = text.partition(":")
    name, arg = name.strip().lower(), arg.strip()
    if name == "auto" and not sep:
        return LLMSpec("auto")
    if name not in BACKENDS or (sep and not arg):
        raise ConfigError(f"Invalid LLM spec '{text}' - use one of: {SPEC_FORMS}")
    return LLMSpec(name, arg or None)


def backend_class(name: str) -> type[LLMBackend]:
    """The backend class registered as `name` (imports its module now).

    Raises:
        ConfigError: no backend has that name.
    """
    if name not in BACKENDS:
        raise ConfigError(f"Unknown LLM backend '{name}' - use one of: {SPEC_FORMS}")
    module_name, _, class_name = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def resolve_llm(settings: Settings, spec: str | None = None) -> LLMBackend:
    """Build the LLM backend named by `spec` (default: `settings.llm`).

    Spec forms: `auto` (Ollama when it answers and has `settings.ollama_model`, else embedded),
    `ollama`, `ollama:MODEL`, `embedded` (the bundled SmolLM2), `embedded:PATH.gguf`.
    No model is loaded and no chat is sent here; `auto` makes one quick probe of Ollama.

    Raises:
        ConfigError: the spec is not one of the forms above.
        LLMModelMissing: the embedded model file does not exist.
    """
    parsed = parse_llm_spec(spec if spec is not None else settings.llm)
    name = parsed.backend
    if name == "auto":
        name = "ollama" if _ollama_answers(settings) else "embedded"
    return backend_class(name).from_spec(settings, parsed.arg)


def _ollama_answers(settings: Settings) -> bool:
    from rag.llm.ollama_backend import ollama_available

    return ollama_available(settings.ollama_host, settings.ollama_model)
