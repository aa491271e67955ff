"""PDF and DOCX: pages and tables read in order, and each kind of broken, encrypted or scanned file named."""

from __future__ import annotations

import io
import logging
import random
import re
from pathlib import Path

import pytest

from ingest.loaders import Page
from tests.loadfiles import load_error, load_file, write
from tests.pdfgen import make_pdf


def make_docx(tmp_path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew in every region.")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Region", "Growth"), ("North", "12%")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    document.add_paragraph("Outlook is stable.")
    path = tmp_path / "report.docx"
    document.save(str(path))
    return path


# ---- PDF --------------------------------------------------------------------------------


def test_pdf_gives_one_page_per_pdf_page_numbered_from_one(tmp_path: Path) -> None:
    data = make_pdf(["Hello from page one", "Second page (with parens)\nand a second line"])
    pages = load_file(write(tmp_path, "two.pdf", data))
    assert [p.page for p in pages] == [1, 2]
    assert pages[0].text == "Hello from page one"
    assert "Second page (with parens)" in pages[1].text
    assert "and a second line" in pages[1].text


def test_pdf_pages_without_text_are_left_out_but_numbers_kept(tmp_path: Path) -> None:
    pages = load_file(write(tmp_path, "mixed.pdf", make_pdf(["One", None, "Three"])))
    assert [(p.page, p.text) for p in pages] == [(1, "One"), (3, "Three")]


def test_pdf_without_text_layer_is_skipped_with_ocr_hint(tmp_path: Path) -> None:
    error = load_error(tmp_path, "scan.pdf", make_pdf([None, None]))
    assert error.skipped
    assert error.reason.startswith("no text layer (scanned PDF?): run OCR first")
    assert "ocrmypdf in.pdf out.pdf" in error.reason


def test_truncated_pdf_fails_as_corrupt(tmp_path: Path) -> None:
    data = make_pdf(["Hello", "World"])
    error = load_error(tmp_path, "cut.pdf", data[: len(data) // 2])
    assert not error.skipped
    assert error.reason.startswith("corrupt PDF (")
    assert error.reason.endswith("): re-export or repair it")


def test_garbage_named_pdf_fails_as_corrupt(tmp_path: Path) -> None:
    error = load_error(tmp_path, "fake.pdf", random.Random(1).randbytes(4000))
    assert not error.skipped
    assert error.reason == ("corrupt PDF (no %PDF- header; not a PDF file?): re-export or repair it")


def test_pdf_with_broken_body_fails_as_corrupt_not_crash(tmp_path: Path) -> None:
    data = b"%PDF-1.4\n" + random.Random(2).randbytes(3000) + b"\n%%EOF\n"
    error = load_error(tmp_path, "broken.pdf", data)
    assert not error.skipped
    assert error.reason.startswith("corrupt PDF (")
    assert error.reason.endswith("re-export or repair it")


def encrypt(data: bytes, user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    # RC4 needs no optional crypto package, so the test runs on a bare install.
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_password_protected_pdf_fails_with_decrypt_hint(tmp_path: Path) -> None:
    error = load_error(tmp_path, "locked.pdf", encrypt(make_pdf(["Secret"]), "s3cret"))
    assert not error.skipped
    assert error.reason == ("encrypted PDF: decrypt it first (e.g. `qpdf --decrypt in.pdf out.pdf`)")


def test_aes_pdf_without_crypto_package_names_both_fixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    # Stand-in for an AES file on a machine without `cryptography`: pypdf raises this.
    def needs_crypto(self: PdfReader, password: str) -> None:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(PdfReader, "decrypt", needs_crypto)
    error = load_error(tmp_path, "aes.pdf", encrypt(make_pdf(["Secret"]), ""))
    assert not error.skipped
    assert error.reason == (
        "encrypted PDF (AES, which needs the `cryptography` package): install it or "
        "decrypt it first (e.g. `qpdf --decrypt in.pdf out.pdf`)"
    )


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    data = encrypt(make_pdf(["Readable"]), "")
    assert load_file(write(tmp_path, "owner-only.pdf", data)) == [Page("Readable", 1)]


def test_repairable_pdf_is_read_without_pypdf_log_noise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A wrong startxref makes pypdf log a warning and rebuild the xref, then read the file.
    data = re.sub(rb"startxref\n\d+", b"startxref\n99", make_pdf(["Still readable"]))
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.DEBUG):
            pages = load_file(write(tmp_path, "badxref.pdf", data))
        assert pages == [Page("Still readable", 1)]
        assert [r for r in caplog.records if r.name.startswith("pypdf")] == []
        assert pypdf_logger.level == logging.INFO  # the caller's setting is restored
    finally:
        pypdf_logger.setLevel(logging.NOTSET)


# ---- DOCX -------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_document_order(tmp_path: Path) -> None:
    [page] = load_file(make_docx(tmp_path))
    assert page == Page(
        text="Quarterly report\nRevenue grew in every region.\nRegion | Growth\nNorth | 12%\nOutlook is stable.",
        page=None,
    )


def test_docx_merged_cells_are_shown_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Totals"
    for cell, value in zip(table.rows[1].cells, ["1", "2", "3"]):
        cell.text = value
    path = tmp_path / "merged.docx"
    document.save(str(path))
    assert load_file(path)[0].text == "Totals\n1 | 2 | 3"


def test_corrupt_docx_fails_with_resave_hint(tmp_path: Path) -> None:
    error = load_error(tmp_path, "broken.docx", random.Random(3).randbytes(2048))
    assert not error.skipped
    assert error.reason.startswith("corrupt DOCX (")
    assert error.reason.endswith("): re-save it from your word processor")


def test_truncated_docx_fails_as_corrupt(tmp_path: Path) -> None:
    data = make_docx(tmp_path).read_bytes()
    error = load_error(tmp_path, "cut.docx", data[: len(data) // 2])
    assert not error.skipped and error.reason.startswith("corrupt DOCX (")


def test_old_or_protected_word_file_named_docx_says_what_it_is(tmp_path: Path) -> None:
    error = load_error(tmp_path, "legacy.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    assert not error.skipped
    assert error.reason.startswith("not a DOCX: this is an old binary .doc or a password")


def test_docx_without_text_is_skipped(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    error = load_error(tmp_path, "blank.docx", path.read_bytes())
    assert error.skipped and error.reason.startswith("empty:")
