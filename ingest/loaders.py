"""Turn a file's bytes into text pages, or say why not.

One loader per format, chosen by suffix. These are the parsers llama-index's readers wrap
(pypdf, python-docx, BeautifulSoup); we call them directly because we need page numbers, exact
text for offsets and a reason a person can act on for every file we cannot read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from pypdf import PdfReader

logger = logging.getLogger(__name__)


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


def _failed(reason: str) -> LoadError:
    return LoadError(reason, skipped=False)


def _skipped(reason: str) -> LoadError:
    return LoadError(reason, skipped=True)


# ---- plain text ---------------------------------------------------------------------------

_TEXT_SUFFIXES = frozenset(
    ".txt .text .md .markdown .rst .tex .xml .log"
    " .py .js .mjs .cjs .ts .tsx .jsx .java .kt .kts .scala .swift .go .rs .c .h .cc .cpp"
    " .cxx .hpp .hh .cs .rb .php .pl .lua .r .sh .bash .zsh .sql .css .scss"
    " .yaml .yml .toml .ini .cfg .conf".split()
)
_SNIFF_BYTES = 8192
_BOMS = (  # UTF-32 first: its little-endian BOM starts with the UTF-16 one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)


class _Undecodable(LoadError):
    """Not valid in its encoding; HTML may still declare a legacy charset, others fail."""


def _check_not_binary(text: str) -> None:
    """Reject text with a NUL (never in real text) or a start of mostly control characters."""
    sample = text[:_SNIFF_BYTES]
    nul = sample.find("\x00")
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and not ch.isspace())
    if nul >= 0:
        detail = f"NUL character at position {nul}"
    elif sample and controls / len(sample) > 0.3:
        detail = f"{controls * 100 // len(sample)}% control characters near the start"
    else:
        return
    raise _failed(
        f"not valid text: looks like binary data ({detail}); if it is not a text file, "
        "remove or rename it, or exclude it with --exclude"
    )


def _decode(data: bytes) -> str:
    """Decode text: UTF-16/32 when a BOM says so, else UTF-8 (BOM dropped); newlines as \\n."""
    bom, encoding = next(((b, e) for b, e in _BOMS if data.startswith(b)), (b"", "utf-8"))
    body = data[len(bom) :]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        # Binary data is invalid UTF-8 too; "binary" is the likelier story when it looks so.
        _check_not_binary(body[:_SNIFF_BYTES].decode(encoding, errors="replace"))
        line = body[: exc.start].decode(encoding).count("\n") + 1
        raise _Undecodable(
            f"not valid text: invalid {encoding.upper()} at byte {exc.start + len(bom)} "
            f"(line {line}); re-save the file as UTF-8",
            skipped=False,
        ) from None
    _check_not_binary(text)
    # One newline convention, so offsets do not depend on the editor that saved the file.
    return text.replace("\r\n", "\n").replace("\r", "\n")


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _decode_any(data: bytes) -> tuple[str, str | None]:
    """Decode as `_decode` does; text that is not valid UTF-8 gets its encoding detected
    (charset-normalizer: Windows-1252, Latin-1 and the like). Returns (text, encoding detected or None).
    """
    try:
        return _decode(data), None
    except _Undecodable:
        # Valid multi-byte UTF-8 next to the bad byte means a damaged UTF-8 file, not a legacy
        # encoding: decoding all of it as, say, Windows-1252 would garble every accent.
        if _UTF8_MULTIBYTE.search(data) or (found := _detect(data)) is None:
            raise
    text, encoding = found
    _check_not_binary(text)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _detect(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) of legacy 8-bit text, or None when no encoding reads it well."""
    from charset_normalizer import from_bytes
    from charset_normalizer.md import mess_ratio

    # Windows-1252 (Latin-1's superset) is the commonest legacy encoding, and on short files
    # charset-normalizer often prefers a look-alike (French comes out as cp1250, "crčme"). So it
    # is tried first and kept unless it reads as a mess (Greek or Cyrillic bytes as Latin letters
    # score > 1; real Western text ~0).
    try:
        text = data.decode("cp1252")
        if mess_ratio(text, 1.0) <= 0.1:
            return text, "cp1252"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    return (str(best), best.encoding) if best is not None else None


