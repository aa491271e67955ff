"""A SavedTurn to and from JSON: every field of the Answer the UI and the export show.

`Answer.to_dict` is the public shape (CLI --json, API); this one keeps what rebuilding the
Answer needs as well (chunk ids, offsets, flagged sentences, quoted spans).
"""

from __future__ import annotations

from dataclasses import asdict, fields

from rag.conversations.records import SavedTurn
from rag.types import Answer, Source, Timings, Unsupported

FORMAT = 1  # bump when the shape changes; older records are read by `turn_from_dict`


def source_to_dict(s: Source) -> dict:
    return asdict(s)


def source_from_dict(d: dict) -> Source:
    known = {f.name for f in fields(Source)}
    return Source(**{k: v for k, v in d.items() if k in known})


def answer_to_dict(a: Answer) -> dict:
    d = asdict(a)  # dataclasses all the way down (Span, Unsupported, Timings, Source)
    d.pop("per_sentence", None)  # the citation check's working; not shown again
    return d


def answer_from_dict(d: dict) -> Answer:
    from rag.answer.extract import Span

    known = {f.name for f in fields(Answer)} - {"per_sentence"}
    kw = {k: v for k, v in d.items() if k in known}
    kw["sources"] = [source_from_dict(s) for s in d.get("sources", [])]
    kw["also_near"] = [source_from_dict(s) for s in d.get("also_near", [])]
    kw["unsupported"] = [Unsupported(**u) for u in d.get("unsupported", [])]
    kw["spans"] = [Span(**sp) for sp in d.get("spans", [])]
    kw["timings"] = Timings(**d.get("timings", {}))
    return Answer(**kw)


def turn_to_dict(t: SavedTurn) -> dict:
    return {
        "format": FORMAT,
        "question": t.question,
        "answer": answer_to_dict(t.answer) if t.answer else None,
        "text": t.text,
        "error": t.error,
        "asked_at": t.asked_at,
        "lines": {str(n): list(r) for n, r in t.lines.items()},
    }


def turn_from_dict(d: dict) -> SavedTurn:
    return SavedTurn(
        question=d.get("question", ""),
        answer=answer_from_dict(d["answer"]) if d.get("answer") else None,
        text=d.get("text", ""),
        error=d.get("error"),
        asked_at=float(d.get("asked_at") or 0.0),
        lines={int(n): (int(r[0]), int(r[1])) for n, r in (d.get("lines") or {}).items()},
    )
