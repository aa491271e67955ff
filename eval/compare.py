"""`rag eval compare`: two runs side by side, per metric (with whether the 95% intervals overlap) and per question."""

from __future__ import annotations

from typing import Any

from eval.report import _cut, _dataset, _fmt, _num, item_score
from eval.runs import EvalError


def compare_runs(a: dict[str, Any], b: dict[str, Any], *, allow_different: bool = False) -> dict[str, Any]:
    """Differences B - A per aggregate metric and per question, biggest changes first.

    Refuses runs of different kinds (their metrics mean different things) and, unless
    `allow_different`, runs over different datasets (then only shared question ids are compared).
    """
    if a.get("kind") != b.get("kind"):
        raise EvalError(
            f"cannot compare a {a.get('kind')!r} run with a {b.get('kind')!r} run - compare two runs of the same kind"
        )
    warnings = []
    if _dataset(a) != _dataset(b):
        if not allow_different:
            raise EvalError(
                f"the runs used different datasets ({_dataset(a)} vs {_dataset(b)}) - compare runs over the same "
                "questions, or pass --allow-different to compare the questions they share"
            )
        warnings.append(f"different datasets: {_dataset(a)} vs {_dataset(b)}; only shared questions are compared")
    from eval.stats import overlap

    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    ca, cb = a.get("ci") or {}, b.get("ci") or {}
    metrics = []
    for name in list(ma) + [n for n in mb if n not in ma]:
        va, vb = _num(ma.get(name)), _num(mb.get(name))
        both = overlap(ca.get(name), cb.get(name))
        metrics.append({"metric": name, "a": va, "b": vb, "delta": None if va is None or vb is None else vb - va,
                        "ci_a": ca.get(name), "ci_b": cb.get(name),
                        # overlapping 95% intervals: the difference may be noise (a conservative reading)
                        "significant": None if both is None else not both})  # fmt: skip
    metrics.sort(key=lambda m: -abs(m["delta"] or 0.0))
    ia = {str(it["id"]): it for it in a.get("items") or []}
    ib = {str(it["id"]): it for it in b.get("items") or []}
    shared = [i for i in ia if i in ib]
    if len(shared) < max(len(ia), len(ib)):
        warnings.append(f"{len(ia) - len(shared)} questions only in A, {len(ib) - len(shared)} only in B")
    questions = [_item_diff(ia[i], ib[i]) for i in shared]
    questions.sort(key=lambda q: -abs(q["delta"] or 0.0))
    return {"kind": a.get("kind"), "metrics": metrics, "questions": questions, "warnings": warnings}


def _item_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    sa, sb = item_score(a), item_score(b)
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    changed = {}
    for name in ma:
        va, vb = _num(ma.get(name)), _num(mb.get(name))
        if va is not None and vb is not None and abs(vb - va) > 1e-9:
            changed[name] = round(vb - va, 4)
    return {
        "id": a.get("id"),
        "question": a.get("question"),
        "a": sa,
        "b": sb,
        "delta": None if sa is None or sb is None else sb - sa,
        "changed": changed,
        "answer_changed": (a.get("answer") or "") != (b.get("answer") or ""),
    }


def format_comparison(cmp: dict[str, Any], max_questions: int = 20) -> str:
    """Plain-text rendering of `compare_runs` for the terminal."""
    lines = [f"warning: {w}" for w in cmp["warnings"]]
    lines.append(f"{'metric':<28}{'A':>10}{'B':>10}{'B-A':>10}  note")
    for m in cmp["metrics"]:
        delta = "-" if m["delta"] is None else f"{m['delta']:+.3f}"
        note = {None: "", True: "significant (95% intervals apart)", False: "not significant (intervals overlap)"}
        if not m["delta"]:
            note = {**note, False: "", True: ""}
        line = f"{m['metric']:<28}{_fmt(m['a']):>10}{_fmt(m['b']):>10}{delta:>10}  {note[m.get('significant')]}"
        lines.append(line.rstrip())
    moved = [q for q in cmp["questions"] if q["delta"]]
    lines.append(f"\n{len(moved)} of {len(cmp['questions'])} questions changed score; biggest changes first:")
    for q in moved[:max_questions]:
        what = ", ".join(f"{k} {v:+.2f}" for k, v in q["changed"].items())
        lines.append(
            f"  {q['id']}: {_fmt(q['a'])} -> {_fmt(q['b'])} ({q['delta']:+.3f}) {what}  {_cut(q['question'], 70)}"
        )
    return "\n".join(lines)
