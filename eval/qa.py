"""QA sets for `rag eval answers`: the JSONL format, its validation, and the PubMedQA loader.

One question per line:

    {"id": "mars-1", "question": "Why is Mars red?",
     "reference_answer": "Iron oxide (rust) in its dust.",      # optional
     "relevant_sources": ["mars.md"],                           # optional, file names
     "answerable": true,                                        # optional, default true
     "history": [{"role": "user", "content": "..."}, ...]}      # optional, earlier turns
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eval.runs import EvalError

ROLES = ("user", "assistant", "system")
KNOWN = {"id", "question", "reference_answer", "relevant_sources", "answerable", "history"}


@dataclass
class QAItem:
    """One question of a QA set (see the module docstring for the JSON form)."""

    id: str
    question: str
    reference_answer: str | None = None
    relevant_sources: list[str] = field(default_factory=list)
    answerable: bool = True
    history: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # other keys (e.g. how a question was generated)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "extra" and v not in (None, [], {})}
        out["answerable"] = self.answerable
        return {**out, **self.extra}


def _bad(path: Path, lineno: int, what: str, fix: str) -> EvalError:
    return EvalError(f"{path}:{lineno}: {what} - {fix}")


def parse_line(raw: dict[str, Any], path: Path, lineno: int) -> QAItem:
    """Validate one decoded JSON line; errors name the file, line and fix."""
    if not isinstance(raw, dict):
        raise _bad(path, lineno, "expected a JSON object", 'write one object per line: {"id": ..., "question": ...}')
    if raw.get("id") in (None, ""):
        raise _bad(path, lineno, "missing 'id'", 'give every question a unique "id"')
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise _bad(path, lineno, "missing or empty 'question'", 'add "question": "your question text"')
    ref = raw.get("reference_answer")
    if ref is not None and not isinstance(ref, str):
        raise _bad(path, lineno, "'reference_answer' must be a string", "write the expected answer as text")
    sources = raw.get("relevant_sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
        raise _bad(path, lineno, "'relevant_sources' must be a list of file names", 'e.g. "relevant_sources": ["a.md"]')
    answerable = raw.get("answerable", True)
    if not isinstance(answerable, bool):
        raise _bad(path, lineno, "'answerable' must be true or false", "use JSON true/false without quotes")
    history = raw.get("history", [])

    def ok_turn(t: object) -> bool:
        return isinstance(t, dict) and t.get("role") in ROLES and isinstance(t.get("content"), str)

    if not isinstance(history, list) or not all(ok_turn(t) for t in history):
        raise _bad(path, lineno, "'history' must be a list of {role, content}", f"role is one of {', '.join(ROLES)}")
    return QAItem(
        id=str(raw["id"]),
        question=question.strip(),
        reference_answer=ref.strip() if isinstance(ref, str) and ref.strip() else None,
        relevant_sources=list(sources),
        answerable=answerable,
        history=[{"role": t["role"], "content": t["content"]} for t in history],
        extra={k: v for k, v in raw.items() if k not in KNOWN},
    )


def load_qa(path: Path) -> list[QAItem]:
    """Read and validate a QA JSONL file.

    Raises:
        EvalError: the file is missing, empty, or a line is malformed (the message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise EvalError(
            f"QA file {path} does not exist - pass an existing .jsonl file, or make one with "
            "`rag eval generate --docs DIR --out qa.jsonl`"
        )
    items: list[QAItem] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(
                path, lineno, f"not valid JSON ({exc.msg})", "each line must be one complete JSON object"
            ) from None
        item = parse_line(raw, path, lineno)
        if item.id in seen:
            raise _bad(path, lineno, f"duplicate id {item.id!r} (first on line {seen[item.id]})", "make ids unique")
        seen[item.id] = lineno
        items.append(item)
    if not items:
        raise EvalError(f"QA file {path} holds no questions - add one JSON object per line")
    return items


def write_qa(items: list[QAItem], path: Path) -> Path:
    """Write `items` as QA JSONL (the inverse of `load_qa`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(it.to_json(), ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
    return path


def fingerprint(path: Path) -> str:
    """Names a QA set in run params: file name + content hash, so compare can tell datasets apart."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]
    return f"{Path(path).name}#{digest}"


# -- PubMedQA ---------------------------------------------------------------------------------


def pubmedqa(source: Path, out_dir: Path, n: int, *, seed: int = 0, corpus: str = "all") -> tuple[Path, Path]:
    """Turn PubMedQA's ori_pqal.json into a docs folder + QA file under `out_dir`.

    Each abstract's CONTEXTS become one document `<pmid>.txt` (the corpus: every abstract in the
    file when `corpus="all"`, so retrieval has distractors, in `out_dir/docs` shared by every
    sample; only the sampled ones with "sample").
    The questions are `n` pmids sampled with `seed` (from test_ground_truth.json's test split when
    it sits beside the file); the reference answer is the LONG_ANSWER.

    Returns:
        (docs folder, qa.jsonl path).
    """
    source = Path(source)
    if not source.is_file():
        raise EvalError(f"PubMedQA file {source} not found - pass the path of ori_pqal.json")
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EvalError(f"{source} is not valid JSON ({exc.msg}) - pass PubMedQA's ori_pqal.json") from None
    pool = sorted(data)
    split = source.parent / "test_ground_truth.json"
    if split.is_file():
        pool = sorted(set(json.loads(split.read_text())) & set(data)) or pool
    if not 1 <= n <= len(pool):
        raise EvalError(f"cannot sample {n} questions from {len(pool)} - choose --sample between 1 and {len(pool)}")
    chosen = random.Random(seed).sample(pool, n)
    docs = out_dir / ("docs" if corpus == "all" else f"docs-n{n}-s{seed}")
    docs.mkdir(parents=True, exist_ok=True)
    for pmid in sorted(data) if corpus == "all" else chosen:
        doc = docs / f"{pmid}.txt"
        if not doc.exists():  # rewritten files would be re-ingested for nothing
            doc.write_text("\n\n".join(data[pmid]["CONTEXTS"]) + "\n", encoding="utf-8")
    items = [
        QAItem(
            id=pmid,
            question=data[pmid]["QUESTION"],
            reference_answer=data[pmid]["LONG_ANSWER"],
            relevant_sources=[f"{pmid}.txt"],
            extra={"final_decision": data[pmid].get("final_decision")},
        )
        for pmid in chosen
    ]
    return docs, write_qa(items, out_dir / f"qa-n{n}-s{seed}.jsonl")
