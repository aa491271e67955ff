"""The `rag` command line: a thin edge over rag/ and ingest/.

Exit codes: 0 success; 1 some files failed to ingest (the rest were ingested); 2 a usage,
settings, model or store error (nothing was changed); 3 an unexpected error (see rag.crash).
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
AllowedHostOpt = typer.Option(
    None, "--allowed-host", help="A Host name to answer besides localhost (repeatable; others get 421)."
)
NoWaitOpt = typer.Option(
    False, "--no-wait", help="If another process is writing the collection, exit (code 2) instead of waiting."
)


def _waiting(collection: str):
    """What a writer prints while another process holds the collection's writer lock."""

    def on_wait(holder) -> None:
        from rag.text.terminal import safe

        print(
            safe(
                f"waiting: collection {collection!r} is being written by {holder.describe()}; "
                "this run starts when it finishes (Ctrl-C to stop, --no-wait to exit instead)"
            ),
            file=sys.stderr,
            flush=True,
        )

    return on_wait


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
    follow_links_outside: Optional[bool] = typer.Option(
        None, "--follow-links-outside", help="Follow symlinks that lead out of the folder (default: skip them)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List unchanged files too."),
    no_wait: bool = NoWaitOpt,
) -> None:
    """Index files and folders; re-runs embed only what changed and drop what was deleted."""
    from ingest.pipeline import Sync
    from ingest.progress import NullProgress, RichProgress
    from rag.app import build_embedder, build_image_embedder, build_store
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
        follow_links_outside=follow_links_outside,
    )
    embedder, store = build_embedder(s), build_store(s)
    image_embedder = build_image_embedder(s)  # None unless `image_model` is set; loaded once for --watch
    paths = list(paths or [])

    def run_once(rebuild_now: bool = False):
        progress = RichProgress() if (sys.stderr.isatty() and not as_json) else NullProgress()
        try:
            sync = Sync(
                s, embedder, store, progress,
                wait=not no_wait, on_wait=_waiting(s.collection), image_embedder=image_embedder,
            )  # fmt: skip
            return sync.run(paths, rebuild=rebuild_now)
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
    no_wait: bool = NoWaitOpt,
) -> None:
    """Drop a file or folder from the index."""
    from ingest.pipeline import remove_paths
    from rag.app import build_store
    from rag.report import print_report

    s = _settings(collection=collection, chroma_url=chroma_url)
    report = remove_paths(paths, s, build_store(s), wait=not no_wait, on_wait=_waiting(s.collection))
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
    from rag.app import build_engine, build_store
    from rag.report import print_answer, print_images
    from rag.retrieval.image_search import images_for_answer
    from rag.text.terminal import safe
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
    store = build_store(s)
    engine = build_engine(s, store=store)
    live = sys.stdout.isatty() and not as_json
    answer, streamed = None, ""
    for event in engine.stream(question, path_glob=path_glob):
        if isinstance(event, Answer):
            answer = event
        elif live:
            streamed += event
            print(safe(event), end="", flush=True)
    images = images_for_answer(s, store, question, answer.rewritten_query)  # shown, never sent to the LLM
    if as_json:
        print(json.dumps({**answer.to_dict(), "images": [h.to_dict() for h in images]}))
    else:
        print_answer(answer, streamed=streamed if live else None)
        print_images(images)


@app.command()
def chat(
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    host: Optional[str] = typer.Option(
        None, "--host", help="Address to serve on (default 127.0.0.1; any other needs --auth-file or RAG_AUTH)."
    ),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 7860, or RAG_UI_PORT)."),
    auth_file: Optional[Path] = typer.Option(
        None, "--auth-file", help="A file holding user:password needed to open the UI (or set RAG_AUTH)."
    ),
    auth: Optional[str] = typer.Option(None, "--auth", hidden=True, help="Refused: visible in `ps`."),
    ssl_certfile: Optional[Path] = typer.Option(None, "--ssl-certfile", help="TLS certificate (PEM): serve https."),
    ssl_keyfile: Optional[Path] = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM) of --ssl-certfile."),
    llm: Optional[str] = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]"),
    allowed_host: Optional[List[str]] = AllowedHostOpt,
) -> None:
    """Chat with your documents in the browser (`--collection samples` indexes the sample documents on first run)."""
    from ui.config import refuse_auth_flag
    from ui.launch import chat_command

    if auth is not None:
        refuse_auth_flag()
    chat_command(
        collection=collection, host=host, port=port, auth_file=auth_file, llm=llm, chroma_url=chroma_url,
        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, allowed_hosts=allowed_host,
    )  # fmt: skip


