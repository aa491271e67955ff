"""The map: a 2D projection of a collection's stored chunk vectors, with topics, cached on disk."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from space.errors import SpaceError
from space.vectors import Vectors, all_ids, fingerprint, open_collection, read_vectors

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from rag.index.store import Store
    from rag.settings import Settings

log = logging.getLogger(__name__)

METHODS = ("pca", "umap")
CACHE_VERSION = 1
NEIGHBOURS = 8  # points a new vector is placed among when the projection is not linear (umap)


@dataclass
class SpaceMap:
    """A projected collection; `project` places new vectors (a question, a term) on the same map."""

    collection: str
    ids: list[str]
    paths: list[str]
    previews: list[str]
    xy: np.ndarray
    topics: np.ndarray
    topic_labels: dict[int, str]
    method: str
    total: int
    mean: np.ndarray | None = field(default=None, repr=False)  # pca: centre of the fitted vectors
    components: np.ndarray | None = field(default=None, repr=False)  # pca: (2, dim)
    anchors: np.ndarray | None = field(default=None, repr=False)  # umap: the points' own vectors

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """(m, dim) normalised vectors -> (m, 2) coordinates on this map."""
        import numpy as np

        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if self.components is not None:
            return ((v - self.mean) @ self.components.T).astype(np.float32)
        # A non-linear map has no formula for new points: place each at the similarity-weighted
        # centre of its nearest map points, which is where it would land among its neighbours.
        sims = v @ self.anchors.T
        near = np.argsort(-sims, axis=1)[:, :NEIGHBOURS]
        w = np.maximum(np.take_along_axis(sims, near, axis=1), 1e-6)
        return ((self.xy[near] * w[..., None]).sum(1) / w.sum(1, keepdims=True)).astype(np.float32)


def pca_basis(vectors: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, components (n_components, dim)) of a PCA, largest variance first.

    Written out rather than sklearn's PCA: its randomized solver took ~7 s per fit at 128 components on
    10k x 384, while the dim x dim covariance's eigendecomposition gives every component at once in ~0.1 s.
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    x = np.asarray(vectors, dtype=np.float32)  # float32 is plenty for a centred covariance of unit vectors
    mean = x.mean(0, dtype=np.float64).astype(np.float32)
    cov = np.zeros((x.shape[1], x.shape[1]), dtype=np.float64)
    # one BLAS thread: on 2 busy cores two threads spin-wait and made this 6 s instead of 0.3 s (10k x 384)
    with threadpool_limits(1):
        for start in range(0, len(x), 20000):  # bounded memory at 100k rows
            block = x[start : start + 20000] - mean
            cov += (block.T @ block).astype(np.float64)
        _, vecs = np.linalg.eigh(cov)
    comps = vecs[:, ::-1][:, :n_components].T
    # eigenvectors have no inherent sign: fix it so the same data always gives the same picture
    comps *= np.where(comps[np.arange(len(comps)), np.abs(comps).argmax(1)] < 0, -1.0, 1.0)[:, None]
    return mean.astype(np.float32), np.ascontiguousarray(comps, dtype=np.float32)


def project_pca(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xy, mean, components) of a 2-component PCA."""
    import numpy as np

    mean, comps = pca_basis(vectors, 2)
    return ((vectors - mean) @ comps.T).astype(np.float32), mean, comps


