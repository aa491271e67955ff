"""Sentence-transformers embeddings, loaded offline from an installed package or a path."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ConfigError, ModelError

# The bundled model's location and digest live in rag.models.bundled (with the LLM's); the old names stay
# importable from here.
from rag.models.bundled import EMBED_SHA256 as BUNDLED_SHA256  # noqa: F401
from rag.models.bundled import embed_model_dir as bundled_model_path
from rag.models.bundled import sha256_file  # noqa: F401
from rag.settings import BUNDLED_EMBED_MODEL

if TYPE_CHECKING:
    import numpy as np

    from rag.models.precision import Verdict

log = logging.getLogger(__name__)

# Questions embed_query remembers (a question is embedded by retrieval, then again by focusing).
RECENT_QUERIES = 64


def resolve_model(name_or_path: str) -> tuple[str, str]:
    """Return (model id recorded in the index, location to load from)."""
    if name_or_path == BUNDLED_EMBED_MODEL:
        return BUNDLED_EMBED_MODEL, str(bundled_model_path())
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name_or_path, name_or_path


class Embedder:
    """Embeds texts into normalised float32 vectors (cosine similarity = dot product).

    The model computes in fp32 or bf16 (`precision`: auto picks bf16 only where the CPU runs it
    natively, see rag.models.precision); the vectors are float32 either way.
    """

    normalized = True

    def __init__(
        self,
        name_or_path: str = BUNDLED_EMBED_MODEL,
        batch_size: int = 64,
        precision: str = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        from rag.models.precision import PRECISIONS

        if precision not in PRECISIONS:
            raise ConfigError(f"embed_precision must be one of {', '.join(PRECISIONS)}, not {precision!r}.")
        self.model_id, self._location = resolve_model(name_or_path)
        self.batch_size = batch_size
        self.precision_setting = precision
        self._cache_dir = cache_dir  # where the per-machine precision verdict is remembered
        self._verdict: Verdict | None = None
        self._verdict_lock = threading.Lock()
        self._recent: dict[str, np.ndarray] = {}  # embed_query's memory, oldest first
        self._recent_lock = threading.Lock()

    @property
    def verdict(self) -> Verdict:
        """The precision in use and why; decided at first use (auto may run a timed check once)."""
        with self._verdict_lock:  # UI threads may all embed first at once: one check, not several
            if self._verdict is None:
                from rag.models.precision import resolve
                from rag.settings import default_model_cache

                cache = self._cache_dir or default_model_cache()
                self._verdict = resolve(self.precision_setting, self._location, cache)
            return self._verdict

    @property
    def precision(self) -> str:
        """`fp32` or `bf16`: what the model computes in (recorded in the collection's fingerprint)."""
        return self.verdict.choice

    @cached_property
    def model(self):
        from rag.models.threads import configure_openmp

        configure_openmp()  # before torch loads the OpenMP runtime (see rag.models.threads)
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a weights-loading bar on every start is noise in our reports
        try:
            # local_files_only: a name that is not already on disk must fail, never download.
            return SentenceTransformer(self._location, device="cpu", local_files_only=True)
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "cannot load"
            raise ModelError(
                f"Cannot load embedding model {self.model_id!r} offline ({type(exc).__name__}: {exc}). "
                "Set `embed_model` to a local sentence-transformers directory, or use the bundled "
                f"{BUNDLED_EMBED_MODEL!r}."
            ) from None

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        """Longest input in word pieces, including the special tokens the model adds."""
        return int(self.model.max_seq_length)

    @property
    def special_tokens(self) -> int:
        """How many special tokens ([CLS], [SEP], ...) the tokenizer adds to each input."""
        return len(self.tokenizer("", add_special_tokens=True)["input_ids"])

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""
        if not texts:
            return []
        ids = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [len(x) for x in ids]

    def embed(
        self, texts: Sequence[str], batch_size: int | None = None, lengths: Sequence[int] | None = None
    ) -> np.ndarray:
        """Embed texts as a (n, dim) float32 array of unit vectors, in the input order.

        Texts are batched by token length (`lengths`, counted here when not given): each batch is
        padded to its longest text, so similar lengths waste the least compute. sentence-transformers
        sorts too, but by characters and within one call. `batch_size` overrides the default (a few
        dozen short texts go faster in small batches: see rag.answer.compose.FOCUS_BATCH).
        """
        import numpy as np

        texts = list(texts)
        size = batch_size or self.batch_size
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) <= size:
            return self._encode(texts, size)
        counts = np.asarray(lengths if lengths is not None else self.count_tokens(texts))
        order = np.argsort(-counts, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), size):
            rows = order[start : start + size]
            out[rows] = self._encode([texts[i] for i in rows], size)
        return out

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if self.precision != "bf16":
            return self.model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):  # thread-local: other threads are unaffected
            out = self.model.encode(texts, batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False)
        # normalised in fp32, so stored vectors are unit length to float32 precision whatever the model ran in
        return torch.nn.functional.normalize(out.float(), dim=1).numpy()

    def embed_query(self, text: str) -> np.ndarray:
        """One text's vector; the last few are remembered, as a question is embedded by retrieval and
        again by the steps after it (focusing the sources). The array is read-only."""
        cached = self._recent.get(text)
        if cached is None:
            cached = self.embed([text])[0]
            cached.flags.writeable = False
            with self._recent_lock:  # UI sessions ask from several threads
                self._recent[text] = cached
                while len(self._recent) > RECENT_QUERIES:
                    self._recent.pop(next(iter(self._recent)))
        return cached
