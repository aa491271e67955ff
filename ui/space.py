"""The Space tab: the collection's chunks as points on a map, a question and its sources drawn on it
("why these sources?"), and any point opened as its passage.

The logic is plain functions over a per-session `SpaceView` (kept in a gr.State, so tests need no
browser); ui/space_tab.py adapts them to gradio and lays the tab out. space/ builds the
map from the vectors already in Chroma (cached on disk, so a second view is instant) and draws it.
Every piece of document or user text is escaped (`render.text`) before it becomes HTML.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.errors import CollectionNotFound, EmptyCollection, RagError
from rag.settings import Settings
from rag.types import Source
from ui import render
from ui.handlers import Session, Turn, empty_collection_help

if TYPE_CHECKING:
    import numpy as np
    from rag.retrieval.image_search import ImageHit

    from space.image_map import ImageLayer, Thumbnails
    from space.map import SpaceMap

COLORS = ("file", "topic")
SIMILAR_K = 10
HEALTH_SAMPLE = 20_000  # chunks read for the health check: its measures sample 5k anyway


class PassageNotFound(RagError):
    """A chunk id that is not (or no longer) in the collection."""


@dataclass
class Shown:
    """A question (or any text) drawn on the map, with the passages retrieval returned for it."""

    text: str
    vector: np.ndarray  # its normalised embedding: projected anew onto whichever map is shown
    sources: list[Source]
    origin: str  # "chat" (the last answered chat question), "space" (retrieval) or "similar" (cosine only)
    image_hits: list[ImageHit] | None = None  # its nearest images (ui/space_images.py); None: not looked up yet
    image_vector: np.ndarray | None = None  # the text in the image model's space
    image_note: str | None = None  # why no images could be looked up


@dataclass
class SpaceView:
    """What one browser session sees in the Space tab."""

    space_map: SpaceMap | None = None
    color_by: str = "file"
    shown: Shown | None = None
    chat_turns: int = 0  # chat turns already looked at, so a new answer is drawn once, not over a typed text
    images: ImageLayer | None = None  # the collection's images (None when images are off or there are none)


@dataclass(frozen=True)
class Passage:
    id: str
    path: str
    page: int | None
    text: str


# -- logic --------------------------------------------------------------------------------


def load_view(
    settings: Settings, store, collection: str, view: SpaceView, method: str = "pca", thumbs: Thumbnails | None = None
) -> SpaceView:
    """The view with the (disk-cached) map of `collection` and its images; a changed collection is rebuilt.

    Raises:
        RagError: the collection is missing or empty (the message says how to fill it).
    """
    from space.map import load_map
    from ui.space_images import image_layer

    config = settings.model_copy(update={"collection": collection})
    try:
        space_map = load_map(config, store, method=method)
    except (CollectionNotFound, EmptyCollection):
        raise EmptyCollection(empty_collection_help(collection)) from None
    return replace(view, space_map=space_map, images=image_layer(config, store, space_map, thumbs))


def last_answered(session: Session) -> Turn | None:
    return next((t for t in reversed(session.turns) if t.answer is not None), None)


def follow_chat(view: SpaceView, session: Session, embedder) -> SpaceView:
    """Draw the latest answered chat question and its sources, once per new chat turn."""
    if len(session.turns) == view.chat_turns:
        return view
    view = replace(view, chat_turns=len(session.turns))
    turn = last_answered(session)
    if turn is None:  # the chat was cleared: its question goes too (a typed one stays)
        return replace(view, shown=None) if view.shown and view.shown.origin == "chat" else view
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


def similar_text(view: SpaceView, text: str, store, collection: str, embedder, top_k: int = SIMILAR_K) -> SpaceView:
    """Draw `text` with its `top_k` nearest chunks by cosine alone (no keywords, no threshold)."""
    from space.similarity import similar

    text = (text or "").strip()
    if not text:
        return replace(view, shown=None)
    vector = embedder.embed_query(text)
    hits = similar(store, collection, vector, top_k=top_k)
    sources = [Source(n, h.id, h.path, None, h.preview, h.score) for n, h in enumerate(hits, 1)]
    return replace(view, shown=Shown(text, vector, sources, "similar"))


def figure(view: SpaceView):
    """The plotly figure of the view, drawn whole (None before a map is loaded)."""
    from space.plot import map_figure

    m = view.space_map
    if m is None:
        return None
    from ui.space_images import overlay

    highlight, question = _overlay(view)
    return map_figure(m, color_by=view.color_by, highlight_ids=highlight, question=question, **overlay(view))


def _overlay(view: SpaceView) -> tuple[list[str], tuple[str, np.ndarray] | None]:
    if view.shown is None or view.space_map is None:
        return [], None
    xy = view.space_map.project(view.shown.vector.reshape(1, -1))[0]
    return [s.id for s in view.shown.sources], (view.shown.text, xy)


class BaseFigures:
    """Maps drawn without a question (plotly JSON dicts) by map content and colouring, shared by all
    sessions, newest kept. Drawing 20k points with their hover texts takes seconds; a question and its
    sources are a few points drawn over the cached map, so showing a question does not redraw it."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, m: SpaceMap, color_by: str, images: ImageLayer | None = None) -> dict:
        from space.plot import map_figure

        key = (_content_key(m, images), color_by)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        fig = json.loads(map_figure(m, color_by=color_by, images=images).to_json())
        with self._lock:
            self._items[key] = fig
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return fig


