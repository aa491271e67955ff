"""Loaders: each format's happy path, and each kind of broken file with the reason reported."""

from __future__ import annotations

import io
import json
import logging
import random
import re
from pathlib import Path

import pytest

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, Page, is_supported, load
from tests.pdfgen import make_pdf


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """Write a fixture the way a user's folder would hold it; return its path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load_file(path: Path) -> list[Page]:
    return load(path, path.read_bytes())


def load_error(tmp_path: Path, name: str, data: bytes) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_file(write(tmp_path, name, data))
    return info.value


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


# ---- plain text -------------------------------------------------------------------------


def test_utf8_text_is_one_unpaged_page(tmp_path: Path) -> None:
    pages = load_file(write(tmp_path, "notes.md", "# Café\n\nNaïve text.\n".encode()))
    assert pages == [Page(text="# Café\n\nNaïve text.\n", page=None)]


def test_source_code_is_text(tmp_path: Path) -> None:
    pages = load_file(write(tmp_path, "app.py", b"def f():\n    return 1\n"))
    assert pages[0].text == "def f():\n    return 1\n"


def test_utf8_bom_is_stripped_and_newlines_normalised(tmp_path: Path) -> None:
    pages = load_file(write(tmp_path, "win.txt", b"\xef\xbb\xbfline one\r\nline two\r\n"))
    assert pages[0].text == "line one\nline two\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom_are_decoded(tmp_path: Path, encoding: str) -> None:
    data = "Grüße aus Köln\n".encode(encoding)
    if encoding == "utf-16-be":  # the explicit-endian codecs write no BOM
        data = b"\xfe\xff" + data
    assert load_file(write(tmp_path, "greeting.txt", data))[0].text == "Grüße aus Köln\n"


def test_zero_byte_file_is_skipped_as_empty(tmp_path: Path) -> None:
    for name in ("empty.txt", "empty.pdf", "empty.docx", "empty.json"):
        error = load_error(tmp_path, name, b"")
        assert (error.reason, error.skipped) == ("empty file", True)


def test_whitespace_only_file_is_skipped_as_empty(tmp_path: Path) -> None:
    error = load_error(tmp_path, "blank.txt", b" \n\t\r\n  \n")
    assert (error.reason, error.skipped) == ("empty file", True)


def test_binary_file_named_txt_fails_as_binary(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    error = load_error(tmp_path, "image.txt", png)
    assert not error.skipped
    assert error.reason.startswith("not valid text: looks like binary data (NUL character at position 8)")
    assert "--exclude" in error.reason


def test_control_characters_without_nul_fail_as_binary(tmp_path: Path) -> None:
    data = bytes(b for b in range(1, 32) if not chr(b).isspace()) * 50
    error = load_error(tmp_path, "dump.log", data)
    assert not error.skipped
    assert "looks like binary data (100% control characters" in error.reason


def test_damaged_utf8_names_the_byte_and_the_fix(tmp_path: Path) -> None:
    # valid UTF-8 accents around one bad byte: a damaged UTF-8 file, not a legacy encoding
    error = load_error(tmp_path, "broken.txt", "first line\ncafé au lait\n".encode() + b"\xff cr\xc3\xa8me\n")
    assert not error.skipped
    assert error.reason == ("not valid text: invalid UTF-8 at byte 25 (line 3); re-save the file as UTF-8")


LEGACY = [
    ("latin1.txt", "first line\ncafé au lait, crème brûlée et pâté.\n", "latin-1"),
    ("windows.txt", "He said \u201cit costs \u20ac5\u201d \u2014 and left.\nThe caf\u00e9 closes at nine.\n", "cp1252"),
    ("greek.txt", "Καλημέρα κόσμε, αυτό είναι ελληνικό κείμενο για τη δοκιμή.\n", "iso-8859-7"),
]


@pytest.mark.parametrize(("name", "text", "encoding"), LEGACY)
def test_legacy_8bit_text_is_decoded_and_its_encoding_reported(tmp_path: Path, name, text, encoding) -> None:
    from ingest.text_decode import encoding_note

    pages = load_file(write(tmp_path, name, text.encode(encoding)))
    assert pages[0].text == text
    assert pages[0].encoding and "decoded as" in encoding_note(pages)


def test_legacy_csv_and_json_are_decoded_too(tmp_path: Path) -> None:
    [table] = load_file(write(tmp_path, "old.csv", "name,city\nJosé,Málaga\nRenée,Besançon\n".encode("cp1252")))
    assert "name: José; city: Málaga" in table.text and table.encoding
    [doc] = load_file(write(tmp_path, "old.json", '{"plat": "crème brûlée", "prix": "5 €"}'.encode("cp1252")))
    assert "plat: crème brûlée" in doc.text and doc.encoding


def test_ingest_report_names_the_detected_encoding(tmp_path: Path, settings, embedder) -> None:
    from tests.helpers import sync

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "old.txt").write_bytes("Le café ouvre à sept heures, la crème est fraîche.\n".encode("cp1252"))
    (folder / "new.txt").write_text("The ferry leaves at noon.\n", encoding="utf-8")
    report = sync(settings, embedder, [folder])
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["old.txt"].status.value == "ingested" and "decoded as" in by_name["old.txt"].reason
    assert by_name["new.txt"].reason is None


# ---- HTML -------------------------------------------------------------------------------

PAGE_HTML = """<!DOCTYPE html>
<html><head><title>Guide</title><style>p { color: red }</style>
<script>var secret = "do not index";</script></head>
<body><!-- a comment -->
  <h1>Install</h1>
  <p>Run the <b>installer</b>
     and wait.</p>
  <noscript>Enable JavaScript</noscript><template><p>hidden</p></template>
  <table><tr><th>Key</th><th>Value</th></tr><tr><td>port</td><td>8080</td></tr></table>
  <p>Line one<br>Line two</p>
