"""Text-based formats: HTML's visible text, CSV/TSV rows and JSON values as self-describing lines."""

from __future__ import annotations

import json
from pathlib import Path

from tests.loadfiles import load_error, load_file, write

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


def test_damaged_utf8_csv_is_read_like_text(tmp_path: Path) -> None:
    [table] = load_file(write(tmp_path, "old.csv", "name\nJosé\n".encode() + b"\xff\n"))
    assert "José" in table.text and table.encoding.startswith("1 invalid UTF-8 byte replaced")
    error = load_error(tmp_path, "worse.csv", "name\nJosé\n".encode() + b"\xff\xfe\n" * 20)
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
