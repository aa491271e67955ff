"""Drawing the image layer (space/image_map.py) on the plotly map: markers, thumbnails, rings.

Images sharing the text's space go on the text axes; images of another space get a panel (axes x2/y2)
of their own with a title that says why. The question's nearest images are ringed like text sources.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from space.image_map import ImageLayer

IMAGES = "images"
RINGS = "image matches"
QUESTION = "question (image space)"
OVERLAY = (RINGS, QUESTION)  # the traces a question adds over a cached map
THUMB_FRACTION = {True: 0.06, False: 0.16}  # a thumbnail's side / its panel's span (shared with text: smaller)
TEXT_DOMAIN, IMAGE_DOMAIN = (0.0, 0.6), (0.64, 1.0)


def image_hover(path: str, page: int | None) -> str:
    """Hover label: the image's path (escaped: file names are untrusted) and page."""
    return f"<b>image</b> {html.escape(path)}" + (f" · page {page}" if page else "")


def axes(layer: ImageLayer) -> tuple[str, str]:
    return ("x", "y") if layer.shared else ("x2", "y2")


def add_images(fig, layer: ImageLayer, scatter, text_xy: np.ndarray | None = None) -> None:
    """Markers (legend entry "images") and thumbnails of `layer`; a panel of their own when not shared."""
    xa, ya = axes(layer)
    fig.add_trace(scatter(
        x=layer.xy[:, 0], y=layer.xy[:, 1], mode="markers", name=IMAGES, xaxis=xa, yaxis=ya, ids=layer.ids,
        marker={"symbol": "square", "size": 10, "color": "darkorange", "line": {"width": 1, "color": "black"}},
        text=[image_hover(p, pg) for p, pg in zip(layer.paths, layer.pages)], customdata=[""] * len(layer.ids),
        hovertemplate="%{text}<extra></extra>",
    ))  # fmt: skip
    if not layer.shared:
        fig.update_layout(
            xaxis={"domain": list(TEXT_DOMAIN)},
            xaxis2={"domain": list(IMAGE_DOMAIN), "anchor": "y2"},
            yaxis2={"anchor": "x2"},
        )
        fig.add_annotation(text=html.escape(layer.panel_title), xref="x2 domain", yref="y2 domain", x=0.5, y=1.0,
                           yanchor="bottom", showarrow=False, font={"size": 10})  # fmt: skip
    span_xy = layer.xy if not layer.shared or text_xy is None else _stack(layer.xy, text_xy)
    for im in _thumbnails(layer, span_xy, xa, ya):
        fig.add_layout_image(im)


def overlay_traces(
    layer: ImageLayer, ringed: Sequence[str], scatter, question: tuple[str, np.ndarray] | None = None
) -> list:
    """The question's nearest images ringed, and (in a panel of their own) the question placed among them."""
    xa, ya = axes(layer)
    index = {cid: i for i, cid in enumerate(layer.ids)}
    shown = [index[c] for c in ringed if c in index]
    out = []
    if shown:
        out.append(scatter(
            x=layer.xy[shown, 0], y=layer.xy[shown, 1], mode="markers", name=RINGS, xaxis=xa, yaxis=ya,
            ids=[layer.ids[i] for i in shown],
            marker={"symbol": "square", "size": 20, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "crimson"}},
            text=[image_hover(layer.paths[i], layer.pages[i]) for i in shown], customdata=[""] * len(shown),
            hovertemplate="nearest image: %{text}<extra></extra>",
        ))  # fmt: skip
    if question is not None and not layer.shared:  # on shared axes the text map's star is the same point
        text, qxy = question
        out.append(scatter(
            x=[float(qxy[0])], y=[float(qxy[1])], mode="markers", name=QUESTION, xaxis=xa, yaxis=ya,
            marker={"symbol": "star", "size": 18, "color": "gold", "line": {"width": 1, "color": "black"}},
            text=[html.escape(text)], customdata=[""], hovertemplate="question: %{text}<extra></extra>",
        ))  # fmt: skip
    return out


def _stack(a, b):
    import numpy as np

    return np.concatenate([a, b]) if len(b) else a


def _thumbnails(layer: ImageLayer, span_xy, xa: str, ya: str) -> list[dict]:
    """Plotly layout images (base64 PNG: no URL, so the figure works offline), centred on their points."""
    if not any(layer.thumbs):
        return []
    span = span_xy.max(0) - span_xy.min(0)
    sx, sy = (max(float(s), 1e-6) * THUMB_FRACTION[layer.shared] for s in span)
    out = []
    for i, png in enumerate(layer.thumbs):
        if png:
            source = "data:image/png;base64," + base64.b64encode(png).decode()
            x, y = float(layer.xy[i, 0]), float(layer.xy[i, 1])
            out.append({"source": source, "xref": xa, "yref": ya, "x": x, "y": y, "sizex": sx, "sizey": sy,
                        "xanchor": "center", "yanchor": "middle", "layer": "above", "sizing": "contain"})  # fmt: skip
    return out
