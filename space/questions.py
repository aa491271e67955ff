"""Question sets for `health` and `compress`: a QA JSONL, a JSON list, plain text lines, or a BEIR folder."""

from __future__ import annotations

import json
from pathlib import Path

from space.errors import SpaceError

FIELDS = ("question", "text", "query")


def load_questions(path: Path) -> list[str]:
    """Questions from `path`: JSONL objects with a question/text/query field (the `rag eval` QA format),
    a JSON list of strings or such objects, or one question per line of plain text."""
    if not path.is_file():
        raise SpaceError(f"{path} does not exist - pass a questions file (.jsonl, .json or .txt).")
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"{path} is not valid JSON ({exc}) - fix it or use one question per line.") from None
        out = [_question(item, path, n) for n, item in enumerate(items if isinstance(items, list) else [], 1)]
    elif path.suffix.lower() == ".jsonl":
        out = [
            _question(_json_line(line, path, n), path, n) for n, line in enumerate(raw.splitlines(), 1) if line.strip()
        ]
    else:
        out = [line.strip() for line in raw.splitlines() if line.strip()]
    if not out:
        raise SpaceError(f"{path} holds no questions - write one per line.")
    return out


def load_beir_queries(folder: Path, split: str = "test") -> list[str]:
    """The queries of a BEIR dataset folder (queries.jsonl), only those judged in qrels/SPLIT.tsv when present."""
    queries = folder / "queries.jsonl"
    if not queries.is_file():
        raise SpaceError(f"{folder} has no queries.jsonl - pass a BEIR dataset folder (corpus, queries, qrels).")
    judged = _judged(folder / "qrels" / f"{split}.tsv")
    out = []
    for n, line in enumerate(queries.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            item = _json_line(line, queries, n)
            if judged is None or str(item.get("_id")) in judged:
                out.append(_question(item, queries, n))
    if not out:
        raise SpaceError(f"{queries} holds no queries judged in qrels/{split}.tsv - check the dataset folder.")
    return out


def _judged(qrels: Path) -> set[str] | None:
    if not qrels.is_file():
        return None
    rows = [line.split("\t") for line in qrels.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    return {r[0] for r in rows}


def _json_line(line: str, path: Path, n: int):
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise SpaceError(f"{path}:{n}: not JSON ({exc.msg}) - write one JSON object per line.") from None


def _question(item, path: Path, n: int) -> str:
    if isinstance(item, str) and item.strip():
        return item.strip()
    if isinstance(item, dict):
        for key in FIELDS:
            if isinstance(item.get(key), str) and item[key].strip():
                return item[key].strip()
    raise SpaceError(f"{path}:{n}: no question text - give each entry a 'question' (or 'text') field.")
