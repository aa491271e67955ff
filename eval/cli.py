"""`rag eval ...`: offline evaluation of retrieval and answers (thin edge over eval/)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import typer

eval_app = typer.Typer(help="Measure retrieval and answers offline, and compare runs.", no_args_is_help=True)


@eval_app.command("retrieval")
def retrieval(
    beir: Path = typer.Option(..., "--beir", help="BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv."),
    split: str = typer.Option("test", "--split", help="Which qrels/SPLIT.tsv to evaluate."),
    mode: str = typer.Option("dense", "--mode", help="dense | hybrid (BM25 + dense, reciprocal rank fusion)."),
    top_k: int = typer.Option(100, "--top-k", min=1, help="Documents ranked per query (Recall@100 needs 100)."),
    limit_queries: int | None = typer.Option(None, "--limit-queries", min=1, help="Only the first N queries."),
    collection: str | None = typer.Option(None, "--collection", help="Collection to index into (default beir-NAME)."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default RAG_HOME/eval/STAMP-retrieval)."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue the interrupted run in this folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (metrics, latency, run folder)."),
) -> None:
    """Retrieval quality on a BEIR dataset: nDCG@10, Recall@10/100, MRR@10, P@1, hit@10 and timings."""
    from eval.retrieval import RetrievalEval, run_retrieval_eval
    from eval.runs import EvalError
    from rag.app import build_embedder
    from rag.settings import load_settings

    if mode not in ("dense", "hybrid"):
        raise EvalError(f"unknown --mode {mode!r} - use dense or hybrid")
    if out and resume and out != resume:
        raise EvalError("--out and --resume name different folders - give only --resume RUN_DIR to continue a run")
    settings = load_settings(collection=collection)  # validates the name; None keeps beir-NAME below
    opts = RetrievalEval(beir, split, mode, top_k, limit_queries, collection)  # type: ignore[arg-type]
    tty = sys.stderr.isatty() and not as_json
    with _query_bar(tty) as on_query:
        results = run_retrieval_eval(
            opts,
            settings,
            build_embedder(settings),
            run_dir=resume or out,
            resume=resume is not None,
            ingest_progress=_ingest_bars(tty),
            on_query=on_query,
        )
    run_dir = resume or out or Path(results["run_dir"])
    if as_json:
        keys = ("kind", "summary", "metrics", "latency", "params", "index", "dataset")
        print(json.dumps({**{k: results.get(k) for k in keys}, "run_dir": str(run_dir)}))
        return
    _print_retrieval(results, run_dir)


def _ingest_bars(tty: bool):
    from ingest.progress import NullProgress, RichProgress

    return RichProgress() if tty else NullProgress()


@contextmanager
def _query_bar(tty: bool):
    """A rich progress bar over the queries on a terminal; yields the per-query callback (or None)."""
    if not tty:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("queries"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    ) as bar:
        task = bar.add_task("queries", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _print_retrieval(results: dict, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=results.get("summary"), title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in results["metrics"].items():
        table.add_row(name, f"{value:.4f}")
    for stage, value in results["latency"].items():
        text = (
            f"p50 {value['p50'] * 1000:.1f} ms, p95 {value['p95'] * 1000:.1f} ms"
            if isinstance(value, dict)
            else f"{value:.1f} s"
        )
        table.add_row(stage, text)
    console = Console()
    console.print(table)
    console.print(f"run folder: {run_dir}")
