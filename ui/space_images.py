"""The Space tab's images: the collection's image layer on the map, and the question's nearest images
ringed on it (space/image_map.py places them, space/image_plot.py draws them).

Images are drawn only when `image_model` is set. The nearest images are the top IMAGE_K by cosine
between the question (through the image model's text tower) and the stored image vectors, with no
threshold: like the text sources on the map, they show where the closest ones are even when the chat
would show none.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.errors import RagError
from ui import render

if TYPE_CHECKING:
    from rag.settings import Settings
    from space.image_map import ImageLayer, Thumbnails
    from space.map import SpaceMap
    from ui.space import SpaceView

log = logging.getLogger(__name__)
IMAGE_K = 3  # as many as the chat shows next to an answer (rag/retrieval/image_search.py)


def image_layer(settings: Settings, store, space_map: SpaceMap, thumbs: Thumbnails | None) -> ImageLayer | None:
    """The map's image layer; None when images are off, there are none, or they cannot be read (logged:
    the text map is still shown)."""
    from space.image_map import load_image_layer

    try:
        return load_image_layer(settings, store, space_map, thumbs=thumbs)
    except RagError as exc:
        log.warning("no images on the map of %s: %s", space_map.collection, exc)
        return None


def with_nearest_images(view: SpaceView, image_embedder, store, k: int = IMAGE_K) -> SpaceView:
    """The view with the shown question's `k` nearest images (computed once per shown question)."""
    from rag.retrieval.image_search import check_model, images_collection, search_images

    s, layer = view.shown, view.images
    if s is None or layer is None or image_embedder is None or s.image_hits is not None:
        return view
    try:
        col = store.find(images_collection(layer.collection))
        if col is None:
            return view
        check_model(store, layer.collection, col, image_embedder)
        vector = image_embedder.embed_texts([s.text])[0]
        hits = search_images(store, layer.collection, vector, k)
    except RagError as exc:  # a missing or mismatched image model costs the rings, never the map
        return replace(view, shown=replace(s, image_hits=[], image_note=str(exc)))
    return replace(view, shown=replace(s, image_hits=hits, image_vector=vector))


def overlay(view: SpaceView) -> dict:
    """map_figure's image arguments for the view: the layer, the rings, the question among the images."""
    layer, s = view.images, view.shown
    if layer is None:
        return {}
    out: dict = {"images": layer}
    if s is not None and s.image_hits:
        out["image_ring"] = [h.id for h in s.image_hits]
    if s is not None and s.image_vector is not None and not layer.shared:
        out["image_question"] = (s.text, layer.project(s.image_vector.reshape(1, -1))[0])
    return out


def images_summary(view: SpaceView) -> str:
    layer = view.images
    if layer is None:
        return ""
    sample = f" (a sample of {layer.total:,})" if layer.total > len(layer.ids) else ""
    return f" · {len(layer.ids):,} images{sample} <small>({render.text(layer.note)})</small>"


def nearest_html(view: SpaceView) -> str:
    """The shown question's nearest images as a list (names escaped), or why there are none."""
    s = view.shown
    if s is None or view.images is None:
        return ""
    if s.image_note:
        return f'<div class="rag-space-images"><small>nearest images: {render.text(s.image_note)}</small></div>'
    if not s.image_hits:
        return ""
    items = "".join(
        f'<li class="rag-space-image"><b>{render.text(render.file_name(h.path))}</b>'
        f"{f' · page {h.page}' if h.page else ''} · similarity {h.score:.2f}</li>"
        for h in s.image_hits
    )
    return f'<div class="rag-space-images"><small>nearest images (ringed ▢):</small><ol>{items}</ol></div>'
