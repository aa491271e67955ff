"""`rag ingest`, `rag status`, `rag remove`: the index of a collection."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from cli.options import ChromaOpt, CollectionOpt, JsonOpt, NoWaitOpt, load_settings, waiting


def ingest(
    paths: list[Path] = typer.Argument(
        None, help="Files or folders to index (default with --rebuild: the ones indexed before)."
    ),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Re-embed everything into a new collection, swapped in when complete."
    ),
    watch: bool = typer.Option(False, "--watch", help="Keep syncing as files change (Ctrl-C to stop)."),
    include: list[str] | None = typer.Option(None, "--include", help="Only files matching this glob (repeatable)."),
    exclude: list[str] | None = typer.Option(
        None, "--exclude", help="Leave out files matching this glob (repeatable)."
    ),
    chunk_size: int | None = typer.Option(None, "--chunk-size", help="Max tokens per chunk."),
    chunk_overlap: int | None = typer.Option(None, "--chunk-overlap", help="Tokens of overlap."),
    embed_model: str | None = typer.Option(None, "--embed-model", help="sentence-transformers model name or path."),
    max_file_mb: float | None = typer.Option(None, "--max-file-mb", help="Skip files larger than this."),
    follow_links_outside: bool | None = typer.Option(
        None, "--follow-links-outside", help="Follow symlinks that lead out of the folder (default: skip them)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List unchanged files too."),
    no_wait: bool = NoWaitOpt,
) -> None:
    """Index files and folders; re-runs embed only what changed and drop what was deleted."""
    from cli.report import print_report
    from ingest.pipeline import Sync
    from ingest.progress import NullProgress, RichProgress
    from rag.app import build_embedder, build_image_embedder, build_store

    s = load_settings(
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
                wait=not no_wait, on_wait=waiting(s.collection), image_embedder=image_embedder,
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


def status(
    collection: str | None = CollectionOpt, chroma_url: str | None = ChromaOpt, as_json: bool = JsonOpt
) -> None:
    """Collections, their chunk and file counts, and how each was built."""
    from cli.report import print_status
    from ingest.status import collection_status
    from rag.app import build_store

    s = load_settings(chroma_url=chroma_url)
    rows = collection_status(s, build_store(s), only=collection)
    if as_json:
        print(json.dumps({"store": s.chroma_url or str(s.chroma_path), "collections": rows}))
    else:
        print_status(s, rows)


def remove(
    paths: list[Path] = typer.Argument(
        ..., help="Indexed files or folders to drop from the index (files are not deleted)."
    ),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
    no_wait: bool = NoWaitOpt,
) -> None:
    """Drop a file or folder from the index."""
    from cli.report import print_report
    from ingest.pipeline import remove_paths
    from rag.app import build_store

    s = load_settings(collection=collection, chroma_url=chroma_url)
    report = remove_paths(paths, s, build_store(s), wait=not no_wait, on_wait=waiting(s.collection))
    if as_json:
        print(json.dumps(report.to_dict()))
    else:
        print_report(report, verbose=True)
