"""Images on the Space tab's map (tiny real CLIP from tests/tiny_clip.py, real Chroma, no browser).

Two layouts are checked: MiniLM text + CLIP images (unrelated spaces: the images get a panel and a
projection of their own) and CLIP for both (one space: the text map's projection places the images).
Expected rankings are computed here with numpy from the tiny model's own vectors; its weights are
random, so they say nothing of a trained CLIP's quality, only that the map keeps the model's geometry.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from rag.index.store import Store
from rag.retrieval.image_search import images_collection

from rag.app import build_engine
from rag.settings import Settings
from tests.conftest import DATA, free_port
from tests.test_images_ingest import COLORS, rag, write_image
from ui import documents as docs
from ui import handlers
from ui import space as sp
from ui.space_tab import SpaceEvents

QUESTION = "a bright yellow sun"


def make_world(home: Path, embedder, image_embedder, tiny_clip, *, shared: bool):
    folder = shutil.copytree(DATA / "docs", home / "docs")
    (folder / "pics").mkdir()
    for name, color in COLORS.items():
        write_image(folder / "pics" / name, color)
    extra = {"embed_model": str(tiny_clip)} if shared else {}
    s = Settings(home=home, collection="docs", llm="embedded", top_k=3, image_model=str(tiny_clip),
                 ollama_host=f"http://127.0.0.1:{free_port()}", **extra)  # fmt: skip
    store = Store(s)
    report = docs.sync_paths(s, embedder, store, "docs", [folder], image_embedder=image_embedder)
    assert report.totals.images_added == 4
    pool = handlers.EnginePool(s, lambda cfg: build_engine(cfg, embedder, store))
    pool._image_embedder = image_embedder  # the session's tiny CLIP, already loaded (what image_embedder() returns)
    return s, store, folder, SpaceEvents(s, embedder, store, pool)


@pytest.fixture(scope="module")
def apart(tmp_path_factory, embedder, image_embedder, tiny_clip):
    """MiniLM text chunks + tiny-CLIP images: two unrelated spaces."""
    return make_world(tmp_path_factory.mktemp("space-img"), embedder, image_embedder, tiny_clip, shared=False)


@pytest.fixture(scope="module")
def together(tmp_path_factory, image_embedder, tiny_clip):
    """Text chunks and images both embedded by the tiny CLIP: one space."""
    from rag.models.embedder import Embedder

    clip_text = Embedder(str(tiny_clip))
    return make_world(tmp_path_factory.mktemp("space-img-1"), clip_text, image_embedder, tiny_clip, shared=True)


def plot_json(value) -> dict:
    if hasattr(value, "plot"):
        return json.loads(value.plot)
    return json.loads(value.to_json()) if hasattr(value, "to_json") else value


def values(v) -> np.ndarray:
    """A plotly JSON array: a list, or plotly 6's typed array {"dtype", "bdata": base64}."""
    import base64

    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=np.float64)


def xy(t: dict) -> np.ndarray:
    return np.column_stack([values(t["x"]), values(t["y"])])


def trace(fig: dict, name: str) -> dict | None:
    return next((t for t in fig["data"] if t.get("name") == name), None)


def stored_images(store: Store) -> tuple[list[str], list[str], np.ndarray]:
    got = store.get(images_collection("docs")).get(include=["metadatas", "embeddings"])
    return got["ids"], [m["path"] for m in got["metadatas"]], np.asarray(got["embeddings"], dtype=np.float32)


def nearest_by_the_model(image_embedder, folder: Path, text: str, k: int = 3) -> list[str]:
    """File names of the k images the tiny model itself ranks first for `text` (decoded and embedded here)."""
    names = sorted(COLORS)
    pics = [image_embedder.decode((folder / "pics" / n).read_bytes()) for n in names]
    scores = image_embedder.embed_images(pics) @ image_embedder.embed_texts([text])[0]
    return [names[i] for i in np.argsort(-scores)[:k]]


def show(ev: SpaceEvents, s: Settings, text: str) -> tuple:
    view, plot, status, shown, _, _ = ev.on_show(text, handlers.Session.new(s), sp.SpaceView())
    return view, plot_json(plot), status, shown


def test_images_of_another_space_get_their_own_panel_and_projection(apart):
    s, store, _, ev = apart
    _, fig, status, _ = show(ev, s, "")
    ids, paths, vecs = stored_images(store)
    drawn = trace(fig, "images")
    assert drawn is not None and sorted(drawn["ids"]) == sorted(ids)
    assert all(any(p in text for text in drawn["text"]) for p in paths)  # each image's path in its hover
    assert drawn["xaxis"] == "x2" and "xaxis2" in fig["layout"]
    assert "own projection" in fig["layout"]["annotations"][0]["text"] and "own panel" in status
    # the panel's coordinates are a PCA of the stored image vectors alone: distances agree with an SVD done here
    centred = vecs - vecs.mean(0)
    want = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    got = xy(drawn)[[drawn["ids"].index(i) for i in ids]]
    assert np.abs(got) == pytest.approx(np.abs(want), abs=1e-4)
    thumbs = fig["layout"]["images"]
    assert len(thumbs) == 4 and all(t["source"].startswith("data:image/png;base64,") for t in thumbs)
    assert {t["xref"] for t in thumbs} == {"x2"}  # no URL: the figure works offline


