"""Answer-quality benchmark of the default answer path: does the quote say what the reference says?

Every question is asked through the real engine (rag.app.build_engine over a real collection,
hybrid, top-5, the bundled embedder, answer_mode extract: the default `auto` quotes for the bundled
model, and no LLM is needed), once with this checkout and once with the baseline commit (exported
with `git archive BASELINE` to a temp dir), each in its own process (benchmarks/answers_serve.py
with PYTHONPATH set to its tree), on the same collections' documents and the same questions,
asked in turn (baseline, new, new, baseline, ...) so both see the same machine load.

Question sets (`--split tune|holdout|all`; tune on tune only):
  pubmedqa-long   PubMedQA (../shared/datasets/pubmedqa/ori_pqal.json), corpus = all 1,000
                  abstracts (each pmid's CONTEXTS as one document), reference = LONG_ANSWER;
                  pmids split as the short set splits them, the rest by a hash of the pmid.
  pubmedqa-short  benchmarks/data/pubmedqa_short/{split}.jsonl, same corpus, short references + key.
  samples         tests/data/samples_questions/{split}.jsonl over samples/*.md.
  helpdesk        tests/data/helpdesk/{split}.jsonl over tests/data/helpdesk/docs.
  fixture         tests/data/extract/qa.jsonl over its docs (tuned on before: a regression guard).

Figures per set (answerable questions; `[n]` markers removed before scoring):
  F1            SQuAD token F1 against the reference (eval.metrics_answers.token_f1).
  ref coverage  share of the reference's content words the answer contains.
  holds         the context holds the answer: with a `key`, the retrieved top-k contain it
                (case-insensitive); without, they contain >= 60% of the reference's content words.
  covers|holds  of those, the quote covers it: it contains the key; without a key, it contains
                >= 60% of the reference's content words that the sources hold.
  words         median words of the answers that did not abstain.
  abstain       share of answerable questions refused (and of unanswerable ones, where a set has them).
  first p50     time to the first text, from the question (ms); quote p50: of which quoting.

    .venv/bin/python benchmarks/answers.py [--split tune] [--n 80] [--seed 1] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from query import run_in_workdir  # benchmarks/query.py (the script folder is on sys.path)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PUBMEDQA = REPO.parent / "shared" / "datasets" / "pubmedqa" / "ori_pqal.json"
if not PUBMEDQA.exists():  # a worktree sits one level deeper than the main checkout
    PUBMEDQA = Path("/work/shared/datasets/pubmedqa/ori_pqal.json")
BASELINE = "39c0fec"
HOLD = 0.6  # share of the reference's content words that makes "the context holds it"
_MARKER = re.compile(r"\s*\[\d+(?:\s*[,-]\s*\d+)*\]")


@dataclass
class Item:
    id: str
    question: str
    reference: str
    key: str | None = None
    answerable: bool = True


@dataclass
class QSet:
    name: str
    corpus: str  # collection name; sets over the same documents share one
    docs: Path
    items: list[Item] = field(default_factory=list)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _items(rows: list[dict]) -> list[Item]:
    return [
        Item(
            id=str(r.get("id") or r.get("pmid")),
            question=r["question"],
            reference=r.get("reference_answer") or r.get("reference") or "",
            key=r.get("key") or None,
            answerable=r.get("answerable", True),
        )
        for r in rows
    ]


def _sample(items: list[Item], n: int | None, seed: int) -> list[Item]:
    import random

    return items if n is None or n >= len(items) else random.Random(seed).sample(items, n)


def _splits(split: str) -> list[str]:
    return ["tune", "holdout"] if split == "all" else [split]


def pubmedqa_sets(workdir: Path, split: str, n: int | None, seed: int) -> list[QSet]:
    """The long- and short-answer PubMedQA sets over one corpus of all 1,000 abstracts."""
    data = json.loads(PUBMEDQA.read_text(encoding="utf-8"))
    docs = workdir / "pubmedqa-docs"
    docs.mkdir(parents=True, exist_ok=True)
    for pmid, entry in data.items():  # the layout eval.qa.pubmedqa() writes
        doc = docs / f"{pmid}.txt"
        if not doc.exists():
            doc.write_text("\n\n".join(entry["CONTEXTS"]) + "\n", encoding="utf-8")
    short_dir = REPO / "benchmarks" / "data" / "pubmedqa_short"
    side = {}
    for name in ("tune", "holdout"):
        path = short_dir / f"{name}.jsonl"
        side.update({str(r["pmid"]): name for r in _jsonl(path)} if path.exists() else {})
    short = [QSet("pubmedqa-short", "pubmedqa", docs)]
    for name in _splits(split):
        path = short_dir / f"{name}.jsonl"
        short[0].items += _sample(_items(_jsonl(path)), n, seed) if path.exists() else []

    def split_of(pmid: str) -> str:
        return side.get(pmid) or ("tune" if int(hashlib.sha1(pmid.encode()).hexdigest(), 16) % 2 else "holdout")

    wanted = _splits(split)
    pool = [Item(pmid, e["QUESTION"], e["LONG_ANSWER"]) for pmid, e in sorted(data.items()) if split_of(pmid) in wanted]
    return [QSet("pubmedqa-long", "pubmedqa", docs, _sample(pool, n, seed))] + [s for s in short if s.items]


def jsonl_set(name: str, docs: Path, files: list[Path], n: int | None, seed: int) -> QSet | None:
    rows = [r for f in files if f.exists() for r in _jsonl(f)]
    return QSet(name, name, docs, _sample(_items(rows), n, seed)) if rows else None


def question_sets(workdir: Path, split: str, n: int | None, seed: int, only: set[str] | None) -> list[QSet]:
    sets = pubmedqa_sets(workdir, split, n, seed)
    samples = REPO / "tests" / "data" / "samples_questions"
    helpdesk = REPO / "tests" / "data" / "helpdesk"
    extract = REPO / "tests" / "data" / "extract"
    sets += [
        jsonl_set("samples", REPO / "samples", [samples / f"{s}.jsonl" for s in _splits(split)], n, seed),
        jsonl_set("helpdesk", helpdesk / "docs", [helpdesk / f"{s}.jsonl" for s in _splits(split)], n, seed),
        jsonl_set("fixture", extract / "docs", [extract / "qa.jsonl"], None, seed),
    ]
    return [s for s in sets if s is not None and s.items and (only is None or s.name in only)]


# -- scoring --------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def score(item: Item, reply: dict) -> dict:
    """The figures of one answer (see the module docstring for their definitions)."""
    from eval.metrics_answers import content_words, reference_coverage, token_f1

    text = _MARKER.sub("", reply["text"])
    context = " ".join(reply["contexts"])
    ref_words = content_words(item.reference)
    if item.key:  # whitespace normalised on both sides: some abstracts put no-break spaces in figures
        key = _norm(item.key)
        holds, covers = key in _norm(context), key in _norm(text)
    else:
        held = ref_words & content_words(context)
        holds = bool(ref_words) and len(held) >= HOLD * len(ref_words)
        covers = bool(held) and len(held & content_words(text)) >= HOLD * len(held)
    return {
        "f1": token_f1(text, item.reference) if item.reference else None,
        "coverage": reference_coverage(text, item.reference) if item.reference else None,
        "holds": holds,
        "covers": covers and holds,
        "words": len(text.split()),
        "abstained": reply["abstained"],
        "first_s": reply["first_s"],
        "extract_s": reply["extract_s"],
    }


def summary(items: list[Item], scores: list[dict]) -> dict[str, float | None]:
    ans = [s for it, s in zip(items, scores) if it.answerable]
    unans = [s for it, s in zip(items, scores) if not it.answerable]
    holds = [s for s in ans if s["holds"]]

    def mean(key: str, rows: list[dict]) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return sum(vals) / len(vals) if vals else None

    def p50(key: str) -> float | None:
        vals = [1000 * s[key] for s in scores if s[key] is not None]
        return statistics.median(vals) if vals else None

    words = [s["words"] for s in ans if not s["abstained"]]
    return {
        "token F1": mean("f1", ans),
        "ref coverage": mean("coverage", ans),
        "holds (n)": float(len(holds)),
        "covers | holds": mean("covers", holds),
        "median words": statistics.median(words) if words else None,
        "abstain (answerable)": mean("abstained", ans),
        "abstain (unanswerable)": mean("abstained", unans),
        "first text p50 ms": p50("first_s"),
        "quote p50 ms": p50("extract_s"),
    }


# -- the two answering processes --------------------------------------------------------------


class Side:
    """One code version answering over a pipe (benchmarks/answers_serve.py)."""

    def __init__(self, label: str, tree: Path, home: Path) -> None:
        self.label = label
        env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
        serve = REPO / "benchmarks" / "answers_serve.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(serve), str(home)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )

    def call(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} process stopped (exit {self.proc.wait()}); see its stderr above")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
            self.proc.wait()


def export_baseline(commit: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs)"
    return f"unknown CPU ({os.cpu_count()} CPUs)"


def run(args, workdir: Path) -> None:
    sets = question_sets(workdir, args.split, args.n, args.seed, set(args.sets.split(",")) if args.sets else None)
    sides = [Side("new", REPO, workdir / "home-new")]
    if not args.no_baseline:
        tree = export_baseline(args.baseline, workdir / f"baseline-{args.baseline}")
        sides.insert(0, Side("baseline", tree, workdir / "home-baseline"))
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        opened: set[str] = set()
        for qs in sets:
            for side in sides if qs.corpus not in opened else []:
                info = side.call(op="open", name=qs.corpus, docs=str(qs.docs))
                print(f"{side.label}: {qs.corpus} {info['chunks']} chunks (ingest {info['ingest_s']} s), {info['rag']}")
            opened.add(qs.corpus)
            results[qs.name] = {s.label: [] for s in sides}
            for i, item in enumerate(qs.items):
                order = sides if i % 2 == 0 else sides[::-1]  # alternate who goes first
                for side in order:
                    reply = side.call(op="ask", name=qs.corpus, question=item.question)
                    results[qs.name][side.label].append({"id": item.id, **reply, **score(item, reply)})
    finally:
        for side in sides:
            side.close()
    report(sets, results, [s.label for s in sides], args)
    out = args.out or workdir / f"answers-{args.split}.json"
    for per_side in results.values():
        for rows in per_side.values():
            for r in rows:
                r.pop("contexts", None)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nper-question answers: {out}")


def report(sets: list[QSet], results: dict, labels: list[str], args) -> None:
    print(f"\n{cpu_model()}; split {args.split}, seed {args.seed}, n <= {args.n}; baseline = {args.baseline}")
    for qs in sets:
        n_ans = sum(it.answerable for it in qs.items)
        print(f"\n{qs.name} ({len(qs.items)} questions, {n_ans} answerable)")
        print(f"  {'':<24}" + "".join(f"{label:>10}" for label in labels) + ("     delta" if len(labels) > 1 else ""))
        figures = {label: summary(qs.items, results[qs.name][label]) for label in labels}
        for metric in figures[labels[0]]:
            vals = [figures[label][metric] for label in labels]
            cells = "".join(f"{'-' if v is None else f'{v:.3f}' if v < 10 else f'{v:.0f}':>10}" for v in vals)
            delta = f"{vals[-1] - vals[0]:+10.3f}" if len(vals) > 1 and None not in vals else ""
            print(f"  {metric:<24}{cells}{delta}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["tune", "holdout", "all"], default="tune")
    ap.add_argument("--n", type=int, default=80, help="at most this many questions per set (sampled by --seed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sets", default=None, help="comma-separated set names (default: all)")
    ap.add_argument("--baseline", default=BASELINE, help="commit measured beside this checkout")
    ap.add_argument("--no-baseline", action="store_true", help="only this checkout (quick tuning runs)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) collections here")
    ap.add_argument("--out", type=Path, default=None, help="per-question answers (JSON)")
    args = ap.parse_args()
    run_in_workdir(run, args)


if __name__ == "__main__":
    main()
