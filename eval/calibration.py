"""The citation check's calibration on REAL answers: collect them, reload them, score the check.

`rag eval answers` reports `citation_support`, which is the product's own citation check
(rag/verify/check.py) grading the product's answers. tests/data/verify_cases.jsonl is hand-written and
in-sample (the thresholds were tuned on it), so it cannot say how well the check does on what the
bundled model really writes. This module builds and uses a second, out-of-sample set:

1. `collect`: the real Engine (bundled SmolLM2, default settings) answers PubMedQA questions and
   questions about tests/data/docs; each answer's RAW model text (streamed, before the engine's
   check adds citations - that would leak the checker's verdicts into what is labelled) and its
   sources are written to tests/data/calibration/answers.jsonl. PubMedQA is public benchmark data:
   its sources are stored as references (pmid + character span of the chunk in the abstract) and
   rebuilt from /work/shared/datasets/pubmedqa at test time; nothing of the dataset is copied.
2. labels.jsonl: every answer sentence labelled supported / unsupported by a person reading the
   sources, committed BEFORE the checker was run on them (see the git history).
3. `score`: the checker's precision / recall of "unsupported" against those labels.

    python -m eval.calibration collect --out tests/data/calibration/answers.jsonl --pubmedqa N
    python -m eval.calibration score
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.text.terminal import safe

from rag.types import Answer, Source

ROOT = Path(__file__).resolve().parent.parent
CAL_DIR = ROOT / "tests" / "data" / "calibration"
def _pubmedqa() -> Path:
    """PubMedQA beside the checkout (../shared/datasets, as CI lays it out), else the work folder's copy."""
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        if (base / "datasets" / "pubmedqa" / "ori_pqal.json").is_file():
            return base / "datasets" / "pubmedqa" / "ori_pqal.json"
    return ROOT.parent / "shared" / "datasets" / "pubmedqa" / "ori_pqal.json"


PUBMEDQA = _pubmedqa()
# questions about tests/data/docs, written for this set (the fixtures' own QA set is tests/data/qa)
FIXTURE_QUESTIONS = (
    "Why is Mars red?",
    "What are the names of the two moons of Mars?",
    "How high is Olympus Mons?",
    "How long is a day on Mars?",
    "What is the atmosphere of Mars made of?",
    "Who discovered the moons of Mars and when?",
    "How often should I feed a sourdough starter?",
    "How long should sourdough dough rise?",
    "At what temperature do I bake sourdough bread?",
    "What does a healthy sourdough starter smell like?",
    "What is the TIME_WAIT state in TCP?",
    "How does a TCP connection close?",
    "How do I fix error QV-1180?",
    "What is Valles Marineris?",
    "Where did the Perseverance rover land?",
    "What causes the QV-1180 error?",
)


def pubmedqa_text(data: dict[str, Any], pmid: str) -> str:
    """The document `rag eval answers --pubmedqa` writes for an abstract (eval/qa.py::pubmedqa)."""
    return "\n\n".join(data[pmid]["CONTEXTS"]) + "\n"


def _source_ref(s: Source, origin: str, doc_text: str | None) -> dict[str, Any] | None:
    """How to rebuild a source later: a span of the dataset document, or (own fixtures) the text."""
    ref: dict[str, Any] = {"n": s.n, "path": Path(s.path).name}
    if origin != "pubmedqa":
        return {**ref, "text": s.text}
    start = doc_text.find(s.text) if doc_text is not None else -1
    if start < 0:
        return None  # the chunk is not a verbatim span: it could not be rebuilt without copying it
    return {**ref, "doc": Path(s.path).stem, "start": start, "end": start + len(s.text)}


def raw_answer(engine, question: str) -> tuple[str, Answer]:
    """The model's raw text (streamed pieces) and the final Answer."""
    pieces: list[str] = []
    for event in engine.stream(question):
        if isinstance(event, Answer):
            return "".join(pieces).strip(), event
        pieces.append(event)
    raise AssertionError("stream() always ends with an Answer")


