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
    """A rich progress bar over the queries on a terminal; yields the per-query callback (or None).

    It starts at the first query, after ingestion's own bars have closed: rich shows one live display at a time.
    """
    if not tty:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("queries"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )
    tasks: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task("queries", total=total))
        bar.update(tasks[0], completed=done)

    try:
        yield update
    finally:
        bar.stop()


def _print_retrieval(results: dict, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from rag.text.terminal import plain

    table = Table()
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
    console.print(plain(results.get("summary", "")))
    console.print(table)
    console.print(plain(f"run folder: {run_dir}  (report.html, report.md, results.json)"))


# -- answers, generate, compare ---------------------------------------------------------------


@eval_app.command("answers")
def answers(
    qa: Path | None = typer.Option(
        None,
        "--qa",
        help="QA JSONL file (see README); omit it with --docs to generate questions from the documents first.",
    ),
    collection: str | None = typer.Option(None, "--collection", help="Collection to ask (default: settings')."),
    docs: Path | None = typer.Option(None, "--docs", help="Ingest this folder into its own collection first."),
    pubmedqa: Path | None = typer.Option(
        None,
        "--pubmedqa",
        help="PubMedQA ori_pqal.json: sample its questions; corpus = its abstracts, reference = the long answer.",
    ),
    sample: int = typer.Option(30, "--sample", min=1, help="Questions sampled with --pubmedqa."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed (--pubmedqa, and generation without --qa)."),
    llm: str | None = typer.Option(None, "--llm", help="LLM spec: auto, embedded, ollama:MODEL."),
    answer_mode: str | None = typer.Option(None, "--answer-mode", help="auto | extract | generate | both."),
    generated_relevance: bool = typer.Option(
        True,
        "--generated-relevance/--no-generated-relevance",
        help="Ragas-style relevance from LLM-written questions (2 calls each).",
    ),
    judge: str | None = typer.Option(None, "--judge", help="Also ask an LLM judge, e.g. ollama:llama3.2."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (default RAG_HOME/eval/STAMP-answers)."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue the interrupted run in this folder."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (metrics, latency, run folder)."),
) -> None:
    """Answer quality: reference overlap, citation support, sources, abstention, latency - with 95% intervals."""
    from eval.answers import AnswersConfig, docs_collection, run_answers
    from eval.runs import EvalError, default_run_dir
    from rag.settings import load_settings

    settings = load_settings(llm=llm, collection=collection, answer_mode=answer_mode)
    if pubmedqa is not None:
        from eval.qa import pubmedqa as load_pubmedqa

        docs, qa = load_pubmedqa(pubmedqa, settings.home / "eval" / "datasets" / "pubmedqa", sample, seed=seed)
    if docs is not None and collection is None:
        settings = load_settings(llm=llm, collection=docs_collection(docs), answer_mode=answer_mode)
    run_dir = resume or out or default_run_dir(settings.home, "answers")
    if qa is None:
        if docs is None:
            raise EvalError("no questions - pass --qa FILE.jsonl, or --docs DIR to generate them from your documents")
        qa = _generated_qa(settings, docs, run_dir / "qa.jsonl", seed, as_json)
    cfg = AnswersConfig(qa=qa, docs=docs, generated_relevance=generated_relevance, judge=judge, run_dir=run_dir,
                        resume=resume is not None, seed=seed)  # fmt: skip
    tty = sys.stderr.isatty() and not as_json
    with _answers_bar(tty) as on_item:
        results = run_answers(settings, cfg, on_item=on_item, ingest_progress=_answers_ingest_bars(tty))
    if as_json:
        keys = ("kind", "summary", "metrics", "ci", "sample", "cloze", "latency", "judge", "params")
        print(json.dumps({**{k: results.get(k) for k in keys}, "run_dir": str(run_dir)}))
        return
    _print_summary(results, run_dir)


def _generated_qa(settings, docs: Path, path: Path, seed: int, quiet: bool) -> Path:
    """A QA file generated from `docs` for a run without one (kept in the run folder, reused on resume)."""
    if path.exists():
        return path
    from eval.answers import ingest_docs
    from eval.generate import generate_qa
    from eval.qa import write_qa
    from rag.app import build_embedder, build_store

    embedder, store = build_embedder(settings), build_store(settings)
    ingest_docs(settings, embedder, store, docs)
    made = generate_qa(settings, embedder, store, n=10, unanswerable=2, seed=seed)
    if made.warning and not quiet:
        print(f"warning: {made.warning}", file=sys.stderr)
    return write_qa(made.items, path)


@eval_app.command("generate")
def generate(
    out: Path = typer.Option(..., "--out", help="QA JSONL file to write."),
    docs: Path | None = typer.Option(None, "--docs", help="Folder of documents (ingested into its own collection)."),
    collection: str | None = typer.Option(None, "--collection", help="Or an existing collection."),
    n: int = typer.Option(20, "--n", min=1, help="Answerable questions to generate."),
    unanswerable: int = typer.Option(
        3, "--unanswerable", min=0,
        help="Questions from a fixed general-knowledge pool (answerable: false), kept whatever they score.",
    ),
    method: str = typer.Option("auto", "--method", help="llm | cloze (no LLM) | auto (LLM, cloze when it fails)."),
    llm: str | None = typer.Option(None, "--llm", help="LLM spec: auto, embedded, ollama:MODEL."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed: the same seed gives the same chunks."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Synthesise a QA set from your own documents (questions from sampled chunks, sources recorded)."""
    from eval.answers import docs_collection, ingest_docs
    from eval.generate import generate_qa
    from eval.qa import write_qa
    from rag.app import build_embedder, build_store
    from rag.settings import load_settings

    name = collection or (docs_collection(docs) if docs is not None else None)
    settings = load_settings(llm=llm, collection=name)
    embedder, store = build_embedder(settings), build_store(settings)
    if docs is not None:
        ingest_docs(settings, embedder, store, docs, _answers_ingest_bars(sys.stderr.isatty() and not as_json))
    made = generate_qa(settings, embedder, store, n=n, unanswerable=unanswerable, seed=seed, method=method)
    write_qa(made.items, out)
    answerable = sum(it.answerable for it in made.items)
    info = {
        "out": str(out),
        "questions": len(made.items),
        "answerable": answerable,
        "cloze": made.cloze,
        "llm": made.llm,
        "llm_attempts": made.attempts,
        "rejected": dict(made.rejected),
        "llm_timeouts": made.timeouts,
        "warning": made.warning,
    }
    if as_json:
        print(json.dumps(info))
        return
    print(
        f"wrote {len(made.items)} questions to {out} ({answerable} answerable, {made.cloze} of them cloze; "
        f"{len(made.items) - answerable} general-knowledge, answerable: false)"
    )
    if made.rejected:
        print("rejected LLM questions: " + ", ".join(f"{k} {v}" for k, v in made.rejected.most_common()))
    if made.warning:
        print(f"warning: {made.warning}")


@eval_app.command("compare")
def compare(
    run_a: Path = typer.Argument(..., help="Baseline run folder (or its results.json)."),
    run_b: Path = typer.Argument(..., help="Run folder to compare against it."),
    allow_different: bool = typer.Option(
        False, "--allow-different", help="Compare runs over different datasets (only the questions they share)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Differences B - A per metric and per question, biggest changes first."""
    from eval.compare import compare_runs, format_comparison
    from eval.runs import load_results

    cmp = compare_runs(load_results(run_a), load_results(run_b), allow_different=allow_different)
    print(json.dumps(cmp) if as_json else format_comparison(cmp))


def _answers_ingest_bars(tty: bool):
    from ingest.progress import NullProgress, RichProgress

    return RichProgress() if tty else NullProgress()


@contextmanager
def _answers_bar(tty: bool):
    """A rich progress bar over the questions on a terminal; yields the per-question callback (or None).

    Started at the first finished question, after ingestion's bars closed: rich shows one live display at a time.
    """
    if not tty:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("questions"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )
    tasks: list = []

    def update(done: int, total: int, item: dict) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task("questions", total=total))
        bar.update(tasks[0], completed=done, total=total)

    try:
        yield update
    finally:
        bar.stop()


def _print_summary(results: dict, run_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from rag.text.terminal import plain

    summary = results.get("summary")
    table = Table(title=plain(summary) if summary else None, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("95% CI", justify="right")
    ci = results.get("ci") or {}
    for name, value in {**results["metrics"], **(results.get("judge") or {})}.items():
        shown = "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        table.add_row(name, shown, f"{ci[name][0]:.3f}-{ci[name][1]:.3f}" if name in ci else "")
    for stage, value in results["latency"].items():
        table.add_row(f"{stage} (s)", f"p50 {value['p50']:.2f}, p95 {value['p95']:.2f}")
    console = Console()
    console.print(table)
    sample = results.get("sample") or {}
    if sample:
        console.print(f"sample: n={sample['n']}, seed {sample['seed']}, {len(sample['skipped'])} left out of the "
                      f"headline (see report), {len(sample['failed'])} failed", highlight=False)
    if results.get("cloze"):
        console.print(f"{results['cloze']['metrics']['questions']} cloze items: reported separately in the report")
    console.print(plain(f"run folder: {run_dir}  (report.md, report.html)"))
