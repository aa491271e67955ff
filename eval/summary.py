"""Aggregating an answers run: headline means with intervals, the cloze section, the sample, diagnoses.

Rules that keep the headline honest:
- cloze items (a source sentence with a word blanked) nearly guarantee source hit and context
  recall, so they get their own section and never enter the headline means;
- an item that timed out is a failure: it scores 0 in every metric that applies to it and is
  counted in `timeouts`, instead of vanishing from the means;
- every mean carries a 95% bootstrap interval (eval/stats.py) and the sample it was taken on.
"""

from __future__ import annotations

from typing import Any

from eval import metrics_answers as M
from eval.stats import bootstrap_ci

# per-item metrics of answerable questions, in report column order
ANSWER_METRICS = (
    "question_answer_cosine",
    "generated_question_cosine",
    "citation_support",
    "context_recall",
    "reference_token_f1",
    "reference_coverage",
    "reference_similarity",
    "source_hit",
    "source_rr",
)
AGGREGATE_NAME = {"source_hit": "source_hit_rate", "source_rr": "source_mrr"}
# what each metric needs from the QA set besides the question (the README's table says the same)
NEEDS = {
    "question_answer_cosine": "-",
    "generated_question_cosine": "LLM calls",
    "citation_support": "- (self-check)",
    "context_recall": "reference_answer",
    "reference_token_f1": "reference_answer",
    "reference_coverage": "reference_answer",
    "reference_similarity": "reference_answer",
    "source_hit_rate": "relevant_sources",
    "source_mrr": "relevant_sources",
    "false_abstention_rate": "-",
    "abstention_recall": "answerable: false items",
    "abstention_precision": "answerable: false items",
    "abstention_f1": "answerable: false items",
}
REFERENCE_METRICS = ("context_recall", "reference_token_f1", "reference_coverage", "reference_similarity")
SOURCE_METRICS = ("source_hit", "source_rr")
WRONG_ANSWER = 0.5  # reference coverage below this, with the source found: "source found but answer wrong"


def is_cloze(item: dict[str, Any]) -> bool:
    return item.get("generator") == "cloze"


def failure_metrics(answerable: bool, has_reference: bool, has_sources: bool) -> dict[str, float]:
    """The scores of an item that produced no answer (a timeout): 0 in every metric that applies."""
    if not answerable:
        return {"abstained_correctly": 0.0}
    names = ["question_answer_cosine", "citation_support"]
    names += list(REFERENCE_METRICS) if has_reference else []
    names += list(SOURCE_METRICS) if has_sources else []
    return dict.fromkeys(names, 0.0)


def diagnose(item: dict[str, Any]) -> str | None:
    """What went wrong with one item, in the words a user acts on (None when nothing obvious did)."""
    m = item.get("metrics") or {}
    if item.get("timed_out"):
        return "timed out (scored 0)"
    if not item.get("answerable", True):
        return None if item.get("abstained") else "answered a question the documents cannot answer"
    if item.get("abstained"):
        return "abstained wrongly"
    if m.get("source_hit") == 0.0:
        return "retrieval missed the source"
    coverage = m.get("reference_coverage")
    if coverage is not None and coverage < WRONG_ANSWER:
        return "source found but answer wrong" if m.get("source_hit") == 1.0 else "answer wrong"
    if (m.get("citation_support") or 0.0) < WRONG_ANSWER and m.get("citation_support") is not None:
        return "answer not supported by its cited sources"
    return None


def _means(items: list[dict[str, Any]], seed: int) -> tuple[dict[str, Any], dict[str, list[float]]]:
    metrics: dict[str, Any] = {}
    ci: dict[str, list[float]] = {}
    for name in ANSWER_METRICS:
        values = [(it.get("metrics") or {}).get(name) for it in items]
        value = M.mean(values)
        if value is None:
            continue
        key = AGGREGATE_NAME.get(name, name)
        metrics[key] = round(value, 4)
        interval = bootstrap_ci(values, seed=seed)
        if interval:
            ci[key] = list(interval)
    if items:
        abstained = [float(bool(it.get("abstained"))) for it in items]
        metrics["false_abstention_rate"] = round(sum(abstained) / len(abstained), 4)
        interval = bootstrap_ci(abstained, seed=seed)
        if interval:
            ci["false_abstention_rate"] = list(interval)
    return metrics, ci


def summarize(items: list[dict[str, Any]], seed: int = 0) -> dict[str, Any]:
    """metrics (headline), ci, cloze section, latency and sample of an answers run."""
    answerable = [it for it in items if it.get("answerable", True)]
    headline = [it for it in answerable if not is_cloze(it)]
    cloze = [it for it in answerable if is_cloze(it)]
    unanswerable = [it for it in items if not it.get("answerable", True)]
    metrics: dict[str, Any] = {
        "questions": len(items),
        "answerable": len(headline),
        "unanswerable": len(unanswerable),
        "cloze": len(cloze),
        "timeouts": sum(1 for it in items if it.get("timed_out")),
    }
    means, ci = _means(headline, seed)
    metrics.update(means)
    # a timeout is "did not abstain": on an unanswerable question that is a failure too
    pairs = [(it.get("answerable", True), bool(it.get("abstained"))) for it in headline + unanswerable]
    for name, value in M.abstention_scores(pairs).items():
        if value is not None:
            metrics[name] = round(value, 4)
    recall_ci = bootstrap_ci([float(bool(it.get("abstained"))) for it in unanswerable], seed=seed)
    if recall_ci:
        ci["abstention_recall"] = list(recall_ci)
    out: dict[str, Any] = {"metrics": metrics, "ci": ci, "latency": latency(items), "sample": sample(items, seed)}
    if cloze:
        cloze_means, cloze_ci = _means(cloze, seed)
        out["cloze"] = {"metrics": {"questions": len(cloze), **cloze_means}, "ci": cloze_ci}
    return out


def latency(items: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for stage in ("retrieve_s", "first_token_s", "generate_s", "total_s", "scoring_s"):
        stats = M.latency_stats((it.get("timings") or {}).get(stage) for it in items)
        if stats:
            out[stage.removesuffix("_s")] = stats
    return out


def sample(items: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """n, seed, and every item left out of the headline means with the reason."""
    skipped = []
    for it in items:
        if is_cloze(it):
            skipped.append({"id": it.get("id"), "why": "cloze item: reported in its own section"})
        elif not it.get("answerable", True):
            skipped.append({"id": it.get("id"), "why": "unanswerable: scored on abstention only"})
    failed = [{"id": it.get("id"), "why": "timed out: scored 0"} for it in items if it.get("timed_out")]
    return {"n": len(items), "seed": seed, "skipped": skipped, "failed": failed}