def record(engine, rid: str, origin: str, question: str, data: dict | None, qref: str | None) -> dict | None:
    raw, answer = raw_answer(engine, question)
    if answer.abstained or not raw:
        return None
    refs = []
    for s in answer.sources:
        doc = pubmedqa_text(data, Path(s.path).stem) if data is not None and Path(s.path).stem in data else None
        refs.append(_source_ref(s, origin, doc))
    if any(r is None for r in refs):
        return None
    out = {"id": rid, "origin": origin, "answer": raw, "sources": refs, "model": f"{answer.backend}:{answer.model}"}
    return {**out, "question_ref": qref} if qref else {**out, "question": question}


def collect(out: Path, n_pubmedqa: int, seed: int, home: Path, only: str | None = None, reverse: bool = False) -> None:
    """Answer the fixture questions, then `n_pubmedqa` sampled PubMedQA ones; append as each finishes.

    `only` keeps one origin and `reverse` walks the questions backwards, so two processes can
    share the work on a loaded machine (their files are merged by answer id).
    """
    from eval.answers import docs_collection, ingest_docs
    from eval.qa import pubmedqa
    from rag.app import build_embedder, build_engine, build_store
    from rag.settings import Settings

    done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()} if out.exists() else set()
    fixtures = ROOT / "tests" / "data" / "docs"
    base = Settings(home=home, llm="embedded")
    embedder = build_embedder(base)
    jobs: list[tuple[Settings, list[tuple[str, str, str | None]], dict | None, str]] = []
    fx = base.model_copy(update={"collection": docs_collection(fixtures)})
    jobs.append((fx, [(f"fixture-{i + 1:02d}", q, None) for i, q in enumerate(FIXTURE_QUESTIONS)], None, "fixtures"))
    data = json.loads(PUBMEDQA.read_text())
    docs, qa = pubmedqa(PUBMEDQA, home / "pubmedqa", n_pubmedqa, seed=seed, corpus="sample")
    chosen = [json.loads(line)["id"] for line in qa.read_text().splitlines()]
    pm = base.model_copy(update={"collection": docs_collection(docs)})
    jobs.append((pm, [(f"pubmedqa-{p}", data[p]["QUESTION"], p) for p in chosen], data, "pubmedqa"))
    for settings, questions, dataset, origin in jobs:
        if only and origin != only:
            continue
        questions = questions[::-1] if reverse else questions
        store = build_store(settings)
        ingest_docs(settings, embedder, store, fixtures if origin == "fixtures" else docs)
        engine = build_engine(settings, embedder, store)
        for rid, question, qref in questions:
            if rid in done:
                continue
            rec = record(engine, rid, origin, question, dataset, qref)
            if rec is not None:
                with open(out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print(rid, "kept" if rec else "skipped (abstained or unrebuildable source)", file=sys.stderr, flush=True)


# -- reading the set back, and scoring the checker on it ------------------------------------------


class CalibrationDataMissing(RuntimeError):
    """The PubMedQA file the stored references point into is not on this machine."""


def units(answer: str) -> list[str]:
    """The pieces the checker judges one by one (its own segmentation), in order: what gets labelled."""
    from rag.verify.text import segments

    return [answer[s:e] for s, e, _ in segments(answer)]


def load_answers(path: Path = CAL_DIR / "answers.jsonl", pubmedqa_file: Path = PUBMEDQA) -> list[dict[str, Any]]:
    """The stored answers with their sources rebuilt as `Source`s (PubMedQA spans re-read from the dataset)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    data = None
    if any(r["origin"] == "pubmedqa" for r in records):
        if not pubmedqa_file.is_file():
            raise CalibrationDataMissing(f"{pubmedqa_file} not found - the PubMedQA answers' sources are read from it")
        data = json.loads(pubmedqa_file.read_text(encoding="utf-8"))
    for r in records:
        r["source_objs"] = [_rebuild(ref, data) for ref in r["sources"]]
        r["question_text"] = r.get("question") or data[r["question_ref"]]["QUESTION"]
    return records


def _rebuild(ref: dict[str, Any], data: dict | None) -> Source:
    text = ref["text"] if "text" in ref else pubmedqa_text(data, ref["doc"])[ref["start"] : ref["end"]]
    return Source(n=ref["n"], id=f"s{ref['n']}", path=ref["path"], page=None, text=text, score=1.0)


def load_labels(path: Path = CAL_DIR / "labels.jsonl") -> dict[tuple[str, int], dict[str, Any]]:
    """(answer id, unit index) -> label record."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out[(rec["answer"], rec["unit"])] = rec
    return out


def score(answers: list[dict[str, Any]], labels: dict, embedder, threshold: float | None = None) -> dict[str, Any]:
    """The checker's verdict on every labelled unit, and its precision / recall of "unsupported".

    Two readings of the checker: `unsupported` (its status "unsupported" only, as in
    tests/data/verify_cases.jsonl) and `flagged` (unsupported or miscited: what the user sees
    flagged, and what citation_support counts as not supported).
    """
    from rag.verify.check import check_answer

    rows = []
    for rec in answers:
        result = check_answer(rec["answer"], rec["source_objs"], embedder, threshold=threshold)
        for i, row in enumerate(result.per_sentence):
            label = labels[(rec["id"], i)]["label"]
            rows.append({"answer": rec["id"], "unit": i, "origin": rec["origin"], "label": label,
                         "status": row.status, "support": row.support})  # fmt: skip
    out: dict[str, Any] = {"units": len(rows), "labelled_unsupported": sum(r["label"] == "unsupported" for r in rows)}
    for name, flagged in (("unsupported", {"unsupported"}), ("flagged", {"unsupported", "miscited"})):
        out[name] = prf([(r["label"] == "unsupported", r["status"] in flagged) for r in rows])
    out["by_origin"] = {
        o: prf([(r["label"] == "unsupported", r["status"] == "unsupported") for r in rows if r["origin"] == o])
        for o in sorted({r["origin"] for r in rows})
    }
    out["statuses"] = {st: sum(r["status"] == st for r in rows) for st in sorted({r["status"] for r in rows})}
    # what the checker called the unsupported units it missed: "skipped" = judged to make no claim
    missed = [r["status"] for r in rows if r["label"] == "unsupported" and r["status"] != "unsupported"]
    out["missed_as"] = {st: missed.count(st) for st in sorted(set(missed))}
    return {**out, "rows": rows}


def prf(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    """Precision, recall, F1 of predicted positives against true ones, with the counts."""
    tp = sum(t and p for t, p in pairs)
    fp = sum(p and not t for t, p in pairs)
    fn = sum(t and not p for t, p in pairs)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    r4 = lambda v: None if v is None else round(v, 4)  # noqa: E731
    return {"n": len(pairs), "tp": tp, "fp": fp, "fn": fn,
            "precision": r4(precision), "recall": r4(recall), "f1": r4(f1)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.calibration")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="answer questions with the bundled model and store the raw answers")
    c.add_argument("--out", type=Path, default=CAL_DIR / "answers.jsonl")
    c.add_argument("--pubmedqa", type=int, default=40, help="PubMedQA questions to sample")
    c.add_argument("--seed", type=int, default=13)
    c.add_argument("--home", type=Path, required=True, help="RAG_HOME for the throw-away collections")
    c.add_argument("--only", choices=("fixtures", "pubmedqa"), default=None)
    c.add_argument("--reverse", action="store_true")
    sc = sub.add_parser("score", help="run the citation check on the labelled set; write results.json")
    sc.add_argument("--out", type=Path, default=CAL_DIR / "results.json")
    sub.add_parser("show", help="print every answer, its sources and its numbered units, for labelling")
    args = parser.parse_args(argv)
    if args.cmd == "collect":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        collect(args.out, args.pubmedqa, args.seed, args.home, args.only, args.reverse)
    elif args.cmd == "show":
        show(load_answers())
    else:
        from rag.models.embedder import Embedder

        result = score(load_answers(), load_labels(), Embedder())
        result.pop("rows")
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))


def show(answers: list[dict[str, Any]]) -> None:
    """For the person labelling: sources first, then the units to label. No checker output."""
    for rec in answers:
        print(safe(f"===== {rec['id']}  Q: {rec['question_text']}"))
        for src in rec["source_objs"]:
            print(safe(f"--- [{src.n}] {src.path}\n{src.text}"))
        for i, unit in enumerate(units(rec["answer"])):
            print(safe(f">>> {i}: {unit}"))


if __name__ == "__main__":
    main()
