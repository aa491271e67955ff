"""The LLM spec is parsed in one place (rag.llm.parse_llm_spec); every reader agrees on it."""

from __future__ import annotations

import pytest

from rag.errors import ConfigError
from rag.llm import BACKENDS, SPEC_FORMS, LLMSpec, parse_llm_spec
from rag.settings import Settings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("auto", LLMSpec("auto")),
        ("  AUTO ", LLMSpec("auto")),
        ("ollama", LLMSpec("ollama")),
        (" Ollama : llama3.2:3b ", LLMSpec("ollama", "llama3.2:3b")),  # the tag keeps its ':'
        ("embedded", LLMSpec("embedded")),
        ("embedded:C:\\models\\Tiny Model.gguf", LLMSpec("embedded", "C:\\models\\Tiny Model.gguf")),
        ("embedded:/models/x.gguf", LLMSpec("embedded", "/models/x.gguf")),
    ],
)
def test_the_spec_forms(raw, expected):
    assert parse_llm_spec(raw) == expected


@pytest.mark.parametrize("raw", ["", "gpt-4", "ollama:", "embedded:  ", "auto:llama3.2", "/models/x.gguf"])
def test_a_bad_spec_names_the_forms_that_work(raw):
    with pytest.raises(ConfigError, match=r"use one of: auto, ollama, ollama:MODEL, embedded, embedded:PATH\.gguf"):
        parse_llm_spec(raw)


def test_every_registered_backend_is_a_spec_and_the_ollama_model_follows_it():
    s = Settings(ollama_model="llama3.2")
    for name in BACKENDS:
        assert parse_llm_spec(name).backend == name
    assert parse_llm_spec("auto").ollama_model(s) == "llama3.2"
    assert parse_llm_spec("ollama").ollama_model(s) == "llama3.2"
    assert parse_llm_spec("ollama:qwen2.5:7b").ollama_model(s) == "qwen2.5:7b"
    assert parse_llm_spec("embedded:/m.gguf").ollama_model(s) is None


def test_the_doctor_and_the_ui_read_the_spec_the_same_way(tmp_path):
    from cli.doctor import check_llm, check_ollama
    from ui.handlers import describe_llm

    s = Settings(home=tmp_path, llm="OLLAMA:qwen2.5:7b", ollama_host="http://127.0.0.1:9")  # nothing listens on 9
    assert check_llm(s).detail == "not used (`llm` is Ollama)"
    ollama = check_ollama(s)
    assert ollama.status == "problem" and "ollama serve" in ollama.fix  # required by the spec, so a problem
    label, warnings, _ = describe_llm(s, s.llm)
    assert label == "ollama (qwen2.5:7b, unreachable)" and "qwen2.5:7b" in warnings[0]
    bad = s.model_copy(update={"llm": "gpt-4"})
    assert check_llm(bad).status == "problem" and "Invalid LLM spec 'gpt-4'" in check_llm(bad).detail
    assert describe_llm(bad, "gpt-4")[1] == [f"Invalid LLM spec 'gpt-4' - use one of: {SPEC_FORMS}"]
