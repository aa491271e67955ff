"""The Space tab in gradio: `build_space_tab` lays it out, `SpaceEvents` adapts ui.space's plain
functions to component updates. Shared objects only here; per-user state is the session's `SpaceView`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace

from rag.errors import RagError
from rag.settings import Settings
from ui import render
from ui.handlers import Session
from ui.lazy import gradio as _gr
from ui.space import (
    COLORS,
    BaseFigures,
    SpaceView,
    error_html,
    figure_dict,
    follow_chat,
    health,
    health_html,
    load_view,
    map_summary,
    open_passage,
    passage_html,
    show_text,
    shown_html,
    similar_text,
    source_choices,
    topic_rows,
)
from ui.space_images import with_nearest_images

# gr.Plot has no click event (gradio issue #11413): plotly's own `plotly_click` on the plot's div writes
# the point's chunk id (its customdata) into the chunk-id box and presses Open. Gradio may redraw the
# div with a fresh plot (which drops listeners), so a light timer (150 ms: a click soon after a redraw
# still counts) re-attaches whenever ours is missing.
CLICK_JS = """
() => {
  if (window.__ragSpaceClick) { return; }
  window.__ragSpaceClick = true;
  const onClick = (ev) => {
    const p = ev && ev.points && ev.points[0];
    const id = p && (Array.isArray(p.customdata) ? p.customdata[0] : p.customdata);
    if (!id) { return; }  // the question's star has no passage
    const box = document.querySelector('#rag-space-pick textarea, #rag-space-pick input');
    const open = document.querySelector('#rag-space-open');
    if (!box || !open) { return; }
    const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(box), 'value').set;
    setter.call(box, String(id));
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => open.click(), 150);
  };
  onClick.__rag = true;
  setInterval(() => {
    const gd = document.querySelector('#rag-space-map .js-plotly-plot');
    if (!gd || typeof gd.on !== 'function') { return; }
    const listeners = gd._ev ? gd._ev.listeners('plotly_click') : [];
    if (!listeners.some((f) => f.__rag)) { gd.on('plotly_click', onClick); }
  }, 150);
}
"""


class SpaceEvents:
    """The Space tab's event handlers over the shared embedder, store and engine pool."""

    def __init__(self, settings: Settings, embedder, store, pool) -> None:
        from rag.models.image_decode import decode_image

        from space.image_map import Thumbnails

        self.settings, self.embedder, self.store, self.pool = settings, embedder, store, pool
        self.figures = BaseFigures()
        self.thumbs = Thumbnails(lambda data: decode_image(data, max_pixels=settings.image_max_pixels))

    def plot(self, view: SpaceView):
        """The gr.Plot value: the cached map's JSON plus the question's traces (no figure rebuilt)."""
        from gradio.components.plot import PlotData  # gr.Plot passes a PlotData through as it is

        fig = figure_dict(view, self.figures)
        return None if fig is None else PlotData(type="plotly", plot=json.dumps(fig))

    def refresh(self, view: SpaceView, seconds: float | None = None) -> tuple:
        """(view, plot, status, shown, source picker, topics) for the current view."""
        gr = _gr()
        return (
            view,
            self.plot(view),
            map_summary(view, seconds),
            shown_html(view),
            gr.update(choices=source_choices(view), value=None),
            topic_rows(view.space_map),
        )

    def _load(self, session: Session, view: SpaceView) -> tuple[SpaceView, float]:
        started = time.perf_counter()
        view = load_view(self.settings, self.store, session.collection, view, thumbs=self.thumbs)
        return view, time.perf_counter() - started

    def _images(self, view: SpaceView) -> SpaceView:
        """The shown question's nearest images, when the map has images (the image model loads once)."""
        if view.images is None or view.shown is None:
            return view
        return with_nearest_images(view, self.pool.image_embedder(), self.store)

    def on_select(self, session: Session, view: SpaceView) -> Iterator[tuple]:
        """The tab was opened: (re)load the map (instant when cached) and draw the latest chat question."""
        gr = _gr()
        busy = f"Loading the map of <b>{render.text(session.collection)}</b>… (a big collection takes seconds once)"
        yield (gr.skip(), gr.skip(), f'<div class="rag-status">{busy}</div>', *([gr.skip()] * 3))
        try:
            view, seconds = self._load(session, view)
        except RagError as exc:
            yield (replace(view, space_map=None), None, error_html(str(exc)), shown_html(view), gr.update(), [])
            return
        yield self.refresh(self._images(follow_chat(view, session, self.embedder)), seconds)

    def on_show(self, text: str, session: Session, view: SpaceView) -> tuple:
        """Retrieval only (no LLM) for `text`, as the chat would search, drawn with its sources."""

        def find(v: SpaceView) -> SpaceView:
            with self.pool.lease(session.collection, session.options.llm) as engine:
                return show_text(v, text, engine.retriever, self.embedder, session)

        return self._draw(session, view, find)

    def on_similar(self, text: str, session: Session, view: SpaceView) -> tuple:
        """The chunks nearest to `text` by cosine alone, drawn on the map."""
        return self._draw(session, view, lambda v: similar_text(v, text, self.store, session.collection, self.embedder))

    def _draw(self, session: Session, view: SpaceView, find) -> tuple:
        gr = _gr()
        try:
            seconds = None
            if view.space_map is None or view.space_map.collection != session.collection:
                view, seconds = self._load(session, view)
            view = self._images(find(view))
        except RagError as exc:
            return (view, gr.skip(), error_html(str(exc)), *([gr.skip()] * 3))
        return self.refresh(view, seconds)

    def on_health(self, session: Session) -> str:
        try:
            return health_html(health(self.settings, self.store, session.collection, session, self.embedder))
        except RagError as exc:
            return error_html(str(exc))

    def on_color(self, color: str, view: SpaceView) -> tuple:
        view = replace(view, color_by=color if color in COLORS else "file")
        return view, self.plot(view)

    def on_open(self, chunk_id: str, session: Session) -> str:
        try:
            return passage_html(open_passage(self.store, session.collection, chunk_id))
        except RagError as exc:
            return error_html(str(exc))

    def on_pick(self, chunk_id: str | None, session: Session) -> tuple:
        """A source picked from the list: its id into the chunk-id box, its passage opened."""
        gr = _gr()
        if not chunk_id:
            return gr.skip(), gr.skip()
        return chunk_id, self.on_open(chunk_id, session)


