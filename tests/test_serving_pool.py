"""One engine pool for the chat UI and the API (rag/serving/pool.py): bounded, and never closing an engine in use."""

from __future__ import annotations

import pytest

from api.service import RagService
from rag.errors import CollectionNotFound
from rag.serving.pool import EnginePool
from rag.settings import Settings
from tests.conftest import free_port


def settings(**kw) -> Settings:
    # nothing listens on that port: no Ollama here
    return Settings(**{"collection": "docs", "llm": "embedded", "ollama_host": f"http://127.0.0.1:{free_port()}", **kw})


class RecordingRetriever:
    """A stand-in retriever that only records being closed (the pool's bookkeeping is under test)."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class FakeEngine:
    """Named plainly: an engine with only the retriever the pool closes."""

    def __init__(self, config: Settings) -> None:
        self.config, self.retriever = config, RecordingRetriever()


def test_engine_pool_is_bounded_least_recently_used_first():
    pool = EnginePool(settings(), FakeEngine, max_engines=2)
    a, b = pool.get("a-coll", "embedded"), pool.get("b-coll", "embedded")
    assert pool.get("a-coll", "embedded") is a  # a used again: b is now the oldest
    c = pool.get("c-coll", "embedded")
    assert b.retriever.closed == 1 and a.retriever.closed == 0 and c.retriever.closed == 0
    assert pool.get("a-coll", "embedded") is a and pool.get("b-coll", "embedded") is not b


def test_forget_never_closes_a_retriever_another_session_is_using():
    pool = EnginePool(settings(), FakeEngine, max_engines=1)
    with pool.lease("docs", "embedded") as engine:
        pool.forget("docs")  # another session's LLM failed on the same collection
        pool.get("other", "embedded")  # and eviction passes by too
        assert engine.retriever.closed == 0  # still answering this session
        assert pool.get("docs", "embedded") is not engine  # new questions get a fresh engine
    assert engine.retriever.closed == 1  # closed once its last user is done


class StreamingEngine(FakeEngine):
    """Named plainly: an engine whose answer is two fixed pieces, to watch the API's lease around a stream."""

    def stream(self, question: str, history: list) -> object:
        yield from ("first ", "second")


def test_the_api_serves_from_the_same_pool_class_as_the_ui():
    service = RagService(settings(), embedder=None, store=None, engine_factory=StreamingEngine)
    assert isinstance(service.pool, EnginePool)
    first = service.pool.get("docs", service.settings.llm)
    with service.engine("docs") as engine:  # `docs` is cached: no store lookup needed
        assert engine is first and engine.config.collection == "docs" and engine.config.llm == "embedded"


def test_an_api_stream_keeps_its_engine_open_until_the_client_is_done():
    service = RagService(settings(), embedder=None, store=None, engine_factory=StreamingEngine)
    service.pool.max_engines = 1
    engine = service.pool.get("docs", service.settings.llm)
    events = service.stream("a question", [], "docs")
    assert next(events) == "first "
    service.forget("docs")  # another request's LLM failed on this collection
    service.pool.get("other", "embedded")  # and eviction passes by too
    assert engine.retriever.closed == 0  # still streaming to this client
    assert list(events) == ["second"]
    assert engine.retriever.closed == 1  # closed once, when its stream ended


def test_a_client_that_leaves_mid_stream_releases_the_engine():
    service = RagService(settings(), embedder=None, store=None, engine_factory=StreamingEngine)
    engine = service.pool.get("docs", service.settings.llm)
    events = service.stream("a question", [], "docs")
    next(events)
    service.forget("docs")
    assert engine.retriever.closed == 0
    events.close()  # the SSE response closes its iterator when the client disconnects
    assert engine.retriever.closed == 1


def test_an_unknown_collection_is_refused_before_any_engine_is_built(tmp_path):
    from rag.index.store import Store

    built = []
    config = settings(home=tmp_path / "home")
    service = RagService(config, embedder=None, store=Store(config), engine_factory=built.append)
    with pytest.raises(CollectionNotFound, match="No collection named 'nope'"):
        next(service.stream("q", [], "nope"))
    assert built == []
