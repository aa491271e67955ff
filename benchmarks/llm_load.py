"""First answer token of the embedded model, idle and under load, for each OpenMP wait policy.

Users' machines are never idle. llama.cpp's OpenMP threads spin while they wait for each other
(libgomp's default); on a busy machine a spinning thread burns the time slice another thread needs.
This measures, in one run, the bundled model's time to read a fixed ~400-token prompt and write one
token, with `OMP_WAIT_POLICY` unset (spin) and PASSIVE (sleep), with 1 and 2 threads, on an idle
machine and with two busy processes this script starts itself. torch shares the OpenMP runtime (its
libgomp is the one llama.cpp then uses), so it also measures what the policy costs the embedder.

Each configuration runs in a fresh child (the runtime reads its environment once, when it loads),
warmed up once, then `--runs` timed prompts; the medians are printed. Configurations are
interleaved round by round so drift in the machine's load hits all of them alike.

    python benchmarks/llm_load.py [--runs 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCIFACT = REPO.parent / "shared" / "datasets" / "scifact" / "corpus.jsonl"
POLICIES = {"spin (default)": None, "passive": "PASSIVE"}


def prompt_text(tokens_wanted: int = 400) -> str:
    """A fixed prompt of real scientific text (SciFact abstracts when present)."""
    words: list[str] = []
    if SCIFACT.is_file():
        with SCIFACT.open() as f:
            for line in f:
                words += json.loads(line)["text"].split()
                if len(words) > tokens_wanted:
                    break
    else:
        words = ("The mitochondria regulate cellular energy and apoptosis in many tissues. " * 60).split()
    return " ".join(words[: int(tokens_wanted * 0.75)])


def child(threads: int, runs: int) -> None:
    """In a fresh process: time prompt -> first token, and a batch of embeddings."""
    from rag.llm.embedded_backend import EmbeddedBackend
    from rag.models.embedder import Embedder

    embedder = Embedder()
    sentences = [f"Sentence {i} about proteins, cells and the immune response in mice." for i in range(64)]
    embedder.embed(sentences)  # warm-up: loads torch (and with it the OpenMP runtime) first, as the app does
    backend = EmbeddedBackend(threads=threads)
    model = backend.loaded()
    messages = [{"role": "user", "content": prompt_text() + "\n\nWhat is this about?"}]
    n_prompt = len(model.llama.tokenize(messages[0]["content"].encode()))

    def first_token() -> float:
        model.llama.reset()  # no KV-cache reuse between runs: every run reads the whole prompt
        started = time.perf_counter()
        next(iter(backend.stream_chat(messages, max_tokens=1)))
        return time.perf_counter() - started

    first_token()
    llm = [first_token() for _ in range(runs)]
    embed = []
    for _ in range(runs):
        started = time.perf_counter()
        embedder.embed(sentences)
        embed.append(time.perf_counter() - started)
    print(json.dumps({"llm": llm, "embed": embed, "prompt_tokens": n_prompt}))


def run_config(policy: str | None, threads: int, runs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    env["RAG_OMP_WAIT"] = "inherit"  # measure exactly the policy given here
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(threads), "--runs", str(runs)],
        capture_output=True, text=True, env=env, cwd=REPO, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def busy_processes(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.runs)
        return
    results: dict[tuple[str, str, int], dict[str, list[float]]] = {}
    prompt_tokens = 0
    for _ in range(args.rounds):
        for load in ("idle", "2 busy processes"):
            burners = busy_processes(2) if load != "idle" else []
            try:
                for name, policy in POLICIES.items():
                    for threads in (1, 2):
                        out = run_config(policy, threads, args.runs)
                        prompt_tokens = out["prompt_tokens"]
                        slot = results.setdefault((load, name, threads), {"llm": [], "embed": []})
                        slot["llm"] += out["llm"]
                        slot["embed"] += out["embed"]
            finally:
                for p in burners:
                    p.kill()
                    p.wait()
    print(f"prompt {prompt_tokens} tokens -> first token; {args.rounds} rounds x {args.runs} runs per row (medians)")
    print(f"{'machine':<18} {'OpenMP wait':<15} {'threads':>7} {'first token s':>14} {'embed 64 s':>11}")
    for (load, name, threads), r in results.items():
        llm, embed = statistics.median(r["llm"]), statistics.median(r["embed"])
        print(f"{load:<18} {name:<15} {threads:>7} {llm:>14.2f} {embed:>11.3f}")


if __name__ == "__main__":
    main()
