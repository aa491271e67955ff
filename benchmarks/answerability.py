"""Answer or refuse: abstention precision / recall and false abstentions, new rule vs a baseline commit.

Sets (each a folder of documents and questions marked answerable or not):
  * samples   - the built-in samples, tests/data/samples_questions/{tune,holdout}.jsonl
  * helpdesk  - tests/data/helpdesk/docs with tests/data/helpdesk/{tune,holdout}.jsonl
  * fixture   - tests/data/docs with tests/data/qa/qa.jsonl (its 14 on-topic unanswerables; tune only:
                earlier rules were tuned on it)
  * pubmedqa  - PubMedQA questions against all 1,000 abstracts (answerable), a seeded split of the
                test pmids into tune and holdout halves (read in place from ../shared/datasets)
  * scifact-pubmedqa - SciFact claims asked of the PubMedQA corpus (unanswerable: same field, other
                papers), a seeded split of the claims
  * scifact-samples  - SciFact claims asked of the samples (unanswerable, off topic)
  * pubmedqa-short   - benchmarks/data/pubmedqa_short/{tune,holdout}.jsonl when present (short
                answers, with on-topic answerable:false questions), against the PubMedQA corpus

Both rules run in the same process kind on the same collections: the baseline is the tree of
`--baseline` (git archive) on PYTHONPATH, the new rule this checkout. Answers are quotes
(`mode=extract`: what `auto` does with the bundled model; a refusal never calls a model either
way). Embeddings are pinned to fp32 so a run is comparable across CPU kinds.

    .venv/bin/python benchmarks/answerability.py --split tune [--sets samples,pubmedqa] [--features F]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATASETS = next(
    (p for p in (REPO.parent / "shared" / "datasets", Path("/work/shared/datasets")) if (p / "pubmedqa").is_dir()),
    REPO.parent / "shared" / "datasets",
)
PUBMEDQA = DATASETS / "pubmedqa" / "ori_pqal.json"
SCIFACT = DATASETS / "scifact" / "queries.jsonl"
N_PUBMEDQA, N_SCIFACT, SEED = 200, 120, 22  # per set, before the split into halves


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _items(rows: list[dict], prefix: str) -> list[dict]:
    return [
        {"id": f"{prefix}:{r['id']}", "question": r["question"], "answerable": r.get("answerable", True),
         "history": r.get("history", [])}
        for r in rows
    ]


def _half(rows: list, split: str, seed: int = SEED) -> list:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    half = len(rows) // 2
    return rows[:half] if split == "tune" else rows[half:]


def pubmedqa_corpus(work: Path) -> Path:
    """All 1,000 abstracts as <pmid>.txt, the document eval/qa.py::pubmedqa writes for each."""
    docs = work / "pubmedqa-docs"
    if not docs.is_dir():
        data = json.loads(PUBMEDQA.read_text())
        docs.mkdir(parents=True)
        for pmid, rec in data.items():
            (docs / f"{pmid}.txt").write_text("\n\n".join(rec["CONTEXTS"]) + "\n", encoding="utf-8")
    return docs


def build_sets(split: str, names: list[str], work: Path) -> list[dict]:
    """The jobs: one per set, {name, docs, items}."""
    jobs, samples = [], REPO / "samples"
    scifact = _half(_jsonl(SCIFACT)[:N_SCIFACT * 2], split)[: N_SCIFACT // 2]
    claims = [{"id": q["_id"], "question": q["text"], "answerable": False} for q in scifact]
    for name in names:
        if name == "samples":
            path = REPO / "tests" / "data" / "samples_questions" / f"{split}.jsonl"
            if path.is_file():
                jobs.append({"name": name, "docs": str(samples), "items": _items(_jsonl(path), name)})
        elif name == "helpdesk":
            base = REPO / "tests" / "data" / "helpdesk"
            if (base / f"{split}.jsonl").is_file():
                items = _items(_jsonl(base / f"{split}.jsonl"), name)
                jobs.append({"name": name, "docs": str(base / "docs"), "items": items})
        elif name == "fixture" and split == "tune":
            rows = _jsonl(REPO / "tests" / "data" / "qa" / "qa.jsonl")
            jobs.append({"name": name, "docs": str(REPO / "tests" / "data" / "docs"), "items": _items(rows, name)})
        elif name == "pubmedqa":
            data = json.loads(PUBMEDQA.read_text())
            pool = sorted(set(json.loads((PUBMEDQA.parent / "test_ground_truth.json").read_text())) & set(data))
            chosen = _half(random.Random(SEED).sample(pool, N_PUBMEDQA), split)
            rows = [{"id": p, "question": data[p]["QUESTION"]} for p in chosen]
            jobs.append({"name": name, "docs": str(pubmedqa_corpus(work)), "items": _items(rows, name)})
        elif name == "scifact-pubmedqa":
            jobs.append({"name": name, "docs": str(pubmedqa_corpus(work)), "items": _items(claims, name)})
        elif name == "scifact-samples":
            jobs.append({"name": name, "docs": str(samples), "items": _items(claims, name)})
        elif name == "pubmedqa-short":
            path = REPO / "benchmarks" / "data" / "pubmedqa_short" / f"{split}.jsonl"
            if path.is_file():
                jobs.append({"name": name, "docs": str(pubmedqa_corpus(work)), "items": _items(_jsonl(path), name)})
    return jobs


# -- the worker: runs with the rule under test on PYTHONPATH -------------------------------------------


def worker(jobs_file: Path, out: Path, home: Path) -> None:
    """Ask every question of every job; one JSON line per question (abstained, best cosine, evidence)."""
    import hashlib

    os.environ["RAG_HOME"] = str(home)
    from ingest.pipeline import Sync
    from rag.app import build_embedder, build_engine, build_store
    from rag.settings import Settings

    jobs = json.loads(jobs_file.read_text())
    base = Settings(home=home, llm="embedded", embed_precision="fp32")
    embedder = build_embedder(base)
    with open(out, "w", encoding="utf-8") as fh:
        for job in jobs:
            name = "bench-" + hashlib.sha1(job["docs"].encode()).hexdigest()[:10]
            settings = base.model_copy(update={"collection": name})
            store = build_store(settings)
            Sync(settings, embedder, store).run([Path(job["docs"])])
            engine = build_engine(settings, embedder, store)
            seen = _capture(engine)
            for item in job["items"]:
                started = time.perf_counter()
                answer = engine.ask(item["question"], item["history"] or None, mode="extract")
                row = {**item, "set": job["name"], "abstained": answer.abstained,
                       "best": max((s.score for s in answer.sources), default=None),
                       "seconds": round(time.perf_counter() - started, 3), "text": answer.text[:200]}  # fmt: skip
                if seen:
                    row["evidence"] = seen.pop()
                fh.write(json.dumps(row) + "\n")
                fh.flush()


def _capture(engine) -> list:
    """Record the new rule's evidence for each question (the baseline has no `judge`)."""
    judge = getattr(engine, "judge", None)
    if judge is None:
        return []
    seen: list = []

    def spy(*args, **kwargs):
        verdict, quote = judge(*args, **kwargs)
        seen[:] = [verdict.as_dict()]
        return verdict, quote

    engine.judge = spy
    return seen


