"""answer_mode: quotes by default for the bundled model, the model's words elsewhere, both, and the fallbacks.

Real parts: Chroma, the bundled embedding model, the real embedded backend (a damaged GGUF for the
load failure), and tests/ollama_standin.py (a stand-in Ollama server replying scripted text: no
Ollama can be installed here) for the "generated answer is mostly unsupported" case.
`CrashingBackend` is a fake on purpose: a model that crashes mid-answer cannot be provoked on demand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import rag.llm
from rag.app import build_engine
from rag.llm import LLMBackend
from rag.settings import Settings
from rag.types import Answer
from tests.helpers import copy_docs, sync
from tests.ollama_standin import OllamaStandin, StandinConfig
from tests.test_cli import rag as rag_cli


class CrashingBackend(LLMBackend):
    """A fake LLM whose process dies while answering (as a corrupt model or an OOM would)."""

    name = "crashing"
    model = "crash.gguf"
    context_window = 2048

    @classmethod
    def from_spec(cls, settings, arg):
        return cls()

    def stream_chat(self, messages, *, temperature=None, max_tokens=None) -> Iterator[str]:
        yield "Partial"
        raise RuntimeError("llama_decode returned -3")

    def count_tokens(self, text: str) -> int:
        return len(text.split())


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("modes")
    docs = copy_docs(root / "docs")
    settings = Settings(home=root / "home", collection="modes", llm="embedded", temperature=0.0)
    sync(settings, embedder, [docs])
    return settings


def test_auto_quotes_for_the_bundled_model_without_generating(indexed, embedder):
    engine = build_engine(indexed, embedder=embedder)
    events = list(engine.stream("How tall is Olympus Mons?"))
    answer = events[-1]
    assert answer.mode == "extract" and answer.backend is None
    assert "22 kilometres" in answer.text and "[1]" in answer.text
    assert events[0] == answer.text  # the whole quote arrives at once, right after retrieval
    assert answer.spans and not answer.unsupported  # the citation check ran on the quotes
    assert answer.timings.extract_s is not None and answer.timings.first_token_s <= answer.timings.total_s
    src = {s.n: s for s in answer.sources}
    assert any("22 kilometres" in src[sp.n].text[sp.start : sp.end] for sp in answer.spans)


def test_the_quote_shows_before_its_citation_check_runs(indexed, embedder, monkeypatch):
    import rag.verify.check

    checked, real = [], rag.verify.check.check_answer
    monkeypatch.setattr(rag.verify.check, "check_answer", lambda *a, **k: checked.append(1) or real(*a, **k))
    events = build_engine(indexed, embedder=embedder).stream("How tall is Olympus Mons?")
    first = next(events)
    assert isinstance(first, str) and "22 kilometres" in first and not checked  # shown, not yet checked
    answer = list(events)[-1]
    assert checked == [1] and answer.per_sentence and answer.text == first  # checked after; a quote stays as shown


def test_generate_mode_lets_the_bundled_model_write(indexed, embedder):
    engine = build_engine(indexed.model_copy(update={"answer_mode": "generate"}), embedder=embedder)
    answer = engine.ask("What is a sourdough starter?")
    assert answer.mode == "generate" and answer.backend == "embedded" and not answer.spans


def test_both_quotes_first_then_streams_the_model_below(indexed, embedder):
    engine = build_engine(indexed, embedder=embedder)
    events = list(engine.stream("What is a sourdough starter?", mode="both"))
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.mode == "both" and answer.backend == "embedded"
    assert "yeast" in events[0] and "The model's answer" in events[0]  # quotes before any model token
    assert len(events) > 3 and answer.text.startswith(events[0].split("**")[0].strip()[:20])


def test_auto_replaces_a_mostly_unsupported_generated_answer_with_quotes(indexed, embedder):
    reply = (
        "Olympus Mons was first climbed in 1953 by a team of Norwegian astronauts [1]. "
        "Its summit holds a frozen lake of liquid nitrogen called the Cheese Sea [1]."
    )
    with OllamaStandin(StandinConfig(replies=[reply])) as server:
        s = indexed.model_copy(update={"ollama_host": server.host, "llm": "ollama:llama3.2"})
        answer = build_engine(s, embedder=embedder).ask("How tall is Olympus Mons?")
    assert answer.mode == "extract" and answer.generated and "Cheese" in answer.generated
    assert "22 kilometres" in answer.text and "Cheese" not in answer.text
    assert answer.note and "replaced" in answer.note and "2 of its 2" in answer.note


def test_auto_keeps_a_supported_generated_answer(indexed, embedder):
    reply = "Olympus Mons rises about 22 kilometres above the surrounding plains [1]."
    with OllamaStandin(StandinConfig(replies=[reply])) as server:
        s = indexed.model_copy(update={"ollama_host": server.host, "llm": "ollama:llama3.2"})
        answer = build_engine(s, embedder=embedder).ask("How tall is Olympus Mons?")
    assert answer.mode == "generate" and answer.backend == "ollama" and answer.note is None


def test_a_model_that_crashes_mid_answer_still_leaves_the_quotes(indexed, embedder, monkeypatch):
    monkeypatch.setitem(rag.llm.BACKENDS, "crashing", "tests.test_answer_mode:CrashingBackend")
    engine = build_engine(indexed.model_copy(update={"llm": "crashing", "answer_mode": "generate"}), embedder=embedder)
    answer = engine.ask("How tall is Olympus Mons?")
    assert answer.mode == "extract" and "22 kilometres" in answer.text
    assert "llama_decode returned -3" in answer.llm_error and "--llm" in answer.llm_error
    assert answer.sources


def test_a_model_that_cannot_load_leaves_the_quotes_in_the_cli(indexed, tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"this is not a GGUF file" * 100)
    env = {"RAG_HOME": str(indexed.home)}
    out = rag_cli("ask", "How tall is Olympus Mons?", "-c", "modes", "--llm", f"embedded:{broken}", env=env)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    shown = " ".join(out.stdout.split())  # rich wraps lines at the terminal width
    assert "model unavailable" in shown and "cannot load" in shown.lower() and "GGUF" in shown, shown
    assert "22 kilometres" in shown and "mars.md" in shown
    js = rag_cli("ask", "How tall is Olympus Mons?", "-c", "modes", "--llm", f"embedded:{broken}", "--json", env=env)
    data = json.loads(js.stdout)
    assert data["mode"] == "extract" and data["llm_error"] and data["spans"]
    assert {"n", "start", "end"} == set(data["spans"][0])


def test_cli_mode_flag_and_json_spans(indexed):
    env = {"RAG_HOME": str(indexed.home)}
    out = rag_cli("ask", "What does error code ZX-4471 mean?", "-c", "modes", "--mode", "extract", "--json", env=env)
    data = json.loads(out.stdout)
    assert data["mode"] == "extract" and data["backend"] is None
    src = {s["n"]: s["text"] for s in data["sources"]}
    pieces = [src[sp["n"]][sp["start"] : sp["end"]] for sp in data["spans"]]
    assert any("disk is full" in p for p in pieces)
    bad = rag_cli("ask", "x?", "-c", "modes", "--mode", "guess", env=env)
    assert bad.returncode == 2 and "answer_mode" in bad.stderr