def encoding_note(pages: list[Page]) -> str | None:
    """What the report says about a file whose encoding was detected (None for UTF-8)."""
    found = next((p.encoding for p in pages if p.encoding), None)
    return f"decoded as {found} (not UTF-8); re-save it as UTF-8 to be sure" if found else None


def _single_page(text: str, empty_reason: str, encoding: str | None = None) -> list[Page]:
    if not text.strip():
        raise _skipped(empty_reason)
    return [Page(text=text, page=None, encoding=encoding)]


def _load_text(data: bytes) -> list[Page]:
    text, encoding = _decode_any(data)
    return _single_page(text, "empty file", encoding)


# ---- HTML ---------------------------------------------------------------------------------

_INVISIBLE_TAGS = ["script", "style", "noscript", "template"]
_BLOCK_TAGS = (
    "p div section article header footer main nav aside h1 h2 h3 h4 h5 h6 li dt dd tr"
    " table ul ol dl pre blockquote figure figcaption title address hr form fieldset"
).split()


def _load_html(data: bytes) -> list[Page]:
    from bs4 import BeautifulSoup, NavigableString

    try:
        markup: str | bytes = _decode(data)
    except _Undecodable:
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
    return _single_page(text, "empty: no visible text")


# ---- PDF ----------------------------------------------------------------------------------

_PYPDF_LOCK = threading.Lock()


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Mute pypdf's warnings about broken files while loading; we report our own reason.

    Serialised so concurrent loads cannot restore each other's level; pypdf is pure Python,
    so threads gain little from running it in parallel anyway.
    """
    pypdf_logger = logging.getLogger("pypdf")
    with _PYPDF_LOCK:
        saved = pypdf_logger.level
        pypdf_logger.setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            pypdf_logger.setLevel(saved)


_ENCRYPTED = "decrypt it first (e.g. `qpdf --decrypt in.pdf out.pdf`)"


def _open_pdf(data: bytes) -> PdfReader:
    from pypdf import PdfReader

    if b"%PDF-" not in data[:1024]:  # the spec allows junk before the header, not more
        raise _failed("corrupt PDF (no %PDF- header; not a PDF file?): re-export or repair it")
    # pypdf rebuilds a missing xref by scanning, so a cut-off download can look readable;
    # without its end-of-file marker the file is truncated and pages may be lost silently.
    if data.rfind(b"%%EOF") < 0:
        raise _failed("corrupt PDF (truncated: no %%EOF marker): re-export or repair it")
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise _failed(f"encrypted PDF: {_ENCRYPTED}")
    return reader


def _pdf_pages(reader: PdfReader) -> list[Page]:
    from pypdf.errors import DependencyError

    pages: list[Page] = []
    errors: list[str] = []
    for number, pdf_page in enumerate(reader.pages, start=1):
        try:
            text = (pdf_page.extract_text() or "").strip()
        except DependencyError:
            raise
        except Exception as exc:  # one broken page should not cost the other pages
            errors.append(f"page {number}: {_brief(exc)}")
            continue
        if text:
            pages.append(Page(text=text, page=number))
    if errors and not pages:
        raise _failed(f"corrupt PDF ({errors[0]}): re-export or repair it")
    if errors:
        logger.warning("some PDF pages could not be read and were left out: %s", "; ".join(errors))
    return pages


def _load_pdf(data: bytes) -> list[Page]:
    from pypdf.errors import DependencyError

    try:
        with _quiet_pypdf():
            pages = _pdf_pages(_open_pdf(data))
    except DependencyError:  # AES encryption needs pypdf's optional crypto package
        reason = "encrypted PDF (AES, which needs the `cryptography` package): install it or "
        raise _failed(reason + _ENCRYPTED) from None
    if not pages:
        raise _skipped(
            "no text layer (scanned PDF?): run OCR first, e.g. `ocrmypdf in.pdf out.pdf`, and ingest the result"
        )
    return pages


# ---- DOCX ---------------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _docx_blocks(document: DocxDocument) -> Iterator[str]:
    """Paragraph texts and table rows (cells joined by " | "), in document order."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            yield block.text
            continue
        for row in block.rows:
            # A merged cell is repeated once per grid column it spans; show it once.
            cells = list({id(cell._tc): cell for cell in row.cells}.values())
            yield " | ".join(" ".join(cell.text.split()) for cell in cells)


