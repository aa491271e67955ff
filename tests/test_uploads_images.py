"""Image files through the Documents tab's upload box (tiny real CLIP, real Chroma, no browser).

With `image_model` set an uploaded picture takes the same safety checks as any upload and the same
ingest path into `<collection>__images`; with it empty the picture is refused saying how to turn
images on, and the rest of the upload still goes in.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from rag.index.store import Store
from rag.retrieval.image_search import images_collection, search_images

from rag.settings import Settings
from tests.conftest import DATA, free_port
from tests.test_images_ingest import write_image
from ui import documents as docs
from ui import handlers, render
from ui.events import Events
from ui.uploads import IMAGES_OFF, UploadLimits, save_uploads, upload_dir


def settings(home, **kw) -> Settings:
    return Settings(home=home, collection="docs", ollama_host=f"http://127.0.0.1:{free_port()}", **kw)


def image_count(store: Store) -> int:
    col = store.find(images_collection("docs"))
    return 0 if col is None else col.count()


def test_uploaded_images_are_indexed_beside_the_text(isolated_home, tmp_path, embedder, image_embedder, tiny_clip):
    s = settings(isolated_home, image_model=str(tiny_clip))
    store = Store(s)
    red = write_image(tmp_path / "red.png", (220, 20, 20))
    note = tmp_path / "note.md"
    note.write_text("# Colours\n\nA note about the colour red and the colour blue.\n")
    report, saved = docs.ingest_uploads(s, embedder, store, "docs", [red, note], UploadLimits(images=True),
                                        image_embedder=image_embedder)  # fmt: skip
    assert saved.rejected == [] and report.ok and report.totals.images_added == 1
    assert image_count(store) == 1 and store.get("docs").count() >= 1
    copy = upload_dir(s.home, "docs") / "red.png"
    # found by the tiny model's own vector of the uploaded file, with cosine 1 to itself
    hit = search_images(store, "docs", image_embedder.embed_images([image_embedder.decode(copy.read_bytes())])[0])[0]
    assert hit.path == str(copy) and hit.score == pytest.approx(1.0, abs=1e-4)
    assert "1 images added" in render.report_summary(report, saved)
    assert str(copy) in [d.path for d in docs.list_documents(s, store, "docs")]  # listed, so it can be removed
    removed = docs.remove_document(s, store, "docs", str(copy))
    assert removed.totals.images_deleted == 1 and image_count(store) == 0 and not copy.exists()


def test_images_in_an_uploaded_zip_go_in_too(isolated_home, tmp_path, embedder, image_embedder, tiny_clip):
    s = settings(isolated_home, image_model=str(tiny_clip))
    store = Store(s)
    pics = [write_image(tmp_path / n, c) for n, c in (("a.jpg", (20, 200, 40)), ("b.webp", (30, 40, 220)))]
    z = tmp_path / "pics.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in pics:
            zf.write(p, f"album/{p.name}")
    report, saved = docs.ingest_uploads(s, embedder, store, "docs", [z], UploadLimits(images=True),
                                        image_embedder=image_embedder)  # fmt: skip
    assert saved.rejected == [] and len(saved.saved) == 2 and report.totals.images_added == 2
    assert image_count(store) == 2


def test_with_images_off_an_uploaded_image_is_refused_saying_how_to_turn_them_on(isolated_home, tmp_path, embedder):
    s = settings(isolated_home)
    store = Store(s)
    red = write_image(tmp_path / "red.png", (220, 20, 20))
    z = tmp_path / "mixed.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(red, "in/red.png")
        zf.write(DATA / "docs" / "mars.md", "in/mars.md")
    report, saved = docs.ingest_uploads(s, embedder, store, "docs", [red, z], UploadLimits())
    reasons = dict(saved.rejected)
    assert reasons == {"red.png": IMAGES_OFF, "mixed.zip/in/red.png": IMAGES_OFF}
    assert "image_model" in IMAGES_OFF and "clip-ViT-B-32" in IMAGES_OFF
    assert report.ok and report.totals.ingested == 1  # the text in the same upload still went in
    assert image_count(store) == 0 and not (upload_dir(s.home, "docs") / "red.png").exists()
    rows = render.report_rows(report, saved)
    assert any(r[0] == "red.png" and r[1] == "refused" and "image_model" in r[3] for r in rows)


def test_the_ui_takes_images_only_when_image_model_is_set(isolated_home, tmp_path, tiny_clip, embedder):
    red = write_image(tmp_path / "red.png", (220, 20, 20))
    for model, taken in (("", False), (str(tiny_clip), True)):
        s = settings(isolated_home, image_model=model)
        ev = Events(s, embedder, Store(s), handlers.EnginePool(s, lambda cfg: None), s)
        out = save_uploads([red], tmp_path / f"u{taken}", ev.limits)
        assert (out.saved != []) is taken and (out.rejected == []) is taken


def test_an_uploaded_image_takes_the_same_size_limit(tmp_path):
    big = write_image(tmp_path / "big.png", (1, 2, 3), size=(900, 900))
    noisy = np.random.default_rng(0).integers(0, 255, (900, 900, 3), dtype=np.uint8)
    from PIL import Image

    Image.fromarray(noisy).save(big)  # incompressible: well over the 0.1 MB limit below
    out = save_uploads([big], tmp_path / "u", UploadLimits(max_mb=0.1, images=True))
    assert out.saved == [] and "too large" in dict(out.rejected)["big.png"]
