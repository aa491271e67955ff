"""Eval reports (report.md / report.html for any run kind) and `rag eval compare`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from eval.compare import compare_runs, format_comparison
from eval.report import item_score, worst_first, write_reports
from eval.runs import EvalError, Run


def answers_results(f1: tuple[float, float, float] = (0.9, 0.1, 0.5), dataset: str = "qa.jsonl#abc") -> dict:
    items = [
        {"id": f"q{i}", "question": f"question {i}?", "answer": f"answer {i}", "metrics": {"correctness_f1": v,
         "faithfulness": 1.0 if i else None}}
        for i, v in enumerate(f1)
    ]  # fmt: skip
    return {
        "kind": "answers",
        "seconds": 12.5,
        "settings": {"llm": "embedded", "embed_model": "all-MiniLM-L6-v2"},
        "params": {"kind": "answers", "dataset": dataset},
        "metrics": {"correctness_f1": round(sum(f1) / 3, 4), "abstention_recall": 1.0},
        "latency": {"retrieve": {"p50": 0.05, "p95": 0.2, "mean": 0.08}, "total": {"p50": 4.0, "p95": 9.0, "mean": 5}},
        "items": items,
        "summary": "3 questions: correctness f1 0.50",
    }


def retrieval_results() -> dict:
    return {
        "kind": "retrieval",
        "params": {"kind": "retrieval", "dataset": "scifact/test"},
        "metrics": {"ndcg@10": 0.62, "recall@100": 0.91},
        "latency": {"query": {"p50": 0.01, "p95": 0.03, "mean": 0.015}},
        "items": [{"id": "1", "question": "q", "metrics": {"ndcg@10": 0.2}}, {"id": "2", "metrics": {"ndcg@10": 1.0}}],
    }


def test_answers_report_has_summary_first_plots_and_worst_question_first(tmp_path: Path) -> None:
    paths = write_reports(tmp_path, answers_results())
    assert [p.name for p in paths] == ["report.md", "report.html"]
    md = (tmp_path / "report.md").read_text()
    assert md.index("## Summary") < md.index("## Latency") < md.index("## Per question")
    assert "| correctness_f1 | 0.500 |" in md and "| abstention_recall | 1.000 |" in md
    assert "| retrieve | 0.050 | 0.200 | 0.080 |" in md
    rows = [
        line.split(" | ")[0].strip("| ")
        for line in md.split("## Per question")[1].splitlines()
        if line.startswith("| q")
    ]
    # item scores: q1 = mean(0.1, 1.0) = 0.55, q0 = 0.9 (faithfulness None is left out), q2 = 0.75
    assert rows == ["q1", "q2", "q0"]
    assert (tmp_path / "scores.png").read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2  # the score histograms and the latency chart, embedded
    assert not re.search(r"""(src|href)=['"]https?:""", page)  # self-contained: nothing fetched when opened


def test_retrieval_results_render_with_the_same_code(tmp_path: Path) -> None:
    write_reports(tmp_path, retrieval_results())
    md = (tmp_path / "report.md").read_text()
    assert "# Eval report: retrieval" in md and "| ndcg@10 | 0.620 |" in md and "| dataset | scifact/test |" in md
    assert md.index("| 1 | 0.200") < md.index("| 2 | 1.000")


def test_html_escapes_question_text(tmp_path: Path) -> None:
    results = answers_results()
    results["items"][0]["question"] = "<script>alert(1)</script>"
    write_reports(tmp_path, results)
    assert "<script>alert" not in (tmp_path / "report.html").read_text()


def test_item_score_and_order_ignore_missing_values() -> None:
    items = [{"id": "a", "metrics": {"x": None}}, {"id": "b", "metrics": {"x": 0.4, "y": 0.8}}, {"id": "c"}]
    assert item_score(items[1]) == pytest.approx(0.6)
    assert [it["id"] for it in worst_first(items)] == ["b", "a", "c"]


def test_run_finish_writes_results_and_reports(tmp_path: Path) -> None:
    run = Run.start(tmp_path / "run", {"kind": "answers", "dataset": "d"})
    run.add({"id": "1", "question": "q?", "metrics": {"faithfulness": 0.5}})
    results = run.finish({"faithfulness": 0.5}, {}, {"llm": "embedded"})
    assert json.loads((tmp_path / "run" / "results.json").read_text())["metrics"] == {"faithfulness": 0.5}
    assert results["versions"]["python"] and (tmp_path / "run" / "report.html").exists()


def test_compare_orders_metrics_and_questions_by_size_of_change() -> None:
    cmp = compare_runs(answers_results((0.9, 0.1, 0.5)), answers_results((0.8, 0.9, 0.5)))
    assert [m["metric"] for m in cmp["metrics"]] == ["correctness_f1", "abstention_recall"]
    assert cmp["metrics"][0]["delta"] == pytest.approx(0.2333, abs=1e-4)
    first = cmp["questions"][0]
    assert first["id"] == "q1" and first["changed"] == {"correctness_f1": 0.8}
    assert [q["id"] for q in cmp["questions"]] == ["q1", "q0", "q2"]
    text = format_comparison(cmp)
    assert "correctness_f1" in text and "+0.233" in text and "2 of 3 questions changed" in text


def test_compare_refuses_different_kinds_and_datasets() -> None:
    with pytest.raises(EvalError, match="same kind"):
        compare_runs(answers_results(), retrieval_results())
    with pytest.raises(EvalError, match="--allow-different"):
        compare_runs(answers_results(), answers_results(dataset="other.jsonl#def"))
    cmp = compare_runs(answers_results(), answers_results(dataset="other.jsonl#def"), allow_different=True)
    assert "different datasets" in cmp["warnings"][0]


def _rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_rag_eval_compare_command(tmp_path: Path) -> None:
    for name, f1 in (("a", (0.9, 0.1, 0.5)), ("b", (0.9, 0.6, 0.5))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(answers_results(f1)))
    out = _rag("eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert out.returncode == 0, out.stderr
    assert "correctness_f1" in out.stdout and "+0.167" in out.stdout and "q1" in out.stdout
    missing = _rag("eval", "compare", str(tmp_path / "a"), str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no results.json" in missing.stderr


def test_resume_cuts_a_half_written_last_line_so_a_second_resume_still_reads_everything(tmp_path: Path) -> None:
    params = {"kind": "answers", "dataset": "d"}
    run = Run.start(tmp_path / "run", params)
    run.add({"id": "1"})
    with open(tmp_path / "run" / "items.jsonl", "a") as fh:
        fh.write('{"id": "2", "quest')  # killed while writing item 2
    first = Run.start(tmp_path / "run", params, resume=True)
    assert first.done_ids() == {"1"}
    first.add({"id": "2"})
    first.add({"id": "3"})
    second = Run.start(tmp_path / "run", params, resume=True)
    assert [it["id"] for it in second.items] == ["1", "2", "3"]
    lines = (tmp_path / "run" / "items.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2", "3"]
