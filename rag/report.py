"""Rendering reports for people (rich tables). JSON output lives with the value objects."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from rag.settings import Settings
from rag.types import FileStatus, IngestReport

STYLE = {
    FileStatus.INGESTED: "green",
    FileStatus.UPDATED: "cyan",
    FileStatus.UNCHANGED: "dim",
    FileStatus.REMOVED: "magenta",
    FileStatus.SKIPPED: "yellow",
    FileStatus.FAILED: "bold red",
}


def print_report(report: IngestReport, *, verbose: bool = False, console: Console | None = None) -> None:
    console = console or Console()
    rows = [f for f in report.files if verbose or f.status is not FileStatus.UNCHANGED]
    if rows:
        table = Table(title=f"collection {report.collection!r}", show_lines=False)
        for col in ("status", "chunks", "file", "reason"):
            table.add_column(col, overflow="fold")
        for f in rows:
            table.add_row(f"[{STYLE[f.status]}]{f.status.value}[/]", str(f.chunks), f.path, f.reason or "")
        console.print(table)
    t = report.totals
    console.print(
        f"{t.ingested} ingested, {t.updated} updated, {t.unchanged} unchanged, {t.removed} removed, "
        f"{t.skipped} skipped, [{'bold red' if t.failed else 'green'}]{t.failed} failed[/] - "
        f"+{t.chunks_added}/-{t.chunks_deleted} chunks in {t.seconds:.1f}s"
    )


def print_status(settings: Settings, rows: list[dict], console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"store: {settings.chroma_url or settings.chroma_path}")
    if not rows:
        console.print("No collections yet - create one with `rag ingest FOLDER`.")
        return
    table = Table()
    for col in ("collection", "files", "chunks", "built with", "folders", "last indexed"):
        table.add_column(col, overflow="fold")
    for r in rows:
        built = ", ".join(f"{k}={v}" for k, v in r["built_with"].items())
        table.add_row(r["name"], str(r["files"]), str(r["chunks"]), built, "\n".join(r["roots"]), r["last_indexed"] or "")
    console.print(table)
