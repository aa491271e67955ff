"""`rag eval retrieval`: nDCG / Recall / MRR / P of our retriever on a BEIR-format dataset.

The corpus goes through the normal ingestion path (one text file per document, chunked and
embedded like any folder) into a dedicated collection, `beir-<dataset>` by default, kept in
RAG_HOME: a re-run only re-checks the files, it does not re-embed. Each query retrieves
`chunk_depth` chunks with the normal retriever (no threshold, no MMR); a document's score is its
best chunk's, and documents are ranked by it. Per-query results are appended to the run folder as
they finish, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from eval.beir import BeirDataset, doc_scores, load_beir, write_corpus
from eval.metrics_ir import DEFAULT_METRICS, query_metrics, ranked
from eval.runs import EvalError, Run, default_run_dir

if TYPE_CHECKING:
    from rag.index.store import Store
    from rag.models.embedder import Embedder

    from ingest.progress import Progress
    from rag.settings import Settings

Mode = Literal["dense", "hybrid"]
SHOWN_DOCS = 10  # retrieved doc ids kept per item (the report shows them; metrics are computed on all)
SECRET_SETTINGS = ("auth",)


@dataclass
class RetrievalEval:
    """What to evaluate; the CLI flags one to one."""

    beir: Path
    split: str = "test"
    mode: Mode = "dense"
    top_k: int = 100  # documents ranked per query
    limit_queries: int | None = None
    collection: str | None = None
    chunk_depth: int | None = None  # chunks retrieved per query; default 3 * top_k (SciFact: ~1.9 chunks/doc)

    def params(self, dataset: BeirDataset, collection: str) -> dict:
        return {
            "kind": "retrieval",
            "dataset": str(dataset.root),
            "name": dataset.name,
            "split": self.split,
            "mode": self.mode,
            "top_k": self.top_k,
            "chunk_depth": self.depth,
            "limit_queries": self.limit_queries,
            "collection": collection,
        }

    @property
    def depth(self) -> int:
        return self.chunk_depth or 3 * self.top_k


def collection_name(dataset_name: str) -> str:
    """`beir-<dataset>`, squeezed into Chroma's collection-name rules."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset_name).strip("-._")[:40] or "dataset"
    return (slug if slug.lower().startswith("beir") else f"beir-{slug}").replace("__", "_")


def corpus_folder(settings: Settings, dataset: BeirDataset) -> Path:
    return settings.home / "eval" / "beir-corpus" / dataset.name


def ingest_corpus(
    settings: Settings, embedder: Embedder, store: Store, dataset: BeirDataset, progress: Progress | None = None
) -> tuple[dict[str, str], dict]:
    """Lay the corpus out as files and sync the collection with them; returns (path -> doc id, info).

    `progress` (ingestion's bars) is closed when ingestion ends.
    """
    from ingest.pipeline import Sync

    started = time.perf_counter()
    path_to_doc = write_corpus(dataset, corpus_folder(settings, dataset))
    try:
        report = Sync(settings, embedder, store, progress).run([corpus_folder(settings, dataset)])
    finally:
        if progress is not None:
            progress.close()  # its bars end with ingestion, before the queries' bar starts
    t = report.totals
    failed = [f for f in report.files if f.status.value in ("failed", "skipped")]
    return path_to_doc, {
        "collection": settings.collection,
        "documents": len(path_to_doc),
        "chunks": store.get(settings.collection).count(),
        "embedded_now": t.ingested + t.updated,
        "not_indexed": [{"path": f.path, "reason": f.reason} for f in failed[:20]],
        "not_indexed_count": len(failed),
        "ingest_s": round(time.perf_counter() - started, 2),
    }


def _queries_to_run(dataset: BeirDataset, limit: int | None) -> list[str]:
    """Judged queries with at least one relevant doc, in qrels order (the first `limit`)."""
    qids = [q for q, judged in dataset.qrels.items() if any(r > 0 for r in judged.values())]
    return qids[:limit] if limit else qids


def _one_query(retriever, embedder: Embedder, qid: str, dataset: BeirDataset, opts: RetrievalEval, path_to_doc) -> dict:
    from rag.retrieval.retriever import NO_THRESHOLD

    question = dataset.queries[qid]
    t0 = time.perf_counter()
    vector = embedder.embed_query(question)
    t1 = time.perf_counter()
    hybrid = opts.mode == "hybrid"
    sources = retriever.search_vector(
        question, vector, top_k=opts.depth, hybrid=hybrid, mmr=False, threshold=NO_THRESHOLD
    )
    t2 = time.perf_counter()
    # rank by the ranking's own score (fused for hybrid); sources come best first
    hits = [(s.path, (s.fused_score if hybrid else s.score) or 0.0) for s in sources]
    scores = doc_scores(hits, path_to_doc, opts.top_k)
    judged = dataset.qrels[qid]
    order = ranked(scores)
    return {
        "id": qid,
        "question": question,
        "metrics": {k: round(v, 6) for k, v in query_metrics(scores, judged, DEFAULT_METRICS).items()},
        "relevant": sorted(d for d, r in judged.items() if r > 0),
        "retrieved": order[:SHOWN_DOCS],
        "scores": [round(scores[d], 6) for d in order[:SHOWN_DOCS]],
        "first_relevant_rank": next((i for i, d in enumerate(order, 1) if judged.get(d, 0) > 0), None),
        "embed_query_s": round(t1 - t0, 6),
        "search_s": round(t2 - t1, 6),
    }


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "mean": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 6),
        "p95": round(p95, 6),
        "mean": round(statistics.fmean(ordered), 6),
    }


