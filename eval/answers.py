"""`rag eval answers`: run the answer engine over a QA set and score every answer.

The engine is the one `rag ask` uses (`rag.app.build_engine`), history included, so the eval
measures what users get. Each finished question is appended to the run folder at once
(eval/runs.py), so an interrupted eval resumes where it stopped. Metrics: eval/metrics_answers.py.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval import metrics_answers as M
from eval.qa import QAItem, fingerprint, load_qa
from eval.runs import EvalError, Run, default_run_dir
from eval.summary import diagnose, failure_metrics, summarize
from rag.llm import LLMError, LLMTimeout
from rag.settings import Settings
from rag.types import Answer

SECRET_SETTINGS = ("auth",)  # never written into results.json


@dataclass
class AnswersConfig:
    """What `rag eval answers` was asked to do."""

    qa: Path
    docs: Path | None = None  # ingest this folder into a collection first
    generated_relevance: bool = True  # Ragas-style relevance: costs LLM calls per answer
    n_generated: int = 2
    judge: str | None = None  # e.g. "ollama:llama3.2": LLM-judge verdicts, reported separately
    run_dir: Path | None = None
    resume: bool = False
    seed: int = 0  # how the questions were sampled (PubMedQA, generation); also seeds the bootstrap


def docs_collection(docs: Path) -> str:
    """A collection name of its own for an eval docs folder (stable per absolute path)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", docs.resolve().name).strip("-._")[:30] or "docs"
    digest = hashlib.sha1(str(docs.resolve()).encode()).hexdigest()[:8]
    return f"eval-{slug}-{digest}"


def ingest_docs(settings: Settings, embedder, store, docs: Path, progress=None):
    """Sync `docs` into `settings.collection` with the normal ingestion path (incremental)."""
    from ingest.pipeline import Sync

    if not docs.is_dir():
        raise EvalError(f"--docs {docs} is not a folder - pass the folder of documents the questions are about")
    return Sync(settings, embedder, store, progress).run([docs])


def _params(cfg: AnswersConfig, settings: Settings) -> dict[str, Any]:
    return {
        "kind": "answers",
        "dataset": fingerprint(cfg.qa),
        "qa": str(cfg.qa.resolve()),
        "docs": str(cfg.docs.resolve()) if cfg.docs else None,
        "collection": settings.collection,
        "llm": settings.llm,
        "top_k": settings.top_k,
        "hybrid": settings.hybrid,
        "relevance_threshold": settings.relevance_threshold,
        "generated_relevance": cfg.generated_relevance,
        "judge": cfg.judge,
        "seed": cfg.seed,
    }


def run_answers(
    settings: Settings,
    cfg: AnswersConfig,
    *,
    embedder=None,
    store=None,
    on_item: Callable[[int, int, dict], None] | None = None,
    ingest_progress=None,
) -> dict[str, Any]:
    """Run the eval and write its run folder; returns the results dict (see eval/runs.py).

    Raises:
        EvalError: bad QA file, docs folder or resume.
        RagError: the collection or the LLM cannot be used (the message names the fix).
    """
    from rag.app import build_embedder, build_engine, build_store

    questions = load_qa(cfg.qa)
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    if cfg.docs:
        ingest_docs(settings, embedder, store, cfg.docs, ingest_progress)
    run = Run.start(cfg.run_dir or default_run_dir(settings.home, "answers"), _params(cfg, settings), resume=cfg.resume)
    engine = build_engine(settings, embedder, store)
    judge = None
    if cfg.judge:
        from eval.judge import Judge

        judge = Judge.from_spec(settings, cfg.judge)
    done = run.done_ids()
    for n, q in enumerate(questions, 1):
        if q.id in done:
            continue
        item = ask_and_score(engine, q, embedder, cfg)
        if judge is not None and item.get("answer") and not item.get("abstained"):
            item["judge"] = judge.verdicts(q.question, item["answer"], item.pop("_contexts"))
        item.pop("_contexts", None)
        run.add(item)
        if on_item:
            on_item(n, len(questions), item)
    summary = summarize(run.items, cfg.seed)
    metrics, latency = summary.pop("metrics"), summary.pop("latency")
    extra = {"summary": one_line(metrics, len(run.items)), **summary}
    if judge is not None:
        extra["judge"] = {"model": judge.name, **judge_summary(run.items)}
    settings_dump = {k: v for k, v in settings.model_dump(mode="json").items() if k not in SECRET_SETTINGS}
    return run.finish(metrics, latency, settings_dump, extra)


