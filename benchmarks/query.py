"""Query latency benchmark: dense and hybrid retrieval at 10k and 100k chunks.

How the collections are built (shortcuts, said plainly):
  * Real chunks: SciFact abstracts (../shared/datasets/scifact/corpus.jsonl, read in place), cut
    by our chunker and embedded once with the bundled model.
  * Larger sizes: the real chunks plus perturbed copies of their vectors (Gaussian noise, then
    re-normalised; cosine to the original ~0.93) carrying the same texts, so BM25 sees realistic
    text and term statistics. Embedding 100k chunks on 2 cores would take far too long.
  * Chunks are written straight into a Chroma collection and the keyword index through the same
    Store and LexicalIndex classes ingestion uses, bypassing file loading.
  * Queries: SciFact queries (queries.jsonl), embedded beforehand so retrieval timings exclude the
    query embedding, which is timed on its own line.

Targets at 100k chunks (p50, query embedding excluded): dense <= 30 ms, hybrid <= 80 ms.
Everything lives in a temp dir per run unless --workdir keeps it (and reuses what it holds).

    .venv/bin/python benchmarks/query.py [--queries 200] [--sizes 10000,100000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SCIFACT = REPO.parent / "shared" / "datasets" / "scifact"
TARGETS_MS = {"dense": 30.0, "hybrid": 80.0}
NOISE = 0.02  # per-component sigma of the perturbed copies


@dataclass
class Row:
    name: str
    chunks: int
    times_s: list[float]
    target_ms: float | None = None
    baseline_s: list[float] | None = None  # the same questions, measured the old way in the same run

    def cells(self) -> str:
        ms = sorted(t * 1000 for t in self.times_s if t is not None)  # None: no token (nothing written)
        if not ms:
            return f"{self.name:<38} {self.chunks:>7}   no timings"
        p50, p95 = statistics.median(ms), ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        ratio = f"{p50 / self.target_ms:5.2f}  (target {self.target_ms:g} ms)" if self.target_ms else "    -"
        if self.baseline_s:
            ratio += f"  {p50 / (1000 * statistics.median(self.baseline_s)):.2f}x baseline"
        return f"{self.name:<38} {self.chunks:>7} {p50:8.1f} {p95:8.1f}   {ratio}"


def load_real_chunks(limit_docs: int | None = None) -> list[tuple[str, str, str]]:
    """(chunk id, path, text) of the SciFact corpus cut by our chunker."""
    from ingest.chunking import PageText
    from ingest.pipeline import file_hash, make_chunker
    from rag.app import build_embedder
    from rag.settings import Settings

    chunker = make_chunker(Settings(), build_embedder(Settings()))
    out = []
    with open(SCIFACT / "corpus.jsonl") as fh:
        for n, line in enumerate(fh):
            if limit_docs is not None and n >= limit_docs:
                break
            doc = json.loads(line)
            text, path = f"{doc['title']}\n\n{doc['text']}", f"/bench/scifact/{doc['_id']}.txt"
            for c in chunker.chunks(path, file_hash(text.encode()), [PageText(text, None)]):
                out.append((c.id, c.path, c.text))
    return out


def embed_real(chunks, workdir: Path, embedder):
    """Vectors of the real chunks, cached in workdir."""
    import numpy as np

    cache = workdir / f"vectors-{len(chunks)}.npy"
    if cache.exists():
        return np.load(cache)
    t = time.perf_counter()
    vectors = embedder.embed([c[2] for c in chunks])
    print(f"embedded {len(chunks)} real chunks in {time.perf_counter() - t:.0f} s")
    np.save(cache, vectors)
    return vectors


def synthetic(chunks, vectors, start: int, stop: int):
    """Rows start..stop of the grown corpus: real rows first, then perturbed copies of them."""
    import numpy as np

    n = len(chunks)
    rng = np.random.default_rng(start)
    rows, vecs = [], []
    for i in range(start, stop):
        cid, path, text = chunks[i % n]
        copy = i // n
        if copy == 0:
            rows.append((cid, path, text))
            vecs.append(vectors[i % n])
            continue
        v = vectors[i % n] + rng.normal(0.0, NOISE, vectors.shape[1]).astype(np.float32)
        rows.append((f"{cid}-c{copy}", path.replace("/scifact/", f"/copy{copy}/"), text))
        vecs.append(v / np.linalg.norm(v))
    return rows, np.asarray(vecs, dtype=np.float32)


def grow(settings, embedder, chunks, vectors, size: int) -> float:
    """Bring the collection up to `size` chunks; returns seconds spent writing."""
    from ingest.pipeline import fingerprint, make_chunker
    from rag.index.lexical import LexicalIndex
    from rag.index.store import Store

    store = Store(settings)
    col = store.open(settings.collection, fingerprint(embedder, make_chunker(settings, embedder)))
    have, step = col.count(), 5000
    t = time.perf_counter()
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        for start in range(have, size, step):
            rows, vecs = synthetic(chunks, vectors, start, min(size, start + step))
            col.add(
                ids=[r[0] for r in rows],
                embeddings=vecs,
                documents=[r[2] for r in rows],
                metadatas=[
                    {"path": r[1], "chunk_index": 0, "page": 0, "start_char": 0, "end_char": len(r[2])} for r in rows
                ],
            )
            lex.add(rows)
        assert col.count() == lex.count() == size, (col.count(), lex.count(), size)
    return time.perf_counter() - t


def load_queries(n: int) -> list[str]:
    with open(SCIFACT / "queries.jsonl") as fh:
        return [json.loads(line)["text"] for _, line in zip(range(n), fh)]


def time_each(fn: Callable[[int], object], n: int) -> list[float]:
    fn(0)  # warm-up: the first query loads the HNSW index into memory
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return times


def bench_size(retriever, queries, qvecs, size: int) -> list[Row]:
    from rag.retrieval.retriever import NO_THRESHOLD

    def run(**opts) -> Callable[[int], object]:
        return lambda i: retriever.search_vector(queries[i], qvecs[i], top_k=5, threshold=NO_THRESHOLD, **opts)

    n = len(queries)
    lex = retriever._open()[1]
    return [
        Row("dense", size, time_each(run(hybrid=False, mmr=False), n), TARGETS_MS["dense"]),
        Row("hybrid (BM25 + dense, RRF)", size, time_each(run(hybrid=True, mmr=False), n), TARGETS_MS["hybrid"]),
        Row("  of which BM25 alone", size, time_each(lambda i: lex.search(queries[i], 50), n)),
        Row("dense + MMR", size, time_each(run(hybrid=False, mmr=True), n)),
        Row("dense + glob 'scifact/1*'", size, time_each(run(hybrid=False, path_glob="scifact/1*"), n)),
        Row("hybrid + glob 'scifact/1*'", size, time_each(run(hybrid=True, path_glob="scifact/1*"), n)),
    ]


def bench_first_text(settings, embedder, retriever, queries: list[str], size: int, n: int) -> list[Row]:
    """Time to the first visible answer text with quotes (answer_mode extract), from the question.

    Cold every time: the query's vector and the chunks' sentence vectors are forgotten before each
    question, so it includes embedding the query, hybrid retrieval, embedding the top-5 chunks'
    sentences and picking the quote (the citation check on the quote runs after it is shown, for
    the final answer; a chat that asks again about the same chunks is faster). No LLM is loaded.
    Baseline, the same questions interleaved: every sentence of the top-5 chunks embedded and scored
    (rag.answer.extract.SCORE_ALL unlimited), which is what quoting did before it chose what to embed.
    """
    import rag.answer.extract
    from rag.engine import Engine

    s = settings.model_copy(update={"top_k": 5, "relevance_threshold": -1.0, "answer_mode": "extract", "hybrid": True})
    engine = Engine(s, retriever, lambda: None, embedder=embedder)
    default = rag.answer.extract.SCORE_ALL
    times: dict[int, tuple[list, list]] = {default: ([], []), 10**9: ([], [])}
    try:
        for q in queries[:n]:
            for score_all, (first, extract) in times.items():
                rag.answer.extract.SCORE_ALL = score_all
                embedder._recent.clear()
                engine.__dict__.pop("sentences", None)
                t = engine.ask(q).timings
                first.append(t.first_token_s)
                extract.append(t.extract_s)
    finally:
        rag.answer.extract.SCORE_ALL = default
    (first, extract), (first_all, extract_all) = times.values()
    return [
        Row(f"first text, extract ({len(first)} q)", size, first, target_ms=500, baseline_s=first_all),
        Row("  of which quoting (after retrieval)", size, extract, target_ms=150, baseline_s=extract_all),
        Row("  baseline: first text, every sentence", size, first_all),
        Row("  baseline: quoting, every sentence", size, extract_all),
    ]


LOAD_PROCS = 2  # the synthetic load of the "under load" first-token row


def bench_first_token(settings, embedder, store, retriever, queries: list[str], size: int, n: int = 50) -> list[Row]:
    """Time to first token of the embedded LLM (SmolLM2) for a top-5 context, from the question.

    Includes the query embedding and retrieval, as a user waits for them too. The model is
    loaded once before timing (a one-off cost); every question gets a fresh prompt. Measured
    twice in the same run: with the defaults (the Q8_0 copy of the model, sources focused to
    `source_tokens`), and as shipped with whole chunks (the baseline), questions interleaved.
    """
    from rag.engine import Engine
    from rag.llm import resolve_llm

    base = {"top_k": 5, "max_answer_tokens": 16, "relevance_threshold": -1.0, "answer_mode": "generate"}
    setups = {
        f"first token, embedded ({n} q)": {},
        f"  baseline: Q4_1, whole chunks ({n} q)": {"bundled_weights": "as-shipped", "source_tokens": 0},
    }
    engines = {}
    for name, extra in setups.items():
        s = settings.model_copy(update={**base, **extra})
        llm = resolve_llm(s, "embedded")
        llm.chat([{"role": "user", "content": "Say hello."}], max_tokens=4)  # load the model
        engines[name] = Engine(s, retriever, llm, embedder=embedder)  # embedder: focusing needs it
    times: dict[str, list[float]] = {name: [] for name in setups}
    for q in queries[:n]:
        for name, engine in engines.items():
            times[name].append(engine.ask(q, top_k=5).timings.first_token_s)
    rows = [Row(name, size, t, target_ms=2500) for name, t in times.items()]
    # Users' machines are never idle: the same questions again with two busy processes started here.
    default = next(iter(engines.values()))
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(LOAD_PROCS)]
    try:
        loaded = [default.ask(q, top_k=5).timings.first_token_s for q in queries[:n]]
    finally:
        for p in burners:
            p.kill()
            p.wait()
    return [*rows, Row(f"first token, {LOAD_PROCS} busy processes ({n} q)", size, loaded, target_ms=2500)]


def run_in_workdir(run: Callable, args) -> None:
    """`run(args, folder)` in `--workdir` (kept, reused next time) or a temporary folder."""
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory() as d:
            run(args, Path(d))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--docs", type=int, default=None, help="use only the first N SciFact documents")
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) vectors and collections here")
    ap.add_argument("--first-queries", type=int, default=50, help="questions timed for first text / first token")
    ap.add_argument("--no-llm", action="store_true", help="skip the first-token rows (the LLM)")
    args = ap.parse_args()
    if not (SCIFACT / "corpus.jsonl").exists():
        sys.exit(f"{SCIFACT / 'corpus.jsonl'} not found; this benchmark needs the SciFact corpus.")
    run_in_workdir(run, args)


def run(args, workdir: Path) -> None:
    from rag.app import build_embedder, build_store
    from rag.retrieval.retriever import Retriever
    from rag.settings import Settings

    settings = Settings(home=workdir / "home", collection="bench")
    embedder = build_embedder(settings)
    chunks = load_real_chunks(args.docs)
    vectors = embed_real(chunks, workdir, embedder)
    queries = load_queries(args.queries)
    embedder.embed_query("warm-up")
    embed_times = time_each(lambda i: embedder.embed_query(queries[i]), len(queries))
    qvecs = [embedder.embed_query(q) for q in queries]
    rows = [Row("query embedding (separate)", 0, embed_times)]
    store = build_store(settings)
    for size in sorted(int(s) for s in args.sizes.split(",")):
        wrote = grow(settings, embedder, chunks, vectors, size)
        print(f"collection at {size} chunks ({len(chunks)} real; wrote for {wrote:.0f} s)", flush=True)
        retriever = Retriever(settings, embedder, store)
        rows += bench_size(retriever, queries, qvecs, size)
        rows += bench_first_text(settings, embedder, retriever, queries, size, args.first_queries)
        if not args.no_llm:
            rows += bench_first_token(settings, embedder, store, retriever, queries, size, args.first_queries)
        retriever.close()
    print(
        f"\n{len(queries)} SciFact queries, top_k=5, {os.cpu_count()} CPU(s); times in ms, "
        "retrieval rows exclude the query embedding"
    )
    print(f"{'':<38} {'chunks':>7} {'p50':>8} {'p95':>8}   p50/target")
    for row in rows:
        print(row.cells())


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
