"""Retrieval: dense top-k by cosine, optionally fused with BM25 (RRF), diversified (MMR), filtered.

Semantics every caller can rely on:
  * `Source.score` is always the true cosine similarity of the chunk to the question, whichever
    ranking found it (hybrid looks up the stored vectors of keyword-only hits).
  * threshold: sources with cosine < threshold are dropped; pass `NO_THRESHOLD` (-1.0) to get the
    closest chunks however weak (what an abstaining answer shows as "nearest"). It is applied
    before MMR, so diversification never spends a slot on a chunk the threshold drops.
  * path_glob: fnmatch on the stored path, matched against the whole absolute path, the file name,
    or the path below any folder, so "*.md", "notes/*", "docs/notes/*.md" and "/home/me/*" all
    work (`*` also crosses "/", as in fnmatch; case-sensitive on Linux).
  * ranks `Source.n` run 1..k after all filtering.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rag.index import generation
from rag.index.lexical import LexicalIndex
from rag.index.store import read_fingerprint
from rag.settings import Settings
from rag.types import Source

if TYPE_CHECKING:
    import numpy as np

    from rag.protocols import Collection, TextEmbedder, VectorStore

log = logging.getLogger(__name__)

NO_THRESHOLD = -1.0
MIN_FETCH = 50  # candidates per ranking before fusion / MMR / glob filtering
# Below this many chunks a word's share of them says little (in 3 chunks every word is "common").
COMMON_MIN_ROWS = 12
# A filtered Chroma query costs ~70-130 ms at 100k chunks whatever the filter; an unfiltered one
# ~0.1 ms per result. A glob is applied after the query unless that needs more rows than this.
MAX_POST_FILTER = 1000


@dataclass
class _Hit:
    id: str
    text: str
    meta: dict[str, Any]
    cosine: float
    vector: Any = None
    fused: float | None = None
    bm25: float | None = None

    @property
    def path(self) -> str:
        return str(self.meta.get("path", ""))

    def source(self, n: int) -> Source:
        m = self.meta
        return Source(
            n=n,
            id=self.id,
            path=self.path,
            page=int(m.get("page") or 0) or None,
            text=self.text,
            score=self.cosine,
            start_char=int(m.get("start_char", 0)),
            end_char=int(m.get("end_char", 0)),
            chunk_index=int(m.get("chunk_index", 0)),
            fused_score=self.fused,
            bm25_score=self.bm25,
        )


@lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def glob_matches(path: str, pattern: str) -> bool:
    """Whether `pattern` matches the path, its file name, or its path below any folder."""
    rx, p = _glob_regex(pattern), path.replace(os.sep, "/")
    if rx.match(p):
        return True
    i = p.find("/")
    while i != -1:
        if rx.match(p, i + 1):  # the pattern ends in \Z, so this matches the suffix after a "/"
            return True
        i = p.find("/", i + 1)
    return False


@dataclass
class _Glob:
    """A path glob and what the keyword index knows of the paths it matches."""

    pattern: str | None = None
    paths: list[str] | None = None  # matching indexed paths, when the keyword index is in step
    share: float = 1.0  # matching share of the indexed paths (an estimate of the share of chunks)

    def keep(self, path: str) -> bool:
        return self.pattern is None or glob_matches(path, self.pattern)


def _cosine(query: np.ndarray, vectors: Any) -> list[float]:
    import numpy as np

    m = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1) * float(np.linalg.norm(query))
    return [float(x) for x in (m @ query) / np.maximum(norms, 1e-12)]


def mmr_order(hits: list[_Hit], query: np.ndarray, k: int, lam: float, relevance: list[float]) -> list[_Hit]:
    """Maximal marginal relevance: each pick maximises lam*relevance - (1-lam)*max cosine to picks."""
    import numpy as np

    if not hits:
        return []
    m = np.asarray([h.vector for h in hits], dtype=np.float32)
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    rel = np.asarray(relevance, dtype=np.float32)
    chosen: list[int] = []
    redundancy = np.full(len(hits), -np.inf, dtype=np.float32)
    while len(chosen) < min(k, len(hits)):
        gain = lam * rel - (1 - lam) * np.where(np.isinf(redundancy), 0.0, redundancy)
        gain[chosen] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        redundancy = np.maximum(redundancy, m @ m[best])
    return [hits[i] for i in chosen]


class Retriever:
    """Finds the chunks of a collection that best answer a question."""

    def __init__(
        self, settings: Settings, embedder: TextEmbedder, store: VectorStore, collection: str | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.name = collection or settings.collection
        self._col: Collection | None = None
        self._lex: LexicalIndex | None = None
        self._lex_in_step = False
        self._generation: str | None = None  # the collection's generation when it was opened
        self._glob_cache: dict[str, tuple[list[str], list[str]]] = {}  # pattern -> (all paths, matching)

    def open(self) -> None:
        """Open the collection and its keyword index now (the first search would).

        Raises:
            CollectionNotFound: the collection does not exist.
            FingerprintMismatch: it was built with another embedding model.
        """
        self._open()

    def close(self) -> None:
        """Release the keyword index connection; the next search reopens everything."""
        if self._lex is not None:
            self._lex.close()
        self._col, self._lex = None, None

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        hybrid: bool | None = None,
        mmr: bool | None = None,
        threshold: float | None = None,
        path_glob: str | None = None,
    ) -> list[Source]:
        """The best sources for `query`, best first; None options come from the settings.

        Args:
            query: the question (embedded with the collection's model).
            top_k: how many sources at most.
            hybrid: fuse BM25 with the dense ranking (reciprocal rank fusion, `rrf_k`).
            mmr: diversify with maximal marginal relevance (`mmr_lambda`).
            threshold: minimum cosine; `NO_THRESHOLD` keeps everything.
            path_glob: only chunks whose path matches (see the module docstring).

        Raises:
            CollectionNotFound: the collection does not exist.
            FingerprintMismatch: it was built with another embedding model.
        """
        self._open()  # before embedding: a missing collection or wrong model fails fast
        return self.search_vector(
            query,
            self.embedder.embed_query(query),
            top_k=top_k,
            hybrid=hybrid,
            mmr=mmr,
            threshold=threshold,
            path_glob=path_glob,
        )

    def search_vector(self, query: str, vector: np.ndarray, **options: Any) -> list[Source]:
        """`search` with the question already embedded (benchmarks time retrieval alone with it)."""
        from chromadb.errors import NotFoundError

        try:
            return self._search(query, vector, **options)
        except NotFoundError:
            # the collection was rebuilt (swapped) since we opened it: reopen once by name
            self.close()
            return self._search(query, vector, **options)

    def common_words(self, question: str, share: float, min_rows: int = COMMON_MIN_ROWS) -> list[str]:
        """The question's content words found in more than `share` of the collection's chunks.

        A word most passages contain ("ragspace" in ragspace's own guide, "patients" in clinical
        abstracts) says nothing about which passage answers, yet it dominates a short question's
        embedding. Never all of the question's content words: the rarest one stays.
        """
        from rag.text.words import STOPWORDS

        words = [w for w in re.findall(r"[A-Za-z][\w'-]*", question) if w.lower() not in STOPWORDS and len(w) > 2]
        if len(words) < 2:
            return []
        _, lex = self._open()
        if not self._lex_in_step or lex.count() < min_rows:
            return []
        shares = lex.shares([w.lower() for w in words])
        common = [w for w in words if shares.get(w.lower(), 0.0) > share]
        if len(common) == len(words):
            common.remove(min(common, key=lambda w: shares.get(w.lower(), 0.0)))
        return common

    def _search(
        self,
        query: str,
        vector: np.ndarray,
        *,
        top_k: int | None = None,
        hybrid: bool | None = None,
        mmr: bool | None = None,
        threshold: float | None = None,
        path_glob: str | None = None,
    ) -> list[Source]:
        s = self.settings
        top_k = top_k or s.top_k
        hybrid = s.hybrid if hybrid is None else hybrid
        mmr = s.mmr if mmr is None else mmr
        threshold = s.relevance_threshold if threshold is None else threshold
        self._open()
        glob = self._glob(path_glob)
        if glob.paths == []:
            return []
        fetch = max(MIN_FETCH, 4 * top_k) if (hybrid or mmr or path_glob) else top_k
        hits = self._dense(vector, fetch, glob, want=fetch if mmr else top_k, vectors=mmr)
        if hybrid:
            hits = self._fuse(hits, self._keyword(query, fetch, glob), vector, glob)
        hits = [h for h in hits if h.cosine >= threshold]
        if mmr and hits:
            # relevance for MMR is the ranking's own score: cosine, or fused scaled so the best is 1
            rel = [(h.fused or 0.0) / (hits[0].fused or 1.0) for h in hits] if hybrid else [h.cosine for h in hits]
            hits = mmr_order(hits, vector, top_k, s.mmr_lambda, rel)
        return [h.source(i) for i, h in enumerate(hits[:top_k], 1)]

    # -- pieces -----------------------------------------------------------------------------

    def _open(self) -> tuple[Collection, LexicalIndex]:
        if self._col is not None:
            self._reopen_if_written()
        if self._col is None:
            # read before opening: a write that lands while we open is noticed by the next search
            self._generation = generation.current(self.settings.home, self.name)
            self.store.refresh(self.name, self._generation)
            col = self.store.get(self.name)
            fp = read_fingerprint(col.metadata)
            # a query must be embedded by the model that built the index; chunking does not matter here
            wanted = {"embed_model": self.embedder.model_id, "dim": self.embedder.dim}
            self.store.check(self.name, fp, wanted, keys=tuple(k for k in wanted if k in fp))
            lex = LexicalIndex(self.settings.lexical_path, str(col.id))
            self._col, self._lex = col, lex
            # checked once per open: ingestion re-syncs the keyword index whenever it writes
            self._lex_in_step = lex.count() == col.count()
            if not self._lex_in_step:
                log.warning(
                    "the keyword index of %r is out of step with the collection; run `rag ingest` on "
                    "its folders to rebuild it",
                    self.name,
                )
        return self._opened()

    def _opened(self) -> tuple[Collection, LexicalIndex]:
        """The collection and keyword index `_open` opened (every search opens them first)."""
        if self._col is None or self._lex is None:
            raise RuntimeError("the retriever searched before opening its collection")
        return self._col, self._lex

    def _reopen_if_written(self) -> None:
        """Another writer committed since we opened (`rag ingest --watch` next to the chat): reopen."""
        now = generation.current(self.settings.home, self.name)
        if now != self._generation:
            log.info("collection %r changed since it was opened; reopening it", self.name)
            self.close()

    def _glob(self, pattern: str | None) -> _Glob:
        """The glob with its matching paths, from the keyword index's path list when it is in step."""
        if not pattern or not self._lex_in_step:
            return _Glob(pattern)
        paths = self._opened()[1].paths()  # the same list object until the index changes
        cached = self._glob_cache.get(pattern)
        if cached is None or cached[0] is not paths:
            cached = (paths, [p for p in paths if glob_matches(p, pattern)])
            self._glob_cache = {pattern: cached}
        return _Glob(pattern, cached[1], len(cached[1]) / max(1, len(paths)))

    def _dense(self, vector: np.ndarray, fetch: int, glob: _Glob, want: int, vectors: bool) -> list[_Hit]:
        """Dense top-`fetch` by cosine within the glob; widens the query while too few match."""
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if vectors else [])
        n = fetch if glob.pattern is None else math.ceil(2 * want / max(glob.share, 1e-9))
        where = None
        if glob.paths is not None and n > MAX_POST_FILTER:
            where, n = {"path": {"$in": glob.paths}}, fetch  # a selective glob: let Chroma filter
        n = max(n, fetch)
        while True:
            got = self._opened()[0].query(query_embeddings=[vector], n_results=n, where=where, include=include)
            vecs = got["embeddings"][0] if vectors else [None] * len(got["ids"][0])
            hits = [
                _Hit(i, d or "", m or {}, 1.0 - float(dist), v)
                for i, d, m, dist, v in zip(
                    got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], vecs
                )
            ]
            exhausted = len(hits) < n
            hits = [h for h in hits if glob.keep(h.path)]
            if len(hits) >= want or exhausted or where:
                return hits[:fetch]
            n *= 4

    def _keyword(self, query: str, fetch: int, glob: _Glob) -> list[tuple[str, float]]:
        lex = self._opened()[1]
        if glob.pattern is None:
            return lex.search(query, fetch)
        if glob.paths is not None and glob.share < 0.5:
            return lex.search(query, fetch, paths=glob.paths)
        # a glob keeping most paths, or no path list: over-fetch; _fuse drops what the glob does not keep
        return lex.search(query, math.ceil(fetch / glob.share) if glob.paths is not None else 4 * fetch)

    def _fuse(self, dense: list[_Hit], keyword: list[tuple[str, float]], vector: np.ndarray, glob: _Glob) -> list[_Hit]:
        """Reciprocal rank fusion of both rankings; keyword-only hits get their true cosine."""
        k = self.settings.rrf_k
        by_id = {h.id: h for h in dense}
        for rank, h in enumerate(dense, 1):
            h.fused = 1.0 / (k + rank)
        missing = [i for i, _ in keyword if i not in by_id]
        if missing:
            got = self._opened()[0].get(ids=missing, include=["documents", "metadatas", "embeddings"])
            cos = _cosine(vector, got["embeddings"]) if len(got["ids"]) else []
            for i, d, m, v, c in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], cos):
                hit = _Hit(i, d or "", m or {}, c, v, fused=0.0)
                if glob.keep(hit.path):
                    by_id[i] = hit
        # ids the keyword index has but Chroma lost, or outside the glob, take no rank
        kept = [(i, score) for i, score in keyword if i in by_id]
        for rank, (i, score) in enumerate(kept, 1):
            by_id[i].fused = (by_id[i].fused or 0.0) + 1.0 / (k + rank)
            by_id[i].bm25 = score
        return sorted(by_id.values(), key=lambda h: (-(h.fused or 0.0), -h.cosine))
