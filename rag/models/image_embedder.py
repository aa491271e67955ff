"""A CLIP-style model (through sentence-transformers) that puts images and texts in one space.

Off unless `image_model` names one: no image model ships with our packages. A local directory
is loaded as is; a name (e.g. `clip-ViT-B-32`) is looked for in the local cache first and fetched
from the Hugging Face hub only when missing - naming a model is the user's explicit choice.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import ConfigError, ModelError
from rag.models.image_decode import DEFAULT_MAX_PIXELS, MAX_SIDE, decode_image

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

log = logging.getLogger(__name__)


def resolve_image_model(name_or_path: str) -> tuple[str, str, bool]:
    """(model id recorded in the index, where to load from, whether it is a local directory)."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return str(path.resolve()), str(path.resolve()), True
    return name_or_path, name_or_path, False


class ImageEmbedder:
    """Embeds images and texts into the same normalised float32 space (cosine = dot product)."""

    normalized = True

    def __init__(
        self,
        name_or_path: str,
        batch_size: int = 16,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_side: int = MAX_SIDE,
    ) -> None:
        if not name_or_path:
            raise ModelError("No image model is set - set `image_model` (e.g. clip-ViT-B-32 or a local path).")
        self.model_id, self._location, self._local = resolve_image_model(name_or_path)
        self.batch_size = batch_size
        self.max_pixels = max_pixels
        self.max_side = max_side

    @cached_property
    def model(self):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            model = self._load(local_only=True)
        except Exception as first:  # not on disk yet
            if self._local:
                raise self._error(first) from None
            log.warning("image model %s is not in the local cache; fetching it once", self.model_id)
            try:
                model = self._load(local_only=False)
            except Exception as exc:
                raise self._error(exc) from None
        if self._logit_scale_param(model) is None:
            raise ModelError(
                f"{self.model_id!r} is not a CLIP-style image model (it has no image tower) - set `image_model` "
                "to one such as `clip-ViT-B-32` or a local sentence-transformers CLIP directory."
            )
        return model

    def _load(self, *, local_only: bool):
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._location, device="cpu", local_files_only=local_only)

    def _error(self, exc: Exception) -> ModelError:
        return ModelError(
            f"Cannot load image model {self.model_id!r} ({type(exc).__name__}: {exc}). Set `image_model` to a "
            "local sentence-transformers CLIP directory, or to a model name (e.g. clip-ViT-B-32) on a machine "
            "that can reach huggingface.co once; leave it empty to index no images."
        )

    @staticmethod
    def _logit_scale_param(model):
        for module in model.modules():
            scale = getattr(module, "logit_scale", None)
            if scale is not None and hasattr(scale, "detach"):
                return scale
        return None

    @property
    def dim(self) -> int:
        return int(self.embed_texts(["a"]).shape[1])

    @cached_property
    def logit_scale(self) -> float:
        """CLIP's learned temperature: probabilities are softmax(logit_scale x cosine)."""
        return float(math.exp(float(self._logit_scale_param(self.model).detach().reshape(-1)[0])))

    def decode(self, data: bytes) -> Image.Image:
        """Bytes of an image file -> a bounded RGB image (raises BadImage)."""
        return decode_image(data, max_pixels=self.max_pixels, max_side=self.max_side)

    def embed_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, dim) unit vectors of decoded images."""
        return self._encode(list(images))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) unit vectors of texts, in the images' space."""
        return self._encode(list(texts))

    def _encode(self, items: list) -> np.ndarray:
        import numpy as np

        if not items:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self.model.encode(
            items, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def classify(self, image: Image.Image, labels: Sequence[str]) -> list[tuple[str, float, float]]:
        """Zero-shot: (label, probability, cosine) per label, most likely first; probabilities sum to 1."""
        import numpy as np

        if len(labels) < 2:
            raise ConfigError("Give at least two labels to choose between, e.g. --labels 'cat,dog'.")
        cosines = self.embed_texts(labels) @ self.embed_images([image])[0]
        logits = self.logit_scale * cosines.astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.argsort(-probs)
        return [(labels[i], float(probs[i]), float(cosines[i])) for i in order]
