"""Figures of the space: the map as interactive plotly (HTML, the UI) or matplotlib PNG; the compression plot."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from space.errors import SpaceError

if TYPE_CHECKING:
    import numpy as np

    from space.image_map import ImageLayer
    from space.map import SpaceMap

MAX_FILE_TRACES = 20  # beyond this a legend is unreadable: the smaller files share one "other files" trace
OTHER = "other files"
WEBGL_FROM = 5000  # points; SVG scatter gets slow in the browser above this


def hover_text(path: str, preview: str) -> str:
    """Hover label: path and passage, HTML-escaped (document text is untrusted) and wrapped."""
    # fixed-width slices: textwrap over 20k previews took most of the 19 s a big map needed to draw
    flat = " ".join(preview.split())
    lines = [flat[i : i + 80] for i in range(0, min(len(flat), 400), 80)]
    return f"<b>{html.escape(path)}</b><br>" + "<br>".join(html.escape(line) for line in lines)


def groups(space_map: SpaceMap, color_by: str) -> list[tuple[str, list[int]]]:
    """(legend name, point indices) per trace, largest first."""
    if color_by == "topic":
        members: dict[str, list[int]] = {}
        for i, t in enumerate(space_map.topics.tolist()):
            name = f"{t}: {space_map.topic_labels.get(t, '')}" if t >= 0 else "no topic"
            members.setdefault(name, []).append(i)
        return sorted(members.items(), key=lambda kv: -len(kv[1]))
    if color_by != "file":
        raise SpaceError(f"Unknown colouring {color_by!r} - use `file` or `topic`.")
    top = {p for p, _ in Counter(space_map.paths).most_common(MAX_FILE_TRACES)}
    members = {}
    for i, p in enumerate(space_map.paths):
        members.setdefault(p if p in top else OTHER, []).append(i)
    # "other files" first, so the coloured traces are drawn over it rather than hidden under it
    return sorted(members.items(), key=lambda kv: (kv[0] != OTHER, -len(kv[1]), kv[0]))


def map_figure(
    space_map: SpaceMap,
    *,
    color_by: str = "file",
    highlight_ids: Sequence[str] = (),
    question: tuple[str, np.ndarray] | None = None,
    images: ImageLayer | None = None,
    image_ring: Sequence[str] = (),
    image_question: tuple[str, np.ndarray] | None = None,
):
    """The interactive map: one trace per file or topic; sources ringed; the question as a star.

    Every point carries its chunk id in `customdata`, so a click can open its passage. `images`
    (space/image_map.py) adds the collection's images, `image_ring` rings the question's nearest ones and
    `image_question` places the question among them when they have a panel of their own.
    """
    import plotly.graph_objects as go

    scatter = go.Scattergl if len(space_map.ids) >= WEBGL_FROM else go.Scatter
    xy, fig = space_map.xy, go.Figure()
    for name, idx in groups(space_map, color_by):
        marker = {"size": 6, "opacity": 0.75, **({"color": "lightgrey"} if name == OTHER else {})}
        fig.add_trace(scatter(
            x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=html.escape(name), marker=marker,
            text=[hover_text(space_map.paths[i], space_map.previews[i]) for i in idx],
            customdata=[space_map.ids[i] for i in idx], hovertemplate="%{text}<extra></extra>",
        ))  # fmt: skip
    index = {cid: i for i, cid in enumerate(space_map.ids)}
    shown = [index[c] for c in highlight_ids if c in index]
    if shown:
        # same trace type as the map: WebGL is painted over SVG, so SVG rings would be hidden on a big map
        fig.add_trace(scatter(
            x=xy[shown, 0], y=xy[shown, 1], mode="markers", name="sources",
            marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "crimson"}},
            text=[hover_text(space_map.paths[i], space_map.previews[i]) for i in shown],
            customdata=[space_map.ids[i] for i in shown], hovertemplate="source: %{text}<extra></extra>",
        ))  # fmt: skip
    if question is not None:
        text, qxy = question
        fig.add_trace(scatter(
            x=[float(qxy[0])], y=[float(qxy[1])], mode="markers", name="question",
            marker={"symbol": "star", "size": 20, "color": "gold", "line": {"width": 1, "color": "black"}},
            text=[html.escape(text)], customdata=[""], hovertemplate="question: %{text}<extra></extra>",
        ))  # fmt: skip
    if images is not None:
        from space.image_plot import add_images, overlay_traces

        add_images(fig, images, scatter, xy)
        fig.add_traces(overlay_traces(images, image_ring, scatter, image_question))
    shown_n, total = len(space_map.ids), space_map.total
    title = f"{html.escape(space_map.collection)}: {shown_n} chunks ({space_map.method.upper()})"
    if total > shown_n:
        title += f", a sample of {total}"
    if images is not None:
        title += f" + {len(images.ids)} images"
    fig.update_layout(title=title, template="plotly_white", legend={"itemsizing": "constant"}, height=650)
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(showticklabels=False, title=None)
    return fig


def write_map(space_map: SpaceMap, out: Path, *, color_by: str = "file", images: ImageLayer | None = None) -> Path:
    """Export the map: `.html` is interactive with plotly.js inlined (works offline), `.png` is a static image."""
    suffix = out.suffix.lower()
    if suffix not in (".html", ".png"):
        raise SpaceError(f"Cannot write {out.name}: use a .html (interactive) or .png (image) file name.")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        map_figure(space_map, color_by=color_by, images=images).write_html(out, include_plotlyjs=True)
        return out
    plt = _pyplot()
    own_panel = images is not None and not images.shared
    fig, axs = plt.subplots(1, 2 if own_panel else 1, figsize=(16 if own_panel else 10, 8), dpi=110, squeeze=False)
    ax = axs[0][0]
    size = max(2.0, min(40.0, 40000 / max(1, len(space_map.ids))))  # dots shrink as the map fills up
    for name, idx in groups(space_map, color_by):
        ax.scatter(space_map.xy[idx, 0], space_map.xy[idx, 1], s=size, alpha=0.7, label=_short(name))
    if images is not None:  # drawn after the chunks, so they are on top on shared axes
        _png_images(axs[0][-1], images)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{space_map.collection}: {len(space_map.ids)} chunks ({space_map.method.upper()})")
    ax.legend(fontsize=7, loc="best", markerscale=2)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def compression_figure(rows: Sequence[dict], out: Path) -> Path:
    """PNG of recall@k against bytes per vector, one point per compression scheme."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for r in rows:
        ax.scatter(r["bytes_per_vector"], r["recall"], s=30)
        below = r.get("rescored")  # a rescored scheme sits on its plain twin's x: label it underneath
        ax.annotate(r["name"], (r["bytes_per_vector"], r["recall"]), fontsize=7, xytext=(4, -10 if below else 2),
                    textcoords="offset points")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bytes per vector (log scale)")
    ax.set_ylabel(f"recall@{rows[0]['k'] if rows else 10} vs float32")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def _png_images(ax, images: ImageLayer) -> None:
    ax.scatter(images.xy[:, 0], images.xy[:, 1], s=40, marker="s", c="darkorange", edgecolors="black", label="images")
    if not images.shared:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(images.note, fontsize=8, wrap=True)
        ax.legend(fontsize=7, loc="best")


def _short(name: str, chars: int = 40) -> str:
    return name if len(name) <= chars else "…" + name[-(chars - 1) :]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server
    import matplotlib.pyplot as plt

    return plt
