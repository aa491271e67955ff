"""Typed value objects that cross module boundaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


@dataclass(frozen=True)
class Chunk:
    """One embeddable passage of a source file, with enough position to cite it exactly."""

    id: str
    text: str
    path: str
    index: int  # position of the chunk within its file
    page: int | None  # 1-based page for paged formats (PDF), else None
    start_char: int  # offsets into the page text (or the whole file text when page is None)
    end_char: int
    n_tokens: int
    header: str = ""  # embedded (and keyword-indexed) before `text` when chunk_headers is on; never shown

    @property
    def embed_text(self) -> str:
        """What is embedded: the header on its own line, then the text (just the text without one)."""
        return f"{self.header}\n{self.text}" if self.header else self.text

    def metadata(self, file_hash: str, n_chunks: int) -> dict[str, str | int]:
        """Chroma metadata (scalars only; None is not allowed there, so page 0 means none)."""
        return {
            "path": self.path,
            "chunk_index": self.index,
            "page": self.page or 0,
            "start_char": self.start_char,
            "end_char": self.end_char,
            "n_tokens": self.n_tokens,
            "file_hash": file_hash,
            "n_chunks": n_chunks,
        }


class FileStatus(str, Enum):
    INGESTED = "ingested"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileResult:
    path: str
    status: FileStatus
    reason: str | None = None
    chunks: int = 0


@dataclass
class IngestTotals:
    ingested: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: int = 0
    failed: int = 0
    chunks_added: int = 0
    chunks_deleted: int = 0
    images_added: int = 0  # into the image collection (ingest/images.py), when `image_model` is set
    images_deleted: int = 0
    seconds: float = 0.0


@dataclass
class IngestReport:
    collection: str
    files: list[FileResult] = field(default_factory=list)
    totals: IngestTotals = field(default_factory=IngestTotals)

    def add(self, result: FileResult) -> None:
        self.files.append(result)
        setattr(self.totals, result.status.value, getattr(self.totals, result.status.value) + 1)

    @property
    def ok(self) -> bool:
        return self.totals.failed == 0

    def to_dict(self) -> dict:
        return {
            "collection": self.collection,
            "files": [
                {"path": f.path, "status": f.status.value, "reason": f.reason, "chunks": f.chunks} for f in self.files
            ],
            "totals": {**asdict(self.totals), "seconds": round(self.totals.seconds, 3)},
        }


@dataclass
class Source:
    """A retrieved chunk, numbered as the answer cites it ([n])."""

    n: int  # 1-based rank, the number used in citations
    id: str
    path: str
    page: int | None
    text: str
    score: float  # cosine similarity to the query (dense), in [-1, 1]
    start_char: int = 0
    end_char: int = 0
    chunk_index: int = 0
    fused_score: float | None = None  # reciprocal-rank-fusion score when hybrid search ranked it
    bm25_score: float | None = None

    def to_dict(self) -> dict:
        return {"n": self.n, "path": self.path, "page": self.page, "score": round(self.score, 4), "text": self.text}

    def near_dict(self) -> dict:
        """As an "also near" entry (rag.answer.sources): where it is and how close, without the text."""
        return {"path": self.path, "page": self.page, "score": round(self.score, 4)}


@dataclass
class Unsupported:
    """An answer sentence the citation check could not ground in the sources."""

    sentence: str
    cited: list[int]
    reason: str
    support: float  # best support score found, 0..1


@dataclass
class Timings:
    """Seconds since the question arrived; `load_s` and `retrieve_s` are the time of that step alone."""

    retrieve_s: float = 0.0  # searching (embedding the question included), models already loaded
    extract_s: float | None = None  # quoting the answer from the sources, after retrieval
    first_token_s: float | None = None  # the first answer text shown (quotes, or the model's first token)
    total_s: float = 0.0
    load_s: float = 0.0  # loading models (embedding model, collection, LLM) during this answer


@dataclass
class Answer:
    """The result of a question: text, where it came from, and how far to trust it."""

    text: str
    sources: list[Source]
    unsupported: list[Unsupported] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    abstained: bool = False
    rewritten_query: str | None = None
    backend: str | None = None
    model: str | None = None
    context_cut: bool = False
    context_focused: bool = False  # long sources reached the model as their sentences nearest the question
    citations_added: bool = False  # the model cited nothing; the citation check added [n] where it found support
    timings: Timings = field(default_factory=Timings)
    mode: str | None = None  # how the text was made: extract (quotes) | generate | both
    spans: list = field(default_factory=list)  # rag.answer.extract.Span: the quoted pieces, offsets into source text
    note: str | None = None  # said to the user with the answer (e.g. the model's answer was replaced)
    generated: str | None = None  # the model's answer when quotes replaced it
    llm_error: str | None = None  # the LLM could not run: what failed and the fix
    per_sentence: list = field(default_factory=list, repr=False)  # rag.verify.check.SentenceSupport of each sentence
    # what retrieval searched for: the question as asked, or the standalone form of a follow-up
    # (`rewritten_query` is set only in that second case)
    searched_query: str | None = None
    also_near: list[Source] = field(default_factory=list)  # retrieved, but far below the best: not cited, not listed
    # tokens the LLM read and wrote for this answer (both 0 when no model ran: quotes, abstentions)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def to_dict(self) -> dict:
        return {
            "answer": self.text,
            "mode": self.mode,
            "spans": [{"n": sp.n, "start": sp.start, "end": sp.end} for sp in self.spans],
            "note": self.note,
            "generated": self.generated,
            "llm_error": self.llm_error,
            "abstained": self.abstained,
            "sources": [s.to_dict() for s in self.sources],
            "also_near": [s.near_dict() for s in self.also_near],
            "unsupported": [asdict(u) for u in self.unsupported],
            "invalid_citations": self.invalid_citations,
            "rewritten_query": self.rewritten_query,
            "searched_query": self.searched_query,
            "backend": self.backend,
            "model": self.model,
            "context_cut": self.context_cut,
            "context_focused": self.context_focused,
            "citations_added": self.citations_added,
            "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            "timings": {k: (round(v, 4) if v is not None else None) for k, v in asdict(self.timings).items()},
        }
