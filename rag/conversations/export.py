"""One conversation as Markdown (to read on its own) or JSON (every field, for programs).

Each answer keeps its citations: the numbered sources with file, page or line range, the quoted
passages, and the mode that made the answer.
"""

from __future__ import annotations

import json
from datetime import datetime

from rag.conversations.records import Conversation, SavedTurn
from rag.types import Answer, Source

PASSAGE_CHARS = 600  # the Markdown shows this much of an uncut passage; the JSON keeps it whole
MODES = {
    "extract": "quoted from the sources",
    "generate": "written by the model from the sources",
    "both": "quoted, then written by the model",
}


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "unknown time"


def where(source: Source, lines: tuple[int, int] | None) -> str:
    """ "page 3" or "lines 12-20" (or nothing when neither is known)."""
    if source.page:
        return f"page {source.page}"
    if lines:
        return f"line {lines[0]}" if lines[0] == lines[1] else f"lines {lines[0]}-{lines[1]}"
    return ""


def quotes(answer: Answer, source: Source) -> list[str]:
    """The pieces of `source` the answer quoted (extract mode); [] when it quoted none."""
    return [source.text[sp.start : sp.end] for sp in answer.spans if sp.n == source.n]


def mode_label(answer: Answer) -> str:
    if answer.abstained and not answer.backend:
        return "no answer: no passage was relevant enough (the closest are listed)"
    label = MODES.get(answer.mode or "", answer.mode or "unknown")
    if answer.backend and answer.mode != "extract":
        label += f" ({answer.backend} · {answer.model or ''})"
    return label


# -- JSON -----------------------------------------------------------------------------------


def source_record(answer: Answer, s: Source, lines: tuple[int, int] | None) -> dict:
    return {
        "n": s.n,
        "path": s.path,
        "page": s.page,
        "lines": list(lines) if lines else None,
        "where": where(s, lines),
        "score": round(s.score, 4),
        "quoted": quotes(answer, s),
        "passage": s.text,
        "chunk_id": s.id,
        "start_char": s.start_char,
        "end_char": s.end_char,
    }


def turn_record(t: SavedTurn) -> dict:
    a = t.answer
    return {
        "question": t.question,
        "asked_at": datetime.fromtimestamp(t.asked_at).isoformat(timespec="seconds") if t.asked_at else None,
        "answer": a.text if a else t.text,
        "mode": a.mode if a else None,
        "mode_label": mode_label(a) if a else None,
        "abstained": a.abstained if a else None,
        "backend": a.backend if a else None,
        "model": a.model if a else None,
        "stopped": a is None and not t.error,
        "error": t.error,
        "note": a.note if a else None,
        "unsupported": [u.sentence for u in a.unsupported] if a else [],
        "citations": [source_record(a, s, t.lines.get(s.n)) for s in a.sources] if a else [],
    }


def to_json(conv: Conversation) -> str:
    doc = {
        "id": conv.id,
        "title": conv.title,
        "collection": conv.collection,
        "created": datetime.fromtimestamp(conv.created).isoformat(timespec="seconds"),
        "updated": datetime.fromtimestamp(conv.updated).isoformat(timespec="seconds"),
        "turns": [turn_record(t) for t in conv.turns],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# -- Markdown -------------------------------------------------------------------------------


def _quote_block(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


def _source_md(answer: Answer, s: Source, lines: tuple[int, int] | None) -> str:
    place = where(s, lines)
    head = f"**[{s.n}]** `{s.path}`" + (f", {place}" if place else "") + f" (similarity {s.score:.2f})"
    quoted = quotes(answer, s)
    if quoted:
        body = "\n>\n".join(_quote_block(q) for q in quoted)
    else:
        cut = s.text if len(s.text) <= PASSAGE_CHARS else s.text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
        body = _quote_block(cut)
    return f"{head}\n\n{body}"


def _turn_md(i: int, t: SavedTurn) -> str:
    parts = [f"## {i}. {' '.join(t.question.split())}", f"*Asked {_when(t.asked_at)}*"]
    a = t.answer
    if a is None:
        parts.append(f"*Not answered: {t.error}*" if t.error else (t.text.strip() + "\n\n*(stopped before the end)*"))
        return "\n\n".join(parts)
    parts[1] = f"*Asked {_when(t.asked_at)} · {mode_label(a)}*"
    parts.append(a.text.strip() or "*(empty answer)*")
    if a.note:
        parts.append(f"*Note: {a.note}*")
    if a.unsupported:
        parts.append("*Not supported by the sources:* " + " / ".join(f"“{u.sentence}”" for u in a.unsupported))
    if a.sources:
        label = "Closest passages" if a.abstained else "Sources"
        parts.append(f"### {label}\n\n" + "\n\n".join(_source_md(a, s, t.lines.get(s.n)) for s in a.sources))
    return "\n\n".join(parts)


def to_markdown(conv: Conversation) -> str:
    head = (
        f"# {conv.title}\n\n*A ragspace conversation · collection `{conv.collection or 'default'}` · "
        f"{len(conv.turns)} question(s) · started {_when(conv.created)}, last {_when(conv.updated)}*"
    )
    return "\n\n".join([head, *(_turn_md(i, t) for i, t in enumerate(conv.turns, 1))]) + "\n"


def file_stem(conv: Conversation) -> str:
    """A file name for the export: the title's words, then the id (unique, safe on every OS)."""
    words = "".join(c if c.isalnum() else "-" for c in conv.title.lower()).strip("-")
    words = "-".join(w for w in words.split("-") if w)[:40].strip("-")
    return f"{words or 'conversation'}-{conv.id}"
