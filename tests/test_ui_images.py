"""Matching images in the chat's sources panel (tiny real CLIP, real Chroma, no browser)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from rag.index.store import Store

from rag.app import build_engine
from rag.settings import Settings
from tests.conftest import DATA, free_port
from tests.test_images_ingest import COLORS, write_image
from ui import handlers, render

OFF_TOPIC = "How many legs does a spider have?"  # abstains at once: no LLM call, images still matched


@pytest.fixture
def chat(embedder, image_embedder, tiny_clip, tmp_path):
    from ingest.pipeline import Sync

    folder = shutil.copytree(DATA / "docs", tmp_path / "docs")
    (folder / "pics").mkdir()
    for name, color in COLORS.items():
        write_image(folder / "pics" / name, color)
    s = Settings(collection="docs", llm="embedded", image_model=str(tiny_clip), image_threshold=-1.0,
                 ollama_host=f"http://127.0.0.1:{free_port()}")  # fmt: skip
    store = Store(s)
    assert Sync(s, embedder, store, image_embedder=image_embedder).run([folder]).totals.images_added == 4
    return s, store, folder


def ask(s: Settings, store: Store, embedder) -> handlers.Session:
    pool = handlers.EnginePool(s, lambda cfg: build_engine(cfg, embedder, store))
    session = handlers.Session.new(s)
    for step in handlers.respond(OFF_TOPIC, session, pool):
        session = step
    return session


def test_the_sources_panel_shows_the_nearest_images_as_thumbnails(chat, embedder, image_embedder):
    s, store, folder = chat
    turn = ask(s, store, embedder).turns[-1]
    assert turn.answer is not None and turn.error is None
    names = sorted(p.name for p in (folder / "pics").iterdir())
    vecs = image_embedder.embed_images([image_embedder.decode((folder / "pics" / n).read_bytes()) for n in names])
    q = image_embedder.embed_texts([OFF_TOPIC])[0]
    want = [names[i] for i in np.argsort(-(vecs @ q))[:3]]
    assert [im.hit.path.rsplit("/", 1)[-1] for im in turn.images] == want
    assert all(im.png and im.png.startswith(b"\x89PNG") for im in turn.images)
    session = handlers.Session(s.collection, handlers.ChatOptions(), [turn])
    panel = render.sources_html(session)
    assert panel.count("data:image/png;base64,") == 3 and "matching images" in panel


def test_an_image_name_is_text_never_markup_and_a_vanished_file_is_still_listed():
    from rag.retrieval.image_search import ImageHit

    from ui.images import ShownImage
    from ui.render import images_html

    html = images_html([ShownImage(ImageHit("img-1", "/pics/<b>bold</b>.png", 0.5), None)])
    assert "&lt;b&gt;bold&lt;/b&gt;.png" in html and "<b>bold" not in html and "not readable" in html


def test_no_images_below_the_threshold_or_when_images_are_off(chat, embedder):
    s, store, _ = chat
    high = ask(s.model_copy(update={"image_threshold": 1.0}), store, embedder).turns[-1]
    off = ask(s.model_copy(update={"image_model": ""}), store, embedder).turns[-1]
    assert high.answer is not None and high.images == [] and off.images == []
    assert "matching images" not in render.sources_html(handlers.Session(s.collection, handlers.ChatOptions(), [high]))
