"""Images through ingest, search and the edges, with the tiny real CLIP (tests/tiny_clip.py).

Rankings are checked against the tiny model's own scores (its weights are random, so what it
ranks first says nothing about a trained CLIP's quality: only that our path keeps its geometry).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rag.index.store import Store
from rag.retrieval.image_search import images_collection, images_for_answer, search_images

from rag.settings import Settings
from tests.helpers import DOCS, sync
from tests.test_images import claimed_size_png

COLORS = {"red.png": (220, 20, 20), "green.jpg": (20, 200, 40), "blue.webp": (30, 40, 220), "sun.gif": (240, 200, 0)}


def write_image(path: Path, color, size=(48, 36)) -> Path:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, color)
    ImageDraw.Draw(im).rectangle((4, 4, 20, 20), fill=(255 - color[0], 255 - color[1], 255 - color[2]))
    fmt = {".png": "PNG", ".jpg": "JPEG", ".webp": "WEBP", ".gif": "GIF"}[path.suffix]
    im.save(path, format=fmt)
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    """Two text documents and four images in four formats."""
    root = tmp_path / "mixed"
    root.mkdir()
    for name in ("sourdough.txt", "lighthouses.md"):
        if (DOCS / name).exists():
            shutil.copy(DOCS / name, root / name)
    (root / "note.txt").write_text("A short note about the colour of the sea and the sky.")
    (root / "pics").mkdir()
    for name, color in COLORS.items():
        write_image(root / "pics" / name, color)
    return root


@pytest.fixture
def img_settings(isolated_home, tiny_clip) -> Settings:
    return Settings(home=isolated_home, collection="test", image_model=str(tiny_clip))


def run(settings, embedder, image_embedder, paths):
    from ingest.pipeline import Sync

    return Sync(settings, embedder, Store(settings), image_embedder=image_embedder).run([Path(p) for p in paths])


def statuses(report) -> dict[str, tuple[str, str | None]]:
    return {Path(f.path).name: (f.status.value, f.reason) for f in report.files}


def image_rows(settings) -> dict[str, dict]:
    col = Store(settings).find(images_collection(settings.collection))
    got = col.get(include=["metadatas", "embeddings"])
    rows = zip(got["ids"], got["metadatas"], got["embeddings"])
    return {Path(m["path"]).name: {**m, "id": i, "vector": v} for i, m, v in rows}


def test_images_are_indexed_beside_the_text_and_kept_in_sync(folder, img_settings, embedder, image_embedder):
    first = run(img_settings, embedder, image_embedder, [folder])
    st = statuses(first)
    assert all(st[n] == ("ingested", None) for n in COLORS), st
    assert first.totals.images_added == 4 and first.ok
    rows = image_rows(img_settings)
    assert set(rows) == set(COLORS)
    from ingest.status import collection_status

    listed = collection_status(img_settings, Store(img_settings))  # images counted with their collection
    assert [(r["name"], r["images"]) for r in listed] == [("test", 4)]
    texts = {Path(m["path"]).name for m in Store(img_settings).get("test").get(include=["metadatas"])["metadatas"]}
    assert "note.txt" in texts and not texts & set(COLORS)  # images never enter the text collection
    want = image_embedder.embed_images([image_embedder.decode((folder / "pics" / "red.png").read_bytes())])[0]
    assert np.allclose(rows["red.png"]["vector"], want, atol=1e-5)

    again = run(img_settings, embedder, image_embedder, [folder])
    assert again.totals.images_added == 0 and all(statuses(again)[n][0] == "unchanged" for n in COLORS)
    assert {n: r["id"] for n, r in image_rows(img_settings).items()} == {n: r["id"] for n, r in rows.items()}

    write_image(folder / "pics" / "red.png", (10, 10, 10))
    (folder / "pics" / "green.jpg").unlink()
    third = run(img_settings, embedder, image_embedder, [folder])
    st = statuses(third)
    assert st["red.png"][0] == "updated" and st["green.jpg"] == ("removed", "no longer in the folder")
    assert third.totals.images_added == 1 and third.totals.images_deleted == 2
    rows3 = image_rows(img_settings)
    assert set(rows3) == {"red.png", "blue.webp", "sun.gif"}
    assert not np.allclose(rows3["red.png"]["vector"], rows["red.png"]["vector"], atol=1e-4)


def test_a_corrupt_image_is_reported_and_an_indexed_one_keeps_its_last_good_version(
    folder, img_settings, embedder, image_embedder
):
    run(img_settings, embedder, image_embedder, [folder])
    before = image_rows(img_settings)["blue.webp"]["vector"]
    (folder / "pics" / "blue.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBPbroken")
    (folder / "pics" / "new-broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "pics" / "bomb.png").write_bytes(claimed_size_png(100_000, 100_000))
    report = run(img_settings, embedder, image_embedder, [folder])
    st = statuses(report)
    assert st["blue.webp"][0] == "failed" and "corrupt image" in st["blue.webp"][1]
    assert "previously indexed version is kept" in st["blue.webp"][1]
    assert st["new-broken.png"][0] == "failed" and "corrupt image" in st["new-broken.png"][1]
    assert st["bomb.png"][0] == "failed" and "too many pixels" in st["bomb.png"][1]
    assert not report.ok and all(st[n][0] == "unchanged" for n in ("red.png", "green.jpg", "sun.gif"))
    rows = image_rows(img_settings)
    assert np.allclose(rows["blue.webp"]["vector"], before) and "new-broken.png" not in rows


def test_with_images_off_they_are_skipped_saying_how_to_turn_them_on(folder, settings, embedder):
    report = sync(settings, embedder, [folder])
    st = statuses(report)
    assert all(st[n][0] == "skipped" and "image_model" in st[n][1] for n in COLORS)
    assert Store(settings).find(images_collection("test")) is None and report.ok


def test_text_finds_images_in_the_tiny_models_own_order(folder, img_settings, embedder, image_embedder):
    run(img_settings, embedder, image_embedder, [folder])
    names = sorted(COLORS)
    vecs = image_embedder.embed_images([image_embedder.decode((folder / "pics" / n).read_bytes()) for n in names])
    for query in ("a red square", "the sun in the sky", "a dog"):
        q = image_embedder.embed_texts([query])[0]
        want = [names[i] for i in np.argsort(-(vecs @ q))]
        hits = search_images(Store(img_settings), "test", q, top_k=4)
        assert [Path(h.path).name for h in hits] == want
        assert [h.score for h in hits] == pytest.approx(sorted((vecs @ q).tolist(), reverse=True), abs=1e-4)


def test_answers_show_images_only_above_the_threshold(folder, img_settings, embedder, image_embedder):
    run(img_settings, embedder, image_embedder, [folder])
    store = Store(img_settings)
    q = image_embedder.embed_texts(["what colour is the sea?"])[0]
    best = max(float(v @ q) for v in (r["vector"] for r in image_rows(img_settings).values()))
    low = img_settings.model_copy(update={"image_threshold": best - 1e-3})
    high = img_settings.model_copy(update={"image_threshold": best + 1e-3})
    shown = images_for_answer(low, store, "ignored", "what colour is the sea?", embedder=image_embedder)
    assert shown and shown[0].score == pytest.approx(best, abs=1e-4) and all(h.score >= best - 1e-3 for h in shown)
    assert images_for_answer(high, store, "what colour is the sea?", embedder=image_embedder) == []
    off = img_settings.model_copy(update={"image_model": ""})
    assert images_for_answer(off, store, "what colour is the sea?") == []


def test_remove_drops_images_too(folder, img_settings, embedder, image_embedder):
    from ingest.pipeline import remove_paths

    run(img_settings, embedder, image_embedder, [folder])
    report = remove_paths([folder / "pics" / "sun.gif"], img_settings, Store(img_settings))
    assert [(Path(f.path).name, f.status.value) for f in report.files] == [("sun.gif", "removed")]
    assert set(image_rows(img_settings)) == set(COLORS) - {"sun.gif"}


def test_another_image_model_is_refused_until_rebuilt(folder, img_settings, embedder, image_embedder, tmp_path):
    from rag.models.image_embedder import ImageEmbedder

    from rag.errors import FingerprintMismatch
    from tests.tiny_clip import build_tiny_clip

    run(img_settings, embedder, image_embedder, [folder])
    other_path = build_tiny_clip(tmp_path / "other-clip", seed=1)
    other = ImageEmbedder(str(other_path))
    s2 = img_settings.model_copy(update={"image_model": str(other_path)})
    with pytest.raises(FingerprintMismatch, match="--rebuild"):
        run(s2, embedder, other, [folder])
    from ingest.pipeline import Sync

    rebuilt = Sync(s2, embedder, Store(s2), image_embedder=other).run([folder], rebuild=True)
    assert rebuilt.totals.images_added == 4
    want = other.embed_images([other.decode((folder / "pics" / "red.png").read_bytes())])[0]
    assert np.allclose(image_rows(s2)["red.png"]["vector"], want, atol=1e-5)


# -- the command line -------------------------------------------------------------------------


def rag(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_cli_ingest_similar_and_classify(folder, tiny_clip, image_embedder):
    env = {"RAG_IMAGE_MODEL": str(tiny_clip)}
    out = rag("ingest", str(folder), "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["totals"]["images_added"] == 4

    names = sorted(COLORS)
    vecs = image_embedder.embed_images([image_embedder.decode((folder / "pics" / n).read_bytes()) for n in names])
    q = image_embedder.embed_texts(["a yellow sun"])[0]
    got = json.loads(rag("space", "similar", "a yellow sun", "--images", "--json", env=env).stdout)
    assert [Path(h["path"]).name for h in got["images"]] == [names[i] for i in np.argsort(-(vecs @ q))]

    probe = folder / "pics" / "blue.webp"
    got = json.loads(rag("space", "similar", "--image", str(probe), "--json", env=env).stdout)
    top = got["images"][0]
    assert Path(top["path"]).name == "blue.webp" and top["score"] == pytest.approx(1, abs=1e-3)
    assert "not compared" in got["note"] and got["chunks"] == []  # text chunks are in MiniLM's space, not CLIP's

    text_hits = json.loads(rag("space", "similar", "the colour of the sea", "--json", env=env).stdout)["hits"]
    assert Path(text_hits[0]["path"]).name == "note.txt"  # the text path is unchanged: MiniLM over the chunks

    got = json.loads(rag("space", "classify", str(probe), "--labels", "cat, dog,lion", "--json", env=env).stdout)
    probs = {r["label"]: r["probability"] for r in got["labels"]}
    assert set(probs) == {"cat", "dog", "lion"} and sum(probs.values()) == pytest.approx(1, abs=1e-6)
    rows = image_embedder.classify(image_embedder.decode(probe.read_bytes()), ["cat", "dog", "lion"])
    want = {lb: p for lb, p, _ in rows}
    assert probs == pytest.approx(want, abs=1e-5)


def test_cli_image_commands_say_how_to_turn_images_on(tmp_path):
    from PIL import Image

    pic = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(pic)
    out = rag("space", "classify", str(pic), "--labels", "a,b", env={})
    assert out.returncode == 2 and "image_model" in out.stderr
    out = rag("space", "classify", str(pic), "--labels", "a", env={})
    assert out.returncode == 2 and "two labels" in out.stderr
    out = rag("space", "similar", "--images", env={})
    assert out.returncode == 2 and "TEXT" in out.stderr


def test_pictures_inside_pdf_and_docx_are_indexed_with_their_page(tmp_path, img_settings, embedder, image_embedder):
    import docx
    from PIL import Image

    root = tmp_path / "docs"
    root.mkdir()
    pages = [Image.new("RGB", (60, 40), c) for c in ((200, 0, 0), (0, 0, 200))]
    pages[0].save(root / "scan.pdf", save_all=True, append_images=pages[1:])  # 2 pages, one image each, no text
    doc = docx.Document()
    doc.add_paragraph("A report about the colour green and the colour yellow.")
    for name, color in (("g.png", (0, 200, 0)), ("y.png", (230, 230, 0))):
        doc.add_picture(str(write_image(tmp_path / name, color)))
    doc.save(root / "report.docx")

    report = run(img_settings, embedder, image_embedder, [root])
    assert report.totals.images_added == 4
    rows = Store(img_settings).find(images_collection("test")).get(include=["metadatas", "embeddings"])
    where = sorted((Path(m["path"]).name, m["page"]) for m in rows["metadatas"])
    assert where == [("report.docx", 0), ("report.docx", 0), ("scan.pdf", 1), ("scan.pdf", 2)]
    page2 = next(v for m, v in zip(rows["metadatas"], rows["embeddings"]) if m["page"] == 2)
    # the blue page's picture, as the model embeds it (pypdf re-encodes it, so compare loosely)
    blue = image_embedder.embed_images([pages[1]])[0]
    assert float(np.dot(page2, blue)) > 0.99
    hit = search_images(Store(img_settings), "test", blue, top_k=1)[0]
    assert Path(hit.path).name == "scan.pdf" and hit.page == 2

    again = run(img_settings, embedder, image_embedder, [root])
    assert again.totals.images_added == 0 and again.totals.images_deleted == 0
    (root / "scan.pdf").unlink()
    gone = run(img_settings, embedder, image_embedder, [root])
    assert gone.totals.images_deleted == 2
    left = Store(img_settings).find(images_collection("test")).get(include=["metadatas"])["metadatas"]
    assert sorted(Path(m["path"]).name for m in left) == ["report.docx", "report.docx"]


def test_an_image_finds_text_chunks_when_the_text_shares_the_clip_space(
    folder, tiny_clip, image_embedder, isolated_home
):
    from rag.models.embedder import Embedder

    from space.images import image_to_all

    s = Settings(home=isolated_home, collection="test", embed_model=str(tiny_clip), image_model=str(tiny_clip))
    assert run(s, Embedder(str(tiny_clip)), image_embedder, [folder]).ok
    probe = folder / "pics" / "red.png"
    found = image_to_all(s, Store(s), image_embedder, probe, top_k=3)
    assert found.note is None and len(found.chunks) == 3
    got = Store(s).get("test").get(include=["embeddings"])
    v = image_embedder.embed_images([image_embedder.decode(probe.read_bytes())])[0]
    scores = np.asarray(got["embeddings"]) @ v
    assert [h.id for h in found.chunks] == [got["ids"][i] for i in np.argsort(-scores)[:3]]
    assert [h.score for h in found.chunks] == pytest.approx(sorted(scores, reverse=True)[:3], abs=1e-4)