</body></html>"""


def test_html_keeps_visible_text_in_blocks(tmp_path: Path) -> None:
    [page] = load_file(write(tmp_path, "guide.html", PAGE_HTML.encode()))
    assert page.page is None
    assert page.text == (
        "Guide\n\nInstall\n\nRun the installer and wait.\n\nKey | Value\n\nport | 8080\n\nLine one\nLine two"
    )
    for hidden in ("secret", "color", "comment", "Enable JavaScript", "hidden", "DOCTYPE"):
        assert hidden not in page.text


def test_html_pre_keeps_its_indentation(tmp_path: Path) -> None:
    html = b"<p>Example:</p><pre>def f():\n    return 1\n</pre>"
    [page] = load_file(write(tmp_path, "code.html", html))
    assert page.text == "Example:\n\ndef f():\n    return 1"


def test_html_in_a_declared_legacy_charset_is_decoded(tmp_path: Path) -> None:
    html = '<html><head><meta charset="iso-8859-1"></head><body><p>café</p></body></html>'
    [page] = load_file(write(tmp_path, "old.htm", html.encode("latin-1")))
    assert page.text == "café"


def test_html_without_visible_text_is_skipped(tmp_path: Path) -> None:
    error = load_error(tmp_path, "app.html", b"<html><script>boot()</script> <div> </div></html>")
    assert (error.reason, error.skipped) == ("empty: no visible text", True)


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


# ---- CSV / TSV --------------------------------------------------------------------------


def test_csv_rows_become_self_describing_lines(tmp_path: Path) -> None:
    data = b'name,city,note\nAnn,Oslo,"likes tea, not coffee"\nBob,,\n'
    [page] = load_file(write(tmp_path, "people.csv", data))
    assert page.text == "name: Ann; city: Oslo; note: likes tea, not coffee\nname: Bob"


def test_csv_delimiter_is_sniffed(tmp_path: Path) -> None:
    data = "produit;prix\npain;1,20\ncafé;2,50\n".encode()
    [page] = load_file(write(tmp_path, "prix.csv", data))
    assert page.text == "produit: pain; prix: 1,20\nproduit: café; prix: 2,50"


def test_tsv_is_split_on_tabs(tmp_path: Path) -> None:
    [page] = load_file(write(tmp_path, "t.tsv", b"a\tb\n1\t2, 3\n"))
    assert page.text == "a: 1; b: 2, 3"


def test_csv_with_only_a_header_is_skipped(tmp_path: Path) -> None:
    error = load_error(tmp_path, "header.csv", b"a,b,c\n")
    assert error.skipped and error.reason.startswith("empty:")


def test_damaged_utf8_csv_fails_like_text(tmp_path: Path) -> None:
    error = load_error(tmp_path, "old.csv", "name\nJosé\n".encode() + b"\xff\n")
    assert not error.skipped and error.reason.startswith("not valid text: invalid UTF-8")


# ---- JSON / JSONL -----------------------------------------------------------------------


def test_json_scalars_become_path_lines(tmp_path: Path) -> None:
    long_text = "word " * 200
    data = {"a": {"b": [{"c": 1}, {"c": None}], "ok": True}, "text": long_text, "empty": []}
    [page] = load_file(write(tmp_path, "d.json", json.dumps(data).encode()))
    assert page.text.split("\n") == [
        "a.b[0].c: 1",
        "a.b[1].c: null",
        "a.ok: true",
        f"text: {long_text}",
    ]


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    error = load_error(tmp_path, "bad.json", b'{\n  "a": 1,\n  "b": \n}\n')
    assert not error.skipped
    assert error.reason == ("not valid JSON (line 4, column 1: Expecting value): fix it or exclude it")


def test_jsonl_records_are_separated_by_blank_lines(tmp_path: Path) -> None:
    data = b'{"q": "What?", "a": "This."}\n\n{"q": "Why?", "a": "Because."}\n'
    [page] = load_file(write(tmp_path, "qa.jsonl", data))
    assert page.text == "q: What?\na: This.\n\nq: Why?\na: Because."


def test_invalid_jsonl_names_the_file_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "bad.jsonl", b'{"a": 1}\n{"a": 2}\n{"a": }\n')
    assert not error.skipped
    assert error.reason.startswith("not valid JSON (line 3, column 7: ")


def test_json_with_no_values_is_skipped(tmp_path: Path) -> None:
    error = load_error(tmp_path, "e.json", b"{}")
    assert error.skipped and error.reason.startswith("empty:")


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
