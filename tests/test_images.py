"""Images and texts in one space: the image embedder on a tiny real CLIP, and safe decoding.

The tiny model (tests/tiny_clip.py) has random weights: every expected value here is computed from
that same model through transformers directly, never from what a trained CLIP would answer.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from rag.models.image_decode import BadImage, decode_image


def png_bytes(size=(40, 30), color=(200, 30, 30), mode="RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size=(40, 30), color=(30, 30, 200)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def claimed_size_png(width: int, height: int) -> bytes:
    """A small valid PNG whose header is rewritten to claim width x height (a decompression bomb's header)."""
    data = bytearray(png_bytes((4, 4)))
    ihdr = data[12:29]  # 'IHDR' + 13 bytes of fields
    fields = struct.pack(">II", width, height) + bytes(ihdr[12:17])
    body = b"IHDR" + fields
    data[12:29] = body
    data[29:33] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return bytes(data)


# -- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "words"),
    [
        (10_000, "10000 x 10000 = 100.0 MP > 50 MP"),  # 300 MB decoded: over our limit (image_max_pixels)
        (100_000, "10000000000 pixels"),  # 30 GB decoded: Pillow's own hard limit fires first, as it should
    ],
)
def test_a_decompression_bomb_header_is_refused_before_any_pixel_is_decoded(side, words):
    import tracemalloc

    bomb = claimed_size_png(side, side)
    assert len(bomb) < 200
    tracemalloc.start()
    with pytest.raises(BadImage) as exc:
        decode_image(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "too many pixels" in exc.value.reason and words in exc.value.reason
    assert peak < 5_000_000  # nothing near the claimed size was allocated


def test_the_pixel_limit_is_the_setting_not_a_constant():
    data = png_bytes((100, 100))
    assert decode_image(data, max_pixels=10_000).size == (100, 100)
    with pytest.raises(BadImage, match="too many pixels"):
        decode_image(data, max_pixels=9_999)


def test_huge_images_are_downscaled_keeping_their_shape():
    assert decode_image(png_bytes((2048, 512)), max_side=1024).size == (1024, 256)
    jpg = decode_image(jpeg_bytes((3000, 1500)), max_side=1024)
    assert jpg.size == (1024, 512) and jpg.mode == "RGB"
    assert decode_image(jpeg_bytes((3000, 1500))).size == (512, 256)  # the default: CLIP looks at 224-336 px


def test_transparent_areas_become_white_not_black():
    im = decode_image(png_bytes((8, 8), (0, 0, 0, 0), mode="RGBA"))
    assert im.mode == "RGB" and im.getpixel((3, 3)) == (255, 255, 255)


def test_an_animated_gif_gives_its_first_frame():
    from PIL import Image

    frames = [Image.new("RGB", (16, 16), c) for c in ((250, 0, 0), (0, 250, 0))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    r, g, _ = decode_image(out.getvalue()).getpixel((8, 8))
    assert r > 200 and g < 50


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"this is not an image at all", "cannot identify"),
        (b"\x89PNG\r\n\x1a\n", "cannot identify"),  # a signature and nothing else
        (jpeg_bytes((64, 64))[:200], "corrupt image"),  # cut off mid-scan
        (png_bytes((64, 64))[:60], "corrupt image"),
        (claimed_size_png(0, 5), "corrupt image"),
    ],
)
def test_corrupt_images_are_reported_with_their_reason(data, words):
    with pytest.raises(BadImage) as exc:
        decode_image(data)
    assert words in exc.value.reason


# -- the model ------------------------------------------------------------------------------


def _direct(tiny_clip: Path):
    """The same weights through transformers alone: the reference our results must equal."""
    from transformers import CLIPModel, CLIPProcessor

    return CLIPModel.from_pretrained(tiny_clip).eval(), CLIPProcessor.from_pretrained(tiny_clip)


def _unit(x) -> np.ndarray:
    x = x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _features(out):
    return out.pooler_output if hasattr(out, "pooler_output") else out  # transformers 5 returns an output object


def test_images_and_texts_land_in_one_space_as_clip_puts_them(image_embedder, tiny_clip):
    import torch

    images = [decode_image(png_bytes((40, 30), c)) for c in ((220, 20, 20), (20, 220, 20), (20, 20, 220))]
    texts = ["a red square", "a green square", "a photo of a dog"]
    got_i, got_t = image_embedder.embed_images(images), image_embedder.embed_texts(texts)
    assert got_i.shape == (*got_t.shape[:1], 16) == (3, 16) and image_embedder.dim == 16
    assert np.allclose(np.linalg.norm(got_i, axis=1), 1, atol=1e-5)
    model, proc = _direct(tiny_clip)
    with torch.no_grad():
        want_i = _unit(_features(model.get_image_features(**proc(images=images, return_tensors="pt"))))
        want_t = _unit(_features(model.get_text_features(**proc(text=texts, return_tensors="pt", padding=True))))
    assert np.allclose(got_i, want_i, atol=1e-4) and np.allclose(got_t, want_t, atol=1e-4)
    assert np.allclose(got_t @ got_i.T, want_t @ want_i.T, atol=1e-4)  # cross-modal cosines are CLIP's own


def test_classify_gives_clips_own_probabilities_summing_to_one(image_embedder, tiny_clip):
    import torch

    image = decode_image(png_bytes((40, 30), (120, 60, 200)))
    labels = ["cat", "dog", "lion"]
    rows = image_embedder.classify(image, labels)
    assert sum(p for _, p, _ in rows) == pytest.approx(1.0, abs=1e-9)
    assert [p for _, p, _ in rows] == sorted((p for _, p, _ in rows), reverse=True)
    model, proc = _direct(tiny_clip)
    with torch.no_grad():
        out = model(**proc(text=labels, images=[image], return_tensors="pt", padding=True))
    want = dict(zip(labels, out.logits_per_image.softmax(-1)[0].tolist()))
    assert {lb: p for lb, p, _ in rows} == pytest.approx(want, abs=1e-4)
    assert image_embedder.logit_scale == pytest.approx(float(model.logit_scale.detach().exp()), rel=1e-6)


def test_classify_needs_two_labels(image_embedder):
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="two labels"):
        image_embedder.classify(decode_image(png_bytes()), ["cat"])


def test_a_text_only_model_is_refused_as_image_model(embedder):
    from rag.errors import ModelError
    from rag.models.embedder import bundled_model_path
    from rag.models.image_embedder import ImageEmbedder

    with pytest.raises(ModelError, match="not a CLIP-style image model"):
        _ = ImageEmbedder(str(bundled_model_path())).model


def test_a_missing_local_model_names_the_fix(tmp_path):
    from rag.errors import ModelError
    from rag.models.image_embedder import ImageEmbedder

    with pytest.raises(ModelError, match="image_model"):
        _ = ImageEmbedder(str(tmp_path)).model  # an existing but empty folder: never fetched from anywhere


def test_images_are_off_by_default_and_nothing_is_loaded():
    from rag.app import build_image_embedder
    from rag.settings import Settings

    s = Settings()
    assert s.image_model == "" and build_image_embedder(s) is None