def _check_docx_size(data: bytes) -> None:
    """A DOCX is a zip: refuse one whose parts would expand beyond the upload zip limits."""
    import zipfile

    from ingest.archive import bomb_problem

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            problem = bomb_problem(archive.infolist())
    except zipfile.BadZipFile:
        return  # python-docx reports it as a corrupt DOCX
    if problem:
        raise _failed(f"refused DOCX ({problem}); re-save it from your word processor")


def _load_docx(data: bytes) -> list[Page]:
    import docx

    if data.startswith(_OLE_MAGIC):
        raise _failed(
            "not a DOCX: this is an old binary .doc or a password-protected document; "
            "remove the password or save it as .docx from your word processor"
        )
    _check_docx_size(data)
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(block for block in _docx_blocks(document) if block.strip())
    return _single_page(text, "empty: the document has no text in paragraphs or tables")


# ---- CSV / TSV ----------------------------------------------------------------------------


def _load_table(data: bytes, default_delimiter: str) -> list[Page]:
    text, encoding = _decode_any(data)
    try:
        dialect: type[csv.Dialect] | str = csv.Sniffer().sniff(text[:_SNIFF_BYTES], ",;\t|")
    except csv.Error:
        dialect = "excel-tab" if default_delimiter == "\t" else "excel"
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        reason = f"not valid CSV (line {reader.line_num}: {exc}): fix it or exclude it"
        raise _failed(reason) from None
    if not rows:
        raise _skipped("empty: the table has no values")
    header = [name.strip() for name in rows[0]]
    lines = [_table_row(header, row) for row in rows[1:]]
    return _single_page("\n".join(lines), "empty: the table has a header but no data rows", encoding)


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
    return _failed(f"not valid JSON (line {line}, column {exc.colno}: {exc.msg}): fix it or exclude it")


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


def _load_json(data: bytes, *, lines: bool = False) -> list[Page]:
    """Flatten JSON, or JSON Lines with a blank line between records (keeps them in one chunk)."""
    text, encoding = _decode_any(data)
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
            raise _failed(reason) from None
        records.append("\n".join(out))
    return _single_page("\n\n".join(r for r in records if r), "empty: the JSON has no values", encoding)


# ---- dispatch -----------------------------------------------------------------------------

_Loader = Callable[[bytes], list[Page]]
_LOADERS: dict[str, tuple[str, _Loader]] = {
    **{suffix: ("text", _load_text) for suffix in _TEXT_SUFFIXES},
    ".html": ("HTML", _load_html),
    ".htm": ("HTML", _load_html),
    ".pdf": ("PDF", _load_pdf),
    ".docx": ("DOCX", _load_docx),
    ".csv": ("CSV", lambda data: _load_table(data, ",")),
    ".tsv": ("TSV", lambda data: _load_table(data, "\t")),
    ".json": ("JSON", _load_json),
    ".jsonl": ("JSONL", lambda data: _load_json(data, lines=True)),
}
_CORRUPT_FIX = {
    "PDF": "re-export or repair it",
    "DOCX": "re-save it from your word processor",
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


def is_supported(path: Path) -> bool:
    """Whether `load` has a loader for this file's suffix (case-insensitive)."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _brief(exc: BaseException) -> str:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    return detail if len(detail) <= 120 else detail[:117] + "..."


def _unsupported(suffix: str) -> LoadError:
    if suffix == ".doc":
        return _skipped("unsupported file type '.doc' (old binary Word): save it as .docx")
    name = f"'{suffix}'" if suffix else "(no extension)"
    return _skipped(
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
        raise _skipped("empty file")
    kind, loader = _LOADERS[suffix]
    try:
        return loader(data)
    except LoadError:
        raise
    except Exception as exc:  # parsers raise many types on bad input; report them all the same way
        fix = _CORRUPT_FIX.get(kind, "repair it or exclude it")
        raise _failed(f"corrupt {kind} ({_brief(exc)}): {fix}") from exc