def project_umap(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """xy of UMAP (cosine metric); needs the optional `umap-learn`."""
    import numpy as np

    try:
        import umap
    except ImportError:
        raise SpaceError(
            "UMAP is not installed - `pip install 'ragspace[umap]'` (umap-learn), or use `--method pca`."
        ) from None
    neighbours = max(2, min(15, len(vectors) - 1))
    reducer = umap.UMAP(n_components=2, metric="cosine", n_neighbors=neighbours, random_state=seed)
    return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


def build_map(vecs: Vectors, *, method: str = "pca", topics: bool = True, seed: int = 0) -> SpaceMap:
    """Project `vecs` (and find their topics) without any caching."""
    import numpy as np

    if method not in METHODS:
        raise SpaceError(f"Unknown projection {method!r} - use one of: {', '.join(METHODS)}.")
    mean = comps = anchors = None
    if method == "pca":
        xy, mean, comps = project_pca(vecs.vectors)
    else:
        xy, anchors = project_umap(vecs.vectors, seed), vecs.vectors
    assignments, labels = np.full(len(vecs), -1, dtype=np.int64), {}
    if topics and len(vecs) >= 3:
        from space.topics import find_topics

        found = find_topics(vecs.vectors, vecs.texts, seed=seed)
        assignments, labels = found.assignments, found.labels()
    return SpaceMap(
        vecs.collection, vecs.ids, vecs.paths, vecs.previews(), xy, assignments, labels, method, vecs.total,
        mean=mean, components=comps, anchors=anchors,
    )  # fmt: skip


def load_map(
    settings: Settings, store: Store, *, method: str = "pca", topics: bool = True, max_points: int = 20000
) -> SpaceMap:
    """The map of `settings.collection` from its stored vectors, cached under `home/space` by content.

    A second call on an unchanged collection reads the cache; any ingest or removal changes the
    collection's fingerprint and the map is rebuilt.

    Raises:
        CollectionNotFound, EmptyCollection: naming `rag ingest`; SpaceError: a bad method.
    """
    if method not in METHODS:
        raise SpaceError(f"Unknown projection {method!r} - use one of: {', '.join(METHODS)}.")
    name = settings.collection
    col = open_collection(store, name)
    folder = settings.home / "space"
    view = folder / f"{name}-{method}-{'t' if topics else 'n'}-{max_points}.key"
    quick = _quick_key(store, col)
    known = _read_json(view)
    if quick and known.get("quick") == quick and (cached := _read_cache(folder, known.get("key", ""))) is not None:
        return cached  # nothing was written to the store since this map was built
    ids = all_ids(col)
    key = f"{view.stem}-{fingerprint(ids)}-v{CACHE_VERSION}"
    space_map = _read_cache(folder, key)
    if space_map is None:
        sample = _sample(ids, max_points)
        space_map = build_map(read_vectors(store, name, ids=sample if sample is not None else ids), method=method,
                              topics=topics)  # fmt: skip
        _write_cache(folder, key, space_map)
    _write_json(view, {"quick": quick, "key": key})
    return space_map


def _quick_key(store: Store, col) -> str | None:
    """A cheap stamp of the embedded store's files: unchanged means no chunk was written since.

    Listing every id (the real fingerprint) takes seconds at 100k chunks; this makes the second view
    instant. A Chroma server has no files to look at, so it always gets the full check.
    """
    if store.settings.chroma_url:
        return None
    parts = [str(col.count())]
    for name in ("chroma.sqlite3", "chroma.sqlite3-wal"):
        path = store.settings.chroma_path / name
        if path.exists():
            st = path.stat()
            parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj), encoding="utf-8")
    tmp.replace(path)


def _sample(ids: list[str], max_points: int) -> list[str] | None:
    import numpy as np

    if len(ids) <= max_points:
        return None
    pick = np.sort(np.random.default_rng(0).choice(len(ids), size=max_points, replace=False))
    return [ids[i] for i in pick]


def _write_cache(folder: Path, key: str, m: SpaceMap) -> None:
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    view = key.rsplit("-", 2)[0]  # collection-method-topics-max_points
    for old in [*folder.glob(f"{view}-*.npz"), *folder.glob(f"{view}-*.json")]:  # one cached map per view
        old.unlink(missing_ok=True)
    arrays = {"xy": m.xy, "topics": m.topics}
    for extra in ("mean", "components", "anchors"):
        if getattr(m, extra) is not None:
            arrays[extra] = getattr(m, extra)
    np.savez(folder / f"{key}.npz", **arrays)
    meta = {"collection": m.collection, "ids": m.ids, "paths": m.paths, "previews": m.previews,
            "topic_labels": {str(k): v for k, v in m.topic_labels.items()},
            "method": m.method, "total": m.total}  # fmt: skip
    tmp = folder / f"{key}.json.tmp"
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    tmp.replace(folder / f"{key}.json")  # the json appears last, so a half-written cache is never read


def _read_cache(folder: Path, key: str) -> SpaceMap | None:
    import numpy as np

    meta_path, arr_path = folder / f"{key}.json", folder / f"{key}.npz"
    if not (meta_path.exists() and arr_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(arr_path, allow_pickle=False) as arr:
            extras = {k: arr[k] for k in ("mean", "components", "anchors") if k in arr.files}
            xy, topics = arr["xy"], arr["topics"]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring a damaged space cache %s: %s", meta_path, exc)
        return None
    labels = {int(k): v for k, v in meta["topic_labels"].items()}
    return SpaceMap(
        meta["collection"], meta["ids"], meta["paths"], meta["previews"], xy, topics, labels,
        meta["method"], meta["total"], **extras,
    )  # fmt: skip