@app.command()
def doctor(
    chroma_url: Optional[str] = ChromaOpt,
    llm: Optional[str] = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]"),
    as_json: bool = JsonOpt,
) -> None:
    """Check every part ragspace needs (models, store, LLM, disk); exit 2 when the default path cannot work."""
    from rag.doctor import diagnose
    from rag.report import print_diagnosis

    diagnosis = diagnose(_settings(chroma_url=chroma_url, llm=llm))
    if as_json:
        print(json.dumps(diagnosis.to_dict()))
    else:
        print_diagnosis(diagnosis)
    raise typer.Exit(0 if diagnosis.ok else 2)


@app.command()
def serve(
    host: Optional[str] = typer.Option(
        None, "--host", help="Address to serve on (default 127.0.0.1; any other needs RAG_API_KEY)."
    ),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 8000, or RAG_API_PORT)."),
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    llm: Optional[str] = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]"),
    allowed_host: Optional[List[str]] = AllowedHostOpt,
) -> None:
    """Serve an OpenAI-compatible API (/v1) and the MCP tools (/mcp) over your collections."""
    from api.server import serve_command

    serve_command(
        host=host, port=port, collection=collection, llm=llm, chroma_url=chroma_url, allowed_hosts=allowed_host
    )


@app.command()
def mcp(
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    llm: Optional[str] = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]"),
) -> None:
    """Serve the MCP tools (search, ask, list_collections, get_passage) over stdin/stdout, for agents."""
    from api.server import mcp_command

    mcp_command(collection=collection, llm=llm, chroma_url=chroma_url)


def _register_subcommands() -> None:
    # eval/ and space/ depend on rag/, so their commands are attached here at the edge, not imported by the core
    from eval.cli import eval_app
    from space.cli import space_app

    app.add_typer(eval_app, name="eval")
    app.add_typer(space_app, name="space")


_register_subcommands()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Print the traceback of an unexpected error (any position; or RAG_DEBUG=1)."
    ),
    trust_config: bool = typer.Option(
        False, "--trust-config", help="Let ./rag.toml point chroma_url/ollama_host at another machine (any position)."
    ),
) -> None:
    """ragspace: chat with a folder of documents, locally. Start with `rag ingest FOLDER`."""
    # main() takes `--debug` and `--trust-config` out of argv so every subcommand accepts them; this documents them


def main() -> None:
    """Entry point: runs the app and turns errors into a message and an exit code (see module doc)."""
    from rag.config_trust import take_trust_flag
    from rag.crash import report_unexpected, take_debug_flag
    from rag.text.terminal import install_safe_logging, safe

    install_safe_logging()  # log lines name documents and quote their errors
    debug = take_debug_flag(sys.argv)
    take_trust_flag(sys.argv)
    as_json = _wants_json(sys.argv)
    try:
        _run_for_json() if as_json else app()
    except RagError as exc:
        print(f"error: {safe(exc)}", file=sys.stderr)  # errors may quote a path or a document's words
        _json_error(as_json, str(exc), "error", exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        _json_error(as_json, "interrupted", "interrupted", 130)
        sys.exit(130)
    except Exception as exc:  # not ours: one line and exit 3, never the "some files failed" code
        code = report_unexpected(exc, debug)
        _json_error(as_json, f"unexpected {type(exc).__name__}: {exc}", "unexpected", code)
        sys.exit(code)


def _wants_json(argv: list[str]) -> bool:
    end = argv.index("--") if "--" in argv else len(argv)
    return "--json" in argv[1:end]


def _run_for_json() -> None:
    """Run the app so that a usage error (bad option or value) comes back here, to be answered in JSON
    as well: a JSON consumer reads stdout, where click's message never goes."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        raise KeyboardInterrupt from None
    except typer.TyperException as exc:  # typer's (vendored) click usage errors: bad option, bad value
        exc.show()
        _json_error(True, exc.format_message(), "usage", exc.exit_code)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _json_error(as_json: bool, message: str, kind: str, exit_code: int) -> None:
    """With --json, the error as one JSON object on stdout (the message also went to stderr)."""
    if as_json:
        print(json.dumps({"error": {"message": message, "kind": kind, "exit_code": exit_code}}), flush=True)


if __name__ == "__main__":
    main()
