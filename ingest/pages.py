"""What every loader returns (`Page`) or raises (`LoadError`), and the helpers they share for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """Extracted text of one page (PDF) or of a whole unpaged file."""

    text: str  # exactly what chunk offsets refer to
    page: int | None  # 1-based page number for PDFs, None for unpaged formats
    encoding: str | None = None  # set when the text was not UTF-8 and its encoding was detected


class LoadError(Exception):
    """A file could not be turned into text.

    Attributes:
        reason: what was wrong and how to fix it, in one sentence.
        skipped: True when left out by policy (unsupported, empty, no text layer),
            False when the file is broken (corrupt, not valid text, encrypted).
    """

    def __init__(self, reason: str, *, skipped: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.skipped = skipped


def failed(reason: str) -> LoadError:
    return LoadError(reason, skipped=False)


def skipped(reason: str) -> LoadError:
    return LoadError(reason, skipped=True)


def single_page(text: str, empty_reason: str, encoding: str | None = None) -> list[Page]:
    """The one Page of an unpaged file; a file with no text is skipped with `empty_reason`."""
    if not text.strip():
        raise skipped(empty_reason)
    return [Page(text=text, page=None, encoding=encoding)]


def brief(exc: BaseException) -> str:
    """A parser's exception as one short line for a reason."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return detail if len(detail) <= 120 else detail[:117] + "..."
