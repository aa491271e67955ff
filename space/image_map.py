"""The collection's images on the map (`<name>__images`), placed honestly.

An image vector can share the text map's projection only when the text chunks were embedded by the
same model (`embed_model` = `image_model`): then both live in one space and the text map's PCA places
the images exactly as it places a question. With the default MiniLM text model and a CLIP image model
the two spaces are unrelated (different models, even different dimensions): putting images on the text
axes would draw meaningless positions, so they get a projection of their own, drawn in a panel of
their own, where the question - embedded by CLIP's text tower - is placed among them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.models.image_decode import BadImage, is_image_name, thumbnail_png
from rag.retrieval.image_search import images_collection

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from rag.index.store import Store
    from rag.settings import Settings
    from space.map import SpaceMap

MAX_IMAGES = 5000  # points of the image layer; a sample above this
MAX_THUMBS = 40  # thumbnails drawn on the map (base64 in the figure: ~2-4 KB each); the rest are markers
THUMB_SIDE = 64


@dataclass
class ImageLayer:
    """Images of a collection projected for the map, with how (shared or own projection) and why."""

    collection: str  # the text collection they sit beside
    ids: list[str]
    paths: list[str]
    pages: list[int | None]
    xy: np.ndarray
    shared: bool  # on the text map's own axes (same model) or in a panel of their own
    model: str  # the image model that embedded them
    text_model: str
    total: int
    thumbs: list[bytes | None] = field(default_factory=list)  # small PNGs, aligned with ids (None: a marker only)
    mean: np.ndarray | None = field(default=None, repr=False)  # own projection (PCA) when not shared
    components: np.ndarray | None = field(default=None, repr=False)

    @property
    def note(self) -> str:
        """Why the images are (or are not) on the text's axes, in one sentence."""
        if self.shared:
            return f"images and text share one space ({self.model}): one projection for both"
        return (
            f"images are in their own panel: they were embedded with {self.model}, the text with "
            f"{self.text_model} - two unrelated spaces, so one projection for both would place them at random"
        )

    @property
    def panel_title(self) -> str:
        """The short title over the images' own panel (the full reason is `note`)."""
        return f"images ({Path(self.model).name}): their own projection, another space than the text's"

    def project(self, vectors: np.ndarray, space_map: SpaceMap | None = None) -> np.ndarray:
        """(m, dim) vectors of the image model's space -> (m, 2) on the images' own axes (or the text map's)."""
        import numpy as np

        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if self.shared:
            if space_map is None:
                raise ValueError("a shared image layer needs the text map to project with")
            return space_map.project(v)
        return ((v - self.mean) @ self.components.T).astype(np.float32)


def load_image_layer(
    settings: Settings, store: Store, space_map: SpaceMap, *, thumbs: Thumbnails | None = None,
    max_images: int = MAX_IMAGES,
) -> ImageLayer | None:  # fmt: skip
    """The images of `settings.collection` for its map; None when images are off or there are none.

    Reads the stored vectors only: no image model is loaded to draw the map.
    """
    from rag.index.store import read_fingerprint
    from space.map import pca_basis
    from space.vectors import read_vectors

    if not settings.image_model:
        return None  # images are off: nothing is drawn, even if an older run indexed some
    col = store.find(images_collection(space_map.collection))
    if col is None or col.count() == 0:
        return None
    model = str(read_fingerprint(col.metadata).get("embed_model", "?"))
    text_col = store.find(space_map.collection)
    text_model = str(read_fingerprint(text_col.metadata).get("embed_model", "?")) if text_col is not None else "?"
    vecs = read_vectors(store, col.name, limit=max_images, texts=False)
    shared = model == text_model
    mean = comps = None
    if shared:
        xy = space_map.project(vecs.vectors)
    else:
        mean, comps = pca_basis(vecs.vectors, 2)
        xy = ((vecs.vectors - mean) @ comps.T).astype("float32")
    pages = [int(m.get("page") or 0) or None for m in vecs.metas]
    layer = ImageLayer(space_map.collection, vecs.ids, vecs.paths, pages, xy, shared, model, text_model, vecs.total,
                       mean=mean, components=comps)  # fmt: skip
    if thumbs is not None:
        layer.thumbs = thumbs.many(vecs.paths[:MAX_THUMBS]) + [None] * max(0, len(vecs.ids) - MAX_THUMBS)
    return layer


class Thumbnails:
    """Small PNGs of image files by (path, size, mtime), shared by all sessions, newest kept.

    Only image files get one: a picture inside a PDF or DOCX is drawn as a marker (extracting it again
    would mean parsing the document on every map).
    """

    def __init__(self, decode: Callable[[bytes], Image.Image] | None = None, size: int = 2000) -> None:
        from rag.models.image_decode import decode_image

        self.decode = decode or decode_image
        self.size = size
        self._items: OrderedDict[tuple, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def many(self, paths: list[str]) -> list[bytes | None]:
        return [self.get(p) for p in paths]

    def get(self, path: str) -> bytes | None:
        if not is_image_name(path):
            return None
        try:
            st = Path(path).stat()
        except OSError:
            return None  # moved since it was indexed: still drawn, as a marker
        key = (path, st.st_size, st.st_mtime_ns)
        with self._lock:
            if key in self._items:
                return self._items[key]
        try:
            png = thumbnail_png(self.decode(Path(path).read_bytes()), THUMB_SIDE)
        except (OSError, BadImage):
            png = None
        with self._lock:
            self._items[key] = png
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return png
