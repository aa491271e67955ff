"""What a browser (or an API client) of the chat UI may reach on the server, and what the UI keeps
in memory: re-sync only known folders, only offered models, bounded engine and model caches."""

from __future__ import annotations

import gc
import shutil
import weakref
from pathlib import Path

import pytest
from rag.index.store import Store

from rag.errors import ConfigError
from rag.settings import Settings
from tests.conftest import DATA, free_port
from tests.ollama_standin import OllamaStandin, StandinConfig
from ui import documents as docs
from ui import handlers


def settings(**kw) -> Settings:
    # nothing listens on that port: Ollama is "down" unless a test starts the stand-in there
    return Settings(**{"collection": "docs", "llm": "embedded", "ollama_host": f"http://127.0.0.1:{free_port()}", **kw})


# -- re-sync --------------------------------------------------------------------------------


def test_resync_is_limited_to_the_collections_folders_and_ui_folders(embedder, tmp_path):
    built = shutil.copytree(DATA / "docs", tmp_path / "built")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwords.md").write_text("The root password is hunter2.")
    s = settings()
    store = Store(s)
    docs.sync_paths(s, embedder, store, "docs", [built])
    for path in (secret, built / ".." / "secret", Path("/etc")):
        with pytest.raises(ConfigError, match="ui_folders") as refused:
            docs.resync(s, embedder, store, "docs", str(path))
        assert str(built) in str(refused.value)  # it says what is allowed
    assert all("secret" not in d.path for d in docs.list_documents(s, store, "docs"))
    # the folder it was built from, and a folder under it, may be re-synced
    assert docs.resync(s, embedder, store, "docs", str(built)).totals.unchanged >= 4
    assert docs.resync(s, embedder, store, "docs", str(built / "notes")).totals.failed == 0
    # an operator's allow-list opens more
    allowed = settings(ui_folders=[tmp_path])
    assert docs.resync(allowed, embedder, store, "docs", str(secret)).totals.ingested == 1


def test_symlink_out_of_a_built_folder_is_refused(embedder, tmp_path):
    built = tmp_path / "built"
    built.mkdir()
    (built / "a.md").write_text("Ferries leave at noon.")
    outside = tmp_path / "outside"
    outside.mkdir()
    (built / "link").symlink_to(outside, target_is_directory=True)
    s = settings()
    store = Store(s)
    docs.sync_paths(s, embedder, store, "docs", [built])
    with pytest.raises(ConfigError, match="not a folder collection 'docs' was built from"):
        docs.resync(s, embedder, store, "docs", str(built / "link"))


# -- models a browser may choose ----------------------------------------------------------


def test_settings_box_allows_only_models_the_server_offers(tmp_path):
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    s = settings(ui_models=[gguf])
    for ok in ("auto", "embedded", "ollama", f"embedded:{gguf}"):
        assert handlers.check_llm(s, ok) == ok
    existing, missing = "/etc/hostname", str(tmp_path / "missing.gguf")
    refusals = []
    for spec in (f"embedded:{existing}", f"embedded:{missing}", "ollama:not-listed", "embedded:../../x"):
        with pytest.raises(ConfigError) as refused:
            handlers.check_llm(s, spec)
        refusals.append(str(refused.value))
    # one message for every refused model: it cannot tell whether a path exists
    assert len(set(refusals)) == 1 and "ui_models" in refusals[0] and "etc" not in refusals[0]
    assert f"embedded:{gguf}" in handlers.llm_choices(s)


def test_ollama_models_are_allowed_when_the_server_lists_them():
    with OllamaStandin(StandinConfig(models={"llama3.2:latest": 8192, "qwen2:0.5b": 8192})) as server:
        s = settings(ollama_host=server.host)
        assert handlers.check_llm(s, "ollama:qwen2:0.5b") == "ollama:qwen2:0.5b"
        with pytest.raises(ConfigError):
            handlers.check_llm(s, "ollama:mistral")


def test_settings_event_keeps_the_sessions_model_when_refused(embedder, tmp_path, monkeypatch):
    from ui.events import Events

    s = settings()
    ev = Events(s, embedder, Store(s), handlers.EnginePool(s, lambda cfg: None), s)
    warned: list[str] = []
    monkeypatch.setattr("gradio.Warning", lambda msg: warned.append(msg))
    session = handlers.Session.new(s)
    session, status = ev.on_options(3, False, 0.3, 0.1, "embedded:/etc/passwd", "auto", session)
    assert session.options.llm == "embedded" and session.options.top_k == 3 and warned
    assert "/etc/passwd" not in status and "passwd" not in warned[0]


# -- bounded caches -------------------------------------------------------------------------


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
    pool = handlers.EnginePool(settings(), FakeEngine, max_engines=2)
    a, b = pool.get("a-coll", "embedded"), pool.get("b-coll", "embedded")
    assert pool.get("a-coll", "embedded") is a  # a used again: b is now the oldest
    c = pool.get("c-coll", "embedded")
    assert b.retriever.closed == 1 and a.retriever.closed == 0 and c.retriever.closed == 0
    assert pool.get("a-coll", "embedded") is a and pool.get("b-coll", "embedded") is not b


def test_forget_never_closes_a_retriever_another_session_is_using():
    pool = handlers.EnginePool(settings(), FakeEngine, max_engines=1)
    with pool.lease("docs", "embedded") as engine:
        pool.forget("docs")  # another session's LLM failed on the same collection
        pool.get("other", "embedded")  # and eviction passes by too
        assert engine.retriever.closed == 0  # still answering this session
        assert pool.get("docs", "embedded") is not engine  # new questions get a fresh engine
    assert engine.retriever.closed == 1  # closed once its last user is done


def test_loaded_models_are_bounded_and_one_in_use_keeps_working(monkeypatch):
    from rag.llm import embedded_backend as eb

    path = eb.bundled_model_path()
    eb.close_models()
    monkeypatch.setattr(eb, "MAX_LOADED_MODELS", 1)
    first = eb.load_model(path, 512, 1)
    gone = weakref.ref(first.llama)
    second = eb.load_model(path, 1024, 1)
    assert len(eb._loaded) == 1 and eb.load_model(path, 1024, 1) is second
    assert first.llama.tokenize(b"still usable", add_bos=False)  # a user holding it is not cut off
    del first
    gc.collect()
    assert gone() is None  # freed once nobody uses it
    eb.close_models()
