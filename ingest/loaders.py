"""Turn a file's bytes into text pages, or say why not.

One loader per format, chosen by suffix: the text-based formats live in `ingest.text_loaders`
(decoding in `ingest.text_decode`), PDF and DOCX in `ingest.document_loaders`. This module is the
dispatch every caller goes through, so only `LoadError` ever escapes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ingest.document_loaders import load_docx, load_pdf
from ingest.pages import LoadError, Page, brief, failed, skipped
from ingest.text_loaders import TEXT_SUFFIXES, load_html, load_json, load_table, load_text

__all__ = ["SUPPORTED_SUFFIXES", "LoadError", "Page", "is_supported", "load"]

_Loader = Callable[[bytes], list[Page]]
_LOADERS: dict[str, tuple[str, _Loader]] = {
    **{suffix: ("text", load_text) for suffix in TEXT_SUFFIXES},
    ".html": ("HTML", load_html),
    ".htm": ("HTML", load_html),
    ".pdf": ("PDF", load_pdf),
    ".docx": ("DOCX", load_docx),
    ".csv": ("CSV", lambda data: load_table(data, ",")),
    ".tsv": ("TSV", lambda data: load_table(data, "\t")),
    ".json": ("JSON", load_json),
    ".jsonl": ("JSONL", lambda data: load_json(data, lines=True)),
}
_CORRUPT_FIX = {
    "PDF": "re-export or repair it",
    "DOCX": "re-save it from your word processor",
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


def is_supported(path: Path) -> bool:
    """Whether `load` has a loader for this file's suffix (case-insensitive)."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _unsupported(suffix: str) -> LoadError:
    if suffix == ".doc":
        return skipped("unsupported file type '.doc' (old binary Word): save it as .docx")
    name = f"'{suffix}'" if suffix else "(no extension)"
    return skipped(
        f"unsupported file type {name}: convert it to text, Markdown, HTML, PDF, DOCX, CSV/TSV or JSON, or exclude it"
    )


def load(path: Path, data: bytes) -> list[Page]:
    """Extract the text of a file, one Page per PDF page or one Page for other formats.

    Args:
        path: the file's path; only its suffix is used.
        data: the file's bytes, already read by the caller.

    Raises:
        LoadError: the file is unsupported, empty, or cannot be read; `reason` says what to do.
    """
    suffix = path.suffix.lower()
    if suffix not in _LOADERS:
        raise _unsupported(suffix)
    if not data.strip():  # whatever the format; UTF-16 blanks are caught after decoding
        raise skipped("empty file")
    kind, loader = _LOADERS[suffix]
    try:
        return loader(data)
    except LoadError:
        raise
    except Exception as exc:  # parsers raise many types on bad input; report them all the same way
        fix = _CORRUPT_FIX.get(kind, "repair it or exclude it")
        raise failed(f"corrupt {kind} ({brief(exc)}): {fix}") from exc
