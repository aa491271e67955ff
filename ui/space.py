"""The Space tab: the collection's chunks as points on a map, a question and its sources drawn on it
("why these sources?"), and any point opened as its passage.

The logic is plain functions over a per-session `SpaceView` (kept in a gr.State, so tests need no
browser); `SpaceEvents` adapts them to gradio and `build_space_tab` lays the tab out. space/ builds the
map from the vectors already in Chroma (cached on disk, so a second view is instant) and draws it.
Every piece of document or user text is escaped (`render.text`) before it becomes HTML.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.errors import CollectionNotFound, EmptyCollection, RagError
from rag.settings import Settings
from rag.types import Source
from ui import render
from ui.handlers import Session, Turn, empty_collection_help

if TYPE_CHECKING:
    import numpy as np

    from space.map import SpaceMap

COLORS = ("file", "topic")


class PassageNotFound(RagError):
    """A chunk id that is not (or no longer) in the collection."""


@dataclass
class Shown:
    """A question (or any text) drawn on the map, with the passages retrieval returned for it."""

    text: str
    vector: np.ndarray  # its normalised embedding: projected anew onto whichever map is shown
    sources: list[Source]
    origin: str  # "chat" (the last answered chat question) or "space" (typed in this tab)


@dataclass
class SpaceView:
    """What one browser session sees in the Space tab."""

    space_map: SpaceMap | None = None
    color_by: str = "file"
    shown: Shown | None = None
    chat_turns: int = 0  # chat turns already looked at, so a new answer is drawn once, not over a typed text


@dataclass(frozen=True)
class Passage:
    id: str
    path: str
    page: int | None
    text: str


# -- logic --------------------------------------------------------------------------------


def load_view(settings: Settings, store, collection: str, view: SpaceView, method: str = "pca") -> SpaceView:
    """The view with the (disk-cached) map of `collection`; a changed collection is rebuilt by load_map.

    Raises:
        RagError: the collection is missing or empty (the message says how to fill it).
    """
    from space.map import load_map

    try:
        space_map = load_map(settings.model_copy(update={"collection": collection}), store, method=method)
    except (CollectionNotFound, EmptyCollection):
        raise EmptyCollection(empty_collection_help(collection)) from None
    return replace(view, space_map=space_map)


def last_answered(session: Session) -> Turn | None:
    return next((t for t in reversed(session.turns) if t.answer is not None), None)


def follow_chat(view: SpaceView, session: Session, embedder) -> SpaceView:
    """Draw the latest answered chat question and its sources, once per new chat turn."""
    if len(session.turns) == view.chat_turns:
        return view
    view = replace(view, chat_turns=len(session.turns))
    turn = last_answered(session)
    if turn is None:
        return view
    # a follow-up was searched as its rewritten form: draw what retrieval actually saw
    text = turn.answer.rewritten_query or turn.question
    return replace(view, shown=Shown(text, embedder.embed_query(text), list(turn.answer.sources), "chat"))


def show_text(view: SpaceView, text: str, retriever, embedder, session: Session) -> SpaceView:
    """Retrieve (no LLM) for `text` with the session's options and draw it with its sources.

    Every candidate is kept (no relevance threshold): the map shows where the closest passages are
    even when the chat would abstain.
    """
    text = (text or "").strip()
    if not text:
        return replace(view, shown=None)
    o = session.options
    vector = embedder.embed_query(text)
    sources = retriever.search_vector(text, vector, top_k=o.top_k, hybrid=o.hybrid, threshold=-1.0)
    return replace(view, shown=Shown(text, vector, sources, "space"))


def figure(view: SpaceView):
    """The plotly figure of the view (None before a map is loaded)."""
    from space.plot import map_figure

    m = view.space_map
    if m is None:
        return None
    question = None
    highlight: list[str] = []
    if view.shown is not None:
        question = (view.shown.text, m.project(view.shown.vector.reshape(1, -1))[0])
        highlight = [s.id for s in view.shown.sources]
    return map_figure(m, color_by=view.color_by, highlight_ids=highlight, question=question)


def open_passage(store, collection: str, chunk_id: str) -> Passage:
    """The full text, path and page of one chunk.

    Raises:
        PassageNotFound: no such chunk in the collection.
    """
    chunk_id = (chunk_id or "").strip()
    got = store.get(collection).get(ids=[chunk_id], include=["documents", "metadatas"]) if chunk_id else None
    if not got or not got["ids"]:
        raise PassageNotFound(
            f"No passage with id {chunk_id!r} in collection {collection!r} - click a point on the map "
            "or pick one of the sources."
        )
    meta = got["metadatas"][0] or {}
    return Passage(got["ids"][0], str(meta.get("path", "")), int(meta.get("page") or 0) or None, got["documents"][0])


def topic_rows(space_map: SpaceMap | None) -> list[list]:
    """Rows (topic, terms, chunks) biggest first; empty when topics were not computed."""
    import numpy as np

    if space_map is None or not len(space_map.topics) or int(space_map.topics.max(initial=-1)) < 0:
        return []
    ids, counts = np.unique(space_map.topics[space_map.topics >= 0], return_counts=True)
    rows = [[int(t), space_map.topic_labels.get(int(t), ""), int(c)] for t, c in zip(ids, counts)]
    return sorted(rows, key=lambda r: (-r[2], r[0]))


# -- rendering ----------------------------------------------------------------------------


def map_summary(view: SpaceView, seconds: float | None = None) -> str:
    m = view.space_map
    if m is None:
        return ""
    sample = f" (a sample of {m.total:,})" if m.total > len(m.ids) else ""
    took = f" · {seconds:.1f} s" if seconds is not None else ""
    return (
        f'<div class="rag-status">Collection <b>{render.text(m.collection)}</b> · {len(m.ids):,} chunks{sample} · '
        f"{render.text(m.method.upper())} projection{took}</div>"
    )


def shown_html(view: SpaceView) -> str:
    """The drawn question and its sources, marking those outside a sampled map."""
    s = view.shown
    if s is None:
        return (
            '<div class="rag-sources-empty">Ask in the Chat tab, or type a question here, to see it (★) and '
            "its sources (ringed) on the map.</div>"
        )
    on_map = set(view.space_map.ids) if view.space_map is not None else set()
    origin = "last chat question" if s.origin == "chat" else "shown"
    items = "".join(
        f'<li class="rag-space-src"><span class="rag-n">[{src.n}]</span> <b>{render.text(render.file_name(src.path))}'
        f"</b>{f' · page {src.page}' if src.page else ''} · similarity {src.score:.2f}"
        f"{'' if src.id in on_map else ' · <i>not in the sampled map</i>'}</li>"
        for src in s.sources
    )
    return (
        f'<div class="rag-space-question"><small>{origin}:</small> ★ {render.text(s.text)}</div>'
        f'<ol class="rag-space-sources">{items}</ol>'
    )


def source_choices(view: SpaceView) -> list[tuple[str, str]]:
    """(label, chunk id) of the drawn question's sources, for the 'open a source' picker."""
    if view.shown is None:
        return []
    return [(f"[{s.n}] {render.file_name(s.path)} · {s.score:.2f}", s.id) for s in view.shown.sources]


