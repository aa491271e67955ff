"""Ingestion benchmark: ragspace end to end against raw encode (fp32 and bf16) and llama-index.

Side by side in one run, on the same documents (SciFact abstracts written as one .txt file each):

* raw fp32 / raw bf16: `SentenceTransformer.encode` alone on ragspace's chunks (bf16 under
  `torch.autocast`), no files, no store: the speed of the model on this CPU.
* ragspace: `Sync.run` on the folder (load, chunk, embed, Chroma, keyword index, manifest) with the
  precision `auto` picks on this machine.
* llama-index's default path: `SimpleDirectoryReader` -> `VectorStoreIndex.from_documents` into
  Chroma with the same model (HuggingFaceEmbedding), `SentenceSplitter(256, 32)` with its default
  tokenizer.

Fair by construction: both sides read the same files; each side's own chunks and word pieces are
counted (llama-index cuts other chunks with another tokenizer, so chunks/s alone would mislead;
tokens/s counts the word pieces the model actually reads, after its 256-piece truncation); both are
warmed up (model loaded, one small ingest) before timing; every variant runs `--runs` times,
interleaved, and the median is reported. Ratios matter more than seconds on a shared machine.
Also: a no-change re-run over many small files, and peak RSS for half and all of the documents.

    .venv/bin/python benchmarks/ingest.py [--docs 200] [--runs 3] [--skip-rerun] [--skip-rss]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SCIFACT_DIRS = [REPO.parent / "shared" / "datasets" / "scifact", Path("/work/shared/datasets/scifact")]
SCIFACT = next((d / "corpus.jsonl" for d in SCIFACT_DIRS if (d / "corpus.jsonl").exists()), None)


def corpus(n: int) -> list[tuple[str, str]]:
    if SCIFACT is not None:
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


def settings(home: Path, cache: Path, **kw):
    from rag.settings import Settings

    return Settings(home=home, collection="bench", model_cache=cache, **kw)


@dataclass
class Variant:
    name: str
    run: Callable[[int], None]  # run number -> does the work once
    chunks: int = 0
    tokens: int = 0  # word pieces the model reads (after truncation)
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def model_tokens(embedder, texts: list[str]) -> tuple[int, int]:
    """(word pieces the model reads, texts truncated): counted with the model's tokenizer."""
    limit = embedder.max_tokens - embedder.special_tokens
    counts = embedder.count_tokens(texts)
    return sum(min(c, limit) for c in counts), sum(c > limit for c in counts)


def ragspace_variants(folder: Path, warm: Path, docs, tmp: Path, cache: Path) -> tuple[list[Variant], object]:
    import torch
    from rag.index.store import Store

    from ingest.chunking import PageText
    from ingest.pipeline import Sync, file_hash, make_chunker
    from rag.app import build_embedder

    s = settings(tmp / "probe", cache)
    embedder = build_embedder(s)  # precision `auto`, as users get it
    texts = [
        c.text
        for doc_id, text in docs
        for c in make_chunker(s, embedder).chunks(doc_id, file_hash(text.encode()), [PageText(text, None)])
    ]
    model, batch = embedder.model, s.embed_batch_size

    def raw(bf16: bool, part: list[str] = texts) -> Callable[[int], None]:
        def go(_: int) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                model.encode(part, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)

        return go

    def ours(i: int) -> None:
        s = settings(tmp / f"ours-{i}", cache)
        report = Sync(s, embedder, Store(s)).run([folder])
        assert report.totals.chunks_added == len(texts) and report.ok, report.totals

    raw(False, texts[:batch])(0), raw(True, texts[:batch])(0)  # warm-up: the first bf16 call builds oneDNN kernels
    warm_s = settings(tmp / "ours-warm", cache)
    Sync(warm_s, embedder, Store(warm_s)).run([warm])
    tokens, _ = model_tokens(embedder, texts)
    variants = [Variant("raw encode fp32", raw(False)), Variant("raw encode bf16", raw(True))]
    variants.append(Variant(f"ragspace ingest ({embedder.precision})", ours))
    for v in variants:
        v.chunks, v.tokens = len(texts), tokens
    return variants, embedder


def llama_index_variant(folder: Path, warm: Path, embedder, tmp: Path, batch: int) -> tuple[Variant | None, int]:
    """llama-index's default path, same model; returns the variant and how many chunks it truncated."""
    try:
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError as exc:
        print(f"(llama-index peer skipped: {exc.name} not installed; `pip install -e '.[bench]'`)")
        return None, 0
    import chromadb
    from rag.models.bundled import embed_model_dir

    embed = HuggingFaceEmbedding(model_name=str(embed_model_dir()), device="cpu", embed_batch_size=batch)
    client = chromadb.PersistentClient(path=str(tmp / "llama-index"))

    def index(src: Path, name: str):
        store = ChromaVectorStore(
            chroma_collection=client.create_collection(name, configuration={"hnsw": {"space": "cosine"}})
        )
        VectorStoreIndex.from_documents(
            SimpleDirectoryReader(str(src)).load_data(),
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed,
            transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=32)],
        )

    index(warm, "peer-warm")  # warm-up: model loaded, tokenizer and readers imported
    variant = Variant("llama-index from_documents", lambda i: index(folder, f"peer-{i}"))
    variant.run(-1)  # one untimed run to count its chunks and word pieces
    got = client.get_collection("peer--1").get(include=["documents"])
    variant.chunks = len(got["ids"])
    variant.tokens, truncated = model_tokens(embedder, got["documents"])
    return variant, truncated