# -- the driver ------------------------------------------------------------------------------------


def metrics(rows: list[dict]) -> dict:
    """Abstention precision / recall (positive = unanswerable) and the false abstention rate."""
    unans = [r for r in rows if not r["answerable"]]
    ans = [r for r in rows if r["answerable"]]
    refused = [r for r in rows if r["abstained"]]
    tp = sum(not r["answerable"] for r in refused)
    return {
        "n": len(rows),
        "answerable": len(ans),
        "unanswerable": len(unans),
        "precision": tp / len(refused) if refused else None,
        "recall": tp / len(unans) if unans else None,
        "false_abstention": sum(r["abstained"] for r in ans) / len(ans) if ans else None,
    }


def run_worker(tree: Path, jobs_file: Path, out: Path, home: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(jobs_file), "--out", str(out)]
    cmd += ["--home", str(home)]
    subprocess.run(cmd, env=env, cwd=tree, check=True)
    return _jsonl(out)


def _fmt(v) -> str:
    return "   -" if v is None else f"{v:.2f}"


def report(results: dict[str, list[dict]]) -> None:
    print(f"\n{'set':<18} {'rule':<9} {'n':>4} {'ans':>4} {'unans':>5} {'abst.P':>6} {'abst.R':>6} {'false abst.':>11}")
    sets = list(dict.fromkeys(r["set"] for rows in results.values() for r in rows))
    for name in [*sets, "all"]:
        for rule, rows in results.items():
            m = metrics([r for r in rows if name == "all" or r["set"] == name])
            print(f"{name:<18} {rule:<9} {m['n']:>4} {m['answerable']:>4} {m['unanswerable']:>5} "
                  f"{_fmt(m['precision']):>6} {_fmt(m['recall']):>6} {_fmt(m['false_abstention']):>11}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--split", choices=("tune", "holdout"), default="tune")
    sets = "samples,helpdesk,fixture,pubmedqa,scifact-pubmedqa,scifact-samples,pubmedqa-short"
    p.add_argument("--sets", default=sets)
    p.add_argument("--baseline", default="39c0fec", help="commit of the rule to compare with ('' for none)")
    p.add_argument("--workdir", type=Path, default=None, help="keep collections here between runs")
    p.add_argument("--features", type=Path, default=None, help="write the new rule's per-question rows here")
    p.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--home", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        # this folder holds benchmarks/ingest.py, which would shadow the ingest package
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
        return worker(args.worker, args.out, args.home)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="answerability-"))
    work.mkdir(parents=True, exist_ok=True)
    jobs = build_sets(args.split, args.sets.split(","), work)
    jobs_file = work / f"jobs-{args.split}.json"
    jobs_file.write_text(json.dumps(jobs))
    print(f"{cpu_model()}, {os.cpu_count()} cores, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '2')}; "
          f"split {args.split}: " + ", ".join(f"{j['name']} {len(j['items'])}" for j in jobs))  # fmt: skip
    results = {"new": run_worker(REPO, jobs_file, work / f"new-{args.split}.jsonl", work / "home")}
    if args.baseline:
        tree = work / f"tree-{args.baseline}"
        if not tree.is_dir():
            tree.mkdir()
            git = ["git", "-C", str(REPO), "archive", args.baseline]
            archive = subprocess.run(git, check=True, capture_output=True)
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        results["baseline"] = run_worker(tree, jobs_file, work / f"baseline-{args.split}.jsonl", work / "home")
    if args.features:
        args.features.write_text("".join(json.dumps(r) + "\n" for r in results["new"]))
    report(results)


if __name__ == "__main__":
    main()
