"""Zip uploads with broken members: each bad member reported, nothing half-written, the rest saved."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import LoadError, load
from ui.uploads import UploadLimits, save_uploads


def _zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
    return path


def _flag_encrypted(path: Path, member: str) -> None:
    """Set the 'encrypted' bit of `member` in both its headers, as a password-protected zip has it."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    data[info.header_offset + 6] |= 0x1  # local file header: general purpose flags
    entries = _central_entries(bytes(data), member.encode())
    assert entries
    for at in entries:
        data[at + 8] |= 0x1  # central directory entry: general purpose flags
    path.write_bytes(bytes(data))


def _central_entries(data: bytes, name: bytes) -> list[int]:
    found, at = [], data.find(b"PK\x01\x02")
    while at >= 0:
        n = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + n] == name:
            found.append(at)
        at = data.find(b"PK\x01\x02", at + 4)
    return found


def _corrupt(path: Path, member: str) -> None:
    """Flip a byte of `member`'s stored data: its CRC no longer matches."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 5] ^= 0xFF
    path.write_bytes(bytes(data))


def test_encrypted_member_is_reported_and_the_rest_saved(tmp_path):
    z = _zip(tmp_path / "box.zip", [("open.md", b"# open\nFerries at noon."), ("locked.md", b"# secret")])
    _flag_encrypted(z, "locked.md")
    dest = tmp_path / "uploads" / "c"
    out = save_uploads([z], dest, UploadLimits())
    assert [p.name for p in out.saved] == ["open.md"]
    assert "password" in dict(out.rejected)["box.zip/locked.md"]
    assert sorted(p.name for p in dest.rglob("*") if p.is_file()) == ["open.md"]


def test_crc_error_leaves_no_partial_file(tmp_path):
    with zipfile.ZipFile(tmp_path / "crc.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("good.md", b"Ferries leave at noon.")
        zf.writestr("bad.md", b"x" * 5000)
    _corrupt(tmp_path / "crc.zip", "bad.md")
    dest = tmp_path / "uploads" / "c"
    out = save_uploads([tmp_path / "crc.zip"], dest, UploadLimits())
    assert [p.name for p in out.saved] == ["good.md"]
    assert "damaged" in dict(out.rejected)["crc.zip/bad.md"]
    assert not (dest / "crc" / "bad.md").exists()
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".unzip")]  # staging cleaned up


@pytest.mark.parametrize("order", [["x.md", "x.md/y.md"], ["x.md/y.md", "x.md"]])
def test_a_name_that_is_both_a_file_and_a_folder_is_a_reported_clash(tmp_path, order):
    z = _zip(tmp_path / "clash.zip", [(n, f"text of {n}".encode()) for n in order] + [("ok.md", b"fine")])
    out = save_uploads([z], tmp_path / "uploads" / "c", UploadLimits())
    reasons = dict(out.rejected)
    assert "name clash" in reasons[f"clash.zip/{order[1]}"]
    assert sorted(p.relative_to(tmp_path / "uploads" / "c").as_posix() for p in out.saved) == sorted(
        ["clash/ok.md", f"clash/{order[0]}"]
    )


def test_two_members_saved_under_one_name_clash(tmp_path):
    z = _zip(tmp_path / "dup.zip", [("a?.md", b"first"), ("a_.md", b"second")])
    out = save_uploads([z], tmp_path / "u" / "c", UploadLimits())
    assert len(out.saved) == 1 and "name clash" in dict(out.rejected)["dup.zip/a_.md"]
    assert out.saved[0].read_bytes() == b"first"


def test_docx_parts_get_the_zip_bomb_limits():
    import docx

    # a real DOCX whose one paragraph is 30 MB of one letter: 30 KB on disk, 1000 times that unpacked
    document = docx.Document()
    document.add_paragraph("MARKER")
    plain = io.BytesIO()
    document.save(plain)
    buf = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"MARKER", b"a" * (30 * 1024 * 1024))
            z.writestr(info.filename, data)
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(LoadError) as info:
        load(Path("bomb.docx"), buf.getvalue())
    assert not info.value.skipped and "refused DOCX" in info.value.reason and "zip bomb" in info.value.reason
