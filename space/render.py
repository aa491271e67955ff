"""Rich tables of the space commands' results, for people at a terminal (JSON lives in the CLI)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from rag.text.terminal import line, plain
from rich.console import Console
from rich.table import Table

from space.vectors import preview

if TYPE_CHECKING:
    from space.compress import Row
    from space.duplicates import FilePair
    from space.health import Health
    from space.map import SpaceMap
    from space.similarity import Arithmetic, Hit
    from space.topics import Topics
    from space.vectors import Vectors


def _table(title: str, *columns: str) -> Table:
    # titles can hold the user's text or a collection's words: never markup
    table = Table(title=plain(title), show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    return table


def print_map(m: SpaceMap, written: Path | None, console: Console | None = None) -> None:
    console = console or Console()
    sample = f" (a sample of {m.total})" if m.total > len(m.ids) else ""
    files = len(set(m.paths))
    console.print(plain(f"{m.collection}: {len(m.ids)} chunks{sample} from {files} files, {m.method.upper()}"))
    sizes = Counter(m.topics.tolist())
    table = _table("topics on the map", "topic", "chunks", "label")
    for t, label in sorted(m.topic_labels.items()):
        table.add_row(str(t), str(sizes.get(t, 0)), plain(label))
    console.print(table)
    if written:
        console.print(line("map written to ", str(written)))
    else:
        console.print("write it with --out map.html (interactive) or --out map.png")


def print_topics(found: Topics, vecs: Vectors, console: Console | None = None) -> None:
    console = console or Console()
    scores = ", ".join(f"k={k}: {s:.3f}" for k, s in found.scores.items())
    console.print(f"{found.k} topics over {len(vecs)} chunks; silhouette {found.silhouette:.3f} ({scores})")
    table = _table(f"topics in {vecs.collection!r}", "topic", "chunks", "distinctive terms", "example passages")
    for t in found.topics:
        examples = "\n".join(f"{Path(vecs.paths[i]).name}: {preview(vecs.texts[i], 100)}" for i in t.examples)
        table.add_row(str(t.id), str(t.size), plain(", ".join(t.terms)), plain(examples))
    console.print(table)


def print_hits(hits: list[Hit], title: str, console: Console | None = None) -> None:
    table = _table(title, "cosine", "file", "passage")
    for h in hits:
        table.add_row(f"{h.score:.3f}", plain(h.path), plain(h.preview))
    (console or Console()).print(table)


def print_arithmetic(expr: str, result: Arithmetic, console: Console | None = None) -> None:
    console = console or Console()
    shown = " ".join(f"{'+' if s > 0 else '-'} {t}" for s, t in result.terms).lstrip("+ ")
    table = _table(f"terms nearest to {shown}", "cosine", "term", "")
    for term, score, given in result.nearest_terms:
        table.add_row(f"{score:.3f}", plain(term), "[dim](given)[/]" if given else "")
    console.print(table)
    print_hits(result.nearest_chunks, "nearest chunks", console)
    console.print(
        "[dim]Sentence embeddings are trained to compare whole passages, not to make word offsets linear: "
        "analogies are much weaker than with word2vec and the given terms themselves often rank first.[/]"
    )


def print_duplicates(pairs: list[FilePair], threshold: float, n: int, console: Console | None = None) -> None:
    console = console or Console()
    if not pairs:
        console.print(f"no chunk pairs at cosine >= {threshold} across different files ({n} chunks checked)")
        return
    table = _table(f"near-duplicates at cosine >= {threshold}", "file A", "file B", "pairs", "A", "B", "best",
                   "example")  # fmt: skip
    for p in pairs:
        table.add_row(plain(p.file_a), plain(p.file_b), str(len(p.pairs)), f"{p.chunks_a}/{p.total_a}",
                      f"{p.chunks_b}/{p.total_b}", f"{p.best:.3f}", plain(p.pairs[0].preview[:120]))  # fmt: skip
    console.print(table)
    console.print("A/B: chunks of each file that have a near-copy in the other. Remove or merge the copies, then "
                  "`rag ingest` again.")  # fmt: skip


def print_health(report: Health, console: Console | None = None) -> None:
    console = console or Console()
    console.print(plain(f"{report.collection}: {report.chunks} chunks (neighbour measures on {report.sampled})"))
    table = _table("health of the space", "measure", "value", "what it means", "what to do")
    for m in report.measures:
        table.add_row(plain(m.name), plain(m.shown), plain(m.meaning), plain(m.advice))
    console.print(table)
    hubs = next((m.details.get("hubs") for m in report.measures if m.name == "hubness"), None)
    if hubs:
        console.print(plain("top hubs: " + "; ".join(f"{h['path']} (in {h['k_occurrence']} lists)" for h in hubs)))


def print_compression(rows: list[Row], n: int, m: int, source: str, plot: Path | None, console=None) -> None:
    console = console or Console()
    table = _table(f"recall@{rows[0].k} against float32 ({n} chunks, {source})", "vectors", "bytes/vector",
                   "memory saved", f"recall@{rows[0].k}")  # fmt: skip
    for r in rows:
        table.add_row(plain(r.name), f"{r.bytes_per_vector:g}", f"{r.memory_saving:.1f}x", f"{r.recall:.3f}")
    console.print(table)
    console.print("[dim]Rescoring keeps the float32 vectors on disk and reads 4 x k candidates per query.[/]")
    if plot:
        console.print(line("plot written to ", str(plot)))


def print_image_hits(hits, title: str, console: Console | None = None) -> None:
    """Images ranked by cosine (rag space similar --images / --image)."""
    table = _table(title, "cosine", "image", "page")
    for h in hits:
        table.add_row(f"{h.score:.3f}", plain(h.path), str(h.page or ""))
    (console or Console()).print(table)


def print_classes(rows: list[tuple[str, float, float]], image, console: Console | None = None) -> None:
    """Zero-shot labels of an image, most likely first."""
    table = _table(f"labels of {image}", "probability", "label", "cosine")
    for label, prob, cos in rows:
        table.add_row(f"{prob:.3f}", plain(label), f"{cos:.3f}")
    (console or Console()).print(table)
