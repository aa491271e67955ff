"""`rag eval answers` / `generate`: each metric on hand-computed cases, the QA format, and one real run.

The end-to-end run uses the real bundled embedder, a real Chroma and the real embedded SmolLM2
over tests/data/qa/qa.jsonl (6 answerable questions, one a follow-up with history, and 2
off-corpus ones). Answers are capped at 64 tokens and the Ragas-style relevance (2 more LLM calls
per answer) is off there; it is tested on its own with one call.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from eval import metrics_answers as M
from eval.generate import check_question, cloze
from eval.judge import Judge, parse_verdict
from eval.qa import load_qa, pubmedqa
from eval.runs import EvalError
from rag.types import Answer, Source
from tests.conftest import DATA

QA = DATA / "qa" / "qa.jsonl"
MARS = (DATA / "docs" / "mars.md").read_text()


# -- metrics on hand-computed cases ------------------------------------------------------------


def test_squad_normalisation_and_token_f1() -> None:
    assert M.normalize_answer("The  Cat, sat!") == "cat sat"
    # pred tokens [cat, sat, on, mat] vs ref [cat, sat]: P = 2/4, R = 2/2, F1 = 2 * .5 * 1 / 1.5
    assert M.token_f1("the cat sat on the mat", "A cat sat.") == pytest.approx(2 / 3)
    assert M.token_f1("Phobos and Deimos", "phobos, and deimos!") == 1.0
    assert M.token_f1("rust", "iron oxide") == 0.0
    assert M.token_f1("", "") == 1.0 and M.token_f1("x", "") == 0.0


def test_abstention_precision_recall_f1() -> None:
    # (answerable, abstained): one right abstention, one missed, one wrong abstention, one answered
    pairs = [(False, True), (False, False), (True, True), (True, False)]
    assert M.abstention_scores(pairs) == {"abstention_precision": 0.5, "abstention_recall": 0.5, "abstention_f1": 0.5}
    assert M.abstention_scores([(False, True), (True, False)])["abstention_f1"] == 1.0
    none = M.abstention_scores([(True, False)])  # nothing unanswerable, nothing abstained: undefined, not 0
    assert none == {"abstention_precision": None, "abstention_recall": None, "abstention_f1": None}
    assert M.abstention_scores([(False, False), (True, True)])["abstention_f1"] == 0.0


def test_source_hit_and_reciprocal_rank_by_file_name() -> None:
    paths = ["/docs/notes/planets.csv", "/docs/mars.md", "/docs/mars.md"]
    assert M.hit_and_rr(paths, ["mars.md"]) == (1.0, 0.5)
    assert M.hit_and_rr(paths, ["tcp.html"]) == (0.0, 0.0)
    assert M.hit_and_rr(paths, []) == (None, None)
    assert M.source_rank(paths, ["other/planets.csv"]) == 1  # only the file name counts


def test_citation_support_counts_skip_non_claims() -> None:
    assert M.citation_support_counts(["supported", "miscited", "unsupported", "skipped"]) == (1, 3)
    assert M.citation_support_counts(["skipped"]) == (0, 0)


def test_mean_and_latency_stats() -> None:
    assert M.mean([1.0, None, 0.0]) == 0.5 and M.mean([None]) is None
    assert M.latency_stats([1, 2, 3, 4, None]) == {"p50": 2.5, "p95": 3.85, "mean": 2.5}
    assert M.cosine(np.zeros(3), np.ones(3)) == 0.0


def test_token_coverage_and_sentences() -> None:
    assert M.token_coverage("Phobos and Deimos.", "Mars has two small moons, Phobos and Deimos.") == 1.0
    assert M.token_coverage("the Olympus Mons", "Phobos") == 0.0
    assert M.sentences("One is here. Two is there!") == ["One is here.", "Two is there!"]


def test_similarity_metrics_with_the_real_embedder(embedder) -> None:
    assert M.semantic_similarity(embedder, "Mars is red.", "Mars is red.") == pytest.approx(1.0, abs=1e-5)
    near = M.question_answer_cosine(embedder, "Why is Mars red?", "Iron oxide dust makes Mars look red.")
    far = M.question_answer_cosine(embedder, "Why is Mars red?", "Bake the loaf for twenty minutes.")
    assert near > 0.5 and far < 0.2
    assert M.question_answer_cosine(embedder, "Why is Mars red?", "  ") == 0.0
    assert M.generated_relevance(embedder, "Why is Mars red?", ["Why is Mars red?", ""]) == pytest.approx(1.0, abs=1e-5)
    assert M.generated_relevance(embedder, "Why is Mars red?", []) is None


def test_context_recall_counts_covered_reference_sentences(embedder) -> None:
    moons = "Mars has two small moons, Phobos and Deimos."
    # sentence 1: every content word is in the context; sentence 2: none is, and it means something else
    ref = "Phobos and Deimos are the moons of Mars. A sourdough loaf bakes at 250 degrees."
    assert M.context_recall(embedder, ref, [moons]) == 0.5
    assert M.context_recall(embedder, ref, []) == 0.0
    assert M.context_recall(embedder, "", [moons]) is None


def _source(n: int, text: str, path: str = "/d/mars.md") -> Source:
    return Source(n=n, id=f"c{n}", path=path, page=None, text=text, score=0.7)


def test_citation_support_of_an_answer_uses_the_citation_check(embedder) -> None:
    sources = [_source(1, MARS)]
    good = "Mars has two small moons, Phobos and Deimos [1]."
    invented = "The moon Phobos was discovered by Columbus in 1492 at sea [1]."
    assert M.citation_support(Answer(text=good, sources=sources), embedder) == (1.0, 1, 1)
    assert M.citation_support(Answer(text=f"{good} {invented}", sources=sources), embedder) == (0.5, 1, 2)
    # an abstention on an answerable question grounded nothing: 0, not left out (tests/test_eval_honesty.py)
    assert M.citation_support(Answer(text="no", sources=sources, abstained=True), embedder) == (0.0, 0, 0)


# -- the QA file -----------------------------------------------------------------------------------


def test_fixture_qa_set_loads() -> None:
    items = load_qa(QA)
    assert len(items) == 8 and sum(not q.answerable for q in items) == 2
    follow_up = next(q for q in items if q.history)
    assert follow_up.id == "qv-followup" and follow_up.history[0]["role"] == "user"
    assert all(q.relevant_sources and q.reference_answer for q in items if q.answerable)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": "a", "question": "ok?"', "not valid JSON"),
        ('{"question": "no id?"}', "missing 'id'"),
        ('{"id": "a", "question": "  "}', "missing or empty 'question'"),
        ('{"id": "a", "question": "q?", "answerable": "no"}', "true or false"),
        ('{"id": "a", "question": "q?", "relevant_sources": "a.md"}', "list of file names"),
        ('{"id": "a", "question": "q?", "history": [{"role": "bot", "content": "x"}]}', "role is one of"),
        ('{"id": "first", "question": "again?"}', "duplicate id 'first' (first on line 1)"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_qa_line_names_line_and_reason(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "qa.jsonl"
    path.write_text('{"id": "first", "question": "fine?"}\n\n' + line + "\n")
    with pytest.raises(EvalError) as err:
        load_qa(path)
    assert f"{path}:3:" in str(err.value) and reason in str(err.value)


def test_missing_or_empty_qa_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="rag eval generate"):
        load_qa(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(EvalError, match="no questions"):
        load_qa(tmp_path / "empty.jsonl")


def test_pubmedqa_loader_samples_deterministically(tmp_path: Path) -> None:
    data = {
        str(pmid): {"QUESTION": f"Does drug {pmid} work?", "CONTEXTS": [f"Background {pmid}.", f"Results {pmid}."],
                    "LONG_ANSWER": f"Drug {pmid} works.", "final_decision": "yes"}
        for pmid in range(100, 110)
    }  # fmt: skip
    src = tmp_path / "src" / "ori_pqal.json"
    src.parent.mkdir()
    src.write_text(json.dumps(data))
    docs, qa = pubmedqa(src, tmp_path / "out", 4, seed=3)
    _, again = pubmedqa(src, tmp_path / "out2", 4, seed=3)
    items = load_qa(qa)
    assert [q.id for q in items] == [q.id for q in load_qa(again)] and len(items) == 4
    assert len(list(docs.glob("*.txt"))) == 10  # the whole corpus: the other abstracts are distractors
    first = items[0]
    assert first.reference_answer == f"Drug {first.id} works." and first.relevant_sources == [f"{first.id}.txt"]
    assert (docs / f"{first.id}.txt").read_text() == f"Background {first.id}.\n\nResults {first.id}.\n"
    with pytest.raises(EvalError, match="between 1 and 10"):
        pubmedqa(src, tmp_path / "out3", 11)


# -- generation filters, judge ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "question", "reason"),
    [
        ("Question: How tall is Olympus Mons?\nIt is 22 km.", "How tall is Olympus Mons?", None),
        ("Olympus Mons is tall.", None, "no question mark"),
        ("Mons?", None, "too short"),
        ("Mars is the fourth planet from the Sun, is it not?", None, "copies the passage"),
        ("What is the best pizza topping in Naples?", None, "not about the passage"),
    ],
)
def test_generated_question_filter(raw: str, question: str | None, reason: str | None) -> None:
    assert check_question(raw, MARS) == (question, reason)


def test_cloze_blanks_a_key_term() -> None:
    import random

    question, sentence, term = cloze(
        "Olympus Mons rises about 22 kilometres above the plains of Mars.", random.Random(0)
    )
    assert term == "22" and "____ kilometres" in question and question.endswith('"?')
    assert sentence.startswith("Olympus Mons rises about 22")


def test_judge_wiring_with_the_ollama_stand_in(settings) -> None:
    """The Ollama stand-in (tests/ollama_standin.py) scripts the verdicts: no real judge model runs."""
    from tests.ollama_standin import OllamaStandin, StandinConfig

    assert parse_verdict("Yes, it is supported.") == 1.0 and parse_verdict("NO.") == 0.0 and parse_verdict("?") is None
    with OllamaStandin(StandinConfig(replies=["YES", "NO"])) as server:
        judge = Judge.from_spec(settings.model_copy(update={"ollama_host": server.host}), "ollama:llama3.2")
        verdicts = judge.verdicts("Why is Mars red?", "Rust in its dust [1].", [MARS])
        prompts = [r.body["messages"][-1]["content"] for r in server.requests_to("/api/chat")]
    assert verdicts == {"faithful": 1.0, "relevant": 0.0}
    assert "Information: Rust in its dust" in prompts[0] and "Query: Why is Mars red?" in prompts[1]
    assert "Olympus Mons" in prompts[0]  # the retrieved context is in the prompt


# -- end to end with the embedded LLM --------------------------------------------------------------


@pytest.fixture(scope="module")
def e2e(tmp_path_factory, embedder):
    """One real answers eval over tests/data/qa, shared by the tests below."""
    from eval.answers import AnswersConfig, run_answers
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("eval-e2e")
    with pytest.MonkeyPatch.context() as mp:  # module scope runs before the per-test isolation
        mp.setenv("RAG_CONFIG", str(base / "no-rag.toml"))
        settings = Settings(home=base / "home", collection="qa-e2e", llm="embedded", max_answer_tokens=64)
        cfg = AnswersConfig(qa=QA, docs=DATA / "docs", generated_relevance=False, run_dir=base / "run")
        results = run_answers(settings, cfg, embedder=embedder)
    return settings, cfg, results


# six real generations: about a minute on an idle machine, but many on a shared one (load 13 took > 15 min)
E2E_TIMEOUT = pytest.mark.timeout(2400)


@E2E_TIMEOUT
def test_e2e_metrics_are_sensible(e2e) -> None:
    _, _, results = e2e
    m = results["metrics"]
    assert m["questions"] == 8 and m["answerable"] == 6 and m["timeouts"] == 0 and m["cloze"] == 0
    assert m["source_hit_rate"] == 1.0 and m["source_mrr"] == 1.0  # every topic is one distinct file
    assert m["abstention_recall"] == 1.0 and m["abstention_precision"] == 1.0
    assert m["false_abstention_rate"] == 0.0
    assert m["context_recall"] >= 0.8  # retrieval finds the passage holding each reference answer
    assert 0.5 <= m["question_answer_cosine"] <= 1.0
    assert 0.3 <= m["citation_support"] <= 1.0
    assert 0.3 <= m["reference_similarity"] <= 1.0 and 0.0 < m["reference_token_f1"] <= 1.0
    assert 0.0 < m["reference_coverage"] <= 1.0
    ci = results["ci"]["citation_support"]
    assert ci[0] <= m["citation_support"] <= ci[1]  # every headline mean carries its interval
    assert results["sample"]["n"] == 8 and len(results["sample"]["skipped"]) == 2  # the 2 unanswerable
    by_id = {it["id"]: it for it in results["items"]}
    assert by_id["off-football"]["abstained"] and by_id["off-football"]["metrics"] == {"abstained_correctly": 1.0}
    assert "QV-1180" in by_id["qv-followup"]["rewritten_query"]  # the history reached the engine
    assert by_id["qv-followup"]["sources"][0]["path"] == "troubleshooting.md"
    assert set(results["latency"]) >= {"retrieve", "first_token", "total", "scoring"}
    assert results["settings"]["llm"] == "embedded" and "auth" not in results["settings"]
    assert results["versions"]["chromadb"] != "not installed"


@E2E_TIMEOUT
def test_e2e_report_files_hold_the_summary_table(e2e) -> None:
    _, cfg, results = e2e
    md = (cfg.run_dir / "report.md").read_text()
    assert md.index("## Summary") < md.index("## Per question")
    assert f"| citation_support | {results['metrics']['citation_support']:.3f} |" in md
    assert "## Sample" in md and "- n = 8, seed = 0" in md
    followups = [line for line in md.splitlines() if line.startswith("| qv-followup |")]
    # the follow-up is shown with the standalone query it was scored on (per-question and worst-10 tables)
    assert followups and all("How do I fix it?" in line and "QV-1180" in line for line in followups), followups
    assert "| abstention_recall | 1.000 |" in md
    assert "data:image/png;base64," in (cfg.run_dir / "report.html").read_text()
    assert json.loads((cfg.run_dir / "results.json").read_text())["kind"] == "answers"


@E2E_TIMEOUT
def test_resume_asks_only_the_missing_questions(e2e, tmp_path: Path, embedder) -> None:
    from eval.answers import run_answers

    settings, cfg, results = e2e
    run_dir = tmp_path / "run"
    shutil.copytree(cfg.run_dir, run_dir)
    lines = (run_dir / "items.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["answerable"] is False  # the last is off-corpus: re-asking it needs no LLM
    (run_dir / "items.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    (run_dir / "results.json").unlink()
    cfg2 = type(cfg)(**{**cfg.__dict__, "run_dir": run_dir, "resume": True})
    again = run_answers(settings, cfg2, embedder=embedder)
    assert [it["answer"] for it in again["items"][:-1]] == [it["answer"] for it in results["items"][:-1]]
    assert again["items"][-1]["abstained"] and len(again["items"]) == 8
    assert again["metrics"]["abstention_recall"] == 1.0
    with pytest.raises(EvalError, match="already holds an eval run"):
        run_answers(settings, type(cfg)(**{**cfg.__dict__, "run_dir": run_dir}), embedder=embedder)


def test_generate_cloze_from_docs_records_sources_and_off_corpus_questions(
    tmp_path: Path, isolated_home: Path, embedder
) -> None:
    """`rag eval generate` without an LLM (cloze): deterministic, every question traced to its file."""
    import subprocess
    import sys

    from rag.settings import Settings

    def run(out: Path) -> dict:
        cmd = [sys.executable, "-m", "rag.cli", "eval", "generate", "--docs", str(DATA / "docs"), "--out", str(out),
               "--method", "cloze", "--n", "3", "--unanswerable", "2", "--seed", "7", "--json"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    info = run(tmp_path / "a.jsonl")
    assert info["questions"] == 5 and info["answerable"] == 3 and info["cloze"] == 3 and info["llm"] is None
    items = load_qa(tmp_path / "a.jsonl")
    for q in items[:3]:
        doc = next((DATA / "docs").rglob(q.relevant_sources[0]))
        assert q.extra["generator"] == "cloze" and "____" in q.question
        assert q.reference_answer in " ".join(doc.read_text().split())  # the reference is a sentence of that file
        assert q.extra["cloze_answer"] in q.reference_answer
    assert [q.answerable for q in items[3:]] == [False, False]
    assert all(q.extra["generator"] == "off-corpus" and "best_score" in q.extra for q in items[3:])
    # the same seed over the same collection gives the same set (in-process: a second CLI start is slow)
    from rag.index.store import Store

    from eval.answers import docs_collection
    from eval.generate import generate_qa

    settings = Settings(home=isolated_home, collection=docs_collection(DATA / "docs"))
    again = generate_qa(settings, embedder, Store(settings), n=3, unanswerable=2, seed=7, method="cloze")
    assert [q.to_json() for q in again.items] == [q.to_json() for q in items]
