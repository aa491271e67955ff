"""Run `rag ingest` on a folder in a child process, with its peak memory and a deadline (a hang fails)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# the CLI runs as a grandchild, so RUSAGE_CHILDREN is that one process's peak resident set
_WRAP = (
    "import resource, subprocess, sys, json;"
    "p = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], 'w'), stderr=subprocess.PIPE, text=True);"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
    "print(json.dumps({'rc': p.returncode, 'rss_kb': r, 'err': p.stderr[-3000:]}))"
)


@dataclass
class Run:
    rc: int
    report: dict
    peak_rss_mb: float
    seconds: float
    stderr: str


def rag_env(home: Path, collection: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RAG_") or k in ("RAG_MODEL_CACHE", "RAG_EMBED_PRECISION")
    }
    path = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return {**env, "RAG_HOME": str(home), "RAG_COLLECTION": collection, "PYTHONPATH": path, **extra}


def ingest_child(folder: Path, env: dict[str, str], timeout: float, *args: str) -> Run:
    """`rag ingest FOLDER --json` in a child; raises TimeoutError (after killing it) past `timeout` seconds."""
    out = Path(env["RAG_HOME"]).parent / f"ingest-{time.monotonic_ns()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-c", _WRAP, str(out), sys.executable, "-m", "cli", "ingest", str(folder), "--json", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise TimeoutError(f"`rag ingest` still running after {timeout:.0f} s: a hang") from None
    info = json.loads(stdout)
    text = out.read_text()
    report = json.loads(text) if text.strip() else {}
    return Run(info["rc"], report, info["rss_kb"] / 1024, time.perf_counter() - started, info["err"])
