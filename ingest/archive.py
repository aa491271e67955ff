"""Limits on what a zip archive (an uploaded .zip, or a DOCX, which is a zip too) may expand to.

Checked from the archive's directory before anything is decompressed, so a zip bomb costs nothing.
"""

from __future__ import annotations

import zipfile

MB = 1024 * 1024
MAX_EXPANDED_MB = 200.0  # everything one archive may expand to (settings' `zip_max_mb` default)
MAX_RATIO = 100  # expanded / compressed size of one member; text compresses ~3-10x, bombs ~1000x
RATIO_FLOOR = MB  # smaller members may compress as well as they like


def bomb_problem(members: list[zipfile.ZipInfo], max_mb: float = MAX_EXPANDED_MB) -> str | None:
    """Why these members must not be decompressed (too big in total, or one compresses suspiciously well)."""
    total = sum(info.file_size for info in members)
    if total > max_mb * MB:
        return f"expands to {total / MB:.0f} MB, more than {max_mb:g} MB"
    for info in members:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
            return (
                f"{info.filename} expands {ratio:.0f} times (to {info.file_size / MB:.0f} MB), more than "
                f"{MAX_RATIO} times: a zip bomb?"
            )
    return None


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why one member cannot be read, known before reading it (encryption)."""
    if info.flag_bits & 0x1:
        return "encrypted (password-protected): zip it again without a password"
    return None
