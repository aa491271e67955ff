"""Text decoding: UTF-8, BOMs, newlines, legacy 8-bit encodings detected and reported, binary data refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import Page
from ingest.text_decode import encoding_note
from tests.loadfiles import load_error, load_file, write


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


def test_damaged_utf8_is_kept_with_the_bad_byte_replaced_and_reported(tmp_path: Path) -> None:
    # valid UTF-8 accents around one bad byte: a damaged UTF-8 file, not a legacy encoding
    pages = load_file(write(tmp_path, "broken.txt", "first line\ncafé au lait\n".encode() + b"\xff cr\xc3\xa8me\n"))
    assert pages[0].text == "first line\ncafé au lait\n\ufffd crème\n"
    assert encoding_note(pages) == (
        "1 invalid UTF-8 byte replaced (first on line 3); the rest is valid UTF-8 - re-save the file as UTF-8 to fix it"
    )


def test_stray_bytes_in_ascii_text_are_replaced_not_read_as_a_legacy_encoding(tmp_path: Path) -> None:
    """Issue 26 item 6: a stray \\xff and \\x81 in English text came out as 'mac_iceland' mojibake."""
    data = b"The ferry leaves at noon.\nThe report is ready.\xff\nSee you \x81 there.\n" * 3
    pages = load_file(write(tmp_path, "notes.txt", data))
    assert pages[0].text == data.decode("utf-8", errors="replace")
    assert "ferry leaves at noon" in pages[0].text and "\u02c7" not in pages[0].text
    assert encoding_note(pages).startswith("6 invalid UTF-8 bytes replaced (first on line 2)")


def test_utf8_with_many_bad_bytes_still_fails_naming_the_byte_and_the_fix(tmp_path: Path) -> None:
    data = "café\n".encode() + b"\xff\xfe\x81 " * 40
    error = load_error(tmp_path, "broken.txt", data)
    assert not error.skipped
    assert error.reason == "not valid text: invalid UTF-8 at byte 6 (line 2); re-save the file as UTF-8"


LEGACY = [
    ("latin1.txt", "first line\ncafé au lait, crème brûlée et pâté.\n", "latin-1"),
    ("windows.txt", "He said \u201cit costs \u20ac5\u201d \u2014 and left.\nThe caf\u00e9 closes at nine.\n", "cp1252"),
    ("greek.txt", "Καλημέρα κόσμε, αυτό είναι ελληνικό κείμενο για τη δοκιμή.\n", "iso-8859-7"),
]


@pytest.mark.parametrize(("name", "text", "encoding"), LEGACY)
def test_legacy_8bit_text_is_decoded_and_its_encoding_reported(tmp_path: Path, name, text, encoding) -> None:
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
