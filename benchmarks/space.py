"""Space map benchmark: time and peak memory to build the map and topics at 10k and 100k chunks.

How the collections are built (shortcuts, said plainly):
  * Real chunks: SciFact abstracts cut by our chunker and embedded once with the bundled model
    (benchmarks/query.py's loader; `--vectors FILE` reuses its cached vectors-N.npy).
  * Larger sizes: the real chunks plus perturbed copies of their vectors (Gaussian noise, then
    re-normalised) carrying the same texts, written straight into Chroma - as benchmarks/query.py does.

Each measurement runs in a fresh child process, so its peak RSS (VmHWM) is the map's alone:
  * stages: read all ids + fingerprint, read the (sampled) vectors and texts, PCA, topics;
  * `load_map` cold (the real path: all of the above plus writing the cache) and warm (cache hit).
Target: 100k chunks in <= 30 s cold; the warm view should be instant (well under a second).

    .venv/bin/python benchmarks/space.py [--sizes 10000,100000] [--workdir DIR] [--vectors FILE]
    .venv/bin/python benchmarks/space.py --images 256     # image decode cost and images/s (benchmarks/space_images.py)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TARGET_S = 30.0
STEP = 5000


def fill(home: Path, chunks, vectors, size: int) -> float:
    """Bring the collection in `home` up to `size` chunks; returns seconds spent writing."""
    from rag.index.store import Store

    from benchmarks.query import synthetic
    from ingest.pipeline import fingerprint, make_chunker
    from rag.app import build_embedder
    from rag.settings import Settings

    s = Settings(home=home, collection="bench")
    embedder = build_embedder(s)
    col = Store(s).open(s.collection, fingerprint(embedder, make_chunker(s, embedder)))
    t = time.perf_counter()
    for start in range(col.count(), size, STEP):
        rows, vecs = synthetic(chunks, vectors, start, min(size, start + STEP))
        col.add(
            ids=[r[0] for r in rows],
            embeddings=vecs,
            documents=[r[2] for r in rows],
            metadatas=[{"path": r[1], "chunk_index": 0, "n_tokens": 0} for r in rows],
        )
    assert col.count() == size, (col.count(), size)
    return time.perf_counter() - t


def child(home: Path, max_points: int) -> dict:
    """Runs in a fresh process: stage timings, then load_map cold and warm; peak RSS at the end."""
    import shutil

    from rag.index.store import Store

    from rag.settings import Settings
    from space.map import load_map, project_pca
    from space.topics import find_topics
    from space.vectors import all_ids, fingerprint, open_collection, read_vectors

    s = Settings(home=home, collection="bench")
    store = Store(s)
    out: dict = {}
    t = time.perf_counter()
    ids = all_ids(open_collection(store, "bench"))
    fingerprint(ids)
    out["ids_s"] = time.perf_counter() - t
    t = time.perf_counter()
    vecs = read_vectors(store, "bench", limit=max_points)
    out["read_s"], out["points"] = time.perf_counter() - t, len(vecs)
    t = time.perf_counter()
    project_pca(vecs.vectors)
    out["pca_s"] = time.perf_counter() - t
    t = time.perf_counter()
    found = find_topics(vecs.vectors, vecs.texts)
    out["topics_s"], out["k"] = time.perf_counter() - t, found.k
    del vecs, found
    shutil.rmtree(home / "space", ignore_errors=True)
    t = time.perf_counter()
    load_map(s, store, max_points=max_points)
    out["cold_s"] = time.perf_counter() - t
    t = time.perf_counter()
    load_map(s, Store(s), max_points=max_points)  # a new Store: a second view, e.g. a new UI session
    out["warm_s"] = time.perf_counter() - t
    with open("/proc/self/status") as fh:
        out["peak_mb"] = next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmHWM"))
    return out


def measure(home: Path, max_points: int) -> dict:
    cmd = [sys.executable, __file__, "--child", str(home), "--max-points", str(max_points)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def real_vectors(args, chunks, workdir: Path):
    import numpy as np

    if args.vectors:
        vectors = np.load(args.vectors)
        if len(vectors) != len(chunks):
            sys.exit(f"{args.vectors} holds {len(vectors)} vectors, the corpus has {len(chunks)} chunks")
        return vectors
    from benchmarks.query import embed_real
    from rag.app import build_embedder
    from rag.settings import Settings

    return embed_real(chunks, workdir, build_embedder(Settings()))


def run(args, workdir: Path) -> None:
    from benchmarks.query import SCIFACT, load_real_chunks

    if not (SCIFACT / "corpus.jsonl").exists():
        sys.exit(f"{SCIFACT / 'corpus.jsonl'} not found; this benchmark needs the SciFact corpus.")
    chunks = load_real_chunks()
    vectors = real_vectors(args, chunks, workdir)
    print(f"{len(chunks)} real SciFact chunks; larger sizes are perturbed copies (see the docstring)\n")
    header = (
        f"{'chunks':>7} {'points':>7} {'ids':>6} {'read':>6} {'pca':>6} {'topics':>6} {'k':>3} "
        f"{'cold':>7} {'warm':>6} {'peak MB':>8}  cold / 30 s target"
    )
    print(header)
    for size in [int(x) for x in args.sizes.split(",")]:
        home = workdir / f"home-{size}"
        had = (home / "chroma").exists()
        wrote = fill(home, chunks, vectors, size)
        if not had:
            print(f"  (wrote {size} chunks into Chroma in {wrote:.0f} s)")
        for max_points in sorted({min(size, 20000), size}):
            r = measure(home, max_points)
            print(
                f"{size:>7} {r['points']:>7} {r['ids_s']:6.1f} {r['read_s']:6.1f} {r['pca_s']:6.2f} "
                f"{r['topics_s']:6.1f} {r['k']:>3} {r['cold_s']:7.1f} {r['warm_s']:6.2f} {r['peak_mb']:8.0f}  "
                f"{r['cold_s'] / TARGET_S:5.2f}",
                flush=True,
            )
    print("\npoints: chunks drawn on the map (load_map's default max_points=20000 draws a sample above that);")
    print("times in seconds; ids = list every id + fingerprint (run on every view, it is the cache key).")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the collections here")
    ap.add_argument("--vectors", type=Path, default=None, help="cached vectors of the real chunks (.npy)")
    ap.add_argument("--images", type=int, default=0, help="instead: image embedding cost with N images (tiny CLIP)")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--max-points", type=int, default=20000, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.max_points)))
        return
    if args.images:
        from benchmarks.space_images import run as run_images

        return run_images(args.images)
    from benchmarks.query import run_in_workdir

    run_in_workdir(run, args)


if __name__ == "__main__":
    main()
