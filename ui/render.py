"""HTML for answers, sources, reports and the status line. Every piece of document, answer or
user text passes through `text()` first: a document containing HTML or a script shows as text.

Citations become links to the source panel (`src-<turn>-<n>`); the passage a citation points
at has the sentence(s) the answer drew on highlighted.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime
from typing import TYPE_CHECKING

from rag.answer.sources import by_file
from rag.types import Answer, IngestReport, Source
from ui.handlers import Session, Status, Turn
from ui.uploads import SavedUploads

if TYPE_CHECKING:
    from ui.images import ShownImage

# markdown that could fetch (images), link (brackets) or show entities raw (code) is neutralised
_MD_ESCAPES = str.maketrans({"[": "&#91;", "]": "&#93;", "`": "&#96;", "!": "&#33;", "|": "&#124;"})


def text(s: str) -> str:
    """Document, answer or user text as inert HTML (no tags, links, images or code spans).

    Line breaks become <br>: inside one HTML block the chatbot's markdown never sees a blank
    line, so nothing of the text is parsed as markdown.
    """
    escaped = html.escape(s, quote=True).translate(_MD_ESCAPES)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def attr(s: str) -> str:
    return html.escape(s, quote=True)


def file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def source_id(turn_no: int, n: int) -> str:
    return f"src-{turn_no}-{n}"


# -- chat ---------------------------------------------------------------------------------


def chat_messages(session: Session) -> list[dict]:
    """The conversation for gr.Chatbot (messages format)."""
    out: list[dict] = []
    for i, turn in enumerate(session.turns, 1):
        out.append({"role": "user", "content": question_html(turn.question)})
        out.append({"role": "assistant", "content": turn_html(turn, i)})
    return out


def question_html(question: str) -> str:
    return f'<div class="rag-q">{text(question)}</div>'


def turn_html(turn: Turn, turn_no: int) -> str:
    """One assistant message: the answer with linked citations and marked flags, then its details."""
    if turn.error:
        return f'<div class="rag-error">⚠ {text(turn.error)}</div>'
    if turn.answer is None:
        body = f'<div class="rag-answer">{text(turn.text)}</div>'
        if turn.stopped:
            return f'{body}\n\n<div class="rag-meta">stopped before the end</div>'
        if not turn.text:
            return '<div class="rag-typing">Searching the documents…</div>'
        return body.replace("</div>", '<span class="rag-typing">▍</span></div>')
    return answer_html(turn.answer, turn_no)


def answer_html(answer: Answer, turn_no: int) -> str:
    valid = {s.n for s in answer.sources}
    flagged = {u.sentence: u.reason for u in answer.unsupported}
    body = "".join(_segment(piece, reason, turn_no, valid) for piece, reason in _split_flagged(answer.text, flagged))
    cls = "rag-abstained" if answer.abstained else "rag-answer"
    return f'<div class="{cls}">{body}</div>\n\n{_details(answer, body)}'


def _split_flagged(s: str, flagged: dict[str, str]) -> list[tuple[str, str | None]]:
    """The answer cut into (piece, reason-if-flagged) at the sentences the citation check flagged."""
    spans = []
    for sentence, reason in flagged.items():
        at = s.find(sentence) if sentence else -1
        if at >= 0 and not any(a < at + len(sentence) and at < b for a, b, _ in spans):
            spans.append((at, at + len(sentence), reason))
    out, pos = [], 0
    for a, b, reason in sorted(spans):
        out += [(s[pos:a], None), (s[a:b], reason or "not supported by the sources")]
        pos = b
    out.append((s[pos:], None))
    return [(p, r) for p, r in out if p]


def _segment(piece: str, reason: str | None, turn_no: int, valid: set[int]) -> str:
    from rag.verify.text import CITE_RE, marker_numbers

    parts, pos = [], 0
    for m in CITE_RE.finditer(piece):
        parts.append(text(piece[pos : m.start()]))
        parts.append("".join(_cite(n, turn_no, n in valid) for n in marker_numbers(m.group())))
        pos = m.end()
    parts.append(text(piece[pos:]))
    inner = "".join(parts)
    if reason is None:
        return inner
    tip = attr(f"Not supported by the sources: {reason}")
    flag = f'<sup class="rag-flag" title="{tip}">⚠ unsupported</sup>'
    return f'<mark class="rag-flagged" title="{tip}">{inner}</mark>{flag}'


def _cite(n: int, turn_no: int, exists: bool) -> str:
    if not exists:
        return f'<span class="rag-cite-missing" title="no such source">&#91;{n}&#93;</span>'
    sid = source_id(turn_no, n)
    return f'<a class="rag-cite" href="#{sid}" data-src="{sid}" title="source {n}">&#91;{n}&#93;</a>'


def _details(answer: Answer, body: str) -> str:
    """Who answered, what was searched for, and anything the reader should know."""
    bits = []
    if answer.mode == "extract":
        bits.append("quoted from the sources (highlighted in the sources panel)")
    elif answer.backend:
        bits.append(f"answered by {text(answer.backend)} · {text(answer.model or '')}")
    elif answer.abstained:
        bits.append("no model was asked: no passage was relevant enough")
    if answer.timings.total_s:
        bits.append(f"{answer.timings.total_s:.1f} s")
    notes = [n for n in (answer.llm_error, answer.note) if n]
    if answer.unsupported:
        notes.append(f"⚠ {len(answer.unsupported)} sentence(s) not supported by the sources (marked)")
    if answer.invalid_citations:
        notes.append("removed citations of sources that do not exist: " + ", ".join(map(str, answer.invalid_citations)))
    if answer.citations_added and "rag-cite" in body:
        notes.append("the model cited nothing; citations were added where the check found support")
    if answer.context_cut:
        notes.append("some sources did not fit the model's context and were left out")
    if answer.context_focused:
        notes.append("the model read the sentences of each source nearest the question, not the whole passage")
    meta = " · ".join(bits)
    if answer.rewritten_query:
        q, tip = text(answer.rewritten_query), attr(f"searched for: {answer.rewritten_query}")
        meta += f' · <span class="rag-rewritten" title="{tip}">follow-up searched as: <i>{q}</i></span>'
    note_html = "".join(f'<div class="rag-note">{text(n)}</div>' for n in notes)
    return f'<div class="rag-meta">{meta}</div>{note_html}'


# -- sources ------------------------------------------------------------------------------


def sources_html(session: Session) -> str:
    """The sources panel: each answer's sources, newest first; the newest answer's open."""
    groups = [(i, t) for i, t in enumerate(session.turns, 1) if t.answer and (t.answer.sources or t.images)]
    if not groups:
        return '<div class="rag-sources-empty">Sources of each answer appear here.</div>'
    out = []
    for rank, (i, turn) in enumerate(reversed(groups)):
        label = "closest passages, no answer" if turn.answer.abstained and not turn.answer.backend else "sources"
        items = searched_html(turn.question, turn.answer)
        items += "".join(source_html(s, i, cited_spans(turn.answer, s), open_=rank == 0) for s in turn.answer.sources)
        items += also_near_html(turn.answer.also_near)
        items += images_html(turn.images)
        out.append(
            f'<details class="rag-turn" {"open" if rank == 0 else ""}><summary>Q{i}: {text(turn.question)}'
            f" <small>({label})</small></summary>{items}</details>"
        )
    return "".join(out)


def also_near_html(near: list[Source]) -> str:
    """Passages retrieved but far below the best (rag.answer.sources): named, not listed as sources."""
    if not near:
        return ""
    names = ", ".join(
        f'<span title="{attr(s.path)}">{text(file_name(s.path))}{f" · page {s.page}" if s.page else ""}'
        f" ({s.score:.2f})</span>"
        for s in by_file(near)
    )
    return f'<div class="rag-also-near">Also near: {names}</div>'


def searched_html(question: str, answer: Answer) -> str:
    """The "Searched for: ..." line above a turn's sources, when retrieval searched for more than the question."""
    searched = answer.searched_query or answer.rewritten_query
    if not searched or searched.strip() == (question or "").strip():
        return ""
    return f'<div class="rag-searched">Searched for: <i>{text(searched)}</i></div>'


