"""Loader dispatch: which suffixes load, empty files, and that only LoadError ever escapes `load`."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, Page, is_supported, load
from tests.loadfiles import load_error

# ---- suffixes ---------------------------------------------------------------------------


def test_supported_suffixes_are_lower_case_with_dot() -> None:
    assert all(s.startswith(".") and s == s.lower() for s in SUPPORTED_SUFFIXES)
    assert {".txt", ".md", ".py", ".html", ".pdf", ".docx", ".csv", ".json"} <= SUPPORTED_SUFFIXES


def test_is_supported_ignores_case_and_rejects_old_word() -> None:
    assert is_supported(Path("Notes.MD"))
    assert is_supported(Path("dir.v2/report.PDF"))
    assert not is_supported(Path("old.doc"))
    assert not is_supported(Path("Makefile"))


def test_unsupported_suffix_is_skipped_with_its_name(tmp_path: Path) -> None:
    error = load_error(tmp_path, "photo.xyz", b"whatever")
    assert error.skipped
    assert error.reason.startswith("unsupported file type '.xyz'")
    assert "PDF" in error.reason  # says what would work instead


def test_old_word_doc_says_save_as_docx(tmp_path: Path) -> None:
    error = load_error(tmp_path, "old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert error.skipped
    assert "save it as .docx" in error.reason


def test_file_without_suffix_is_unsupported(tmp_path: Path) -> None:
    error = load_error(tmp_path, "LICENSE", b"MIT")
    assert error.skipped and "no extension" in error.reason


def test_zero_byte_file_is_skipped_as_empty(tmp_path: Path) -> None:
    for name in ("empty.txt", "empty.pdf", "empty.docx", "empty.json"):
        error = load_error(tmp_path, name, b"")
        assert (error.reason, error.skipped) == ("empty file", True)


def test_whitespace_only_file_is_skipped_as_empty(tmp_path: Path) -> None:
    error = load_error(tmp_path, "blank.txt", b" \n\t\r\n  \n")
    assert (error.reason, error.skipped) == ("empty file", True)


# ---- only LoadError escapes --------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix", sorted(SUPPORTED_SUFFIXES & {".txt", ".html", ".pdf", ".docx", ".csv", ".tsv", ".json", ".jsonl"})
)
@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_raise_only_load_error(tmp_path: Path, suffix: str, seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(1, 3000))
    if seed % 2:  # also try data that passes the first checks
        data = {".pdf": b"%PDF-1.7\n", ".docx": b"PK\x03\x04"}.get(suffix, b"") + data
    try:
        pages = load(Path("f" + suffix), data)
    except LoadError as error:
        assert error.reason
    else:
        assert all(isinstance(p, Page) and p.text.strip() for p in pages)
