"""Decoding images safely for embedding: a pixel limit checked before any pixel is decoded, big images shrunk.

Pillow reads only the header on `Image.open`, so the size is known before the pixels are. A file
that claims more than `max_pixels` is refused there (a decompression bomb: a few KB of PNG can
claim 100,000 x 100,000 pixels = 40 GB once decoded). JPEGs are decoded at 1/2..1/8 scale when
that still covers `max_side` (libjpeg's DCT scaling: the full image is never in memory).
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
# CLIP models look at 224-336 px squares: more than this is decode time and memory spent for nothing
# (benchmarks/space.py --images: a 12 MP JPEG decodes several times faster at this size than in full).
MAX_SIDE = 512
DEFAULT_MAX_PIXELS = 50_000_000  # a 50 MP photo is 150 MB as RGB; larger claims are refused unread


class BadImage(Exception):
    """An image file that cannot be embedded; `reason` says why and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES)


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int = MAX_SIDE) -> Image.Image:
    """An RGB image no larger than `max_side` on its longer side, from an image file's bytes.

    Raises:
        BadImage: not an image, corrupt or truncated, or more than `max_pixels` pixels.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # our own limit below is the one that counts; Pillow's warning would only add noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            _check_size(im.size, max_pixels)
            if im.format == "JPEG":
                im.draft("RGB", _fit(im.size, max_side))  # libjpeg's 1/2..1/8 scaling, never below the target
            im.load()  # first frame only for GIF/WebP animations
            rgb = _to_rgb(im)
    except UnidentifiedImageError:
        raise BadImage("corrupt image: Pillow cannot identify it (damaged file or wrong extension)") from None
    except Image.DecompressionBombError as exc:
        # Pillow's own hard limit (2 x Image.MAX_IMAGE_PIXELS) fired at open, before ours could
        raise BadImage(f"too many pixels: {exc} (refused before decoding)") from None
    except BadImage:
        raise
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's decoders raise all of these
        raise BadImage(f"corrupt image: {exc}") from None
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    return rgb


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w < 1 or h < 1:
        raise BadImage(f"corrupt image: it claims a size of {w} x {h} pixels")
    if w * h > max_pixels:
        raise BadImage(
            f"too many pixels: {w} x {h} = {w * h / 1e6:.1f} MP > {max_pixels / 1e6:g} MP "
            "(refused before decoding: a decompression bomb could take all memory); "
            "raise `image_max_pixels` to include it"
        )


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size within max_side x max_side with the image's shape (what draft must still cover)."""
    w, h = size
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB pixels; transparent areas become white (as the image looks on a page), not black."""
    from PIL import Image

    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        page = Image.new("RGB", rgba.size, (255, 255, 255))
        page.paste(rgba, mask=rgba.getchannel("A"))
        return page
    return im.convert("RGB")


def thumbnail_png(im: Image.Image, side: int = 160) -> bytes:
    """A small PNG of an image, for showing it next to sources and on the map."""
    small = im.copy()
    small.thumbnail((side, side))
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()
