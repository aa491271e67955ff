"""LLM backends behind one small interface, chosen by a spec such as `auto` or `ollama:llama3.2`.

Importing this package loads neither `ollama` nor `llama_cpp`: a backend's module is imported
only when that backend is resolved, so `rag --help` stays instant.
"""

from __future__ import annotations

import importlib
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
    "LLMTimeout",
    "LLMUnavailable",
    "backend_class",
    "resolve_llm",
]


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
    raw = (spec if spec is not None else settings.llm).strip()
    # Split at the first ':' only: Ollama tags ("llama3.2:3b") and Windows paths keep theirs.
    name, sep, arg = raw.partition(":")
    name = name.strip().lower()
    if name == "auto" and not sep:
        name = "ollama" if _ollama_answers(settings) else "embedded"
    elif name not in BACKENDS or (sep and not arg.strip()):
        raise ConfigError(f"Invalid LLM spec '{raw}' - use one of: {SPEC_FORMS}")
    return backend_class(name).from_spec(settings, arg.strip() or None)


def _ollama_answers(settings: Settings) -> bool:
    from rag.llm.ollama_backend import ollama_available

    return ollama_available(settings.ollama_host, settings.ollama_model)
