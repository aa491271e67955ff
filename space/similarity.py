"""Similarity in the space: nearest chunks of a text, comparing two texts, and vector arithmetic on terms."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from space.errors import SpaceError
from space.vectors import open_collection, preview

if TYPE_CHECKING:
    import numpy as np
    from rag.index.store import Store

    from rag.settings import Settings

EmbedFn = Callable[[list[str]], "np.ndarray"]  # texts -> (n, dim) normalised float32
VOCAB_SIZE = 2000  # terms drawn from the collection for `arithmetic`


@dataclass
class Hit:
    id: str
    path: str
    score: float  # cosine similarity
    preview: str


@dataclass
class Comparison:
    cosine: float
    euclidean: float
    meaning: str


@dataclass
class Arithmetic:
    terms: list[tuple[int, str]]  # (+1 | -1, term)
    nearest_terms: list[tuple[str, float, bool]]  # (term, cosine, was one of the given terms)
    nearest_chunks: list[Hit] = field(default_factory=list)


def similar(store: Store, name: str, vector: np.ndarray, top_k: int = 10) -> list[Hit]:
    """The `top_k` chunks nearest to a normalised vector, by Chroma's own index (cosine)."""
    col = open_collection(store, name)
    got = col.query(
        query_embeddings=[vector.tolist()], n_results=top_k, include=["metadatas", "documents", "distances"]
    )
    return [
        Hit(cid, str((meta or {}).get("path", "?")), 1.0 - float(dist), preview(doc or "", 200))
        for cid, meta, doc, dist in zip(got["ids"][0], got["metadatas"][0], got["documents"][0], got["distances"][0])
    ]


def compare(a: np.ndarray, b: np.ndarray) -> Comparison:
    """Cosine similarity and Euclidean distance of two normalised vectors, and what they mean together."""
    import numpy as np

    cos = float(np.dot(a, b))
    euc = float(np.linalg.norm(a - b))
    meaning = (
        f"For unit-length vectors the two carry the same information: distance = sqrt(2 - 2 x cosine) "
        f"= {math.sqrt(max(0.0, 2 - 2 * cos)):.4f}, so they rank neighbours identically. Cosine runs from "
        "-1 to 1 (1 = same direction); distance from 0 (identical) to 2 (opposite). With this model, "
        f"unrelated texts usually score about 0.0-0.2 and paraphrases 0.7 or more; {_verdict(cos)}."
    )
    return Comparison(cos, euc, meaning)


def _verdict(cos: float) -> str:
    if cos >= 0.9:
        return "these two are near-duplicates"
    if cos >= 0.6:
        return "these two say closely related things"
    if cos >= 0.3:
        return "these two share a topic"
    return "these two are essentially unrelated"


def parse_expression(expr: str) -> list[tuple[int, str]]:
    """'king - man + woman' -> [(1, 'king'), (-1, 'man'), (1, 'woman')].

    Operators stand apart or lead a word ('-man'); words in a row form one term, and quotes keep
    a term together: '"new york" - city'. Hyphenated words ('well-known') stay whole.
    """
    try:
        tokens = shlex.split(expr)
    except ValueError as exc:
        raise SpaceError(f"Cannot read {expr!r} ({exc}) - close every quote, e.g. '\"new york\" - city'.") from None
    terms: list[tuple[int, str]] = []
    sign, pending_op = 1, True  # an expression starts as if after an operator
    for tok in tokens:
        if tok[:1] in ("+", "-"):
            if pending_op and terms:
                raise SpaceError(f"Two operators in a row in {expr!r} - write it like 'king - man + woman'.")
            sign, pending_op, tok = (1 if tok[0] == "+" else -1), True, tok[1:].strip()
            if not tok:
                continue
        if pending_op:
            terms.append((sign, tok))
            pending_op = False
        else:
            terms[-1] = (terms[-1][0], f"{terms[-1][1]} {tok}")
    if not terms or pending_op:
        raise SpaceError(f"{expr!r} is not an expression of terms - write it like 'king - man + woman'.")
    return terms


def combine(terms: Sequence[tuple[int, str]], embed: EmbedFn) -> np.ndarray:
    """The normalised signed sum of the terms' embeddings."""
    import numpy as np

    vectors = embed([t for _, t in terms])
    total = (np.asarray([s for s, _ in terms], dtype=np.float32)[:, None] * vectors).sum(0)
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise SpaceError("The terms cancel out to a zero vector - change the expression.")
    return (total / norm).astype(np.float32)


def nearest_terms(
    vector: np.ndarray, vocab: Sequence[str], vocab_vectors: np.ndarray, given: Sequence[str], top: int = 10
) -> list[tuple[str, float, bool]]:
    """The `top` vocabulary terms nearest `vector` (given terms are candidates too, and flagged)."""
    import numpy as np

    scores = vocab_vectors @ vector
    order = np.argsort(-scores)[:top]
    given_set = {g.lower() for g in given}
    return [(vocab[i], float(scores[i]), vocab[i].lower() in given_set) for i in order]


def collection_vocabulary(texts: Sequence[str], size: int = VOCAB_SIZE) -> list[str]:
    """The collection's most frequent content words (and two-word phrases), the candidates for arithmetic."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(
        stop_words="english", token_pattern=r"(?u)\b[^\W\d_][^\W\d_]{2,}\b", ngram_range=(1, 1), max_features=size
    )
    try:
        vec.fit(texts)
    except ValueError:  # no words at all
        return []
    return sorted(vec.get_feature_names_out().tolist())


def arithmetic(
    expr: str, embed: EmbedFn, vocab: Sequence[str], vocab_vectors: np.ndarray | None = None, top: int = 10
) -> tuple[Arithmetic, np.ndarray]:
    """Evaluate `expr` over the embeddings; nearest terms come from `vocab` plus the given terms."""
    import numpy as np

    terms = parse_expression(expr)
    vector = combine(terms, embed)
    given = [t for _, t in terms]
    extra = [t for t in given if t not in set(vocab)]
    words = list(vocab) + extra
    if vocab_vectors is None:
        vectors = embed(words)
    else:
        vectors = np.vstack([vocab_vectors, embed(extra)]) if extra else vocab_vectors
    return Arithmetic(terms, nearest_terms(vector, words, vectors, given, top)), vector


def cached_vocabulary(settings: Settings, store: Store, embed: EmbedFn) -> tuple[list[str], np.ndarray]:
    """The collection's vocabulary and its term vectors, cached under `home/space` by collection content."""
    import numpy as np

    from space.vectors import all_ids, fingerprint, read_vectors

    name = settings.collection
    key = fingerprint(all_ids(open_collection(store, name)))
    path = settings.home / "space" / f"{name}-vocab-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as got:
            return got["terms"].tolist(), got["vectors"]
    texts = read_vectors(store, name, limit=20000).texts  # a sample keeps term frequencies and bounds the time
    terms = collection_vocabulary(texts)
    vectors = embed(terms) if terms else np.zeros((0, 1), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob(f"{name}-vocab-*.npz"):
        old.unlink(missing_ok=True)
    np.savez(path, terms=np.asarray(terms, dtype=str), vectors=vectors)
    return terms, vectors
