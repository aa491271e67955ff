"""Image embedding cost on this CPU: per-image decode + downscale, and images/s with the tiny CLIP.

Run through `benchmarks/space.py --images N`. The model is the tests' tiny random-weight CLIP
(tests/tiny_clip.py: 32 px input, 2 layers): its images/s is the fixed cost of our path (PIL
decode, CLIP preprocessing, sentence-transformers batching) more than the cost of a model. To
project a real model, this also measures the CPU's float32 matmul rate: a ViT-B/32 image tower at
224 px is ~4.4 GMACs (= 8.8 GFLOPs) per image, so images/s <= rate / 8.8 GFLOPs, plus the decode.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

VIT_B32_GFLOPS = 8.8  # 4.4 GMACs per 224 px image (timm's vit_base_patch32_224), 2 FLOPs per MAC
SOURCES = [("JPEG", (640, 480)), ("JPEG", (1920, 1080)), ("JPEG", (4000, 3000)), ("PNG", (1920, 1080))]


def photo_like(size: tuple[int, int], fmt: str, seed: int) -> bytes:
    """Smooth gradients plus noise: compresses like a photo, not like a flat colour."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    base = (x * rng.random(3) + y * rng.random(3)) * 200
    pixels = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()


def _ms(fn, repeat: int) -> tuple[float, object]:
    """Median ms of `repeat` calls (the median: this machine is shared, and a mean would carry the stalls)."""
    import statistics

    fn()  # warm-up: codec tables
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def full_decode(data: bytes, max_side: int):
    """The baseline: decode every pixel, then shrink to the same size (what ours does without libjpeg's scaling)."""
    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    return im


def decode_costs(repeat: int = 9) -> list[dict]:
    """ms per image: ours (rag/models/image_decode.py, <= MAX_SIDE) against a full decode + the same shrink."""
    from rag.models.image_decode import MAX_SIDE, decode_image

    rows = []
    for fmt, size in SOURCES:
        data = photo_like(size, fmt, seed=size[0])
        ours, im = _ms(lambda data=data: decode_image(data), repeat)  # _ms calls it here, in this iteration
        full, _ = _ms(lambda data=data: full_decode(data, MAX_SIDE), repeat)
        rows.append({"source": f"{fmt} {size[0]}x{size[1]}", "kb": len(data) // 1024, "ms": ours, "full_ms": full,
                     "out": f"{im.size[0]}x{im.size[1]}"})  # fmt: skip
    return rows


def embed_rate(n: int) -> dict:
    """images/s of the tiny CLIP on n 1024x768 photos decoded as ingest does (preprocessing included, decode not)."""
    from rag.models.image_decode import decode_image
    from rag.models.image_embedder import ImageEmbedder
    from tests.tiny_clip import build_tiny_clip

    with tempfile.TemporaryDirectory() as d:
        emb = ImageEmbedder(str(build_tiny_clip(Path(d) / "clip")))
        images = [decode_image(photo_like((1024, 768), "JPEG", seed=i)) for i in range(min(n, 32))]
        images = (images * (n // len(images) + 1))[:n]
        emb.embed_images(images[:16])  # warm-up
        t = time.perf_counter()
        emb.embed_images(images)
        seconds = time.perf_counter() - t
    return {"images": n, "seconds": seconds, "per_s": n / seconds}


def matmul_gflops(size: int = 1024, repeat: int = 10) -> float:
    """Measured float32 matmul rate of torch on this CPU (the ceiling a ViT's dense layers can reach)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    t = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * size**3 * repeat / (time.perf_counter() - t) / 1e9


def run(n: int) -> None:
    from rag.models.image_decode import MAX_SIDE

    print(f"decode + downscale to <= {MAX_SIDE} px per image (rag/models/image_decode.py), against a full decode + the "
          "same downscale (median of 9):")  # fmt: skip
    for r in decode_costs():
        print(f"  {r['source']:<16} {r['kb']:>6} KB -> {r['out']:<9} {r['ms']:8.1f} ms   full "
              f"{r['full_ms']:7.1f} ms   ratio {r['full_ms'] / r['ms']:5.2f}x")  # fmt: skip
    e = embed_rate(n)
    print(f"\ntiny CLIP (random weights, 32 px, 2 layers): {e['images']} images in {e['seconds']:.2f} s "
          f"= {e['per_s']:.0f} images/s (CLIP preprocessing included, decode not)")  # fmt: skip
    rate = matmul_gflops()
    print(f"float32 matmul on this CPU: {rate:.0f} GFLOP/s -> a ViT-B/32 image tower (~{VIT_B32_GFLOPS} GFLOPs "
          f"per image) at best ~{rate / VIT_B32_GFLOPS:.0f} images/s, before decode and preprocessing")  # fmt: skip
