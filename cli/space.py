"""`rag space ...`: look inside a collection's embedding space (thin edge over space/)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

space_app = typer.Typer(
    help="Look inside a collection's embedding space: map, topics, similar, duplicates, health.", no_args_is_help=True
)

CollectionOpt = typer.Option(None, "--collection", "-c", help="Collection name (default: settings `collection`).")
ChromaOpt = typer.Option(None, "--chroma-url", help="Chroma server URL (default: embedded store under RAG_HOME).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of tables.")
OutOpt = typer.Option(None, "--out", help="Write the map: FILE.html (interactive, works offline) or FILE.png.")
QuestionsOpt = typer.Option(None, "--questions", help="Questions file (.jsonl/.json/.txt): adds domain mismatch.")
QaOpt = typer.Option(None, "--qa", help="Questions file (.jsonl/.json/.txt) used as queries.")
BeirOpt = typer.Option(None, "--beir", help="BEIR folder whose queries.jsonl are the queries.")
PlotOpt = typer.Option(None, "--plot", help="Also write the recall/memory plot to this PNG.")


def _open(collection: str | None, chroma_url: str | None):
    from rag.app import build_store
    from rag.settings import load_settings

    settings = load_settings(collection=collection, chroma_url=chroma_url)
    return settings, build_store(settings)


def _embedder(settings, store):
    """The query embedder, refused when the collection was built with another model (scores would be noise)."""
    from rag.app import build_embedder
    from rag.index.store import Store, read_fingerprint

    embedder = build_embedder(settings)
    stored = read_fingerprint(store.get(settings.collection).metadata)
    Store.check(settings.collection, stored, {"embed_model": embedder.model_id}, keys=("embed_model",))
    return embedder


def _emit(obj) -> None:
    print(json.dumps(obj, default=float))


@space_app.command("map")
def map_cmd(
    out: Path | None = OutOpt,
    color: str = typer.Option("file", "--color", help="Colour points by `file` or `topic`."),
    method: str = typer.Option("pca", "--method", help="pca (default) | umap (needs `pip install umap-learn`)."),
    max_points: int = typer.Option(20000, "--max-points", min=10, help="Draw a sample above this many chunks."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """A 2D map of the collection's chunks from the stored vectors (cached; no re-embedding)."""
    from space.errors import SpaceError
    from space.map import load_map
    from space.plot import write_map

    if out and out.suffix.lower() not in (".html", ".png"):  # refuse before minutes of work, not after
        raise SpaceError(f"Cannot write {out.name}: use a .html (interactive) or .png (image) file name.")
    if color not in ("file", "topic"):
        raise SpaceError(f"Unknown colouring {color!r} - use `--color file` or `--color topic`.")
    settings, store = _open(collection, chroma_url)
    space_map = load_map(settings, store, method=method, max_points=max_points)  # with topics: the UI shares the cache
    images = _image_layer(settings, store, space_map, thumbs=out is not None and out.suffix.lower() == ".html")
    written = write_map(space_map, out, color_by=color, images=images) if out else None
    if as_json:
        return _emit(_map_summary(space_map, written, images))
    from space.render import print_map

    print_map(space_map, written)
    if images is not None:
        from rag.text.terminal import safe

        print(safe(f"{len(images.ids)} images: {images.note}"))


def _image_layer(settings, store, space_map, thumbs: bool):
    """The collection's images for the map (None when images are off); thumbnails only for HTML."""
    from rag.models.image_decode import decode_image
    from space.image_map import Thumbnails, load_image_layer

    small = Thumbnails(lambda data: decode_image(data, max_pixels=settings.image_max_pixels)) if thumbs else None
    return load_image_layer(settings, store, space_map, thumbs=small)


def _map_summary(space_map, written, images=None) -> dict:
    from collections import Counter

    shown_images = None
    if images is not None:
        shown_images = {"points": len(images.ids), "total": images.total, "shared_projection": images.shared,
                        "model": images.model, "note": images.note}  # fmt: skip
    return {
        "collection": space_map.collection,
        "points": len(space_map.ids),
        "total": space_map.total,
        "method": space_map.method,
        "files": len(set(space_map.paths)),
        "topics": {str(k): {"label": v, "size": n} for (k, v), n in _topic_sizes(space_map, Counter)},
        "images": shown_images,
        "out": str(written) if written else None,
    }


def _topic_sizes(space_map, counter):
    sizes = counter(space_map.topics.tolist())
    return [((k, v), sizes.get(k, 0)) for k, v in sorted(space_map.topic_labels.items())]


