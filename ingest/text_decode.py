"""Bytes to text: BOMs, UTF-8, legacy 8-bit encodings detected, binary data refused.

Every text-based loader (plain text, HTML, CSV, JSON) decodes through here, so a file saved as
Windows-1252 or with a UTF-16 BOM reads the same whatever its format, and the report can say which
encoding was detected (`encoding_note`).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from ingest.pages import LoadError, Page, failed

SNIFF_BYTES = 8192  # how much of the start is looked at for binary data (and by the CSV sniffer)
_BOMS = (  # UTF-32 first: its little-endian BOM starts with the UTF-16 one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


STRAY_BYTES = 8  # invalid bytes read as stray in UTF-8 text, or 0.2% of the file if more
_TYPOGRAPHIC = set("\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u20ac\u2022\u00a0\u00b0\u00a9\u00ae\u2122")


class Undecodable(LoadError):
    """Not valid in its encoding; HTML may still declare a legacy charset, others fail."""


def check_not_binary(text: str) -> None:
    """Reject text with a NUL (never in real text) or a start of mostly control characters."""
    sample = text[:SNIFF_BYTES]
    nul = sample.find("\x00")
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and not ch.isspace())
    if nul >= 0:
        detail = f"NUL character at position {nul}"
    elif sample and controls / len(sample) > 0.3:
        detail = f"{controls * 100 // len(sample)}% control characters near the start"
    else:
        return
    raise failed(
        f"not valid text: looks like binary data ({detail}); if it is not a text file, "
        "remove or rename it, or exclude it with --exclude"
    )


def decode(data: bytes) -> str:
    """Decode text: UTF-16/32 when a BOM says so, else UTF-8 (BOM dropped); newlines as \\n.

    Raises:
        Undecodable: not valid in that encoding.
        LoadError: the data looks binary.
    """
    bom, encoding = next(((b, e) for b, e in _BOMS if data.startswith(b)), (b"", "utf-8"))
    body = data[len(bom) :]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        # Binary data is invalid UTF-8 too; "binary" is the likelier story when it looks so.
        check_not_binary(body[:SNIFF_BYTES].decode(encoding, errors="replace"))
        line = body[: exc.start].decode(encoding).count("\n") + 1
        raise Undecodable(
            f"not valid text: invalid {encoding.upper()} at byte {exc.start + len(bom)} "
            f"(line {line}); re-save the file as UTF-8",
            skipped=False,
        ) from None
    check_not_binary(text)
    # One newline convention, so offsets do not depend on the editor that saved the file.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_any(data: bytes) -> tuple[str, str | None]:
    """Decode as `decode` does; text that is not valid UTF-8 is either UTF-8 with a few stray bytes
    (replaced by U+FFFD) or a legacy 8-bit encoding (detected by charset-normalizer: Windows-1252,
    Latin-1 and the like). Returns (text, what the report says about the encoding, or None).
    """
    try:
        return decode(data), None
    except Undecodable:
        if (repaired := _stray_bytes(data)) is not None:
            return repaired
        # Valid multi-byte UTF-8 next to the bad byte means a damaged UTF-8 file, not a legacy
        # encoding: decoding all of it as, say, Windows-1252 would garble every accent.
        if _UTF8_MULTIBYTE.search(data) or (found := _detect(data)) is None:
            raise
    text, encoding = found
    check_not_binary(text)
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _stray_bytes(data: bytes) -> tuple[str, str] | None:
    """UTF-8 text with a few invalid bytes, not legacy text: (text with U+FFFD for them, report note).

    Legacy accents sit inside words ("caf\\xe9") or are one (" \\xe0 "), so a file whose every high
    byte reads so in Windows-1252 (or as typographic punctuation) is left to detection; a stray \\xff
    or \\x81 in ASCII text made charset-normalizer call it mac_iceland and garble nothing but those.
    """
    if any(data.startswith(b) for b, e in _BOMS if e != "utf-8"):
        return None
    body = data.removeprefix(codecs.BOM_UTF8)
    if not _UTF8_MULTIBYTE.search(body) and _reads_as_legacy(body):
        return None
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    if bad > max(STRAY_BYTES, len(body) // 500):  # more than a few: not a stray byte or two
        return None
    check_not_binary(text)
    first = next(i for i, ch in enumerate(text) if ch == "\ufffd")
    line = text.count("\n", 0, first) + 1
    note = f"{bad} invalid UTF-8 byte{'s' if bad > 1 else ''} replaced (first on line {line})"
    return text.replace("\r\n", "\n").replace("\r", "\n"), note


def _reads_as_legacy(body: bytes) -> bool:
    try:
        text = body.decode("cp1252")
    except UnicodeDecodeError:  # a byte Windows-1252 leaves undefined (\x81, \x8d, \x8f, \x90, \x9d)
        return False
    for i, ch in enumerate(text):
        if ord(ch) < 128 or ch in _TYPOGRAPHIC:
            continue
        near = text[max(i - 1, 0) : i] + text[i + 1 : i + 2]
        if not (ch.isalpha() and (any(c.isalpha() for c in near) or near == "  ")):  # or a word: French "à"
            return False
    return True


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
    if found and "replaced" in found:
        return f"{found}; the rest is valid UTF-8 - re-save the file as UTF-8 to fix it"
    return f"decoded as {found} (not UTF-8); re-save it as UTF-8 to be sure" if found else None
