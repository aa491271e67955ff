"""Write a small, deterministic subset of a BEIR dataset, for quality checks too slow on the full corpus.

The subset keeps the first `--queries` judged queries of the split, every document judged for them,
and the first documents of the corpus as distractors up to `--docs` documents in all. Scores on it
are higher than on the full corpus (fewer distractors); use it to compare two settings on the same
subset, never against full-corpus numbers.

    .venv/bin/python benchmarks/beir_subset.py ../shared/datasets/scifact /tmp/scifact-sub --queries 50 --docs 150
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def subset(src: Path, dest: Path, split: str, n_queries: int, n_docs: int) -> tuple[int, int]:
    with open(src / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))[1:]
    queries: list[str] = []
    for qid, _, _ in rows:
        if qid not in queries:
            queries.append(qid)
    keep_q = set(queries[:n_queries])
    kept_rows = [r for r in rows if r[0] in keep_q]
    judged = {r[1] for r in kept_rows}
    docs, distractors = [], max(0, n_docs - len(judged))
    with open(src / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if json.loads(line)["_id"] in judged:
                docs.append(line)
            elif distractors > 0:
                docs.append(line)
                distractors -= 1
    (dest / "qrels").mkdir(parents=True, exist_ok=True)
    (dest / "corpus.jsonl").write_text("".join(docs), encoding="utf-8")
    with open(src / "queries.jsonl", encoding="utf-8") as fh:
        (dest / "queries.jsonl").write_text("".join(q for q in fh if json.loads(q)["_id"] in keep_q))
    with open(dest / "qrels" / f"{split}.tsv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter="\t").writerows([["query-id", "corpus-id", "score"], *kept_rows])
    return len(keep_q), len(docs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--docs", type=int, default=150)
    args = ap.parse_args()
    q, d = subset(args.src, args.dest, args.split, args.queries, args.docs)
    print(f"{args.dest}: {q} queries, {d} documents")


if __name__ == "__main__":
    main()