@space_app.command("topics")
def topics_cmd(
    k: int | None = typer.Option(None, "--k", min=2, help="Number of topics (default: best silhouette)."),
    k_range: str = typer.Option("2-12", "--k-range", help="Range of k tried when --k is not given."),
    max_points: int = typer.Option(20000, "--max-points", min=10, help="Cluster a sample above this many chunks."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Cluster the chunks into topics; each labelled by its most distinctive terms, with sizes and examples."""
    from space.topics import find_topics, parse_k_range
    from space.vectors import read_vectors

    lo_hi = parse_k_range(k_range)
    settings, store = _open(collection, chroma_url)
    vecs = read_vectors(store, settings.collection, limit=max_points)
    found = find_topics(vecs.vectors, vecs.texts, k=k, k_range=lo_hi)
    if as_json:
        return _emit(_topics_dict(found, vecs))
    from space.render import print_topics

    print_topics(found, vecs)


def _topics_dict(found, vecs) -> dict:
    return {
        "collection": vecs.collection,
        "chunks": len(vecs),
        "total": vecs.total,
        "k": found.k,
        "silhouette": found.silhouette,
        "silhouette_by_k": {str(k): v for k, v in found.scores.items()},
        "topics": [
            {"id": t.id, "label": t.label, "terms": t.terms, "size": t.size,
             "examples": [{"id": vecs.ids[i], "path": vecs.paths[i], "text": vecs.texts[i][:300]} for i in t.examples]}
            for t in found.topics
        ],
    }  # fmt: skip


@space_app.command("similar")
def similar_cmd(
    text: str | None = typer.Argument(None, help="Any text: a question, a sentence, a term."),
    images: bool = typer.Option(False, "--images", help="Search the collection's images with TEXT (`image_model`)."),
    image: Path | None = typer.Option(
        None, "--image", help="An image file: its nearest images (and text chunks embedded with the same model)."
    ),
    top_k: int = typer.Option(10, "--top-k", min=1, max=200, help="How many chunks to show."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The chunks nearest to TEXT, with cosine similarity; with --images or --image, across modalities."""
    from space.similarity import similar

    if image is not None or images:
        return _similar_images(text, image, top_k, collection, chroma_url, as_json)
    if text is None:
        raise typer.BadParameter("give TEXT to search for, or --image PATH")
    settings, store = _open(collection, chroma_url)
    embedder = _embedder(settings, store)
    hits = similar(store, settings.collection, embedder.embed([text])[0], top_k)
    if as_json:
        return _emit({"collection": settings.collection, "text": text, "hits": [h.__dict__ for h in hits]})
    from space.render import print_hits

    print_hits(hits, f"nearest chunks to {text!r}")


def _similar_images(text, image, top_k, collection, chroma_url, as_json) -> None:
    from space import images as im
    from space.render import print_image_hits

    if (text is None) == (image is None):
        raise typer.BadParameter("give either TEXT with --images, or --image PATH (not both)")
    settings, store = _open(collection, chroma_url)
    emb = im.image_embedder(settings)
    if image is None:
        hits = im.text_to_images(settings, store, emb, text, top_k)
        if as_json:
            return _emit({"collection": settings.collection, "text": text, "images": [h.to_dict() for h in hits]})
        return print_image_hits(hits, f"nearest images to {text!r}")
    found = im.image_to_all(settings, store, emb, image, top_k)
    if as_json:
        return _emit({"collection": settings.collection, "image": str(image),
                      "images": [h.to_dict() for h in found.images],
                      "chunks": [h.__dict__ for h in found.chunks], "note": found.note})  # fmt: skip
    print_image_hits(found.images, f"nearest images to {image}")
    if found.chunks:
        from space.render import print_hits

        print_hits(found.chunks, f"nearest chunks to {image}")
    if found.note:
        from rag.text.terminal import safe

        print(safe(found.note))


@space_app.command("classify")
def classify_cmd(
    image: Path = typer.Argument(..., help="An image file."),
    labels: str = typer.Option(..., "--labels", help="Comma-separated labels, e.g. 'cat,dog,lion'."),
    as_json: bool = JsonOpt,
) -> None:
    """Zero-shot: how likely each label is for IMAGE (softmax of the model's logit scale x cosine; sums to 1)."""
    from rag.settings import load_settings
    from space import images as im

    names = im.parse_labels(labels)  # a typo fails before the model loads
    emb = im.image_embedder(load_settings())
    rows = im.classify(emb, image, names)
    if as_json:
        return _emit({"image": str(image), "model": emb.model_id, "logit_scale": emb.logit_scale,
                      "labels": [{"label": lb, "probability": p, "cosine": c} for lb, p, c in rows]})  # fmt: skip
    from space.render import print_classes

    print_classes(rows, image)


@space_app.command("compare")
def compare_cmd(
    a: str = typer.Argument(..., help="First text."),
    b: str = typer.Argument(..., help="Second text."),
    as_json: bool = JsonOpt,
) -> None:
    """Cosine similarity and Euclidean distance of two texts, and what each means for normalised vectors."""
    from rag.app import build_embedder
    from rag.settings import load_settings
    from space.similarity import compare

    va, vb = build_embedder(load_settings()).embed([a, b])
    result = compare(va, vb)
    if as_json:
        return _emit({"a": a, "b": b, **result.__dict__})
    print(f"cosine similarity  {result.cosine:.4f}\neuclidean distance {result.euclidean:.4f}\n\n{result.meaning}")


@space_app.command("arithmetic")
def arithmetic_cmd(
    expr: str = typer.Argument(..., help="Terms joined by + and -, e.g. 'king - man + woman'; quote multi-word terms."),
    top_k: int = typer.Option(10, "--top-k", min=1, max=100, help="Terms and chunks to show."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add and subtract term embeddings; show the nearest terms (collection vocabulary + given) and chunks."""
    from space.similarity import arithmetic, cached_vocabulary, parse_expression, similar

    parse_expression(expr)  # a typo fails before the model loads
    settings, store = _open(collection, chroma_url)
    embedder = _embedder(settings, store)
    vocab, vocab_vectors = cached_vocabulary(settings, store, embedder.embed)
    result, vector = arithmetic(expr, embedder.embed, vocab, vocab_vectors, top=top_k)
    result.nearest_chunks = similar(store, settings.collection, vector, top_k)
    if as_json:
        chunks = [h.__dict__ for h in result.nearest_chunks]
        terms = [{"term": t, "cosine": s, "given": g} for t, s, g in result.nearest_terms]
        return _emit({"expression": expr, "terms": result.terms, "nearest_terms": terms, "nearest_chunks": chunks})
    from space.render import print_arithmetic

    print_arithmetic(expr, result)


@space_app.command("duplicates")
def duplicates_cmd(
    threshold: float = typer.Option(0.95, "--threshold", help="Cosine similarity from which two chunks count."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Near-duplicate chunks across different files (copies, boilerplate), reported per file pair."""
    from space.duplicates import find_duplicates
    from space.vectors import read_vectors

    settings, store = _open(collection, chroma_url)
    vecs = read_vectors(store, settings.collection)
    pairs = find_duplicates(vecs, threshold)
    if as_json:
        return _emit({"collection": settings.collection, "threshold": threshold, "chunks": len(vecs),
                      "file_pairs": [p.to_dict() for p in pairs]})  # fmt: skip
    from space.render import print_duplicates

    print_duplicates(pairs, threshold, len(vecs))


@space_app.command("health")
def health_cmd(
    questions: Path | None = QuestionsOpt,
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Intrinsic health of the space: topic silhouette, anisotropy, hubness, length limit, domain mismatch."""
    from rag.index.store import read_fingerprint
    from space.health import check_health
    from space.questions import load_questions
    from space.vectors import read_vectors

    texts = load_questions(questions) if questions else None
    settings, store = _open(collection, chroma_url)
    qvec = _embedder(settings, store).embed(texts) if texts else None
    limit = read_fingerprint(store.get(settings.collection).metadata).get("chunk_size") or settings.chunk_size
    vecs = read_vectors(store, settings.collection)
    report = check_health(vecs, chunk_limit=int(limit), questions=qvec,
                          relevance_threshold=settings.relevance_threshold)  # fmt: skip
    if as_json:
        return _emit(report.to_dict())
    from space.render import print_health

    print_health(report)


@space_app.command("compress")
def compress_cmd(
    qa: Path | None = QaOpt,
    beir: Path | None = BeirOpt,
    queries: int = typer.Option(200, "--queries", min=1, help="Chunks sampled as queries when no file is given."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="recall@k."),
    plot: Path | None = PlotOpt,
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """recall@k against float32 for int8/binary quantised and truncated/PCA-reduced vectors, and memory saved."""
    from space.compress import study
    from space.questions import load_beir_queries, load_questions
    from space.vectors import read_vectors

    if qa and beir:
        raise typer.BadParameter("give --qa or --beir, not both")
    texts = load_questions(qa) if qa else load_beir_queries(beir) if beir else None
    settings, store = _open(collection, chroma_url)
    vecs = read_vectors(store, settings.collection, texts=False)
    qvec, exclude, source = _compress_queries(settings, store, vecs, texts, queries)
    rows = study(vecs.vectors, qvec, k=k, exclude=exclude)
    if plot:
        from space.plot import compression_figure

        compression_figure([r.to_dict() for r in rows], plot)
    if as_json:
        return _emit({"collection": settings.collection, "chunks": len(vecs), "queries": len(qvec), "source": source,
                      "k": k, "rows": [r.to_dict() for r in rows], "plot": str(plot) if plot else None})  # fmt: skip
    from space.render import print_compression

    print_compression(rows, len(vecs), len(qvec), source, plot)


def _compress_queries(settings, store, vecs, texts, n: int):
    """(query vectors, own corpus row of each query or -1, description)."""
    import numpy as np

    if texts:
        return _embedder(settings, store).embed(texts), None, f"{len(texts)} questions"
    rows = np.sort(np.random.default_rng(0).choice(len(vecs), size=min(n, len(vecs)), replace=False))
    return vecs.vectors[rows], rows, f"{len(rows)} chunks as queries (each excluded from its own results)"
