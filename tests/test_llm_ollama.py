"""The Ollama backend through the real `ollama` client, against a local stand-in server.

No Ollama server can be installed here, so `tests/ollama_standin.py` plays its HTTP part with
scripted answers; `test_live_ollama` talks to a real server when one answers at OLLAMA_HOST.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.llm import LLMModelMissing, LLMTimeout, LLMUnavailable, resolve_llm
from rag.llm.embedded_backend import EmbeddedBackend
from rag.llm.ollama_backend import OllamaBackend, has_model, list_models, ollama_available
from rag.settings import Settings
from tests.ollama_standin import OllamaStandin, StandinConfig, scripted_answer

QUESTION = [
    {"role": "system", "content": "Answer from the context only."},
    {"role": "user", "content": "What colour is the sky?"},
]


@pytest.fixture
def rag_home(isolated_home: Path) -> Path:
    """conftest's per-test RAG_HOME (the autouse fixture also hides any rag.toml)."""
    return isolated_home


@pytest.fixture
def standin() -> Iterator[OllamaStandin]:
    config = StandinConfig(models={"llama3.2:latest": 131072, "tiny:1b": 2048})
    with OllamaStandin(config) as server:
        yield server


def make_settings(home: Path, host: str, **kw: object) -> Settings:
    args: dict[str, object] = dict(
        home=home, ollama_host=host, ollama_model="llama3.2", num_ctx=4096,
        ollama_keep_alive="7m", temperature=0.3, max_answer_tokens=64, llm_timeout_s=5.0,
    )  # fmt: skip
    return Settings(**{**args, **kw})


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streams_scripted_answer_in_pieces(standin: OllamaStandin, rag_home: Path) -> None:
    llm = resolve_llm(make_settings(rag_home, standin.host), "ollama")
    pieces = list(llm.stream_chat(QUESTION))
    assert isinstance(llm, OllamaBackend) and llm.name == "ollama" and llm.model == "llama3.2"
    assert len(pieces) > 1  # really streamed, not one blob
    assert "".join(pieces) == scripted_answer(QUESTION)


def test_sends_num_ctx_keep_alive_and_sampling(standin: OllamaStandin, rag_home: Path) -> None:
    llm = resolve_llm(make_settings(rag_home, standin.host), "ollama")
    llm.chat(QUESTION)
    llm.chat(QUESTION, temperature=0.0, max_tokens=5)
    first, second = (r.body for r in standin.requests_to("/api/chat"))
    assert first["options"] == {"num_ctx": 4096, "temperature": 0.3, "num_predict": 64}
    assert first["keep_alive"] == "7m" and first["stream"] is True
    assert first["messages"] == QUESTION
    assert second["options"] == {"num_ctx": 4096, "temperature": 0.0, "num_predict": 5}


def test_context_window_capped_by_model(standin: OllamaStandin, rag_home: Path) -> None:
    settings = make_settings(rag_home, standin.host)
    big = resolve_llm(settings, "ollama")  # trained on 131072 tokens: num_ctx rules
    small = resolve_llm(settings, "ollama:tiny:1b")  # trained on 2048: the model rules
    assert big.context_window == 4096
    assert small.model == "tiny:1b" and small.context_window == 2048
    small.chat(QUESTION)
    assert standin.requests_to("/api/chat")[-1].body["options"]["num_ctx"] == 2048
    assert small.context_window == 2048
    assert len(standin.requests_to("/api/show")) == 2  # asked once per backend, then cached


def test_context_window_without_model_info(standin: OllamaStandin, rag_home: Path) -> None:
    standin.config.model_info = False
    llm = resolve_llm(make_settings(rag_home, standin.host, num_ctx=8192), "ollama:tiny:1b")
    assert llm.context_window == 8192  # the trained length is unknown: trust num_ctx


