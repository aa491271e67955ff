"""Loaders for binary document formats: PDF (pypdf, one Page per page) and DOCX (python-docx).

These are the parsers llama-index's readers wrap; we call them directly because we need page
numbers and a reason a person can act on for every broken, encrypted or scanned file.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ingest.pages import Page, brief, failed, single_page, skipped

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from pypdf import PdfReader

logger = logging.getLogger(__name__)

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
        raise failed("corrupt PDF (no %PDF- header; not a PDF file?): re-export or repair it")
    # pypdf rebuilds a missing xref by scanning, so a cut-off download can look readable;
    # without its end-of-file marker the file is truncated and pages may be lost silently.
    if data.rfind(b"%%EOF") < 0:
        raise failed("corrupt PDF (truncated: no %%EOF marker): re-export or repair it")
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise failed(f"encrypted PDF: {_ENCRYPTED}")
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
            errors.append(f"page {number}: {brief(exc)}")
            continue
        if text:
            pages.append(Page(text=text, page=number))
    if errors and not pages:
        raise failed(f"corrupt PDF ({errors[0]}): re-export or repair it")
    if errors:
        logger.warning("some PDF pages could not be read and were left out: %s", "; ".join(errors))
    return pages


def load_pdf(data: bytes) -> list[Page]:
    from pypdf.errors import DependencyError

    try:
        with _quiet_pypdf():
            pages = _pdf_pages(_open_pdf(data))
    except DependencyError:  # AES encryption needs pypdf's optional crypto package
        reason = "encrypted PDF (AES, which needs the `cryptography` package): install it or "
        raise failed(reason + _ENCRYPTED) from None
    if not pages:
        raise skipped(
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
        raise failed(f"refused DOCX ({problem}); re-save it from your word processor")


def load_docx(data: bytes) -> list[Page]:
    import docx

    if data.startswith(_OLE_MAGIC):
        raise failed(
            "not a DOCX: this is an old binary .doc or a password-protected document; "
            "remove the password or save it as .docx from your word processor"
        )
    _check_docx_size(data)
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(block for block in _docx_blocks(document) if block.strip())
    return single_page(text, "empty: the document has no text in paragraphs or tables")
