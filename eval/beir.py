"""BEIR-format datasets: load them with errors that name the fix, and lay the corpus out as files.

A BEIR folder holds `corpus.jsonl` ({"_id", "title", "text"} per line), `queries.jsonl`
({"_id", "text"}) and `qrels/SPLIT.tsv` (header, then `query-id corpus-id score` rows). The corpus is
evaluated through the normal ingestion path, so each document becomes a text file `title\\n\\ntext` in
a work folder; a retrieved chunk's path maps back to its document id.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from eval.runs import EvalError

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}")


@dataclass
class BeirDataset:
    """One split of a BEIR dataset: the documents, the split's queries and their relevance judgments."""

    name: str
    root: Path
    split: str
    corpus: dict[str, tuple[str, str]]  # doc id -> (title, text)
    queries: dict[str, str]  # query id -> text, only queries judged in this split
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def _jsonl(path: Path, fields: tuple[str, ...]) -> list[dict]:
    """Rows of a JSON-lines file; a bad line is reported with its number."""
    if not path.is_file():
        raise EvalError(
            f"{path} is missing - a BEIR folder needs corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv "
            "(download the dataset in BEIR format, or point --beir at the folder that holds them)"
        )
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{path}:{n}: not valid JSON ({exc.msg}) - fix or remove that line") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise EvalError(f'{path}:{n}: expected a JSON object with an "_id" field - fix or remove that line')
            missing = [f for f in fields if not isinstance(row.get(f, ""), str)]
            if missing:
                raise EvalError(f"{path}:{n}: field {missing[0]!r} must be a string - fix that line")
            rows.append(row)
    return rows


def splits(root: Path) -> list[str]:
    """The qrels splits a BEIR folder offers (test, dev, train...)."""
    return sorted(p.stem for p in (root / "qrels").glob("*.tsv"))


def load_qrels(root: Path, split: str) -> dict[str, dict[str, int]]:
    """query id -> {doc id: relevance} from qrels/SPLIT.tsv (BEIR's header row is skipped)."""
    path = root / "qrels" / f"{split}.tsv"
    if not path.is_file():
        have = splits(root)
        hint = f"available splits: {', '.join(have)}" if have else "the folder has no qrels/*.tsv at all"
        raise EvalError(f"{path} is missing - unknown split {split!r} ({hint}); choose one with --split")
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not row or (n == 1 and row[0].strip().lower() == "query-id"):
                continue
            if len(row) < 3:
                raise EvalError(
                    f"{path}:{n}: expected 3 tab-separated fields (query-id corpus-id score), "
                    f"got {len(row)} - fix that line"
                )
            try:
                score = int(float(row[2]))
            except ValueError:
                raise EvalError(f"{path}:{n}: score {row[2]!r} is not a number - fix that line") from None
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = score
    if not qrels:
        raise EvalError(f"{path} holds no judgments - it needs rows `query-id<TAB>corpus-id<TAB>score`")
    return qrels


def load_beir(root: Path, split: str = "test") -> BeirDataset:
    """Load one split of the BEIR folder `root`.

    Raises:
        EvalError: a missing folder/file, an unknown split or a malformed line (with its number).
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise EvalError(f"{root} is not a folder - point --beir at a BEIR dataset folder (corpus.jsonl, ...)")
    qrels = load_qrels(root, split)  # first: an unknown split is the cheapest error to report
    corpus = {
        str(r["_id"]): (r.get("title") or "", r.get("text") or "")
        for r in _jsonl(root / "corpus.jsonl", ("title", "text"))
    }
    all_queries = {str(r["_id"]): r.get("text") or "" for r in _jsonl(root / "queries.jsonl", ("text",))}
    unknown = sorted(q for q in qrels if q not in all_queries)
    if unknown:
        raise EvalError(
            f"qrels/{split}.tsv judges queries missing from queries.jsonl ({', '.join(unknown[:5])}"
            f"{'...' if len(unknown) > 5 else ''}) - the files do not belong together"
        )
    # as BEIR's GenericDataLoader: the split's queries are the ones its qrels judge
    queries = {q: all_queries[q] for q in qrels}
    return BeirDataset(root.resolve().name, root.resolve(), split, corpus, queries, qrels)


def doc_filename(doc_id: str) -> str:
    """A safe, collision-free file name for a document id.

    Ids that are plain (letters, digits, . _ -; not hidden) keep their name; any other id becomes
    `_` + a hash, which cannot clash with a plain name since those never start with `_`.
    """
    if _SAFE_ID.fullmatch(doc_id):
        return f"{doc_id}.txt"
    return f"_{hashlib.sha1(doc_id.encode()).hexdigest()[:20]}.txt"


def doc_text(title: str, text: str) -> str:
    return f"{title.strip()}\n\n{text.strip()}" if title.strip() else text.strip()


def write_corpus(dataset: BeirDataset, folder: Path) -> dict[str, str]:
    """Write every document as `folder/<name>.txt`; returns absolute path -> doc id.

    A file is rewritten only when its text changed (so a re-run's ingestion finds everything
    unchanged by size and mtime), and files of documents no longer in the corpus are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    paths: dict[str, str] = {}
    for doc_id, (title, text) in dataset.corpus.items():
        path = folder / doc_filename(doc_id)
        data = doc_text(title, text).encode("utf-8")
        if not path.is_file() or path.stat().st_size != len(data) or path.read_bytes() != data:
            path.write_bytes(data)
        paths[str(path)] = doc_id
    for stale in folder.glob("*.txt"):
        if str(stale) not in paths:
            stale.unlink()
    return paths


def doc_scores(chunk_hits: list[tuple[str, float]], path_to_doc: dict[str, str], top_k: int) -> dict[str, float]:
    """Chunk (path, score) hits, best first -> {doc id: its best chunk's score} for the top_k docs."""
    out: dict[str, float] = {}
    for path, score in chunk_hits:
        doc = path_to_doc.get(path)
        if doc is None:
            continue  # a chunk of a file outside the corpus (a reused collection holding other files)
        if doc not in out:
            if len(out) >= top_k:
                continue
            out[doc] = score
        elif score > out[doc]:
            out[doc] = score
    return out
