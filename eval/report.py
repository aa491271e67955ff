"""Reports for an eval run folder: report.md and report.html (`rag eval compare` is eval/compare.py).

Works on any results.json written by `eval.runs.Run.finish`, whatever its kind ("retrieval",
"answers"): it only relies on the shared shape - flat `metrics`, `latency` per stage, and
`items` each carrying its own `metrics`; `ci`, `sample` and `cloze` are shown when present. The
HTML is self-contained (plots are embedded PNGs), so a run folder can be mailed or archived as is.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

from rag.text.terminal import safe

MAX_ROWS = 500  # per-question rows shown; the rest stay in results.json
TEXT_CUT = 160  # characters of question / answer shown in a table cell
# item fields shown beside the metrics, when present
# (the standalone query a follow-up was rewritten to sits next to the question: it is what was scored)
TEXT_FIELDS = ("question", "rewritten_query", "answer", "reference")
WORST_N = 10


# -- helpers shared by the report and the comparison -----------------------------------------


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _fmt(value: Any) -> str:
    num = _num(value)
    if num is None:
        return "-" if value is None else str(value)
    if isinstance(value, int):  # counts (questions, errors) are not scores
        return str(value)
    return f"{num:.3f}" if abs(num) < 1000 else f"{num:.0f}"


def _cut(text: Any, n: int = TEXT_CUT) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def item_score(item: dict[str, Any]) -> float | None:
    """One number per item for ordering (worst first): the mean of its 0..1 metrics."""
    values = [v for v in (_num(x) for x in (item.get("metrics") or {}).values()) if v is not None and 0 <= v <= 1]
    return sum(values) / len(values) if values else None


def metric_names(items: list[dict[str, Any]]) -> list[str]:
    """Per-item metric names in first-seen order."""
    names: list[str] = []
    for item in items:
        for name in item.get("metrics") or {}:
            if name not in names:
                names.append(name)
    return names


def worst_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items ordered by `item_score`, lowest first; items without a score go last."""
    return sorted(items, key=lambda it: (item_score(it) is None, item_score(it) or 0.0))


def _latency_rows(latency: dict[str, Any]) -> list[tuple[str, float | None, float | None, float | None]]:
    rows = []
    for stage, value in (latency or {}).items():
        if isinstance(value, dict):
            rows.append((stage, _num(value.get("p50")), _num(value.get("p95")), _num(value.get("mean"))))
        else:
            rows.append((stage, None, None, _num(value)))
    return rows


def _dataset(results: dict[str, Any]) -> str:
    params = results.get("params") or {}
    for key in ("dataset", "qa", "docs", "collection"):
        if params.get(key):
            return str(params[key])
    return "-"


def _ci_text(ci: dict[str, Any], name: str) -> str:
    interval = ci.get(name)
    return f"{interval[0]:.3f} - {interval[1]:.3f}" if interval else ""


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """The summary table: what was run, then every aggregate metric with its 95% interval and needs."""
    from eval.summary import NEEDS

    settings = results.get("settings") or {}
    params = results.get("params") or {}
    metrics = results.get("metrics") or {}
    ci = results.get("ci") or {}
    rows = [
        ("kind", str(results.get("kind", "-"))),
        ("dataset", _dataset(results)),
        ("questions", str(len(results.get("items") or []))) if "questions" not in metrics else None,
        ("llm", str(params.get("llm") or settings.get("llm") or "-")),
        ("embed model", str(settings.get("embed_model", "-"))),
        ("seconds", _fmt(results.get("seconds"))),
    ]
    out = [[a, b, "", ""] for a, b in (r for r in rows if r is not None)]
    out += [[name, _fmt(value), _ci_text(ci, name), NEEDS.get(name, "")] for name, value in metrics.items()]
    return out


SUMMARY_HEADER = ["", "value", "95% CI (bootstrap)", "needs"]


