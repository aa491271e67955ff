"""One huge single-line text file through `rag ingest` (issue 26 item 5): peak RSS and time per size.

Each size runs `rag ingest` in a fresh child process on a fresh RAG_HOME, on a file of seeded random
words with no line break at all (the splitter's worst case); the child's peak RSS comes from
`getrusage(RUSAGE_CHILDREN)` via `resource` in a tiny wrapper, so other children do not count.

    .venv/bin/python benchmarks/big_file.py [--mb 1 5 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_name  # benchmarks/machine.py (the script folder is on sys.path)

REPO = Path(__file__).resolve().parent.parent
WORDS = "harbour ferry noon island tide lighthouse keeper ship log rope anchor gull chart compass".split()
# runs the CLI in a grandchild, so RUSAGE_CHILDREN is that one process's peak
WRAP = (
    "import resource, subprocess, sys, json;"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
    "print(json.dumps({'rc': p.returncode, 'rss_kb': r, 'out': p.stdout, 'err': p.stderr[-2000:]}))"
)


def single_line(path: Path, mb: float, seed: int = 7) -> None:
    """A file of `mb` megabytes of words separated by spaces, without one newline."""
    rng = random.Random(seed)
    target = int(mb * 2**20)
    with open(path, "w") as fh:
        written = 0
        while written < target:
            part = " ".join(rng.choice(WORDS) for _ in range(2000)) + " "
            fh.write(part)
            written += len(part)


def run_one(mb: float, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        single_line(folder / "line.txt", mb)
        env = {
            **os.environ,
            "RAG_HOME": str(Path(tmp) / "home"),
            "RAG_COLLECTION": "big",
            "OMP_NUM_THREADS": str(threads),
            "PYTHONPATH": str(REPO),
        }
        cmd = [sys.executable, "-m", "cli", "ingest", str(folder), "--json", "--max-file-mb", "100"]
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", WRAP, *cmd], check=False, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        info = json.loads(done.stdout)
        report = json.loads(info["out"]) if info["rc"] in (0, 1) and info["out"].strip() else {}
        chunks = report.get("totals", {}).get("chunks_added")
        return {
            "mb": mb,
            "seconds": round(seconds, 1),
            "peak_rss_mb": info["rss_kb"] // 1024,
            "chunks": chunks,
            "rc": info["rc"],
            "err": info["err"][-300:] if info["rc"] not in (0, 1) else "",
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, nargs="+", default=[1, 5, 10])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    print(f"CPU: {platform.processor() or platform.machine()}  ({cpu_name()})  threads={args.threads}")
    print(f"{'MB':>5} {'seconds':>8} {'peak RSS MB':>12} {'chunks':>7}")
    for mb in args.mb:
        row = run_one(mb, args.threads)
        print(f"{row['mb']:>5g} {row['seconds']:>8} {row['peak_rss_mb']:>12} {row['chunks']!s:>7} {row['err']}")




if __name__ == "__main__":
    main()