def source_html(s: Source, turn_no: int, spans: list[tuple[int, int]], open_: bool = False) -> str:
    page = f" · page {s.page}" if s.page else ""
    head = f'<span class="rag-n">[{s.n}]</span> <b>{text(file_name(s.path))}</b>{page} · similarity {s.score:.2f}'
    return (
        f'<details class="rag-source" id="{source_id(turn_no, s.n)}" {"open" if open_ else ""}>'
        f'<summary title="{attr(s.path)}">{head}</summary>'
        f'<div class="rag-passage">{highlight(s.text, spans)}</div></details>'
    )


def highlight(passage: str, spans: list[tuple[int, int]]) -> str:
    """The passage as text, with `spans` (offsets into it) in <mark>."""
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos:
            continue
        out += [text(passage[pos:a]), f'<mark class="rag-cited">{text(passage[a:b])}</mark>']
        pos = b
    out.append(text(passage[pos:]))
    return "".join(out)


def cited_spans(answer: Answer, source: Source) -> list[tuple[int, int]]:
    """Sentences of `source` that the answer sentences citing it draw on (most shared words)."""
    from rag.verify.text import parse_citations, split_sentences, terms

    if answer.spans:  # quotes: the exact pieces the extract took
        return sorted((sp.start, sp.end) for sp in answer.spans if sp.n == source.n)
    if answer.abstained:
        return []
    claims = [
        answer.text[a:b] for a, b in split_sentences(answer.text) if source.n in parse_citations(answer.text[a:b])
    ]
    sentences = split_sentences(source.text)
    keys = [{t.key for t in terms(source.text[a:b], source=True)} for a, b in sentences]
    spans: set[tuple[int, int]] = set()
    for claim in claims:
        wanted = {t.key for t in terms(claim)}
        overlap = [len(wanted & k) for k in keys]
        if overlap and max(overlap) > 0:
            spans.add(sentences[overlap.index(max(overlap))])
    return sorted(spans)