def _content_key(m: SpaceMap, images: ImageLayer | None = None) -> str:
    digest = hashlib.sha1(f"{m.collection}\0{m.method}\0{m.total}".encode())
    digest.update("\0".join(m.ids).encode())
    digest.update(m.xy.tobytes())
    digest.update(m.topics.tobytes())
    if images is not None:  # the same text map with other images (or thumbnails) is another figure
        digest.update("\0".join(images.ids).encode())
        digest.update(images.xy.tobytes())
        digest.update(bytes(1 if t else 0 for t in images.thumbs))
    return digest.hexdigest()


def figure_dict(view: SpaceView, figures: BaseFigures) -> dict | None:
    """The view as plotly JSON: the cached map plus the question's traces ("sources", "question")."""
    from space.plot import map_figure

    m = view.space_map
    if m is None:
        return None
    from space.image_plot import OVERLAY
    from ui.space_images import overlay

    base = figures.get(m, view.color_by, view.images)
    if view.shown is None:
        return base
    highlight, question = _overlay(view)
    wanted = set(highlight)
    keep = [i for i, cid in enumerate(m.ids) if cid in wanted]
    # the same drawing code on just the highlighted points: only its two overlay traces are kept
    sub = replace(
        m, ids=[m.ids[i] for i in keep], paths=[m.paths[i] for i in keep],
        previews=[m.previews[i] for i in keep], xy=m.xy[keep], topics=m.topics[keep],
    )  # fmt: skip
    images = overlay(view)
    if "images" in images:  # only the rings and the question among the images are kept from this layer
        images["images"] = replace(images["images"], thumbs=[])
    drawn = json.loads(
        map_figure(sub, color_by=view.color_by, highlight_ids=highlight, question=question, **images).to_json()
    )
    extra = [t for t in drawn["data"] if t.get("name") in ("sources", "question", *OVERLAY)]
    if any(t.get("type") == "scattergl" for t in base["data"]):
        # a WebGL map is painted above SVG traces: the few overlay points must be WebGL too to be seen
        extra = [{**t, "type": "scattergl"} for t in extra]
    return {**base, "data": base["data"] + extra}


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


def health(settings: Settings, store, collection: str, session: Session, embedder):
    """The space's health (space.health), with this session's chat questions for domain mismatch.

    Raises:
        RagError: the collection is missing or empty.
    """
    from rag.index.store import read_fingerprint

    from space.health import check_health
    from space.vectors import read_vectors

    try:
        vecs = read_vectors(store, collection, limit=HEALTH_SAMPLE)
    except (CollectionNotFound, EmptyCollection):
        raise EmptyCollection(empty_collection_help(collection)) from None
    limit = read_fingerprint(store.get(collection).metadata).get("chunk_size") or settings.chunk_size
    asked = [t.question for t in session.turns if t.answer is not None]
    return check_health(
        vecs,
        chunk_limit=int(limit),
        questions=embedder.embed(asked) if asked else None,
        relevance_threshold=session.options.threshold,
    )


# -- rendering ----------------------------------------------------------------------------


def map_summary(view: SpaceView, seconds: float | None = None) -> str:
    from ui.space_images import images_summary

    m = view.space_map
    if m is None:
        return ""
    sample = f" (a sample of {m.total:,})" if m.total > len(m.ids) else ""
    took = f" · {seconds:.1f} s" if seconds is not None else ""
    return (
        f'<div class="rag-status">Collection <b>{render.text(m.collection)}</b> · {len(m.ids):,} chunks{sample} · '
        f"{render.text(m.method.upper())} projection{took}{images_summary(view)}</div>"
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
    origin = {"chat": "last chat question", "similar": "nearest by cosine to"}.get(s.origin, "retrieved for")
    items = "".join(
        f'<li class="rag-space-src"><span class="rag-n">[{src.n}]</span> <b>{render.text(render.file_name(src.path))}'
        f"</b>{f' · page {src.page}' if src.page else ''} · similarity {src.score:.2f}"
        f"{'' if src.id in on_map else ' · <i>not in the sampled map</i>'}</li>"
        for src in s.sources
    )
    from ui.space_images import nearest_html

    return (
        f'<div class="rag-space-question"><small>{origin}:</small> ★ {render.text(s.text)}</div>'
        f'<ol class="rag-space-sources">{items}</ol>{nearest_html(view)}'
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


def health_html(report) -> str:
    """The health measures as a table: value, what it means, what to do."""
    rows = "".join(
        f"<tr><td><b>{render.text(m.name)}</b></td><td>{render.text(m.shown)}</td>"
        f"<td>{render.text(m.meaning)}</td><td>{render.text(m.advice)}</td></tr>"
        for m in report.measures
    )
    sample = f", measured on {report.sampled:,}" if report.sampled < report.chunks else ""
    return (
        f'<div class="rag-status">{report.chunks:,} chunks{sample}</div><table class="rag-space-health">'
        f"<tr><th>measure</th><th>value</th><th>what it means</th><th>what to do</th></tr>{rows}</table>"
    )
