"""Loaders for formats that are text underneath: plain text and code, HTML, CSV/TSV, JSON/JSONL.

Each decodes through `ingest.text_decode` and returns one unpaged `Page`; structured formats are
flattened into self-describing lines so a chunk still says what each value was.
"""

from __future__ import annotations

import csv
import io
import json
import re

from ingest.pages import LoadError, Page, failed, single_page, skipped
from ingest.text_decode import SNIFF_BYTES, Undecodable, decode, decode_any

TEXT_SUFFIXES = frozenset(
    ".txt .text .md .markdown .rst .tex .xml .log"
    " .py .js .mjs .cjs .ts .tsx .jsx .java .kt .kts .scala .swift .go .rs .c .h .cc .cpp"
    " .cxx .hpp .hh .cs .rb .php .pl .lua .r .sh .bash .zsh .sql .css .scss"
    " .yaml .yml .toml .ini .cfg .conf".split()
)


def load_text(data: bytes) -> list[Page]:
    text, encoding = decode_any(data)
    return single_page(text, "empty file", encoding)


# ---- HTML ---------------------------------------------------------------------------------

_INVISIBLE_TAGS = ["script", "style", "noscript", "template"]
_BLOCK_TAGS = (
    "p div section article header footer main nav aside h1 h2 h3 h4 h5 h6 li dt dd tr"
    " table ul ol dl pre blockquote figure figcaption title address hr form fieldset"
).split()


def load_html(data: bytes) -> list[Page]:
    from bs4 import BeautifulSoup, NavigableString

    try:
        markup: str | bytes = decode(data)
    except Undecodable:
        markup = data  # legacy charset: let BeautifulSoup honour <meta charset> or guess
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(_INVISIBLE_TAGS):
        tag.decompose()
    for string in soup.find_all(string=True):
        if type(string) is not NavigableString:  # comments, doctype: get_text skips them too
            continue
        # Browsers collapse whitespace outside <pre>; inside, NBSP shields indentation from
        # the line stripping below.
        if string.find_parent("pre") is None:
            string.replace_with(re.sub(r"\s+", " ", string))
        else:
            string.replace_with(string.replace(" ", "\xa0"))
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for row in soup.find_all("tr"):
        for cell in row.find_all(["td", "th"], recursive=False)[1:]:
            cell.insert_before(" | ")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.append("\n")
    lines = [line.strip(" ").replace("\xa0", " ").rstrip() for line in soup.get_text().split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return single_page(text, "empty: no visible text")


# ---- CSV / TSV ----------------------------------------------------------------------------


def load_table(data: bytes, default_delimiter: str) -> list[Page]:
    text, encoding = decode_any(data)
    try:
        dialect: type[csv.Dialect] | str = csv.Sniffer().sniff(text[:SNIFF_BYTES], ",;\t|")
    except csv.Error:
        dialect = "excel-tab" if default_delimiter == "\t" else "excel"
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        reason = f"not valid CSV (line {reader.line_num}: {exc}): fix it or exclude it"
        raise failed(reason) from None
    if not rows:
        raise skipped("empty: the table has no values")
    header = [name.strip() for name in rows[0]]
    lines = [_table_row(header, row) for row in rows[1:]]
    return single_page("\n".join(lines), "empty: the table has a header but no data rows", encoding)


def _table_row(header: list[str], row: list[str]) -> str:
    """One self-describing line: "name: value; name: value" (empty cells left out)."""
    pairs = []
    for i, value in enumerate(row):
        name = header[i] if i < len(header) and header[i] else f"column {i + 1}"
        if value.strip():
            pairs.append(f"{name}: {value.strip()}")
    return "; ".join(pairs)


# ---- JSON / JSONL -------------------------------------------------------------------------


def _json_error(exc: json.JSONDecodeError, line: int) -> LoadError:
    return failed(f"not valid JSON (line {line}, column {exc.colno}: {exc.msg}): fix it or exclude it")


def _flatten(value: object, path: str, out: list[str]) -> None:
    """Append "a.b[0].c: value" for every scalar; strings are kept whole."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{path}[{index}]", out)
    else:
        shown = value if isinstance(value, str) else json.dumps(value)
        out.append(f"{path}: {shown}" if path else str(shown))


def load_json(data: bytes, *, lines: bool = False) -> list[Page]:
    """Flatten JSON, or JSON Lines with a blank line between records (keeps them in one chunk)."""
    text, encoding = decode_any(data)
    numbered = enumerate(text.split("\n"), start=1) if lines else [(0, text)]
    records: list[str] = []
    for number, source in numbered:
        if not source.strip():
            continue
        out: list[str] = []
        try:
            _flatten(json.loads(source), "", out)
        except json.JSONDecodeError as exc:
            raise _json_error(exc, number or exc.lineno) from None
        except RecursionError:
            reason = "not valid JSON (nested too deeply to read): fix it or exclude it"
            raise failed(reason) from None
        records.append("\n".join(out))
    return single_page("\n\n".join(r for r in records if r), "empty: the JSON has no values", encoding)
