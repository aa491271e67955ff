"""Eval numbers that are not true by construction (issue 13).

Each test here would fail on the eval of 07506c9: generated unanswerable questions picked by the
engine's own abstain rule, cloze items in the headline, miscited sentences and abstentions raising
"faithfulness", timeouts vanishing from the means, no sample or interval in the reports.
Stand-ins (named as such) replace the LLM only where a timeout must be provoked: the real
bundled model cannot be made to time out on demand.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from eval import metrics_answers as M
from eval.answers import AnswersConfig, ask_and_score
from eval.compare import compare_runs, format_comparison
from eval.generate import OFF_CORPUS, generate_qa, off_corpus
from eval.qa import QAItem
from eval.report import write_reports
from eval.stats import bootstrap_ci, overlap
from eval.summary import diagnose, summarize
from rag.llm import LLMTimeout
from rag.types import Answer, Source

MARS = "Mars has two small moons, Phobos and Deimos. Its red colour comes from iron oxide in the dust."
BREAD = "The dough is left to rise slowly, usually for eight to twelve hours at room temperature."


def _source(n: int, text: str, path: str) -> Source:
    return Source(n=n, id=f"c{n}", path=path, page=None, text=text, score=0.7)


# -- 1. generated unanswerable questions -------------------------------------------------------


class ScoreEverythingHigh:
    """Retriever stand-in: every question finds a close match (a corpus that answers them all)."""

    def search(self, question, top_k=1, threshold=-1.0):
        return [_source(1, "anything", "/d/a.md")]


def test_off_corpus_questions_are_kept_whatever_they_score() -> None:
    items = off_corpus(ScoreEverythingHigh(), 4, random.Random(0))
    # the old rule (keep only best score < relevance_threshold) kept none of these
    assert len(items) == 4 and all(not q.answerable and q.extra["best_score"] == 0.7 for q in items)
    assert {q.question for q in items} <= set(OFF_CORPUS)
    again = off_corpus(ScoreEverythingHigh(), 4, random.Random(0))
    assert [q.question for q in again] == [q.question for q in items]  # seeded, not score-driven


def test_generated_set_includes_an_unanswerable_question_the_engine_answers(tmp_path: Path, settings, embedder):
    """A corpus that happens to answer a pool question: it stays in the set, and the engine answers it."""
    from rag.index.store import Store
    from rag.retrieval.retriever import Retriever
    from tests.helpers import sync

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mongolia.md").write_text(
        "# Mongolia\n\nThe capital city of Mongolia is Ulaanbaatar, home to about half of the country's people. "
        "Mongolia lies between Russia and China and is the most sparsely populated sovereign country on Earth.\n"
    )
    sync(settings, embedder, [docs])
    store = Store(settings)
    made = generate_qa(settings, embedder, store, n=1, unanswerable=len(OFF_CORPUS), method="cloze")
    off = [q for q in made.items if not q.answerable]
    assert sorted(q.question for q in off) == sorted(OFF_CORPUS)  # every pool question kept
    mongolia = next(q for q in off if "Mongolia" in q.question)
    assert mongolia.extra["best_score"] >= settings.relevance_threshold
    # the engine's abstain rule (nothing at or above the threshold) does not fire: it answers it
    retriever = Retriever(settings, embedder, store)
    found = retriever.search(mongolia.question, top_k=1, threshold=settings.relevance_threshold)
    assert found and Path(found[0].path).name == "mongolia.md"


def test_too_many_unanswerable_questions_is_refused(settings, embedder) -> None:
    from eval.runs import EvalError
    from rag.index.store import Store

    with pytest.raises(EvalError, match="general-knowledge"):
        generate_qa(settings, embedder, Store(settings), n=1, unanswerable=len(OFF_CORPUS) + 1, method="cloze")


# -- 2. cloze items in their own section --------------------------------------------------------


def _item(i: str, value: float, **extra) -> dict:
    metrics = {"reference_token_f1": value, "source_hit": value, "citation_support": value}
    return {"id": i, "answerable": True, "abstained": False, "metrics": metrics, **extra}


def test_cloze_items_never_enter_the_headline_means() -> None:
    cloze = [_item("c1", 1.0, generator="cloze"), _item("c2", 1.0, generator="cloze")]
    items = [_item("n1", 0.2), _item("n2", 0.4), *cloze]
    out = summarize(items)
    assert out["metrics"]["reference_token_f1"] == pytest.approx(0.3) and out["metrics"]["answerable"] == 2
    assert out["metrics"]["cloze"] == 2 and out["cloze"]["metrics"]["reference_token_f1"] == 1.0
    assert [s["id"] for s in out["sample"]["skipped"]] == ["c1", "c2"]
    assert "own section" in out["sample"]["skipped"][0]["why"]


# -- 3. citation support ---------------------------------------------------------------------------


def test_miscited_sentence_lowers_citation_support(embedder) -> None:
    sources = [_source(1, MARS, "/d/mars.md"), _source(2, BREAD, "/d/bread.md")]
    right = "Mars has two small moons, Phobos and Deimos [1]."
    miscited = "Its red colour comes from iron oxide in the dust [2]."  # true, but bread.md does not say it
    from rag.verify.check import check_answer

    statuses = [r.status for r in check_answer(f"{right} {miscited}", sources, embedder).per_sentence]
    assert statuses == ["supported", "miscited"]
    assert M.citation_support(Answer(text=right, sources=sources), embedder) == (1.0, 1, 1)
    assert M.citation_support(Answer(text=f"{right} {miscited}", sources=sources), embedder) == (0.5, 1, 2)
    assert M.citation_support_counts(["supported", "miscited", "unsupported", "skipped"]) == (1, 3)


def test_abstaining_cannot_raise_citation_support(embedder) -> None:
    sources = [_source(1, MARS, "/d/mars.md")]
    half = Answer(text="Mars has two moons, Phobos and Deimos [1]. Columbus found Phobos in 1492 [1].", sources=sources)
    abstained = Answer(text="I don't know.", sources=sources, abstained=True)
    assert M.citation_support(abstained, embedder) == (0.0, 0, 0)
    answered = M.citation_support(half, embedder)[0]
    # abstaining on the hard question instead of answering it lowers the mean, never raises it
    assert M.mean([answered, M.citation_support(abstained, embedder)[0]]) < M.mean([answered, answered])


# -- 4. reference-based scores ---------------------------------------------------------------------


def test_reference_coverage_and_token_f1_by_hand() -> None:
    ref = "Phobos and Deimos are the moons."  # content words: phobos, deimos, moons
    assert M.reference_coverage("The moons are Phobos and Deimos.", ref) == 1.0
    assert M.reference_coverage("Phobos is one.", ref) == pytest.approx(1 / 3)
    assert M.reference_coverage("anything", "the of and") is None
    # repeating the question earns cosine but no reference overlap
    assert M.reference_coverage("What are the moons of Mars?", "Phobos and Deimos.") == 0.0


# -- 5. timeouts -------------------------------------------------------------------------------------


class TimingOutEngine:
    """Engine stand-in whose LLM always times out (the real model cannot be made to on demand)."""

    def ask(self, question, history=None):
        raise LLMTimeout(1.0, "embedded")


def test_a_timed_out_item_counts_as_a_failure(tmp_path: Path) -> None:
    q = QAItem(id="slow", question="Why is Mars red?", reference_answer="Rust.", relevant_sources=["mars.md"])
    item = ask_and_score(TimingOutEngine(), q, None, AnswersConfig(qa=tmp_path / "qa.jsonl"))
    assert item["timed_out"] and item["diagnosis"].startswith("timed out")
    assert item["metrics"]["reference_token_f1"] == 0.0 and item["metrics"]["source_hit"] == 0.0
    off = ask_and_score(TimingOutEngine(), QAItem(id="off", question="Who won?", answerable=False), None,
                        AnswersConfig(qa=tmp_path / "qa.jsonl"))  # fmt: skip
    out = summarize([item, _item("ok", 1.0), off])
    assert out["metrics"]["timeouts"] == 2
    assert out["metrics"]["reference_token_f1"] == 0.5  # the timeout is in the mean, as 0
    assert out["metrics"]["abstention_recall"] == 0.0  # a timeout on an unanswerable question is no abstention
    assert {f["id"] for f in out["sample"]["failed"]} == {"slow", "off"}


class TimingOutLLM:
    """LLM stand-in that times out on every call."""

    name, model = "standin", "times-out"

    def chat(self, messages, **kw):
        raise LLMTimeout(1.0, "standin")


class AnsweringEngine:
    """Engine stand-in: a fixed answer over the Mars source, and an LLM that times out afterwards."""

    llm = TimingOutLLM()

    def ask(self, question, history=None):
        return Answer(text="Mars has two small moons, Phobos and Deimos [1].", sources=[_source(1, MARS, "/d/mars.md")])


def test_generated_question_timeout_loses_only_that_metric(tmp_path: Path, embedder) -> None:
    q = QAItem(id="moons", question="What are the moons of Mars?", reference_answer="Phobos and Deimos.")
    item = ask_and_score(AnsweringEngine(), q, embedder, AnswersConfig(qa=tmp_path / "qa.jsonl"))
    assert "did not answer" in item["generated_questions_error"]
    assert item["metrics"]["generated_question_cosine"] is None and item["metrics"]["citation_support"] == 1.0


def test_generate_qa_survives_llm_timeouts(settings, embedder, monkeypatch) -> None:
    from rag.index.store import Store
    from tests.conftest import DATA
    from tests.helpers import sync

    sync(settings, embedder, [DATA / "docs"])
    monkeypatch.setattr("rag.llm.resolve_llm", lambda s: TimingOutLLM())
    made = generate_qa(settings, embedder, Store(settings), n=2, unanswerable=1, method="auto")
    assert made.timeouts == made.attempts >= 2 and made.rejected["LLM timed out"] == made.attempts
    assert sum(q.answerable for q in made.items) == 2 and made.cloze == 2  # fell back per item


# -- 6. sample, intervals, compare, worst 10, multi-turn ----------------------------------------------


def test_bootstrap_interval_is_seeded_and_contains_the_mean() -> None:
    values = [0.0, 1.0] * 15
    lo, hi = bootstrap_ci(values)
    assert lo < 0.5 < hi and bootstrap_ci(values) == (lo, hi)
    assert lo > 0.25 and hi < 0.75  # n = 30, sd 0.5: about 0.5 +- 1.96 * 0.09
    assert bootstrap_ci([1.0]) is None and bootstrap_ci([1.0, 1.0]) == (1.0, 1.0)
    assert overlap((0.1, 0.3), (0.25, 0.5)) and not overlap((0.1, 0.2), (0.3, 0.4)) and overlap(None, (0, 1)) is None


def _run(values: list[float], dataset: str = "qa.jsonl#x") -> dict:
    items = [_item(f"q{i}", v) for i, v in enumerate(values)]
    out = summarize(items)
    return {"kind": "answers", "params": {"dataset": dataset}, "items": items, **out}


def test_compare_marks_overlapping_intervals_not_significant() -> None:
    a = _run([0.4, 0.6] * 10)
    nearby = _run([0.45, 0.65] * 10)
    far = _run([0.9, 1.0] * 10)
    text = format_comparison(compare_runs(a, nearby))
    assert "reference_token_f1" in text and "not significant" in text
    cmp = compare_runs(a, far)
    row = next(m for m in cmp["metrics"] if m["metric"] == "reference_token_f1")
    assert row["significant"] is True and "significant (95% intervals apart)" in format_comparison(cmp)


def test_diagnosis_names_what_went_wrong() -> None:
    base = {"answerable": True, "abstained": False}
    assert diagnose({**base, "abstained": True, "metrics": {}}) == "abstained wrongly"
    missed, wrong = {"source_hit": 0.0, "reference_coverage": 0.0}, {"source_hit": 1.0, "reference_coverage": 0.2}
    assert diagnose({**base, "metrics": missed}) == "retrieval missed the source"
    assert diagnose({**base, "metrics": wrong}) == "source found but answer wrong"
    fine = {"source_hit": 1.0, "reference_coverage": 0.9, "citation_support": 1.0}
    assert diagnose({**base, "metrics": fine}) is None
    assert diagnose({"answerable": False, "abstained": False}) == "answered a question the documents cannot answer"


def test_report_shows_sample_intervals_worst_ten_cloze_and_rewrites(tmp_path: Path) -> None:
    items = [_item(f"q{i}", i / 20, diagnosis="retrieval missed the source" if i < 12 else None,
                   question=f"question {i}?", answer=f"answer {i}") for i in range(15)]  # fmt: skip
    items[0].update(question="How do I fix it?", rewritten_query="error QV-1180 How do I fix it?")
    items.append(_item("c1", 1.0, generator="cloze", question="Which word fills the blank?"))
    results = {"kind": "answers", "params": {"dataset": "qa.jsonl#x"}, "items": items, **summarize(items, seed=7)}
    write_reports(tmp_path, results)
    md = (tmp_path / "report.md").read_text()
    assert "- n = 16, seed = 7" in md and "1 left out of the headline means - cloze item" in md
    assert "## Cloze items (own section" in md and "| reference_token_f1 | 0.350 | " in md
    assert "| needs |" in md and "reference_answer" in md
    worst = md.split("## Worst 10: what went wrong")[1].split("##")[0]
    assert worst.count("retrieval missed the source") == 10 and "| q0 |" in worst
    assert "[scored as: error QV-1180 How do I fix it?]" in worst
    page = (tmp_path / "report.html").read_text()
    assert "Worst 10: what went wrong" in page and "95% CI (bootstrap)" in page and "rewritten_query" in page