def ask_and_score(engine, q: QAItem, embedder, cfg: AnswersConfig) -> dict[str, Any]:
    """Ask one question through the engine and score the answer; the item written to the run."""
    item: dict[str, Any] = {
        "id": q.id,
        "question": q.question,
        "answerable": q.answerable,
        "reference": q.reference_answer,
        "relevant_sources": q.relevant_sources,
        "history_turns": len(q.history),
    }
    if q.extra.get("generator"):
        item["generator"] = q.extra["generator"]
    try:
        answer = engine.ask(q.question, history=q.history)
    except LLMTimeout as exc:
        # one slow answer should not sink a long eval, nor vanish from it: a failure, scored 0
        metrics = failure_metrics(q.answerable, bool(q.reference_answer), bool(q.relevant_sources))
        item.update(error=str(exc), timed_out=True, abstained=False, metrics=metrics)
        item["diagnosis"] = diagnose(item)
        return item
    started = time.perf_counter()
    item.update(
        answer=answer.text,
        abstained=answer.abstained,
        mode=answer.mode,
        llm_error=answer.llm_error,
        rewritten_query=answer.rewritten_query,
        sources=[{"n": s.n, "path": Path(s.path).name, "score": round(s.score, 4)} for s in answer.sources],
        _contexts=[s.text for s in answer.sources],
    )
    if q.answerable:
        item["metrics"] = score_answer(q, answer, embedder, engine if cfg.generated_relevance else None, cfg, item)
    else:
        item["metrics"] = {"abstained_correctly": float(answer.abstained)}
    item["diagnosis"] = diagnose(item)
    t = answer.timings
    item["timings"] = {
        "retrieve_s": round(t.retrieve_s, 4),
        "first_token_s": None if t.first_token_s is None else round(t.first_token_s, 4),
        # generation plus the engine's citation check; Answer.timings does not split the two
        "generate_s": None if answer.abstained and t.first_token_s is None else round(t.total_s - t.retrieve_s, 4),
        "total_s": round(t.total_s, 4),
        "scoring_s": round(time.perf_counter() - started, 4),
    }
    return item


def score_answer(q: QAItem, answer: Answer, embedder, engine, cfg: AnswersConfig, item: dict) -> dict[str, Any]:
    """Every answer metric for one answerable question (None where it does not apply)."""
    text = answer.text
    support, supported, checked = M.citation_support(answer, embedder)
    item["claims"] = {"supported": supported, "checked": checked}
    item["unsupported"] = [u.sentence for u in answer.unsupported]
    hit, rr = M.hit_and_rr([s.path for s in answer.sources], q.relevant_sources)
    ref = q.reference_answer
    generated = None
    if engine is not None and not answer.abstained and text.strip():
        try:
            generated = M.generate_questions(engine.llm, text, cfg.n_generated)
            item["generated_questions"] = generated
        except LLMError as exc:  # a timeout or a model that cannot run costs this one metric, not the eval
            item["generated_questions_error"] = str(exc)
    # a follow-up ("how do I fix it?") means little alone: compare with the standalone query
    asked = answer.rewritten_query or q.question
    values = {
        "question_answer_cosine": M.question_answer_cosine(embedder, asked, text),
        "generated_question_cosine": M.generated_relevance(embedder, asked, generated or []),
        "citation_support": support,
        "context_recall": M.context_recall(embedder, ref, [s.text for s in answer.sources]) if ref else None,
        "reference_token_f1": M.token_f1(text, ref) if ref else None,
        "reference_coverage": M.reference_coverage(text, ref) if ref else None,
        "reference_similarity": M.semantic_similarity(embedder, text, ref) if ref else None,
        "source_hit": hit,
        "source_rr": rr,
    }
    if engine is None:
        values.pop("generated_question_cosine")
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in values.items()}


def judge_summary(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of judged answers the LLM judge called faithful / relevant."""
    out = {}
    for key in ("faithful", "relevant"):
        out[f"judge_{key}"] = M.mean((it.get("judge") or {}).get(key) for it in items)
    out["judged"] = sum(1 for it in items if it.get("judge"))
    return out


def one_line(metrics: dict[str, Any], n: int) -> str:
    """A one-line human summary of an answers run."""
    shown = [
        f"{k.replace('_', ' ')} {metrics[k]:.2f}"
        for k in ("citation_support", "reference_coverage", "source_hit_rate", "abstention_recall")
        if metrics.get(k) is not None
    ]
    if metrics.get("timeouts"):
        shown.append(f"{metrics['timeouts']} timed out (scored 0)")
    return f"{n} questions: " + ", ".join(shown)
