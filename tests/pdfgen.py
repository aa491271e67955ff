"""Build tiny, valid PDFs by hand for tests (pypdf can copy pages but cannot draw text).

Each page with text shows it in Helvetica, one PDF text line per input line; a page given as
None carries only a filled grey rectangle, like a scanned page without a text layer.
"""

from __future__ import annotations


def _escape(line: str) -> bytes:
    # Backslash and parentheses delimit PDF literal strings, so they must be escaped.
    escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return escaped.encode("latin-1")


def _content_stream(text: str | None) -> bytes:
    if text is None:
        return b"0.5 g 72 500 300 200 re f"
    shown = b" T* ".join(b"(" + _escape(line) + b") Tj" for line in text.split("\n"))
    return b"BT /F1 12 Tf 14 TL 72 720 Td " + shown + b" ET"


def _page_objects(pages: list[str | None]) -> list[bytes]:
    """Objects 4.. in pairs: a page dict then its content stream."""
    objects = []
    for i, text in enumerate(pages):
        contents_id = 5 + 2 * i
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % contents_id
        )
        stream = _content_stream(text)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    return objects


def make_pdf(pages: list[str | None]) -> bytes:
    """Return the bytes of a valid PDF with one page per item.

    Args:
        pages: text of each page (Latin-1 only; "\\n" starts a new line), or None for a page
            that has no text at all (just a filled rectangle).
    """
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        *_page_objects(pages),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)
