"""Images next to an answer's sources in the chat UI (shown to the person, never sent to the LLM)."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.models.image_decode import BadImage, thumbnail_png

if TYPE_CHECKING:
    from rag.index.store import Store
    from rag.models.image_embedder import ImageEmbedder
    from rag.retrieval.image_search import ImageHit

    from rag.settings import Settings
    from rag.types import Answer

log = logging.getLogger(__name__)
THUMB_SIDE = 160


@dataclass(frozen=True)
class ShownImage:
    """An image matching a question, with a small PNG to show (None when the file can no longer be read)."""

    hit: ImageHit
    png: bytes | None


def shown_images(
    settings: Settings, store: Store, embedder: ImageEmbedder | None, collection: str, question: str, answer: Answer
) -> list[ShownImage]:
    """Matching images of an answered question with thumbnails; [] when images are off or none passes."""
    from rag.retrieval.image_search import images_for_answer

    if embedder is None:
        return []
    config = settings.model_copy(update={"collection": collection})
    hits = images_for_answer(config, store, question, answer.rewritten_query, embedder=embedder)
    return [ShownImage(h, _thumbnail(embedder, h.path)) for h in hits]


def _thumbnail(embedder: ImageEmbedder, path: str) -> bytes | None:
    try:
        return thumbnail_png(embedder.decode(Path(path).read_bytes()), THUMB_SIDE)
    except (OSError, BadImage) as exc:  # moved or broken since it was indexed: still listed, without a picture
        log.info("no thumbnail for %s: %s", path, exc)
        return None


def images_html(images: list[ShownImage]) -> str:
    """A row of thumbnails with file name and similarity; names pass through html escaping."""
    from ui.render import attr, file_name, text

    if not images:
        return ""
    cells = []
    for im in images:
        h = im.hit
        picture = (
            f'<img src="data:image/png;base64,{base64.b64encode(im.png).decode()}" alt="{attr(file_name(h.path))}">'
            if im.png
            else '<div class="rag-image-missing">(file not readable now)</div>'
        )
        page = f" · page {h.page}" if h.page else ""
        cells.append(
            f'<figure class="rag-image" title="{attr(h.path)}">{picture}'
            f"<figcaption>{text(file_name(h.path))}{page} · similarity {h.score:.2f}</figcaption></figure>"
        )
    return f'<div class="rag-images"><small>matching images</small>{"".join(cells)}</div>'
