"""API overhead benchmark: POST /v1/retrieve of a real `rag serve` against the same retrieval in-process.

The collection is built as benchmarks/query.py builds it (its functions are reused): SciFact chunks
embedded with the bundled model, grown to `--size` chunks with perturbed copies of their vectors.
By default only the first `--docs 1000` SciFact documents are embedded for real (about 1.9k chunks;
the rest are copies) to keep the run short: the API's overhead does not depend on the texts.

Both sides include the query embedding (a client sends text). Reported, p50 over `--queries`:
  * in-process: `Retriever.search(query)` in this process;
  * API: the HTTP round trip of POST /v1/retrieve from an httpx client (keep-alive) on 127.0.0.1;
  * overhead = API p50 - in-process p50 (target < 10 ms), and, paired per request, the round trip
    minus the retrieval time the server measured inside the handler.
API requests and in-process searches alternate (one of each per query), so changes in the load on
the machine reach both alike; they never run at the same moment.

    .venv/bin/python benchmarks/api.py [--queries 100] [--size 10000] [--docs 1000] [--workdir DIR] [--scifact DIR]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
TARGET_MS = 10.0


def p50_ms(times_s: list[float]) -> float:
    return statistics.median(times_s) * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_HOME=str(home), RAG_CONFIG=str(home / "no-rag.toml"), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--collection", "bench"],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"rag serve exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("rag serve did not start within 300 s")


def time_both(port: int, retriever, api_queries: list[str], local_queries: list[str], hybrid: bool):
    """Interleaved, one API request then one in-process search, so load on the machine drifts
    equally into both: (API round trips, server-side retrieval times, in-process times) in seconds."""
    import httpx
    from rag.retrieval.retriever import NO_THRESHOLD

    url = f"http://127.0.0.1:{port}/v1/retrieve"
    walls, inside, local = [], [], []
    with httpx.Client(timeout=60) as client:
        for q in ["warm-up one", "warm-up two", "warm-up three"]:
            client.post(url, json={"query": q, "top_k": 5, "hybrid": hybrid}).raise_for_status()
            retriever.search(q + " here", top_k=5, hybrid=hybrid, threshold=NO_THRESHOLD)
        for qa, ql in zip(api_queries, local_queries):
            t = time.perf_counter()
            r = client.post(url, json={"query": qa, "top_k": 5, "hybrid": hybrid})
            walls.append(time.perf_counter() - t)
            r.raise_for_status()
            inside.append(r.json()["timings"]["retrieve_s"])
            t = time.perf_counter()
            retriever.search(ql, top_k=5, hybrid=hybrid, threshold=NO_THRESHOLD)
            local.append(time.perf_counter() - t)
    return walls, inside, local


def run(args, workdir: Path) -> None:
    import query
    from query import embed_real, grow, load_queries, load_real_chunks
    from rag.retrieval.retriever import Retriever

    from rag.app import build_embedder, build_store
    from rag.settings import Settings

    query.SCIFACT = args.scifact  # query.py's loaders read it when called
    settings = Settings(home=workdir / "home", collection="bench")
    embedder = build_embedder(settings)
    chunks = load_real_chunks(args.docs)
    vectors = embed_real(chunks, workdir, embedder)
    grow(settings, embedder, chunks, vectors, args.size)
    # the two passes use different queries: each process remembers its last few query vectors
    queries = load_queries(4 * args.queries)
    sets = {False: (queries[0::4], queries[1::4]), True: (queries[2::4], queries[3::4])}

    retriever = Retriever(settings, embedder, build_store(settings))
    port = free_port()
    server = start_server(settings.home, port)
    try:
        runs = {hybrid: time_both(port, retriever, *sets[hybrid], hybrid) for hybrid in (False, True)}
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"\n{args.size} chunks ({len(chunks)} real), {args.queries} SciFact queries per row, top_k=5, "
          f"{os.cpu_count()} CPU(s); p50 in ms, query embedding included")
    print(f"{'':<8} {'in-process':>11} {'API':>8} {'overhead':>9} {'paired':>8}   overhead/target")
    for hybrid in (False, True):
        walls, inside, local = runs[hybrid]
        overhead = p50_ms(walls) - p50_ms(local)
        paired = statistics.median(w - i for w, i in zip(walls, inside)) * 1000
        name = "hybrid" if hybrid else "dense"
        print(
            f"{name:<8} {p50_ms(local):11.1f} {p50_ms(walls):8.1f} {overhead:9.1f} {paired:8.1f}"
            f"   {overhead / TARGET_MS:5.2f}  (target {TARGET_MS:g} ms)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--docs", type=int, default=1000, help="SciFact documents embedded for real")
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) vectors and the collection here")
    ap.add_argument("--scifact", type=Path, default=None, help="the BEIR SciFact folder (default: query.py's)")
    args = ap.parse_args()
    if args.scifact is None:
        import query

        args.scifact = query.SCIFACT
    if not (args.scifact / "corpus.jsonl").exists():
        sys.exit(f"{args.scifact / 'corpus.jsonl'} not found; pass --scifact DIR (the BEIR SciFact folder).")
    from query import run_in_workdir

    run_in_workdir(run, args)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
