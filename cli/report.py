"""Rendering reports for people (rich tables). JSON output lives with the value objects."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from rag.settings import Settings
from rag.text.terminal import line, plain, safe
from rag.types import Answer, FileStatus, IngestReport, Source, Timings

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
            table.add_row(plain(f.status.value, STYLE[f.status]), str(f.chunks), plain(f.path), plain(f.reason))
        console.print(table)
    t = report.totals
    console.print(
        f"{t.ingested} ingested, {t.updated} updated, {t.unchanged} unchanged, {t.removed} removed, "
        f"{t.skipped} skipped, [{'bold red' if t.failed else 'green'}]{t.failed} failed[/] - "
        f"+{t.chunks_added}/-{t.chunks_deleted} chunks"
        + (f", +{t.images_added}/-{t.images_deleted} images" if t.images_added or t.images_deleted else "")
        + f" in {t.seconds:.1f}s"
    )


def print_status(settings: Settings, rows: list[dict], console: Console | None = None) -> None:
    """One block per collection, label and value on each line: readable at 80 columns, where a
    six-column table broke every value (model names, paths, dates) across several lines."""
    console = console or Console()
    console.print(line("store: ", str(settings.chroma_url or settings.chroma_path)))
    if not rows:
        console.print("No collections yet - create one with `rag ingest FOLDER`.")
        return
    for r in rows:
        images = f", {r['images']} images" if r.get("images") else ""
        console.print()
        console.print(line((r["name"], "bold"), f"  {r['files']} files, {r['chunks']} chunks{images}"))
        console.print(plain(f"  indexed     {_when(r['last_indexed'])}"))
        for root in r["roots"] or ["(none recorded)"]:
            console.print(plain(_field("folder", root, console.width)))
        built = ", ".join(f"{k}={v}" for k, v in sorted(r["built_with"].items()))
        console.print(plain(_field("built with", built, console.width), "dim"))


def _field(label: str, value: str, width: int) -> str:
    """`  label       value`, the value wrapped under itself (not under the label) at `width`."""
    import textwrap

    head = f"  {label:<10}  "
    return textwrap.fill(
        value, max(width, 40), initial_indent=head, subsequent_indent=" " * len(head), break_on_hyphens=False
    )


def _when(iso: str | None) -> str:
    """ "2026-12-04 21:16 UTC" from the ISO time ingest.status gives; "never" for none."""
    if not iso:
        return "never"
    from datetime import datetime

    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def also_near_text(near: list[Source]) -> str:
    """ "a.md (0.14), b.txt p.2 (0.11)": sources retrieved but far below the best (rag.answer.sources)."""
    from rag.answer.sources import by_file

    return ", ".join(f"{s.path}{f' p.{s.page}' if s.page else ''} ({s.score:.2f})" for s in by_file(near))


def print_answer(answer: Answer, *, streamed: str | None = None, console: Console | None = None) -> None:
    """The answer (again only if checking changed what was streamed), sources, flags and provenance."""
    console = console or Console()
    if not streamed:
        console.print(plain(answer.text))
    else:
        console.print()
        if answer.text.strip() != streamed.strip():
            console.print("[dim]checked answer:[/]")
            console.print(plain(answer.text))
    if answer.rewritten_query:
        console.print(plain(f"searched for: {answer.rewritten_query}", "dim"))
    table = Table(title="closest passages" if answer.abstained else "sources", title_justify="left")
    for col in ("n", "file", "page", "score", "passage"):
        table.add_column(col, overflow="fold")
    for s in answer.sources:
        snippet = " ".join(s.text.split())
        table.add_row(
            plain(f"[{s.n}]"),
            plain(s.path),
            str(s.page or ""),
            f"{s.score:.3f}",
            plain(snippet[:160] + ("..." if len(snippet) > 160 else "")),
        )
    console.print(table)
    if answer.also_near:
        console.print(plain(f"Also near: {also_near_text(answer.also_near)}", "dim"))
    if answer.llm_error:
        console.print(line(("model unavailable:", "bold yellow"), f" {answer.llm_error}"), highlight=False)
    if answer.note:
        console.print(line(("note:", "yellow"), f" {answer.note}"), highlight=False)
    for u in answer.unsupported:
        console.print(line(("unsupported:", "yellow"), f" {u.sentence} ", (f"({u.reason})", "dim")))
    for n in answer.invalid_citations:
        console.print(line((f"removed citation [{n}]:", "yellow"), " no such source"))
    notes = []
    if answer.mode in ("extract", "both") and answer.per_sentence:
        judged = [r for r in answer.per_sentence if r.status != "skipped"]
        ok = sum(1 for r in judged if r.supported)
        notes.append(f"quoted from the sources; citation check: {ok}/{len(judged)} sentences supported")
    if answer.citations_added:
        notes.append("citations added by the checker")
    if answer.context_cut:
        notes.append("some sources did not fit the model's context and were left out")
    t = answer.timings
    who = (
        f"{answer.backend}:{answer.model}"
        if answer.backend
        else "quotes, no LLM"
        if answer.mode == "extract"
        else "no LLM (abstained)"
    )
    console.print(plain(f"{who} - {timings_text(t)}" + ("; " + "; ".join(notes) if notes else ""), "dim"))


def timings_text(t: Timings) -> str:
    """ "load 1.20s, retrieve 35 ms, first text 1.31s, total 1.40s": load and retrieve are each
    step's own time; first text and total count from the question (loading included)."""
    load = f"load {t.load_s:.2f}s, " if t.load_s >= 0.005 else ""
    first = f", first text {t.first_token_s:.2f}s" if t.first_token_s is not None else ""
    return f"{load}retrieve {t.retrieve_s * 1000:.0f} ms{first}, total {t.total_s:.2f}s"


DOCTOR_STYLE = {"ok": "green", "warning": "yellow", "problem": "bold red"}


def print_diagnosis(diagnosis, console: Console | None = None) -> None:
    """`rag doctor`: one line per part, the fix under anything that is not ok."""
    console = console or Console()
    for c in diagnosis.checks:
        console.print(line((f"{c.status:<8}", DOCTOR_STYLE[c.status]), f" {c.name:<16} {c.detail}"))
        if c.fix:
            console.print(line(f"{'':<26}fix: {c.fix}"))
    verdict = "ragspace is ready" if diagnosis.ok else "the default path cannot work until the problems above are fixed"
    console.print(f"[{'green' if diagnosis.ok else 'bold red'}]{verdict}[/]")


def print_images(images: list, console: Console | None = None) -> None:
    """Images matching the question (rag/retrieval/image_search.py), listed under the sources when there are any."""
    if not images:
        return
    table = Table(title="matching images", title_justify="left")
    for col in ("file", "page", "score"):
        table.add_column(col, overflow="fold")
    for h in images:
        table.add_row(plain(h.path), str(h.page or ""), f"{h.score:.3f}")
    (console or Console()).print(table)


def read_stream(events: Iterable[str | Answer], live: bool) -> tuple[Answer, str]:
    """Print an answer's text pieces as they come (when `live`); return the final Answer and the text shown."""
    answer, streamed = None, ""
    for event in events:
        if isinstance(event, Answer):
            answer = event
        elif live:
            streamed += event
            print(safe(event), end="", flush=True)
    if answer is None:  # the engine always ends with an Answer; a stream without one is a bug
        raise RuntimeError("the answer stream ended without an answer")
    return answer, streamed

