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
                {"path": f.path, "status": f.status.value, "reason": f.reason, "chunks": f.chunks}
                for f in self.files
            ],
            "totals": {**asdict(self.totals), "seconds": round(self.totals.seconds, 3)},
        }
