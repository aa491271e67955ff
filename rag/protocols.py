"""The shapes of the parts the composition root (rag.app) builds and everything else receives.

A module that is handed a store, an embedder or an LLM depends on what it calls, written down
here as a `typing.Protocol`, not on the class that happens to build it: `rag.index.store.Store`,
`rag.models.embedder.Embedder`, `rag.models.image_embedder.ImageEmbedder` and the `rag.llm` backends satisfy
these structurally, and so do the stand-ins tests and benchmarks pass (a keyword embedder, a
scripted LLM) without subclassing anything. mypy checks both sides.

Importing this module imports nothing heavy: numpy and PIL are named for the type checker only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from rag.index.store import CollectionInfo
    from rag.settings import Settings


class Collection(Protocol):
    """The part of a Chroma collection the readers use (`chromadb.Collection` has it).

    Chroma's own parameter and result types are precise TypedDicts and Literals; they are `Any`
    here so that any collection-like object fits and callers index the results as Chroma documents.
    """

    @property
    def id(self) -> Any: ...  # a UUID in chromadb

    @property
    def name(self) -> str: ...

    @property
    def metadata(self) -> Mapping[str, Any] | None: ...

    def count(self) -> int: ...

    def query(
        self, *, query_embeddings: Any = ..., n_results: int = ..., where: Any = ..., include: Any = ...
    ) -> Any: ...

    def get(
        self, *, ids: Any = ..., where: Any = ..., limit: Any = ..., offset: Any = ..., include: Any = ...
    ) -> Any: ...


class VectorStore(Protocol):
    """Named, fingerprinted collections in one Chroma database (`rag.index.store.Store`)."""

    settings: Settings

    @property
    def location(self) -> str:
        """Where the collections live: a Chroma server URL or the embedded database's folder."""
        ...

    @property
    def client(self) -> Any:
        """The chromadb client (connected on first use)."""
        ...

    def refresh(self, name: str, token: str | None) -> None:
        """Make the client see what another process wrote to `name` up to generation `token`."""
        ...

    def find(self, name: str) -> Any:
        """The collection `name`, or None when it does not exist."""
        ...

    def get(self, name: str) -> Any:
        """The existing collection `name` for reading; raises CollectionNotFound naming the fix."""
        ...

    def get_for_write(self, name: str) -> Any:
        """`get` for a writer holding the writer lock."""
        ...

    def open(self, name: str, fp: dict[str, Any]) -> Any:
        """Get or create `name` for a writer, refusing one built with other settings."""
        ...

    def check(self, name: str, stored: dict[str, Any], wanted: dict[str, Any], keys: tuple[str, ...] = ...) -> None:
        """Refuse a collection whose recorded `keys` differ from `wanted`."""
        ...

    def record_precision(self, col: Any, used: str) -> str:
        """Record the precision the vectors written to `col` were computed in."""
        ...

    def begin_rebuild(self, name: str, fp: dict[str, Any]) -> Any:
        """A fresh, empty side collection to rebuild `name` into."""
        ...

    def finish_rebuild(self, name: str) -> None:
        """Swap the rebuilt side collection in place of `name`."""
        ...

    def finish_interrupted_swap(self, name: str) -> None:
        """Finish a swap a crash interrupted (writers only)."""
        ...

    def delete(self, name: str) -> None:
        """Delete `name` with its side and image collections."""
        ...

    def list(self) -> list[CollectionInfo]:
        """The collections and what they were built with."""
        ...


class TextEmbedder(Protocol):
    """Texts -> unit float32 vectors (`rag.models.embedder.Embedder`); cosine similarity is the dot product."""

    model_id: str
    normalized: bool

    @property
    def dim(self) -> int: ...

    @property
    def precision(self) -> str:
        """`fp32` or `bf16`: what the model computes in (recorded in the fingerprint)."""
        ...

    @property
    def max_tokens(self) -> int:
        """Longest input in word pieces, special tokens included."""
        ...

    @property
    def special_tokens(self) -> int: ...

    @property
    def tokenizer(self) -> Any:
        """The model's Hugging Face tokenizer (the chunker counts tokens with it)."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed(
        self, texts: Sequence[str], batch_size: int | None = None, lengths: Sequence[int] | None = None
    ) -> np.ndarray:
        """(n, dim) unit vectors, in the input order."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One text's vector (read-only; recent ones may be remembered)."""
        ...


class ImageEncoder(Protocol):
    """Images and texts -> unit vectors of one shared space (`rag.models.image_embedder.ImageEmbedder`)."""

    model_id: str
    max_pixels: int
    max_side: int

    @property
    def dim(self) -> int: ...

    @property
    def logit_scale(self) -> float: ...

    def decode(self, data: bytes) -> Image.Image:
        """Bytes of an image file -> a bounded RGB image (raises BadImage)."""
        ...

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray: ...

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def classify(self, image: Image.Image, labels: Sequence[str]) -> list[tuple[str, float, float]]: ...


class ChatModel(Protocol):
    """An LLM backend as its callers see it (every `rag.llm.LLMBackend` subclass is one).

    Attributes:
        name: Registry name of the backend ("ollama", "embedded").
        model: The model it talks to.
        context_window: Tokens the model sees at once (prompt + answer).
        source_tokens: Most tokens of each source this model reads well (0 = whole chunks).
    """

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def context_window(self) -> int: ...

    @property
    def source_tokens(self) -> int: ...

    def stream_chat(
        self, messages: Sequence[dict[str, str]], *, temperature: float | None = None, max_tokens: int | None = None
    ) -> Iterator[str]:
        """Yield the answer in pieces; raises LLMError (or a subclass naming the fix)."""
        ...

    def chat(
        self, messages: Sequence[dict[str, str]], *, temperature: float | None = None, max_tokens: int | None = None
    ) -> str:
        """The whole answer as one string."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model's context."""
        ...
