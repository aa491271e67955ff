"""Grounded answers end to end: real Chroma, real embedding model, real embedded LLM (SmolLM2).

Where a test needs an answer with a specific flaw (an invented citation), the text comes from
tests/ollama_standin.py - a stand-in for an Ollama server (none can be installed here) that
replies with scripted text - through the real Ollama backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rag.index.store import Store

from rag.app import build_engine
from rag.errors import CollectionNotFound, EmptyCollection, QuestionError
from rag.llm import resolve_llm
from rag.settings import Settings
from tests.helpers import copy_docs, sync
from tests.ollama_standin import OllamaStandin, StandinConfig


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("engine")
    docs = copy_docs(root / "docs")
    # temperature 0: greedy decoding, so the small model's answers repeat from run to run
    settings = Settings(
        home=root / "home", collection="engine", llm="embedded", temperature=0.0, answer_mode="generate"
    )
    sync(settings, embedder, [docs])
    return settings


@pytest.fixture(scope="module")
def engine(indexed, embedder):
    return build_engine(indexed, embedder=embedder)


def name(path: str) -> str:
    return Path(path).name


def test_answer_cites_the_right_source(engine):
    answer = engine.ask("What is a sourdough starter?")
    assert not answer.abstained
    assert (answer.backend, answer.model) == ("embedded", "SmolLM2-135M-Instruct.Q8_0.gguf")
    assert name(answer.sources[0].path) == "sourdough.txt"
    cited = {s.n for s in answer.sources if f"[{s.n}]" in answer.text}
    assert cited and all(name(s.path) == "sourdough.txt" for s in answer.sources if s.n in cited)
    assert "yeast" in answer.text.lower()
    t = answer.timings
    assert 0 < t.retrieve_s <= t.first_token_s <= t.total_s


def test_streaming_yields_text_then_the_answer(engine):
    events = list(engine.stream("How many moons does Mars have?"))
    pieces, final = events[:-1], events[-1]
    assert len(pieces) > 1 and all(isinstance(p, str) for p in pieces)
    assert final.sources and name(final.sources[0].path) in {"mars.md", "planets.csv"}  # both list the moons


def test_off_topic_question_abstains_without_calling_the_llm(indexed, embedder):
    def no_llm():
        raise AssertionError("the LLM must not be loaded for an abstention")

    engine = build_engine(indexed, embedder=embedder)
    engine._llm = no_llm
    answer = engine.ask("Who won the football world cup in 1998?")
    assert answer.abstained and answer.backend is None
    assert "do not contain" in answer.text and answer.sources  # says what was closest
    assert all(s.score < indexed.relevance_threshold for s in answer.sources)


def test_follow_up_is_rewritten_with_the_history(engine):
    history = [
        {"role": "user", "content": "What does error code ZX-4471 mean?"},
        {"role": "assistant", "content": "It means the destination disk is full [1]."},
    ]
    answer = engine.ask("How do I fix it?", history)
    assert answer.rewritten_query and "ZX-4471" in answer.rewritten_query
    assert name(answer.sources[0].path) == "troubleshooting.md"
    standalone = engine.ask("How do I fix the error where the destination disk is full?", [])
    assert standalone.rewritten_query is None


def test_invented_citation_is_removed_and_flagged(indexed, embedder):
    reply = (
        "Olympus Mons rises about 22 kilometres above the plains [1]. "
        "It was first climbed in 1953 by a team of Norwegian astronauts [7]."
    )
    with OllamaStandin(StandinConfig(replies=[reply])) as server:
        s = indexed.model_copy(update={"ollama_host": server.host, "llm": "ollama:llama3.2"})
        engine = build_engine(s, embedder=embedder)
        answer = engine.ask("How tall is Olympus Mons?")
    assert answer.backend == "ollama"
    assert answer.invalid_citations == [7] and "[7]" not in answer.text
    flagged = " ".join(u.sentence for u in answer.unsupported)
    assert "Norwegian" in flagged and "22 kilometres" not in flagged


def test_context_is_fitted_to_a_small_window(indexed, embedder):
    s = indexed.model_copy(update={"num_ctx": 512, "max_answer_tokens": 300, "top_k": 5})
    engine = build_engine(s, embedder=embedder)
    llm = resolve_llm(s, "embedded")
    blocks, used, cut = engine.fit_context(
        "What is on Mars?", engine.retriever.search("What is on Mars?", threshold=-1.0), llm
    )
    assert cut and 1 <= len(used) < 5 and len(blocks) == len(used)
    assert [u.n for u in used] == list(range(1, len(used) + 1))  # the lowest-ranked were dropped


def test_bad_questions_and_collections_are_clear_errors(indexed, embedder):
    engine = build_engine(indexed, embedder=embedder)
    with pytest.raises(QuestionError, match="empty"):
        engine.ask("   ")
    missing = build_engine(indexed.model_copy(update={"collection": "nothing-here"}), embedder=embedder)
    with pytest.raises(CollectionNotFound, match="rag ingest"):
        missing.ask("anything?")
    Store(indexed).open("empty-one", {"embed_model": embedder.model_id})
    empty = build_engine(indexed.model_copy(update={"collection": "empty-one"}), embedder=embedder)
    with pytest.raises(EmptyCollection, match="rag ingest"):
        empty.ask("anything?")