def passage_html(p: Passage) -> str:
    page = f" · page {p.page}" if p.page else ""
    return (
        f'<div class="rag-source"><div title="{render.attr(p.path)}"><b>{render.text(render.file_name(p.path))}</b>'
        f'{page} <small>{render.text(p.path)}</small></div><div class="rag-passage" id="rag-space-passage-text">'
        f"{render.text(p.text)}</div></div>"
    )


def error_html(message: str) -> str:
    return f'<div class="rag-banner rag-warn">⚠ {render.text(message)}</div>'


# -- gradio -------------------------------------------------------------------------------

# gr.Plot has no click event (gradio issue #11413): plotly's own `plotly_click` on the plot's div writes
# the point's chunk id (its customdata) into the chunk-id box and presses Open. Gradio may redraw the
# div with a fresh plot (which drops listeners), so a light timer re-attaches whenever ours is missing.
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
  }, 400);
}
"""


def _gr():
    import gradio as gr

    return gr


class SpaceEvents:
    """The Space tab's event handlers over the shared embedder, store and engine pool."""

    def __init__(self, settings: Settings, embedder, store, pool) -> None:
        self.settings, self.embedder, self.store, self.pool = settings, embedder, store, pool

    def refresh(self, view: SpaceView, seconds: float | None = None) -> tuple:
        """(view, plot, status, shown, source picker, topics) for the current view."""
        gr = _gr()
        return (
            view,
            figure(view),
            map_summary(view, seconds),
            shown_html(view),
            gr.update(choices=source_choices(view), value=None),
            topic_rows(view.space_map),
        )

    def _load(self, session: Session, view: SpaceView) -> tuple[SpaceView, float]:
        started = time.perf_counter()
        view = load_view(self.settings, self.store, session.collection, view)
        return view, time.perf_counter() - started

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
        yield self.refresh(follow_chat(view, session, self.embedder), seconds)

    def on_show(self, text: str, session: Session, view: SpaceView) -> tuple:
        """Retrieval only (no LLM) for `text`, drawn with its sources."""
        gr = _gr()
        try:
            seconds = None
            if view.space_map is None or view.space_map.collection != session.collection:
                view, seconds = self._load(session, view)
            retriever = self.pool.get(session.collection, session.options.llm).retriever
            view = show_text(view, text, retriever, self.embedder, session)
        except RagError as exc:
            return (view, gr.skip(), error_html(str(exc)), *([gr.skip()] * 3))
        return self.refresh(view, seconds)

    def on_color(self, color: str, view: SpaceView) -> tuple:
        view = replace(view, color_by=color if color in COLORS else "file")
        return view, figure(view)

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
    with gr.Row():
        with gr.Column(scale=3):
            status = gr.HTML(elem_id="rag-space-status")
            plot = gr.Plot(show_label=False, elem_id="rag-space-map")
            color = gr.Radio(
                [("source file", "file"), ("topic", "topic")],
                value="file",
                label="Colour points by",
                elem_id="rag-space-color",
            )
        with gr.Column(scale=2):
            with gr.Row():
                text = gr.Textbox(
                    placeholder="A question or any text: where does it land, and what is nearest?",
                    show_label=False,
                    scale=4,
                    max_lines=4,
                    elem_id="rag-space-text",
                )
                show = gr.Button("Show on map", variant="primary", scale=1, min_width=80, elem_id="rag-space-show")
            shown = gr.HTML(shown_html(SpaceView()), elem_id="rag-space-shown")
            source = gr.Dropdown(label="Open a source", choices=[], elem_id="rag-space-source")
            with gr.Row():
                pick = gr.Textbox(
                    label="Chunk id (click a point on the map, or paste an id)",
                    scale=4,
                    max_lines=1,
                    elem_id="rag-space-pick",
                )
                open_btn = gr.Button("Open", scale=1, min_width=60, elem_id="rag-space-open")
            passage = gr.HTML(elem_id="rag-space-passage")
    with gr.Accordion("Topics", open=True):
        topics = gr.Dataframe(
            headers=["topic", "terms", "chunks"], interactive=False, wrap=True, elem_id="rag-space-topics"
        )
    outputs = [view, plot, status, shown, source, topics]
    # map building is CPU-heavy on a big collection: its own small group, so chat is never held up
    heavy = {"concurrency_id": "space", "concurrency_limit": 2, "api_name": False}
    tab.select(ev.on_select, [session, view], outputs, **heavy)
    gr.on([text.submit, show.click], ev.on_show, [text, session, view], outputs, **heavy)
    color.change(ev.on_color, [color, view], [view, plot], api_name=False)
    gr.on([open_btn.click, pick.submit], ev.on_open, [pick, session], passage, api_name=False)
    source.input(ev.on_pick, [source, session], [pick, passage], api_name=False)
    plot.change(None, js=CLICK_JS)
