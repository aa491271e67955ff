"""Pictures inside documents: the images embedded in PDFs (with their page) and DOCX files.

Only the encoded image bytes are taken out here; decoding (with its pixel limit) is
rag/models/image_decode.py's job. A PDF image's size is read from its dictionary (/Width, /Height) and
checked before pypdf decodes its stream, so a bomb inside a PDF is skipped unread too.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

from rag.models.image_decode import is_image_name

log = logging.getLogger(__name__)

CONTAINER_SUFFIXES = (".pdf", ".docx")
MAX_MEMBER_BYTES = 50 * 2**20  # a DOCX member larger than this is not read (zip bombs)


def has_embedded_images(path: Path) -> bool:
    return path.suffix.lower() in CONTAINER_SUFFIXES


def embedded_images(path: Path, data: bytes, max_pixels: int) -> Iterator[tuple[int | None, bytes]]:
    """(page or None, encoded image bytes) for each picture in a PDF or DOCX, in document order.

    Raises whatever the parser raises on a broken file (the text side reports the file).
    """
    if path.suffix.lower() == ".docx":
        yield from _docx(data)
    elif path.suffix.lower() == ".pdf":
        yield from _pdf(data, max_pixels)


def _docx(data: bytes) -> Iterator[tuple[int | None, bytes]]:
    # DOCX keeps its pictures as ordinary files in the zip; it has no pages until a word processor lays it out
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            if info.filename.startswith("word/media/") and is_image_name(info.filename):
                if info.file_size > MAX_MEMBER_BYTES:
                    log.info("skipping %s: %d bytes uncompressed", info.filename, info.file_size)
                    continue
                yield None, z.read(info)


def _pdf(data: bytes, max_pixels: int) -> Iterator[tuple[int | None, bytes]]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    for number, page in enumerate(reader.pages, 1):
        for name in _safe_image_names(page, max_pixels):
            try:
                yield number, page.images[name].data
            except Exception as exc:  # one unreadable picture must not cost the others
                log.info("page %d image %s unreadable: %s", number, name, exc)


def _safe_image_names(page, max_pixels: int) -> list[str]:
    """Names of the page's image XObjects whose declared size is within the pixel limit."""
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else {}
    xobjects = resources.get("/XObject") if hasattr(resources, "get") else None
    if xobjects is None:
        return []
    names = []
    for name, ref in xobjects.get_object().items():
        obj = ref.get_object()
        if obj.get("/Subtype") != "/Image":
            continue
        w, h = int(obj.get("/Width", 0) or 0), int(obj.get("/Height", 0) or 0)
        if w * h > max_pixels or w < 1 or h < 1:
            log.info("skipping image %s: declared %d x %d pixels", name, w, h)
            continue
        names.append(str(name))
    return names