# -- status and documents -----------------------------------------------------------------


def status_html(st: Status) -> str:
    """The status line, then a banner per problem (what is wrong and what to do)."""
    line = (
        f'<div class="rag-status">Collection <b>{text(st.collection)}</b> · {st.chunks} chunks in '
        f"{st.files} files · embeddings {text(st.embed_model.rsplit('/', 1)[-1])} · LLM {text(st.llm)}</div>"
    )
    warnings = "".join(f'<div class="rag-banner rag-warn">⚠ {text(w)}</div>' for w in st.warnings)
    notes = "".join(f'<div class="rag-banner rag-info">ℹ {text(n)}</div>' for n in st.notes)
    return line + warnings + notes


def report_rows(report: IngestReport | None, saved: SavedUploads | None = None) -> list[list]:
    """Rows (file, status, chunks, reason) for the per-file report table."""
    rows = [[name, "refused", 0, reason] for name, reason in (saved.rejected if saved else [])]
    wanted = {str(p) for p in saved.saved} if saved else None
    for f in report.files if report else []:
        if wanted is None or f.path in wanted or f.status.value in ("failed", "removed"):
            rows.append([f.path, f.status.value, f.chunks, f.reason or ""])
    return rows


def report_summary(report: IngestReport | None, saved: SavedUploads | None = None) -> str:
    if report is None:
        refused = len(saved.rejected) if saved else 0
        return f"Nothing was ingested ({refused} file(s) refused, see the table)." if refused else "Nothing to ingest."
    t = report.totals
    return (
        f"{t.ingested} new, {t.updated} updated, {t.unchanged} unchanged, {t.removed} removed, "
        f"{t.skipped} skipped, {t.failed} failed · {t.chunks_added} chunks added"
        f"{f', {t.images_added} images added' if t.images_added else ''} in {t.seconds:.1f} s"
    )


def document_rows(docs) -> list[list]:
    """Rows (file, chunks, indexed at) for the documents table."""
    return [[d.path, d.chunks, datetime.fromtimestamp(d.indexed_at).strftime("%Y-%m-%d %H:%M")] for d in docs]


def images_html(images: list[ShownImage]) -> str:
    """A row of thumbnails with file name and similarity; names pass through html escaping."""
    if not images:
        return ""
    cells = []
    for im in images:
        h = im.hit
        picture = (
            f'<img src="data:image/png;base64,{base64.b64encode(im.png).decode()}" alt="{attr(file_name(h.path))}">'
            if im.png
            else '<div class="rag-image-missing">(file not readable now)</div>'
        )
        page = f" · page {h.page}" if h.page else ""
        cells.append(
            f'<figure class="rag-image" title="{attr(h.path)}">{picture}'
            f"<figcaption>{text(file_name(h.path))}{page} · similarity {h.score:.2f}</figcaption></figure>"
        )
    return f'<div class="rag-images"><small>matching images</small>{"".join(cells)}</div>'


def store_note_html(error: str | None) -> str:
    """The note beside the conversation list: why it could not be saved or read, and the fix."""
    if not error:
        return ""
    return f'<div class="rag-banner rag-warn">⚠ {text(error)}</div>'