def build_space_tab(gr, ev: SpaceEvents, session, tab) -> None:
    """Lay out the Space tab inside the current `gr.Tab` (`tab`) and wire its events."""
    view = gr.State(SpaceView())
    c = _layout(gr)
    outputs = [view, c["plot"], c["status"], c["shown"], c["source"], c["topics"]]
    # map building is CPU-heavy on a big collection: its own small group, so chat is never held up
    heavy = {"concurrency_id": "space", "concurrency_limit": 2, "api_name": False}
    tab.select(ev.on_select, [session, view], outputs, **heavy)
    gr.on([c["text"].submit, c["show"].click], ev.on_show, [c["text"], session, view], outputs, **heavy)
    c["near"].click(ev.on_similar, [c["text"], session, view], outputs, **heavy)
    c["check"].click(ev.on_health, session, c["health"], **heavy)
    c["color"].change(ev.on_color, [c["color"], view], [view, c["plot"]], api_name=False)
    gr.on([c["open"].click, c["pick"].submit], ev.on_open, [c["pick"], session], c["passage"], api_name=False)
    c["source"].input(ev.on_pick, [c["source"], session], [c["pick"], c["passage"]], api_name=False)
    c["plot"].change(None, js=CLICK_JS)


def _layout(gr) -> dict:
    c: dict = {}
    with gr.Row():
        with gr.Column(scale=3):
            c["status"] = gr.HTML(elem_id="rag-space-status")
            c["plot"] = gr.Plot(show_label=False, elem_id="rag-space-map")
            c["color"] = gr.Radio(
                [("source file", "file"), ("topic", "topic")], value="file", label="Colour points by",
                elem_id="rag-space-color",
            )  # fmt: skip
        with gr.Column(scale=2):
            c["text"] = gr.Textbox(
                placeholder="A question or any text: where does it land, and what is nearest?",
                show_label=False, max_lines=4, elem_id="rag-space-text",
            )  # fmt: skip
            with gr.Row():
                c["show"] = gr.Button("Show on map (as the chat searches)", variant="primary", elem_id="rag-space-show")
                c["near"] = gr.Button("Similar passages (cosine)", elem_id="rag-space-similar")
            c["shown"] = gr.HTML(shown_html(SpaceView()), elem_id="rag-space-shown")
            c["source"] = gr.Dropdown(label="Open a source", choices=[], elem_id="rag-space-source")
            with gr.Row():
                c["pick"] = gr.Textbox(
                    label="Chunk id (click a point on the map, or paste an id)", scale=4, max_lines=1,
                    elem_id="rag-space-pick",
                )  # fmt: skip
                c["open"] = gr.Button("Open", scale=1, min_width=60, elem_id="rag-space-open")
            c["passage"] = gr.HTML(elem_id="rag-space-passage")
    with gr.Accordion("Topics", open=True):
        c["topics"] = gr.Dataframe(
            headers=["topic", "terms", "chunks"], interactive=False, wrap=True, elem_id="rag-space-topics"
        )
    with gr.Accordion("Health of the space", open=False):
        c["check"] = gr.Button("Check health", elem_id="rag-space-health-check")
        c["health"] = gr.HTML(elem_id="rag-space-health")
    return c
