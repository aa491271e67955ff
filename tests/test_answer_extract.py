"""Quoted answers (rag/answer/extract.py): the right sentence, exact offsets, short, and "not answered" when it is not.

Real parts: the bundled embedding model, a real Chroma collection over tests/data/extract/docs, and
the engine's own retrieval. No LLM is involved in quoting.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.answered import missing_terms, question_type
from rag.answer.extract import SentenceVectors, extract_answer
from rag.app import build_engine
from rag.settings import Settings
from rag.types import Source
from tests.helpers import sync

DATA = Path(__file__).parent / "data" / "extract"
QA = [json.loads(line) for line in (DATA / "qa.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("extract")
    settings = Settings(home=root / "home", collection="extract", answer_mode="extract")
    sync(settings, embedder, [DATA / "docs"])
    return build_engine(settings, embedder=embedder)


def _quote(engine, question: str):
    sources = engine.retriever.search(question, threshold=-1.0)
    return engine.extract(question, sources), sources


def test_quotes_hold_the_key_fact_and_none_is_refused(engine):
    missed = []
    for item in (q for q in QA if q["answerable"]):
        ex, _ = _quote(engine, item["question"])
        assert ex.answered, f"{item['id']} wrongly said unanswered: {ex.text}"
        assert len(ex.text.split()) <= engine.settings.extract_words + 10  # +[n] markers
        if item["key"].lower() not in ex.text.lower():
            missed.append((item["id"], ex.text))
    # measured: 27 of 28 (kb-temp quotes the neighbouring sentence about the starter liquid)
    assert len(missed) <= 1, missed


def test_spans_are_exact_offsets_and_each_piece_is_cited(engine):
    ex, sources = _quote(engine, "How do I restore files from the backup?")
    assert ex.spans
    by_n = {s.n: s for s in sources}
    for sp in ex.spans:
        piece = " ".join(by_n[sp.n].text[sp.start : sp.end].split())
        assert f"{piece} [{sp.n}]" in ex.text
    assert "vaultsync pull" in ex.text


def test_long_sentence_is_cut_to_the_word_budget_at_a_clause(embedder):
    text = (
        "The harbour master keeps the tide tables, which are printed every spring; the ferry timetable "
        "changes in October, and the ferry to Tresk leaves at 07:30 from pier four on weekdays only, "
        "while on Sundays there is no ferry at all because the crew rests."
    )
    src = Source(n=1, id="a", path="harbour.md", page=None, text=text, score=0.6)
    question = "When does the ferry to Tresk leave?"
    ex = extract_answer(question, embedder.embed_query(question), [src], SentenceVectors(embedder.embed), max_words=20)
    (sp,) = ex.spans
    assert "07:30" in text[sp.start : sp.end] and len(text[sp.start : sp.end].split()) <= 20
    assert sp.end - sp.start < len(text)


def test_sentence_vectors_are_cached_per_chunk(embedder):
    calls = []

    def embed(sentences):
        calls.append(len(sentences))
        return embedder.embed(sentences)

    cache = SentenceVectors(embed)
    src = [Source(n=1, id="x", path="a.md", page=None, text="One sentence here. Another one there.", score=0.5)]
    cache.get(src)
    cache.get(src)
    assert calls == [2]
    changed = [Source(n=1, id="x", path="a.md", page=None, text="Edited text now.", score=0.5)]
    cache.get(changed)  # same id, new text: embedded again
    assert calls == [2, 1]


@pytest.mark.parametrize(
    "question,kind",
    [
        ("How many moons does Mars have?", "number"),
        ("When was it built?", "date"),
        ("What year did it open?", "date"),
        ("Who designed it?", "person"),
        ("Where is the log written?", "place"),
        ("How do I restore files?", None),
        ("What is kombucha?", None),
        # "when" as a conjunction asks for no time
        ("What does ragspace do when the documents do not answer my question?", None),
        ("Since when has the light been automatic?", "date"),
        # "who" as a relative pronoun asks for no person: the question word decides
        ("Where did most people who died of cancer die?", "place"),
        ("In the trial, who paid for the drugs?", "person"),
        ("Over which years were the records reviewed?", "date"),
        ("What was the median time until a second birth?", "number"),
    ],
)
def test_question_type(question, kind):
    assert question_type(question) == kind


def abstention_counts(engine) -> dict:
    """Said-unanswered counts over the fixture: on-topic unanswerable questions are the positives."""
    tp = fp = fn = 0
    for item in QA:
        ex, _ = _quote(engine, item["question"])
        said_no = not ex.answered
        tp += said_no and not item["answerable"]
        fp += said_no and item["answerable"]
        fn += (not said_no) and not item["answerable"]
    return {"tp": tp, "fp": fp, "fn": fn}


def test_on_topic_unanswerable_questions_are_said_unanswered(engine):
    c = abstention_counts(engine)
    precision = c["tp"] / max(1, c["tp"] + c["fp"])
    recall = c["tp"] / max(1, c["tp"] + c["fn"])
    print(f"abstention on the extract fixture: {c}, precision {precision:.2f}, recall {recall:.2f}")
    assert c["fp"] == 0  # no answerable question refused
    assert recall >= 0.5


def _src(text: str) -> Source:
    return Source(n=1, id="c", path="doc.md", page=None, text=text, score=0.5)


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        # a modifier in front of a noun the sources name is how the user calls it, not what is asked
        ("How do I use Ollama instead of the bundled model?", []),
        # a word in a circumstance clause ("while I edit files") is not what is asked
        ("How do I keep the index current while I edit files?", []),
        # particles and common verbs are rephrased by answers
        ("How do I keep separate projects apart?", []),
        # the thing asked about is missing: that counts
        ("How much did the bundled model cost?", ["cost"]),
        ("What does error VS-30 mean?", ["VS-30"]),
    ],
)
def test_missing_terms_count_only_what_is_asked(question, missing):
    text = (
        "Use Ollama: the model runs locally. Keep the index current with separate projects. "
        "Error VS-17 means disk full."
    )
    assert missing_terms(question, [_src(text)]) == missing


def test_strict_missing_terms_want_every_content_word():
    text = "Use Ollama: the model runs locally."
    assert missing_terms("How do I use Ollama instead of the bundled model?", [_src(text)], strict=True) == ["bundled"]


def test_long_sources_embed_only_the_sentences_worth_scoring(embedder):
    """Five long chunks: embedding every sentence costs more than the quote's budget, so only the
    sentences sharing the question's rarer words (and the best one's neighbours) are embedded,
    and the quote is the same one scoring every sentence finds."""
    import rag.answer.extract as extract

    filler = [
        f"Plot {i} of the survey recorded ordinary weather and routine maintenance of the fences." for i in range(30)
    ]
    answer = "The hermit crabs on the northern beach moved into glass bottles after the storm."
    texts = [" ".join([*filler[:12], answer, *filler[12:]]), " ".join(filler), " ".join(reversed(filler))]
    sources = [Source(n=i + 1, id=f"c{i}", path=f"d{i}.md", page=None, text=t, score=0.5) for i, t in enumerate(texts)]
    question = "What did the hermit crabs on the northern beach move into?"
    qvec = embedder.embed_query(question)
    sizes = []

    def embed(sentences):
        sizes.append(len(sentences))
        return embedder.embed(sentences)

    few = extract_answer(question, qvec, sources, SentenceVectors(embed))
    assert answer in few.text and sum(sizes) < len(filler)  # far fewer than the 91 sentences
    assert len(sizes) == 1  # the best sentence's neighbours came in the same batch: one call to the model
    old, extract.SCORE_ALL = extract.SCORE_ALL, 10**9
    try:
        every = extract_answer(question, qvec, sources, SentenceVectors(embedder.embed))
    finally:
        extract.SCORE_ALL = old
    assert every.text == few.text


def test_too_few_missing_words_to_refuse_cost_no_model_call():
    """A third of the asked words must be absent to say "not answered": one missing word of four
    cannot refuse, paraphrase or not, so it is not embedded (each call costs ~15 ms on 2 cores)."""
    from rag.answer.answered import why_unanswered

    text = "The hermit crabs on the northern beach moved into glass bottles after the storm."
    sent = type("Pick", (), {"text": text, "vector": np.ones(3) / 3**0.5})()
    calls = []
    question = "Which glass bottles did the hermit crabs on the northern beach choose?"

    def embed(words):
        calls.append(words)
        return np.zeros((len(words), 3))  # every missing word far from the quote: absent

    assert why_unanswered([sent], question, None, [_src(text)], embed) is None and calls == []
    assert why_unanswered([sent], "Which hermit crabs chose sunlit lagoons?", None, [_src(text)], embed)
    assert calls == [["chose", "sunlit", "lagoons"]]