def sample_lines(results: dict[str, Any]) -> list[str]:
    """The sample in words: n, seed, and which items were left out of the headline means and why."""
    sample = results.get("sample")
    if not sample:
        return []
    lines = [f"n = {sample.get('n')}, seed = {sample.get('seed')}"]
    for key, label in (("skipped", "left out of the headline means"), ("failed", "failed (counted as 0)")):
        by_why: dict[str, list[str]] = {}
        for entry in sample.get(key) or []:
            by_why.setdefault(str(entry.get("why")), []).append(str(entry.get("id")))
        for why, ids in by_why.items():
            shown = ", ".join(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
            lines.append(f"{len(ids)} {label} - {why}: {shown}")
    return lines


def worst_rows(items: list[dict[str, Any]], n: int = WORST_N, cut: int = TEXT_CUT) -> list[list[str]]:
    """The `n` lowest-scoring items with what went wrong (items that went fine are not listed)."""
    rows = []
    for it in worst_first(items):
        if not it.get("diagnosis"):
            continue
        asked = _cut(it.get("question"), cut)
        if it.get("rewritten_query"):
            asked += f"  [scored as: {_cut(it['rewritten_query'], cut)}]"
        rows.append([str(it.get("id")), _fmt(item_score(it)), str(it["diagnosis"]), asked, _cut(it.get("answer"), cut)])
        if len(rows) >= n:
            break
    return rows


WORST_HEADER = ["id", "score", "what went wrong", "question", "answer"]


# -- plots ------------------------------------------------------------------------------------


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def make_plots(results: dict[str, Any]) -> dict[str, bytes]:
    """PNG bytes by file name: one histogram grid of per-item metrics, one latency bar chart."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and never pop a window from an eval
    import matplotlib.pyplot as plt

    plots: dict[str, bytes] = {}
    items = results.get("items") or []
    names = [n for n in metric_names(items) if any(_num((it.get("metrics") or {}).get(n)) is not None for it in items)]
    if names:
        cols = min(3, len(names))
        rows = math.ceil(len(names) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
        for ax, name in zip(axes.flat, names):
            values = [v for v in (_num((it.get("metrics") or {}).get(name)) for it in items) if v is not None]
            ax.hist(values, bins=min(20, max(5, len(values) // 2)), color="#4a7ab5", edgecolor="white")
            ax.set_title(f"{name} (mean {sum(values) / len(values):.3f}, n={len(values)})", fontsize=9)
        for ax in list(axes.flat)[len(names) :]:
            ax.set_visible(False)
        fig.tight_layout()
        plots["scores.png"] = _png(fig)
        plt.close(fig)
    lat = [r for r in _latency_rows(results.get("latency") or {}) if any(v is not None for v in r[1:])]
    if lat:
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(lat)))
        ys = range(len(lat))
        p50 = [r[1] if r[1] is not None else (r[3] or 0.0) for r in lat]
        p95 = [r[2] if r[2] is not None else p for r, p in zip(lat, p50)]
        ax.barh(ys, p95, color="#c9d7ea", label="p95")
        ax.barh(ys, p50, color="#4a7ab5", label="p50 (or mean)")
        ax.set_yticks(list(ys), [r[0] for r in lat])
        ax.set_xlabel("seconds")
        ax.legend(fontsize=8)
        fig.tight_layout()
        plots["latency.png"] = _png(fig)
        plt.close(fig)
    return plots


# -- report.md / report.html -------------------------------------------------------------------


def _question_columns(items: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    texts = [f for f in TEXT_FIELDS if any(it.get(f) for it in items)]
    return texts, metric_names(items)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _md_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    align = ["---"] + ["---" if h in TEXT_FIELDS else "---:" for h in header[1:]]
    return ["", f"## {title}", "", _md_row(header), _md_row(align), *[_md_row(r) for r in rows]]


def question_rows(items: list[dict[str, Any]], cut: int = TEXT_CUT) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-question table, worst first (at most MAX_ROWS)."""
    texts, names = _question_columns(items)
    rows = []
    for it in worst_first(items)[:MAX_ROWS]:
        m = it.get("metrics") or {}
        rows.append([str(it.get("id")), _fmt(item_score(it)), *[_fmt(m.get(n)) for n in names],
                     *[_cut(it.get(f), cut) for f in texts]])  # fmt: skip
    return ["id", "score", *names, *texts], rows


def _markdown(results: dict[str, Any], plots: dict[str, bytes]) -> str:
    out = [f"# Eval report: {results.get('kind', '?')}", ""]
    if results.get("summary"):
        out += [str(results["summary"]), ""]
    out += _md_table("Summary", SUMMARY_HEADER, summary_rows(results))[1:]
    if sample_lines(results):
        out += ["", "## Sample", ""] + [f"- {line}" for line in sample_lines(results)]
    if results.get("cloze"):
        out += _md_table("Cloze items (own section: never in the headline means)", SUMMARY_HEADER,
                         _section_rows(results["cloze"]))  # fmt: skip
    if results.get("judge"):
        rows = [[k, _fmt(v)] for k, v in results["judge"].items() if not isinstance(v, dict)]
        out += _md_table("Judge (reported separately)", ["metric", "value"], rows)
    lat = _latency_rows(results.get("latency") or {})
    if lat:
        rows = [[s, _fmt(a), _fmt(b), _fmt(c)] for s, a, b, c in lat]
        out += _md_table("Latency (seconds)", ["stage", "p50", "p95", "mean"], rows)
    out += [""] + [f"![{name}]({name})" for name in plots]
    items = results.get("items") or []
    worst = worst_rows(items)
    if worst:
        out += _md_table(f"Worst {len(worst)}: what went wrong", WORST_HEADER, worst)
    header, rows = question_rows(items)
    out += _md_table(f"Per question, worst first ({len(items)})", header, rows)
    if len(items) > MAX_ROWS:
        out.append(f"\n{len(items) - MAX_ROWS} more in results.json")
    return "\n".join(out) + "\n"


def _section_rows(section: dict[str, Any]) -> list[list[str]]:
    from eval.summary import NEEDS

    ci = section.get("ci") or {}
    return [[k, _fmt(v), _ci_text(ci, k), NEEDS.get(k, "")] for k, v in (section.get("metrics") or {}).items()]


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;
vertical-align:top}th{background:#eef2f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%}.bad{background:#fbe3e3}"""


def _html_table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for r in rows:
        cells = "".join(
            f'<td class="n">{html.escape(c)}</td>'
            if i >= numeric_from and _is_number(c)
            else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(r)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _html(results: dict[str, Any], plots: dict[str, bytes]) -> str:
    kind = html.escape(str(results.get("kind", "?")))
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Eval report: {kind}</title>",
        f"<style>{CSS}</style></head><body><h1>Eval report: {kind}</h1>",
    ]
    if results.get("summary"):
        parts.append(f"<p>{html.escape(str(results['summary']))}</p>")
    parts += ["<h2>Summary</h2>", _html_table(SUMMARY_HEADER, summary_rows(results))]
    if sample_lines(results):
        parts += ["<h2>Sample</h2>", "<ul>", *[f"<li>{html.escape(x)}</li>" for x in sample_lines(results)], "</ul>"]
    if results.get("cloze"):
        parts += ["<h2>Cloze items (own section: never in the headline means)</h2>",
                  _html_table(SUMMARY_HEADER, _section_rows(results["cloze"]))]  # fmt: skip
    if results.get("judge"):
        rows = [[k, _fmt(v)] for k, v in results["judge"].items() if not isinstance(v, dict)]
        parts += ["<h2>Judge (reported separately)</h2>", _html_table(["metric", "value"], rows)]
    lat = _latency_rows(results.get("latency") or {})
    if lat:
        rows = [[s, _fmt(a), _fmt(b), _fmt(c)] for s, a, b, c in lat]
        parts += ["<h2>Latency (seconds)</h2>", _html_table(["stage", "p50", "p95", "mean"], rows)]
    for name, data in plots.items():
        parts.append(f"<img alt='{name}' src='data:image/png;base64,{base64.b64encode(data).decode()}'>")
    items = results.get("items") or []
    worst = worst_rows(items, cut=400)
    if worst:
        parts += [f"<h2>Worst {len(worst)}: what went wrong</h2>", _html_table(WORST_HEADER, worst)]
    header, rows = question_rows(items, cut=400)
    parts += [f"<h2>Per question, worst first ({len(items)})</h2>", _html_table(header, rows)]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(run_dir: Path, results: dict[str, Any]) -> list[Path]:
    """Write report.md (+ its PNG plots) and a self-contained report.html into `run_dir`."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    plots = make_plots(results)
    for name, data in plots.items():
        (run_dir / name).write_bytes(data)
    md, page = run_dir / "report.md", run_dir / "report.html"
    # questions, answers and passages come from documents: no live terminal controls for `cat report.md`
    md.write_text(safe(_markdown(results, plots)))
    page.write_text(safe(_html(results, plots)))
    return [md, page]
