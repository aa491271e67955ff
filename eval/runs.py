"""Eval run folders: one per `rag eval` run, resumable, with the same layout for every kind of eval.

    RUN_DIR/
      params.json     what was asked (kind, dataset, options), written first; a resume must match it
      items.jsonl     one JSON object per finished question, appended as each one finishes
      results.json    written at the end: kind, created, settings, versions, params, metrics,
                      latency, items (see `Run.finish`)
      report.md, report.html   rendered from results.json by eval.report

A run that was interrupted is resumed by running the same command with `--resume RUN_DIR`:
items already in items.jsonl are kept and not asked again.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.errors import RagError

PACKAGES = ("ragspace", "chromadb", "sentence-transformers", "torch", "llama-cpp-python", "llama-index-core", "ollama")


class EvalError(RagError):
    """A bad eval input (missing dataset file, malformed QA line, mismatched resume)."""


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def read_items(path: Path) -> list[dict[str, Any]]:
    """The finished items of an items.jsonl, cutting the file back to its last whole line.

    An interruption can leave a half-written last line; appending the next item onto it would
    make that line unreadable too, so a second resume would lose everything after it. The cut-off
    item (and anything after it) is asked again.
    """
    items: list[dict[str, Any]] = []
    good = 0  # bytes of whole, readable lines
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            if raw.strip():
                try:
                    items.append(json.loads(raw))
                except json.JSONDecodeError:
                    break
            good += len(raw)
    if good < path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return items


def default_run_dir(home: Path, kind: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return home / "eval" / f"{stamp}-{kind}"


@dataclass
class Run:
    """A run folder being filled. Create with `Run.start`; call `add` per item and `finish` once."""

    dir: Path
    params: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    @classmethod
    def start(cls, run_dir: Path, params: dict[str, Any], *, resume: bool = False) -> Run:
        """Open `run_dir` (new, or resumed when `resume` and it holds the same params)."""
        params = json.loads(json.dumps(params, default=str))
        params_file = run_dir / "params.json"
        if params_file.exists():
            if not resume:
                raise EvalError(f"{run_dir} already holds an eval run - pass --resume {run_dir} to continue it, "
                                "or choose a new --out folder")
            old = json.loads(params_file.read_text())
            if old != params:
                diff = sorted(k for k in set(old) | set(params) if old.get(k) != params.get(k))
                raise EvalError(f"cannot resume {run_dir}: it was started with different options ({', '.join(diff)})"
                                " - rerun with the same options or choose a new --out folder")
        elif resume:
            raise EvalError(f"nothing to resume at {run_dir} (no params.json) - run without --resume to start it")
        run_dir.mkdir(parents=True, exist_ok=True)
        params_file.write_text(json.dumps(params, indent=2))
        run = cls(run_dir, params)
        if resume and (run_dir / "items.jsonl").exists():
            run.items = read_items(run_dir / "items.jsonl")
        return run

    def done_ids(self) -> set[str]:
        return {str(item["id"]) for item in self.items}

    def add(self, item: dict[str, Any]) -> None:
        """Record one finished item (must carry an "id"); flushed at once so an interruption loses nothing."""
        item = json.loads(json.dumps(item, default=str))
        self.items.append(item)
        with open(self.dir / "items.jsonl", "a") as fh:
            fh.write(json.dumps(item) + "\n")

    def finish(
        self, metrics: dict[str, Any], latency: dict[str, Any], settings: dict[str, Any], extra: dict | None = None
    ) -> dict[str, Any]:
        """Write results.json and the reports; returns the results dict."""
        results = {
            "kind": self.params.get("kind"),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.time() - self.started, 2),
            "settings": json.loads(json.dumps(settings, default=str)),
            "versions": versions(),
            "params": self.params,
            "metrics": metrics,
            "latency": latency,
            "items": self.items,
            **(extra or {}),
        }
        (self.dir / "results.json").write_text(json.dumps(results, indent=2))
        from eval.report import write_reports

        write_reports(self.dir, results)
        return results


def load_results(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "results.json" if run_dir.is_dir() else run_dir
    if not path.exists():
        raise EvalError(f"no results.json in {run_dir} - is it a finished `rag eval` run folder?")
    return json.loads(path.read_text())
