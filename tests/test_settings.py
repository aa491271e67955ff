"""Settings precedence: defaults < rag.toml < RAG_* environment < CLI flags."""

from __future__ import annotations

import pytest

from rag.errors import ConfigError
from rag.settings import load_settings


def test_precedence(tmp_path, monkeypatch):
    toml = tmp_path / "rag.toml"
    toml.write_text('collection = "from-toml"\nchunk_size = 100\nchunk_overlap = 10\n')
    monkeypatch.setenv("RAG_CONFIG", str(toml))
    s = load_settings()
    assert (s.collection, s.chunk_size, s.chunk_overlap, s.embed_batch_size) == ("from-toml", 100, 10, 64)
    monkeypatch.setenv("RAG_CHUNK_SIZE", "120")
    monkeypatch.setenv("RAG_COLLECTION", "from-env")
    s = load_settings()
    assert (s.collection, s.chunk_size, s.chunk_overlap) == ("from-env", 120, 10)
    s = load_settings(collection="from-flag", chunk_size=None)
    assert (s.collection, s.chunk_size) == ("from-flag", 120)


def test_rag_home_and_ollama_host(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9999")
    s = load_settings()
    assert s.home == tmp_path / "h" and s.chroma_path == tmp_path / "h" / "chroma"
    assert s.ollama_host == "http://127.0.0.1:9999"


def test_bad_values_name_the_field_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CHUNK_SIZE", "tiny")
    with pytest.raises(ConfigError, match="chunk_size") as err:
        load_settings()
    assert "RAG_*" in str(err.value)


def test_broken_toml_is_a_clear_error(tmp_path, monkeypatch):
    toml = tmp_path / "rag.toml"
    toml.write_text("collection = \n")
    monkeypatch.setenv("RAG_CONFIG", str(toml))
    with pytest.raises(ConfigError, match=r"rag\.toml"):
        load_settings()


def test_unknown_key_in_toml_is_refused(tmp_path, monkeypatch):
    toml = tmp_path / "rag.toml"
    toml.write_text("chunk_sise = 3\n")
    monkeypatch.setenv("RAG_CONFIG", str(toml))
    with pytest.raises(ConfigError, match="chunk_sise"):
        load_settings()
