"""What one browser session's Space tab shows: the map, the text drawn on it, its nearest images.

Plain state, below both ui/space.py (the tab's logic) and ui/space_images.py (its images), which
both read and replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from rag.retrieval.image_search import ImageHit
    from rag.types import Source
    from space.image_map import ImageLayer
    from space.map import SpaceMap


@dataclass
class Shown:
    """A question (or any text) drawn on the map, with the passages retrieval returned for it."""

    text: str
    vector: np.ndarray  # its normalised embedding: projected anew onto whichever map is shown
    sources: list[Source]
    origin: str  # "chat" (the last answered chat question), "space" (retrieval) or "similar" (cosine only)
    image_hits: list[ImageHit] | None = None  # its nearest images (ui/space_images.py); None: not looked up yet
    image_vector: np.ndarray | None = None  # the text in the image model's space
    image_note: str | None = None  # why no images could be looked up


@dataclass
class SpaceView:
    """What one browser session sees in the Space tab."""

    space_map: SpaceMap | None = None
    color_by: str = "file"
    shown: Shown | None = None
    chat_turns: int = 0  # chat turns already looked at, so a new answer is drawn once, not over a typed text
    images: ImageLayer | None = None  # the collection's images (None when images are off or there are none)