def test_a_question_rings_the_images_the_tiny_model_ranks_first(apart, image_embedder):
    s, store, folder, ev = apart
    view, fig, _, shown = show(ev, s, QUESTION)
    want = nearest_by_the_model(image_embedder, folder, QUESTION)
    ids, paths, _ = stored_images(store)
    name_of = {i: Path(p).name for i, p in zip(ids, paths)}
    ringed = trace(fig, "image matches")
    assert ringed is not None and [name_of[i] for i in ringed["ids"]] == want
    assert [Path(h.path).name for h in view.shown.image_hits] == want
    assert all(name in shown for name in want) and "nearest images" in shown
    # the question sits among the images at the images' own projection of its CLIP text vector
    star = trace(fig, "question (image space)")
    qxy = view.images.project(image_embedder.embed_texts([QUESTION]))[0]
    assert xy(star)[0].tolist() == pytest.approx(qxy.tolist(), abs=1e-4)
    assert trace(fig, "sources") is not None and trace(fig, "question") is not None  # the text side is unchanged
    whole = plot_json(sp.figure(view))  # the figure drawn whole rings the same images
    assert trace(whole, "image matches")["ids"] == ringed["ids"]


def test_in_one_shared_space_the_images_use_the_text_maps_projection(together, image_embedder):
    s, store, folder, ev = together
    view, fig, status, _ = show(ev, s, QUESTION)
    ids, _, vecs = stored_images(store)
    drawn = trace(fig, "images")
    assert drawn.get("xaxis", "x") == "x" and "xaxis2" not in fig["layout"]
    m = view.space_map
    want = (vecs - m.mean) @ m.components.T  # exactly how the text map places any vector of its space
    got = xy(drawn)[[drawn["ids"].index(i) for i in ids]]
    assert got == pytest.approx(want, abs=1e-4)
    assert "share one space" in status
    ringed = trace(fig, "image matches")
    ids_, paths, _ = stored_images(store)
    name_of = {i: Path(p).name for i, p in zip(ids_, paths)}
    assert [name_of[i] for i in ringed["ids"]] == nearest_by_the_model(image_embedder, folder, QUESTION)
    assert trace(fig, "question (image space)") is None  # the text map's star is already the question


def test_with_images_off_the_map_has_no_image_layer(apart):
    s, store, _, _ = apart
    off = s.model_copy(update={"image_model": ""})
    pool = handlers.EnginePool(off, lambda cfg: None)
    ev = SpaceEvents(off, None, store, pool)
    view, plot, status, *_ = ev.refresh(sp.load_view(off, store, "docs", sp.SpaceView()))
    fig = plot_json(plot)
    assert view.images is None and trace(fig, "images") is None
    assert "images" not in fig["layout"] and "xaxis2" not in fig["layout"] and "images" not in status
    assert pool._image_embedder is None  # nothing built, nothing loaded


def test_rag_space_map_exports_the_images_too(apart, tmp_path):
    s, *_ = apart
    env = {"RAG_HOME": str(s.home), "RAG_IMAGE_MODEL": s.image_model}
    out = rag("space", "map", "--collection", "docs", "--out", str(tmp_path / "m.html"), "--json", env=env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["images"]
    assert got["points"] == 4 and got["shared_projection"] is False and "own panel" in got["note"]
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    # plotly writes "/" as \u002f inside the page's JSON
    assert '"name":"images"' in page and len(re.findall(r'"source":"data:image(/|\\u002f)png;base64,', page)) == 4
    png = rag("space", "map", "--collection", "docs", "--out", str(tmp_path / "m.png"), env=env)
    assert png.returncode == 0 and "4 images" in png.stdout and (tmp_path / "m.png").stat().st_size > 0
    off = json.loads(rag("space", "map", "--collection", "docs", "--json", env={"RAG_HOME": str(s.home)}).stdout)
    assert off["images"] is None


def test_the_last_chat_question_rings_its_nearest_images_when_the_tab_opens(apart, image_embedder):
    from rag.types import Answer

    s, _, folder, ev = apart
    sess = handlers.Session.new(s)
    sess.turns.append(handlers.Turn("Sun?", answer=Answer("x", [], rewritten_query=QUESTION)))
    *_, (view, plot, *_rest) = ev.on_select(sess, sp.SpaceView())
    ringed = [Path(h.path).name for h in view.shown.image_hits]
    assert view.shown.origin == "chat" and ringed == nearest_by_the_model(image_embedder, folder, QUESTION)
    assert len(trace(plot_json(plot), "image matches")["ids"]) == 3


def test_images_of_another_image_model_stay_drawn_but_are_not_ringed(apart, tmp_path):
    from rag.models.image_embedder import ImageEmbedder

    from tests.tiny_clip import build_tiny_clip

    s, store, _, first = apart
    other = str(build_tiny_clip(tmp_path / "other", seed=1))
    config = s.model_copy(update={"image_model": other})
    pool = handlers.EnginePool(config, lambda cfg: build_engine(cfg, first.embedder, store))
    pool._image_embedder = ImageEmbedder(other)
    ev = SpaceEvents(config, first.embedder, store, pool)
    view, fig, _, shown = show(ev, config, QUESTION)
    assert trace(fig, "images") is not None and trace(fig, "image matches") is None
    assert view.shown.image_hits == [] and "--rebuild" in shown  # the fix is named where the rings would be
