"""Engines by (collection, LLM spec), shared by the chat UI's sessions and the API's requests.

An engine holds no per-user or per-request state (the conversation arrives with each question),
so one engine serves everyone asking the same collection with the same model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rag.settings import Settings

EngineFactory = Callable[[Settings], Any]  # Settings -> rag.engine.Engine


class EnginePool:
    """Engines by (collection, llm spec), built on first use.

    At most `max_engines` are kept (least recently used dropped first). An engine dropped while
    someone still uses it (see `lease`) is closed only when they are done with it.
    """

    def __init__(self, settings: Settings, factory: EngineFactory, max_engines: int = 8) -> None:
        self.settings = settings
        self.factory = factory
        self.max_engines = max_engines
        self._engines: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._users: dict[int, int] = {}  # id(engine) -> leases open now
        self._retired: dict[int, Any] = {}  # dropped while leased: closed when the last lease ends
        self._lock = threading.Lock()
        self._image_embedder: Any = None

    def get(self, collection: str, llm: str) -> Any:
        """The engine for (collection, llm); use `lease` while it is in use for a while."""
        with self._lock:
            engine, dropped = self._get(collection, llm)
        _close_all(dropped)
        return engine

    @contextmanager
    def lease(self, collection: str, llm: str) -> Iterator[Any]:
        """The engine, kept open (not closed by `forget` or eviction) until the block ends."""
        with self._lock:
            engine, dropped = self._get(collection, llm)
            self._users[id(engine)] = self._users.get(id(engine), 0) + 1
        _close_all(dropped)
        try:
            yield engine
        finally:
            with self._lock:
                left = self._users[id(engine)] = self._users[id(engine)] - 1
                if not left:
                    del self._users[id(engine)]
                last = [self._retired.pop(id(engine))] if not left and id(engine) in self._retired else []
            _close_all(last)

    def holds(self, collection: str) -> bool:
        """Whether an engine of `collection` is cached (so the collection existed a moment ago)."""
        with self._lock:
            return any(key[0] == collection for key in self._engines)

    def image_embedder(self) -> Any:
        """The image embedder everyone shares (its model loads on first use); None when images are off."""
        from rag.app import build_image_embedder

        with self._lock:
            self._image_embedder = self._image_embedder or build_image_embedder(self.settings)
            return self._image_embedder

    def forget(self, collection: str, llm: str | None = None) -> None:
        """Drop cached engines (after an LLM failure, so the next question resolves the backend again)."""
        with self._lock:
            keys = [k for k in self._engines if k[0] == collection and llm in (None, k[1])]
            dropped = [e for k in keys if (e := self._drop(self._engines.pop(k))) is not None]
        _close_all(dropped)

    def _get(self, collection: str, llm: str) -> tuple[Any, list]:
        # called with the lock held; returns the engine and the evicted engines that may be closed now
        key = (collection, llm)
        if key not in self._engines:
            config = self.settings.model_copy(update={"collection": collection, "llm": llm})
            self._engines[key] = self.factory(config)
        self._engines.move_to_end(key)
        dropped = []
        while len(self._engines) > self.max_engines:
            if (e := self._drop(self._engines.popitem(last=False)[1])) is not None:
                dropped.append(e)
        return self._engines[key], dropped

    def _drop(self, engine: Any) -> Any:
        # with the lock held: an engine in use is retired (closed by its last lease), others returned to close
        if self._users.get(id(engine)):
            self._retired[id(engine)] = engine
            return None
        return engine


def _close_all(engines: list) -> None:
    for engine in engines:
        close = getattr(getattr(engine, "retriever", None), "close", None)
        if close:
            close()
