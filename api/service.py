"""What the HTTP API and the MCP server both do, over shared heavy objects: one engine per collection.

Engines are built on first use and shared by all requests, in the pool the chat UI uses too
(rag/serving/pool.py); they hold no per-request state (the conversation arrives with each
request), so concurrent conversations cannot see each other.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from api.limits import check_text
from rag.errors import CollectionNotFound, ConfigError, RagError
from rag.serving.pool import EnginePool
from rag.settings import Settings
from rag.types import Source


class UnknownCollection(CollectionNotFound):
    """A request named a collection there is not; each edge says how to list them in its own terms."""

    def __init__(self, name: str, have: list[str]) -> None:
        self.name, self.have = name, have
        names = ", ".join(have) or "none yet"
        super().__init__(  # the HTTP API's terms; api/mcp_tools.py words it for an agent
            f"No collection named {name!r} (collections: {names}). Create it with "
            f"`rag ingest PATH --collection {name}`, or pick one listed by GET /v1/models."
        )


class UnsupportedOption(RagError):
    """A request asked for an engine option this version of the engine does not have."""


# request field -> Engine.stream keyword (`mode` was once sent as `answer_mode`, which the engine
# never took, so every request that set it got a 400). An engine without one of them refuses the
# request with a message rather than ignoring the option silently.
ENGINE_OPTIONS = {
    "top_k": "top_k",
    "hybrid": "hybrid",
    "path_glob": "path_glob",
    "threshold": "threshold",
    "temperature": "temperature",
    "mode": "mode",
}


class _ObservedRetriever:
    """A retriever that reports each search's sources as soon as it has them (before the LLM starts)."""

    def __init__(self, inner, seen: Callable[[list[Source]], None]) -> None:
        self._inner = inner
        self._seen = seen

    def search(self, query: str, **options: Any) -> list[Source]:
        found = self._inner.search(query, **options)
        self._seen(found)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RagService:
    """Collections, search, answers, passages and embeddings for the API and MCP edges."""

    def __init__(self, settings: Settings, embedder, store, engine_factory: Callable | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.pool = EnginePool(settings, engine_factory or self._build_engine)

    def open(self) -> None:
        """Load the embedding model and connect to Chroma now, before requests arrive: concurrent
        first requests would otherwise race to create the Chroma client, and the first user would
        wait for the model."""
        _ = self.embedder.model
        _ = self.store.client

    # -- engines ---------------------------------------------------------------------------

    def _build_engine(self, settings: Settings):
        from rag.app import build_engine

        return build_engine(settings, embedder=self.embedder, store=self.store)

    def collection_name(self, name: str | None) -> str:
        """`name` (default: the configured collection), refused when no such collection exists.

        Raises:
            UnknownCollection: naming the collections there are.
        """
        name = (name or "").strip() or self.settings.collection
        if self.pool.holds(name):
            return name
        try:
            Settings._valid_collection(name)
            exists = self.store.find(name) is not None
        except ValueError:
            exists = False
        if not exists:
            raise UnknownCollection(name, [c.name for c in self.store.list()])
        return name

    @contextmanager
    def engine(self, collection: str | None = None) -> Iterator[Any]:
        """The shared engine of `collection` (built on first use), kept open until the block ends."""
        with self.pool.lease(self.collection_name(collection), self.settings.llm) as engine:
            yield engine

    def forget(self, collection: str) -> None:
        """Drop an engine (after an LLM failure, so the next request resolves the backend again)."""
        self.pool.forget(collection)

    # -- operations ------------------------------------------------------------------------

    def collections(self) -> list:
        """Every collection (rag.index.store.CollectionInfo), by name."""
        return self.store.list()

    def search(
        self,
        query: str,
        collection: str | None = None,
        *,
        top_k: int | None = None,
        hybrid: bool | None = None,
        path_glob: str | None = None,
        threshold: float | None = None,
    ) -> list[Source]:
        """The closest passages to `query` (no LLM). Without `threshold`, weak matches are kept too."""
        from rag.retrieval.retriever import NO_THRESHOLD

        if not (query or "").strip():
            raise ConfigError("The query is empty - send the text to search for.")
        check_text("query", query, self.settings)
        with self.engine(collection) as engine:
            return engine.retriever.search(
                query,
                top_k=top_k,
                hybrid=hybrid,
                path_glob=path_glob,
                threshold=NO_THRESHOLD if threshold is None else threshold,
            )

    def stream(
        self,
        question: str,
        history: list[dict],
        collection: str | None = None,
        on_sources: Callable[[list[Source]], None] | None = None,
        **options: Any,
    ) -> Iterator:
        """The engine's events (text pieces, then the Answer) for one question of one conversation.

        `on_sources` hears the retrieved candidates before the model writes; `options` are request
        fields named as in ENGINE_OPTIONS (None = the settings' value).
        """
        check_text("question", question, self.settings)
        return self._stream(question, history, collection, on_sources, options)

    def _stream(self, question, history, collection, on_sources, options) -> Iterator:
        # a generator: the engine is leased from the first event to the last (or until the client leaves)
        with self.engine(collection) as shared:
            engine = shared
            if on_sources is not None:
                # a private view of the shared engine: same retriever, model and settings, one listener
                engine = copy.copy(shared)
                engine.retriever = _ObservedRetriever(shared.retriever, on_sources)
                engine._llm = lambda: shared.llm  # resolved once, in the shared engine
            yield from engine.stream(question, history, **self.engine_options(engine, options))

    @staticmethod
    def engine_options(engine, options: dict[str, Any]) -> dict[str, Any]:
        accepted = inspect.signature(engine.stream).parameters
        out: dict[str, Any] = {}
        for field, value in options.items():
            if value is None:
                continue
            keyword = ENGINE_OPTIONS[field]
            if keyword not in accepted:
                raise UnsupportedOption(
                    f"This ragspace version has no `{field}` option (the engine does not accept `{keyword}`); "
                    "leave it out of the request."
                )
            out[keyword] = value
        return out

    def passage(self, chunk_id: str, collection: str | None = None, neighbours: int = 1):
        """A stored chunk with its neighbours (rag.index.passages.PassageWithContext)."""
        from rag.index.passages import get_passage

        return get_passage(self.store.get(self.collection_name(collection)), chunk_id, neighbours)

    def embedding_model_for(self, model: str | None) -> str:
        """Check that `model` (a collection, or the embedding model's own name) is embedded by our model."""
        ours = self.embedder.model_id
        if model and model in (ours, ours.rsplit("/", 1)[-1]):
            return ours
        from rag.index.store import read_fingerprint

        name = self.collection_name(model)
        fp = read_fingerprint(self.store.get(name).metadata)
        self.store.check(name, fp, {"embed_model": ours}, keys=("embed_model",) if "embed_model" in fp else ())
        return ours