def bench_throughput(folder: Path, docs, tmp: Path, cache: Path, runs: int) -> tuple[list[Variant], dict]:
    warm = tmp / "warm"
    write_files(warm, docs[:10])
    variants, embedder = ragspace_variants(folder, warm, docs, tmp, cache)
    peer, truncated = llama_index_variant(folder, warm, embedder, tmp, settings(tmp, cache).embed_batch_size)
    if peer is not None:
        variants.append(peer)
    for i in range(runs):  # interleaved and rotated, so a burst of load elsewhere hits every variant alike
        for v in variants[i % len(variants) :] + variants[: i % len(variants)]:
            t = time.perf_counter()
            v.run(i)
            v.times.append(time.perf_counter() - t)
            print(f"  run {i + 1}: {v.name} {v.times[-1]:.1f} s", flush=True)  # a killed run still tells something
    return variants, {"verdict": embedder.verdict, "peer_truncated": truncated}


def bench_rerun(tmp: Path, cache: Path, n_files: int) -> dict:
    from rag.index.store import Store

    from ingest.pipeline import Sync
    from rag.app import build_embedder

    folder = tmp / "many"
    write_files(folder, [(f"f{i:05d}", f"Note {i}: a short file about item {i}.") for i in range(n_files)])
    s = settings(tmp / "rerun", cache)
    embedder = build_embedder(s)
    first = Sync(s, embedder, Store(s)).run([folder])
    t = time.perf_counter()
    again = Sync(s, embedder, Store(s)).run([folder])
    return {
        "files": n_files,
        "first_s": first.totals.seconds,
        "rerun_s": time.perf_counter() - t,
        "rerun_chunks_embedded": again.totals.chunks_added,
    }


def peak_rss_mb(folder: Path, home: Path, cache: Path) -> float:
    """Peak RSS (VmHWM) of a separate ingest process over `folder`.

    VmHWM, not getrusage: Linux carries ru_maxrss across fork/exec, so a child would report
    this (larger) process's peak.
    """
    code = (
        "from pathlib import Path; from ingest.pipeline import Sync; "
        "from rag.app import build_embedder; from rag.settings import Settings; from rag.index.store import Store; "
        f"s = Settings(home=Path({str(home)!r}), collection='bench', model_cache=Path({str(cache)!r})); "
        "Sync(s, build_embedder(s), Store(s)).run([Path({str(folder)!r})]); "
        "print([int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def machine_state() -> str:
    import torch
    from rag.models.child_check import cpu_model

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads, "
        f"{torch.backends.cpu.get_cpu_capability()}), {platform.python_version()}; load average {load}"
    )


def print_throughput(variants: list[Variant], info: dict, docs: int, runs: int) -> None:
    base = variants[0]
    print(f"\ncorpus: {'scifact' if SCIFACT else 'generated'}, {docs} documents; median of {runs} runs each")
    print(f"{'':28} {'chunks':>7} {'pieces':>8} {'median s':>9} {'chunks/s':>9} {'tokens/s':>9}  vs raw fp32")
    for v in variants:
        tps = v.tokens / v.median
        print(
            f"{v.name:28} {v.chunks:7d} {v.tokens:8d} {v.median:9.2f} {v.chunks / v.median:9.1f} {tps:9.0f}"
            f"  {tps / (base.tokens / base.median):.2f}x   runs: {', '.join(f'{t:.1f}' for t in v.times)}"
        )
    ours = next(v for v in variants if v.name.startswith("ragspace"))
    bf16 = next(v for v in variants if v.name == "raw encode bf16")
    print(f"raw bf16 / raw fp32 (tokens/s): {base.median / bf16.median * bf16.tokens / base.tokens:.2f}x")
    print(f"ragspace / raw bf16 (tokens/s): {bf16.median / ours.median:.2f}x")
    peer = next((v for v in variants if v.name.startswith("llama-index")), None)
    if peer is not None:
        print(
            f"ragspace / llama-index: {peer.median / ours.median:.2f}x the wall time on the same documents, "
            f"{(ours.tokens / ours.median) / (peer.tokens / peer.median):.2f}x the tokens/s "
            f"(llama-index chunks cut by the model's 256-piece limit: {info['peer_truncated']} of {peer.chunks})"
        )
    v = info["verdict"]
    print(f"precision `auto` chose {v.choice}: {v.reason}; {v.reported}; probe cosine {v.cosine}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--skip-rerun", action="store_true", help="Skip the no-change re-run over --files files.")
    ap.add_argument("--skip-rss", action="store_true", help="Skip the peak-RSS measurement.")
    args = ap.parse_args()
    print(f"machine (start): {machine_state()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cache = tmp / "model-cache"  # the precision check runs once per benchmark run
        docs = corpus(args.docs)
        folder = tmp / "docs"
        write_files(folder, docs)
        variants, info = bench_throughput(folder, docs, tmp, cache, args.runs)
        print_throughput(variants, info, len(docs), args.runs)
        if not args.skip_rerun:
            rr = bench_rerun(tmp, cache, args.files)
            print(
                f"no-change re-run of {rr['files']} files : {rr['rerun_s']:.2f} s, "
                f"{rr['rerun_chunks_embedded']} chunks embedded (target < 3 s, 0)  [first run {rr['first_s']:.1f} s]"
            )
        if not args.skip_rss:
            half = tmp / "half"
            write_files(half, docs[: len(docs) // 2])
            rss_half = peak_rss_mb(half, tmp / "rss-half", cache)
            rss_full = peak_rss_mb(folder, tmp / "rss-full", cache)
            print(
                f"peak RSS: {rss_half:.0f} MB for {len(docs) // 2} docs, {rss_full:.0f} MB for {len(docs)} docs"
                f"  (growth {rss_full / rss_half:.2f}x for 2x the docs)"
            )
    print(f"machine (end): {machine_state()}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
