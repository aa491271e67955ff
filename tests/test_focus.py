"""Focusing sources on the question before a small model reads them (rag/answer/focus.py, Engine.focus)."""

from __future__ import annotations

import pytest
from rag.answer.focus import GAP, focus_texts

from rag.app import build_engine
from tests.helpers import sync

LONG = (
    "The harbour opened in 1852 and handled wool and timber. "
    "Its lighthouse was rebuilt after the storm of 1911. "
    "Sourdough bread rises because wild yeast and lactic bacteria ferment the flour. "
    "The town council meets on the first Monday of each month. "
    "Fishing boats still leave before dawn in the summer season. "
    "A ferry connects the harbour with the island twice a day."
)
MORE = (
    " The old customs house is now a museum of maritime history with models of clipper ships."
    " Visitors can climb the lighthouse stairs on weekends between April and October."
    " The market square hosts a fish auction every Thursday morning at six o'clock."
)


def words(text: str) -> int:
    """A stand-in token counter (whitespace words), enough to check budgets by hand."""
    return len(text.split())


def test_keeps_the_sentences_nearest_the_question_within_the_budget(embedder):
    q = embedder.embed_query("Why does sourdough bread rise?")
    [out] = focus_texts(q, [LONG], 20, words, embedder.embed)
    assert out.startswith("Sourdough bread rises because wild yeast")
    assert words(out) <= 20 + 2  # each kept sentence costs its words + 1 in the budget; GAP adds one "word"
    assert "council" not in out


def test_short_sources_stay_whole_and_order_and_gaps_are_kept(embedder):
    q = embedder.embed_query("When was the lighthouse rebuilt and when does the ferry sail?")
    short = "Mars has two small moons."
    out = focus_texts(q, [short, LONG], 30, words, embedder.embed)
    assert out[0] == short
    kept = out[1]
    assert "lighthouse" in kept and "ferry" in kept
    assert kept.index("lighthouse") < kept.index("ferry")  # text order, not similarity order
    assert GAP in kept  # sentences between them were left out, and the gap is marked


def test_a_sentence_longer_than_the_budget_keeps_its_head(embedder):
    q = embedder.embed_query("harbour")
    [out] = focus_texts(q, ["word " * 200], 10, words, embedder.embed)
    assert 0 < words(out) <= 11


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, embedder):
    from rag.settings import Settings

    home = tmp_path_factory.mktemp("focus-home")
    docs = tmp_path_factory.mktemp("focus-docs")
    (docs / "harbour.txt").write_text(LONG + MORE)  # about 150 tokens: longer than the model's 96
    s = Settings(home=home, collection="focus", relevance_threshold=0.1, max_answer_tokens=24)
    sync(s, embedder, [docs])
    return s


def test_the_bundled_model_reads_focused_sources_and_others_read_whole_ones(indexed, embedder):
    from rag.llm import resolve_llm

    engine = build_engine(indexed, embedder=embedder)
    llm = resolve_llm(indexed, "embedded")
    assert llm.source_tokens > 0  # the tiny bundled model prefers a few relevant sentences
    sources = engine.retriever.search("Why does sourdough bread rise?", threshold=-1.0)
    focused = engine.focus("Why does sourdough bread rise?", sources, llm)
    assert focused and llm.count_tokens(focused[0]) <= llm.source_tokens < llm.count_tokens(sources[0].text)
    assert "Sourdough bread rises" in focused[0]
    blocks, _used, cut = engine.fit_context("Why does sourdough bread rise?", sources, llm, focused)
    assert focused[0] in blocks[0] and not cut

    whole = build_engine(indexed.model_copy(update={"source_tokens": 0}), embedder=embedder)
    assert whole.focus("Why does sourdough bread rise?", sources, llm) is None

    answer = engine.ask("Why does sourdough bread rise?", mode="generate")  # the model reads the focused sources
    assert answer.context_focused and answer.sources[0].text == sources[0].text  # the user still sees it all


def test_a_question_is_embedded_once_and_its_remembered_vector_is_read_only(embedder):
    """Retrieval and focusing both need the question's vector: the second call reuses the first."""
    import numpy as np

    question = "Which lighthouse was rebuilt after the storm?"
    calls = []
    real = embedder.embed
    embedder.embed = lambda texts, batch_size=None: calls.append(list(texts)) or real(texts, batch_size)
    try:
        first = embedder.embed_query(question)
        second = embedder.embed_query(question)
    finally:
        del embedder.embed  # back to the class's method
    assert calls == [[question]]
    assert second is first and not first.flags.writeable
    assert np.allclose(first, real([question])[0], atol=1e-6)
    with pytest.raises(ValueError):
        first[0] = 0.0
