"""The `rag` command line: a thin edge over rag/ and ingest/.

Exit codes: 0 success; 1 some files failed to ingest (the rest were ingested); 2 a usage,
settings, model or store error (nothing was changed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from rag.errors import RagError

app = typer.Typer(
    help="ragspace: chat with a folder of documents, locally. Start with `rag ingest FOLDER`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

CollectionOpt = typer.Option(None, "--collection", "-c", help="Collection name (default: settings `collection`).")
ChromaOpt = typer.Option(None, "--chroma-url", help="Chroma server URL (default: embedded store under RAG_HOME).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of tables.")


def _settings(**flags):
    from rag.settings import load_settings

    return load_settings(**flags)


@app.command()
def ingest(
    paths: List[Path] = typer.Argument(
        None, help="Files or folders to index (default with --rebuild: the ones indexed before)."
    ),
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    as_json: bool = JsonOpt,
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Re-embed everything into a new collection, swapped in when complete."
    ),
    watch: bool = typer.Option(False, "--watch", help="Keep syncing as files change (Ctrl-C to stop)."),
    include: Optional[List[str]] = typer.Option(None, "--include", help="Only files matching this glob (repeatable)."),
    exclude: Optional[List[str]] = typer.Option(
        None, "--exclude", help="Leave out files matching this glob (repeatable)."
    ),
    chunk_size: Optional[int] = typer.Option(None, "--chunk-size", help="Max tokens per chunk."),
    chunk_overlap: Optional[int] = typer.Option(None, "--chunk-overlap", help="Tokens of overlap."),
    embed_model: Optional[str] = typer.Option(None, "--embed-model", help="sentence-transformers model name or path."),
    max_file_mb: Optional[float] = typer.Option(None, "--max-file-mb", help="Skip files larger than this."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List unchanged files too."),
) -> None:
    """Index files and folders; re-runs embed only what changed and drop what was deleted."""
    from ingest.pipeline import Sync
    from ingest.progress import NullProgress, RichProgress
    from rag.app import build_embedder, build_store
    from rag.report import print_report

    s = _settings(
        collection=collection,
        chroma_url=chroma_url,
        include=include or None,
        exclude=exclude or None,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        embed_model=embed_model,
        max_file_mb=max_file_mb,
    )
    embedder, store = build_embedder(s), build_store(s)
    paths = list(paths or [])

    def run_once(rebuild_now: bool = False):
        progress = RichProgress() if (sys.stderr.isatty() and not as_json) else NullProgress()
        try:
            return Sync(s, embedder, store, progress).run(paths, rebuild=rebuild_now)
        finally:
            progress.close()

    def show(report) -> None:
        if as_json:
            print(json.dumps(report.to_dict()), flush=True)
        else:
            print_report(report, verbose=verbose)

    if watch:
        from ingest.watch import watch as watch_loop

        first = run_once(rebuild)
        show(first)
        watch_loop(paths or [Path(".")], run_once, show, debounce_ms=s.watch_debounce_ms, initial=False)
        return
    report = run_once(rebuild)
    show(report)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def status(
    collection: Optional[str] = CollectionOpt, chroma_url: Optional[str] = ChromaOpt, as_json: bool = JsonOpt
) -> None:
    """Collections, their chunk and file counts, and how each was built."""
    from ingest.status import collection_status
    from rag.app import build_store
    from rag.report import print_status

    s = _settings(chroma_url=chroma_url)
    rows = collection_status(s, build_store(s), only=collection)
    if as_json:
        print(json.dumps({"store": s.chroma_url or str(s.chroma_path), "collections": rows}))
    else:
        print_status(s, rows)


@app.command()
def remove(
    paths: List[Path] = typer.Argument(
        ..., help="Indexed files or folders to drop from the index (files are not deleted)."
    ),
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Drop a file or folder from the index."""
    from ingest.pipeline import remove_paths
    from rag.app import build_store
    from rag.report import print_report

    s = _settings(collection=collection, chroma_url=chroma_url)
    report = remove_paths(paths, s, build_store(s))
    if as_json:
        print(json.dumps(report.to_dict()))
    else:
        print_report(report, verbose=True)


@app.command()
def ask(
    question: str = typer.Argument(..., help="Your question, in quotes."),
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    top_k: Optional[int] = typer.Option(None, "--top-k", "-k", help="Sources to retrieve."),
    hybrid: Optional[bool] = typer.Option(None, "--hybrid/--dense", help="Fuse keyword (BM25) and dense search."),
    mmr: Optional[bool] = typer.Option(None, "--mmr/--no-mmr", help="Diversify sources (maximal marginal relevance)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Minimum cosine similarity of a source."),
    path_glob: Optional[str] = typer.Option(None, "--only", help="Only sources whose path matches this glob."),
    llm: Optional[str] = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]"),
    mode: Optional[str] = typer.Option(
        None, "--mode", help="auto | extract (quote the sources) | generate (the LLM writes) | both"
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Answer a question from your documents, with numbered citations."""
    from rag.app import build_engine
    from rag.report import print_answer
    from rag.types import Answer

    s = _settings(
        collection=collection,
        chroma_url=chroma_url,
        top_k=top_k,
        hybrid=hybrid,
        mmr=mmr,
        relevance_threshold=threshold,
        llm=llm,
        answer_mode=mode,
    )
    engine = build_engine(s)
    live = sys.stdout.isatty() and not as_json
    answer, streamed = None, ""
    for event in engine.stream(question, path_glob=path_glob):
        if isinstance(event, Answer):
            answer = event
        elif live:
            streamed += event
            print(event, end="", flush=True)
    if as_json:
        print(json.dumps(answer.to_dict()))
    else:
        print_answer(answer, streamed=streamed if live else None)


@app.command()
def chat(
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    host: Optional[str] = typer.Option(
        None, "--host", help="Address to serve on (default 127.0.0.1; any other needs --auth)."
    ),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 7860, or RAG_UI_PORT)."),
    auth: Optional[str] = typer.Option(None, "--auth", help="user:password needed to open the UI (default: RAG_AUTH)."),
    llm: Optional[str] = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]"),
) -> None:
    """Chat with your documents in the browser (`--collection samples` indexes the sample documents on first run)."""
    from ui.launch import chat_command

    chat_command(collection=collection, host=host, port=port, auth=auth, llm=llm, chroma_url=chroma_url)


def _register_subcommands() -> None:
    # eval/ and space/ depend on rag/, so their commands are attached here at the edge, not imported by the core
    from eval.cli import eval_app
    from space.cli import space_app

    app.add_typer(eval_app, name="eval")
    app.add_typer(space_app, name="space")


_register_subcommands()


def main() -> None:
    """Entry point: runs the app and turns our domain errors into a message and an exit code."""
    try:
        app()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
