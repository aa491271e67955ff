"""Ingestion benchmark: throughput against raw encode and llama-index, no-change re-run, memory.

Prints ratios against baselines measured in the same run on the same chunks (machines are noisy;
absolute seconds mean little). Uses ../shared/datasets/scifact/corpus.jsonl when present, else
generated text.

    .venv/bin/python benchmarks/ingest.py [--docs 1500] [--files 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SCIFACT = REPO.parent / "shared" / "datasets" / "scifact" / "corpus.jsonl"


def corpus(n: int) -> list[tuple[str, str]]:
    if SCIFACT.exists():
        out = []
        with open(SCIFACT) as fh:
            for line in fh:
                doc = json.loads(line)
                out.append((doc["_id"], f"{doc['title']}\n\n{doc['text']}"))
                if len(out) == n:
                    break
        return out
    words = "river glacier volcano forest desert ocean storm cave protein cell gene enzyme".split()
    return [(str(i), " ".join(f"{words[(i + j) % 12]} sentence {j}." for j in range(120))) for i in range(n)]


def write_files(folder: Path, docs: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text in docs:
        (folder / f"{doc_id}.txt").write_text(text)


def settings(home: Path, **kw):
    from rag.settings import Settings

    return Settings(home=home, collection="bench", **kw)


def bench_throughput(folder: Path, docs, tmp: Path) -> dict:
    from ingest.chunking import PageText
    from ingest.pipeline import Sync, file_hash, make_chunker
    from rag.embedder import Embedder
    from rag.store import Store

    embedder = Embedder()
    s = settings(tmp / "ours")
    chunker = make_chunker(s, embedder)
    texts = [
        c.text
        for doc_id, text in docs
        for c in chunker.chunks(doc_id, file_hash(text.encode()), [PageText(text, None)])
    ]
    embedder.embed(texts[:64])  # warm up

    t = time.perf_counter()
    embedder.model.encode(texts, batch_size=s.embed_batch_size, normalize_embeddings=True, show_progress_bar=False)
    raw = time.perf_counter() - t

    t = time.perf_counter()
    report = Sync(s, embedder, Store(s)).run([folder])
    ours = time.perf_counter() - t
    assert report.totals.chunks_added == len(texts), (report.totals.chunks_added, len(texts))

    peer = bench_llama_index(folder, embedder, s, tmp)
    return {"chunks": len(texts), "raw_s": raw, "ours_s": ours, "llama_index_s": peer}


def bench_llama_index(folder: Path, embedder, s, tmp: Path) -> float | None:
    """llama-index's default path: SimpleDirectoryReader -> VectorStoreIndex.from_documents, same model."""
    try:
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError as exc:
        print(f"(llama-index peer skipped: {exc.name} not installed; `pip install -e '.[bench]'`)")
        return None
    import chromadb

    from rag.embedder import bundled_model_path

    embed = HuggingFaceEmbedding(
        model_name=str(bundled_model_path()), device="cpu", embed_batch_size=s.embed_batch_size
    )
    client = chromadb.PersistentClient(path=str(tmp / "llama-index"))
    store = ChromaVectorStore(
        chroma_collection=client.create_collection("peer", configuration={"hnsw": {"space": "cosine"}})
    )
    t = time.perf_counter()
    documents = SimpleDirectoryReader(str(folder)).load_data()
    VectorStoreIndex.from_documents(
        documents,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=32)],
    )
    return time.perf_counter() - t


def bench_rerun(tmp: Path, n_files: int) -> dict:
    from ingest.pipeline import Sync
    from rag.embedder import Embedder
    from rag.store import Store

    folder = tmp / "many"
    write_files(folder, [(f"f{i:05d}", f"Note {i}: a short file about item {i}.") for i in range(n_files)])
    s = settings(tmp / "rerun")
    embedder = Embedder()
    first = Sync(s, embedder, Store(s)).run([folder])
    t = time.perf_counter()
    again = Sync(s, embedder, Store(s)).run([folder])
    return {
        "files": n_files,
        "first_s": first.totals.seconds,
        "rerun_s": time.perf_counter() - t,
        "rerun_chunks_embedded": again.totals.chunks_added,
    }


def peak_rss_mb(folder: Path, home: Path) -> float:
    """Peak RSS (VmHWM) of a separate ingest process over `folder`.

    VmHWM, not getrusage: Linux carries ru_maxrss across fork/exec, so a child would report
    this (larger) process's peak.
    """
    code = (
        "from pathlib import Path; from ingest.pipeline import Sync; "
        "from rag.embedder import Embedder; from rag.settings import Settings; from rag.store import Store; "
        f"s = Settings(home=Path({str(home)!r}), collection='bench'); "
        f"Sync(s, Embedder(), Store(s)).run([Path({str(folder)!r})]); "
        "print([int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=1500)
    ap.add_argument("--files", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        docs = corpus(args.docs)
        folder = tmp / "docs"
        write_files(folder, docs)
        tp = bench_throughput(folder, docs, tmp)
        rr = bench_rerun(tmp, args.files)
        half = tmp / "half"
        write_files(half, docs[: len(docs) // 2])
        rss_half = peak_rss_mb(half, tmp / "rss-half")
        rss_full = peak_rss_mb(folder, tmp / "rss-full")

    n = tp["chunks"]
    print(f"corpus: {'scifact' if SCIFACT.exists() else 'generated'}, {len(docs)} docs -> {n} chunks")
    print(f"raw SentenceTransformer.encode : {n / tp['raw_s']:8.1f} chunks/s")
    print(
        f"ragspace ingest (end to end)   : {n / tp['ours_s']:8.1f} chunks/s  "
        f"ratio {tp['raw_s'] / tp['ours_s']:.2f} (target >= 0.85)"
    )
    if tp["llama_index_s"]:
        print(
            f"llama-index from_documents     : {n / tp['llama_index_s']:8.1f} chunks/s  "
            f"ratio {tp['raw_s'] / tp['llama_index_s']:.2f}"
            f"  (ragspace is {tp['llama_index_s'] / tp['ours_s']:.2f}x its speed)"
        )
    print(
        f"no-change re-run of {rr['files']} files : {rr['rerun_s']:.2f} s, "
        f"{rr['rerun_chunks_embedded']} chunks embedded (target < 3 s, 0)"
        f"  [first run {rr['first_s']:.1f} s]"
    )
    print(
        f"peak RSS: {rss_half:.0f} MB for {len(docs) // 2} docs, {rss_full:.0f} MB for {len(docs)} docs"
        f"  (growth {rss_full / rss_half:.2f}x for 2x the docs)"
    )
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
