"""The answering side of benchmarks/answers.py: one process per code version, driven over a pipe.

Run by benchmarks/answers.py with `PYTHONPATH` set to the tree under test (this checkout, or the
baseline commit exported to a temp dir), so `import rag` and `import ingest` load that version;
this file itself uses only what every version has (Settings, Sync, build_engine, Answer).

Protocol: one JSON object per line on stdin, one reply per line on the original stdout (anything
the libraries print goes to stderr):
    {"op": "open", "name": N, "docs": DIR}        -> {"chunks": C, "ingest_s": S, "rag": PATH}
    {"op": "ask", "name": N, "question": Q}       -> {"text", "abstained", "first_s", "retrieve_s",
                                                      "extract_s", "contexts": [source texts]}
    {"op": "quit"}
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

WARM_UP = "What is this document about?"


def main(home: Path) -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints from libraries must not break the protocol
    sys.stdout = sys.stderr
    import rag
    from rag.app import build_embedder, build_engine, build_store
    from rag.settings import Settings

    base = Settings(home=home, answer_mode="extract", hybrid=True, top_k=5)
    embedder = build_embedder(base)
    store = build_store(base)
    engines = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        if cmd["op"] == "open":
            from ingest.pipeline import Sync

            settings = base.model_copy(update={"collection": cmd["name"]})
            started = time.perf_counter()
            Sync(settings, embedder, store).run([Path(cmd["docs"])])
            ingest_s = time.perf_counter() - started
            engine = build_engine(settings, embedder=embedder, store=store)
            engine.ask(WARM_UP)  # loads the index and the model's kernels; not timed
            engines[cmd["name"]] = engine
            chunks = store.get(cmd["name"]).count()
            reply = {"chunks": chunks, "ingest_s": round(ingest_s, 2), "rag": str(Path(rag.__file__).parent)}
        else:
            engine = engines[cmd["name"]]
            answer = engine.ask(cmd["question"])
            # "the context holds it" is judged on what retrieval found (top-k), not on the sources the
            # answer lists: those differ between versions (an abstention lists 3, far ones are set aside)
            found = engine.retriever.search(cmd["question"], threshold=-1.0)
            t = answer.timings
            reply = {
                "text": answer.text,
                "abstained": answer.abstained,
                "first_s": t.first_token_s,
                "retrieve_s": t.retrieve_s,
                "extract_s": t.extract_s,
                "contexts": [s.text for s in found],
            }
        out.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    # this folder is sys.path[0], and its ingest.py benchmark would shadow the `ingest` package
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(Path(sys.argv[1]))