def test_count_tokens_is_a_rounded_up_estimate(standin: OllamaStandin, rag_home: Path) -> None:
    llm = resolve_llm(make_settings(rag_home, standin.host), "ollama")
    assert llm.count_tokens("") == 0
    assert llm.count_tokens("abcdefg") == 2
    assert llm.count_tokens("a" * 8) == 3


def test_server_down_names_ollama_serve(rag_home: Path) -> None:
    host = f"http://127.0.0.1:{unused_port()}"
    llm = resolve_llm(make_settings(rag_home, host), "ollama")
    with pytest.raises(LLMUnavailable) as info:
        llm.chat(QUESTION)
    assert "ollama serve" in str(info.value) and host in str(info.value)
    assert "--llm embedded" in str(info.value)
    with pytest.raises(LLMUnavailable):
        list_models(host, timeout=1.0)


def test_missing_model_names_ollama_pull(standin: OllamaStandin, rag_home: Path) -> None:
    llm = resolve_llm(make_settings(rag_home, standin.host), "ollama:mistral")
    with pytest.raises(LLMModelMissing) as info:
        list(llm.stream_chat(QUESTION))
    message = str(info.value)
    assert "ollama pull mistral" in message
    assert "llama3.2:latest" in message and "tiny:1b" in message  # lists what is installed


def test_slow_answer_times_out(standin: OllamaStandin, rag_home: Path) -> None:
    standin.config.delay_s = 3.0
    llm = resolve_llm(make_settings(rag_home, standin.host, llm_timeout_s=0.5), "ollama")
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as info:
        llm.chat(QUESTION)
    assert time.monotonic() - started < 2.5
    assert "0.5 s" in str(info.value) and "llm_timeout_s" in str(info.value)


def test_list_models_and_availability(standin: OllamaStandin) -> None:
    assert list_models(standin.host) == ["llama3.2:latest", "tiny:1b"]
    assert ollama_available(standin.host, "llama3.2")  # bare name means :latest
    assert ollama_available(standin.host, "tiny:1b")
    assert not ollama_available(standin.host, "tiny")  # tiny:latest is not installed
    assert not ollama_available(f"http://127.0.0.1:{unused_port()}", "llama3.2")
    assert has_model("llama3.2:latest", ["llama3.2:latest"])


def test_auto_prefers_ollama_when_it_has_the_model(standin: OllamaStandin, rag_home: Path) -> None:
    llm = resolve_llm(make_settings(rag_home, standin.host), "auto")
    assert isinstance(llm, OllamaBackend) and llm.model == "llama3.2"


def test_auto_falls_back_to_embedded(standin: OllamaStandin, rag_home: Path) -> None:
    without_model = make_settings(rag_home, standin.host, ollama_model="mistral")
    server_down = make_settings(rag_home, f"http://127.0.0.1:{unused_port()}")
    for settings in (without_model, server_down):
        llm = resolve_llm(settings)  # settings.llm defaults to auto
        assert isinstance(llm, EmbeddedBackend) and llm.name == "embedded"


@pytest.mark.parametrize("spec", ["gpt4", "auto:x", "ollama:", "embedded:", ""])
def test_bad_spec_names_valid_forms(spec: str, rag_home: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_llm(make_settings(rag_home, "http://127.0.0.1:1"), spec)
    assert "ollama:MODEL" in str(info.value) and "embedded:PATH.gguf" in str(info.value)


def test_live_ollama(rag_home: Path) -> None:
    """Only when a real Ollama server answers at OLLAMA_HOST with at least one model."""
    host = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434")
    try:
        models = list_models(host, timeout=1.0)
    except Exception:  # any failure means there is no server to test
        models = []
    if not models:
        pytest.skip(f"no Ollama server answers at {host} with a model")
    llm = resolve_llm(make_settings(rag_home, host, llm_timeout_s=120.0), f"ollama:{models[0]}")
    assert 0 < llm.context_window <= 4096
    assert llm.chat([{"role": "user", "content": "Say hi."}], temperature=0.0, max_tokens=8)