def aggregate(items: list[dict]) -> dict[str, float]:
    """Mean of each per-query metric (every item has at least one relevant doc)."""
    return {m: round(statistics.fmean(it["metrics"][m] for it in items), 6) if items else 0.0 for m in DEFAULT_METRICS}


def _public_settings(settings: Settings) -> dict:
    return {k: v for k, v in settings.model_dump(mode="json").items() if k not in SECRET_SETTINGS}


def run_retrieval_eval(
    opts: RetrievalEval,
    settings: Settings,
    embedder: Embedder,
    store: Store | None = None,
    *,
    run_dir: Path | None = None,
    resume: bool = False,
    ingest_progress: Progress | None = None,
    on_query: Callable[[int, int], None] | None = None,
) -> dict:
    """Ingest (or re-check) the corpus, run the queries not yet done in `run_dir`, write the results.

    Args:
        opts: dataset, split, mode and depths.
        settings: base settings; the collection is replaced by `opts.collection` or `beir-<dataset>`.
        embedder: the embedding model (the collection must have been built with it).
        store: the Chroma store (default: built from the settings).
        run_dir: the run folder (default: a new one under RAG_HOME/eval/).
        resume: continue the run in `run_dir`, asking only the queries it has not finished.
        ingest_progress: ingestion progress bars.
        on_query: called with (done, total) after each query.

    Returns:
        The results dict also written to `run_dir/results.json`.

    Raises:
        EvalError: a bad dataset, split or resume folder.
    """
    from rag.retrieval.retriever import Retriever

    from rag.app import build_store

    dataset = load_beir(opts.beir, opts.split)
    collection = opts.collection or collection_name(dataset.name)
    s = settings.model_copy(update={"collection": collection})
    store = store or build_store(s)
    run_dir = run_dir or default_run_dir(s.home, "retrieval")
    run = Run.start(run_dir, opts.params(dataset, collection), resume=resume)
    path_to_doc, index = ingest_corpus(s, embedder, store, dataset, ingest_progress)
    if index["chunks"] == 0:
        raise EvalError(f"nothing from {dataset.root / 'corpus.jsonl'} could be indexed - see `rag status`")
    retriever = Retriever(s, embedder, store)
    qids = _queries_to_run(dataset, opts.limit_queries)
    done = run.done_ids()
    try:
        for n, qid in enumerate(qids, 1):
            if qid not in done:
                run.add(_one_query(retriever, embedder, qid, dataset, opts, path_to_doc))
            if on_query:
                on_query(n, len(qids))
    finally:
        retriever.close()
    results = _finish(run, s, dataset, opts, index, len(dataset.qrels) - len(qids) if not opts.limit_queries else 0)
    return {**results, "run_dir": str(run.dir)}  # for the caller; results.json does not carry its own folder


def _finish(run: Run, s: Settings, dataset: BeirDataset, opts: RetrievalEval, index: dict, no_relevant: int) -> dict:
    items = run.items
    metrics = aggregate(items)
    latency = {
        "embed_query_s": _stats([it["embed_query_s"] for it in items]),
        "search_s": _stats([it["search_s"] for it in items]),
        "ingest_s": index["ingest_s"],
    }
    summary = (
        f"{dataset.name} ({opts.split}, {opts.mode}): nDCG@10 {metrics['ndcg@10']:.4f}, "
        f"Recall@100 {metrics['recall@100']:.4f}, MRR@10 {metrics['mrr@10']:.4f} over {len(items)} queries, "
        f"{index['documents']} docs in {index['chunks']} chunks"
    )
    from eval.stats import bootstrap_ci

    ci = {m: list(bootstrap_ci([it["metrics"][m] for it in items]) or []) for m in DEFAULT_METRICS}
    skipped = (
        [{"id": f"{no_relevant} queries", "why": "no relevant document in the qrels"}] if no_relevant else []
    ) + ([{"id": "the rest", "why": f"--limit-queries {opts.limit_queries}: first queries in qrels order"}]
         if opts.limit_queries else [])  # fmt: skip
    extra = {
        "summary": summary,
        "ci": {m: v for m, v in ci.items() if v},
        "sample": {"n": len(items), "seed": None, "skipped": skipped, "failed": []},
        "index": index,
        "dataset": {
            "name": dataset.name,
            "documents": len(dataset.corpus),
            "queries": len(items),
            "queries_without_relevant": no_relevant,
        },
    }
    return run.finish(metrics, latency, {**_public_settings(s), "mode": opts.mode}, extra)
