"""Uploaded files and zips -> safe copies under RAG_HOME/uploads/<collection>/.

Nothing a browser sends decides where a file lands: names are reduced to a safe base name
(zip members keep their folders, each part sanitised), types and sizes are checked first,
and a zip is measured before anything is written, so a zip bomb writes nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ingest.archive import bomb_problem, member_problem
from ingest.loaders import SUPPORTED_SUFFIXES
from rag.models.image_decode import is_image_name

MB = 1024 * 1024
MAX_NAME = 120  # characters kept of a file name (the suffix always survives)
ZIP_SUFFIX = ".zip"


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may contain."""

    max_mb: float = 50.0  # one file, or one zip as uploaded
    max_files: int = 200
    zip_max_mb: float = 200.0  # everything a zip expands to
    images: bool = False  # image files accepted (`image_model` is set): they go to `<collection>__images`


@dataclass
class SavedUploads:
    """Files written, and the ones refused with the reason."""

    saved: list[Path] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def upload_dir(home: Path, collection: str) -> Path:
    """Where uploads for `collection` are kept (the folder ingested after each upload)."""
    return Path(home) / "uploads" / collection


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder: base name only, no control or shell characters.

    "../../etc/passwd" -> "passwd", "C:\\x\\a b.md" -> "a b.md", ".bashrc" -> "bashrc".
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", str(name)))[-1]
    base = re.sub(r"[^\w .()+,=@-]", "_", base).strip(" .")
    base = re.sub(r"_{2,}", "_", base)
    if not base or set(base) <= {"_"}:
        base = "upload"
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 10:
        return f"{stem[: MAX_NAME - len(suffix) - 1]}.{suffix}" if stem else f"upload.{suffix}"
    return base[:MAX_NAME]


def safe_relative(member: str) -> Path | None:
    """A zip member's path with each part sanitised; None for directories and empty names."""
    parts = [p for p in PurePosixPath(member.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    if not parts or member.endswith(("/", "\\")):
        return None
    return Path(*[safe_name(p) for p in parts])


IMAGES_OFF = (
    "an image, and images are off: set `image_model` (RAG_IMAGE_MODEL or rag.toml) to a CLIP model such as "
    "clip-ViT-B-32 or a local sentence-transformers CLIP folder, restart the UI, and upload it again"
)


def type_problem(name: str, images: bool = False) -> str | None:
    """Why a file of this name is not accepted, or None (`images`: image files are accepted too)."""
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    if is_image_name(name):
        return None if images else IMAGES_OFF
    shown = suffix or "no extension"
    return f"unsupported file type ({shown}); upload text, Markdown, HTML, PDF, DOCX, code files or a .zip of them"


def save_uploads(files: list[str | Path], dest: Path, limits: UploadLimits) -> SavedUploads:
    """Copy uploaded temp files (and the supported members of zips) into `dest`.

    A later upload with the same name replaces the earlier copy, so re-uploading updates it.
    """
    out = SavedUploads()
    dest.mkdir(parents=True, exist_ok=True)
    for item in files:
        src = Path(item)
        name = getattr(item, "orig_name", None) or src.name
        size = src.stat().st_size if src.exists() else 0
        if size > limits.max_mb * MB:
            out.rejected.append((name, f"too large ({size / MB:.1f} MB > {limits.max_mb:g} MB)"))
        elif Path(name).suffix.lower() == ZIP_SUFFIX:
            _extract_zip(src, name, dest, limits, out)
        elif problem := type_problem(name, limits.images):
            out.rejected.append((name, problem))
        elif len(out.saved) >= limits.max_files:
            out.rejected.append((name, f"more than {limits.max_files} files in one upload"))
        else:
            target = dest / safe_name(name)
            shutil.copyfile(src, target)
            out.saved.append(target)
    return out


def _extract_zip(src: Path, name: str, dest: Path, limits: UploadLimits, out: SavedUploads) -> None:
    """Extract the supported members of a zip into dest/<zip name>/, refusing bombs up front.

    Members are extracted into a private folder first and moved in one by one only once whole,
    so a damaged, encrypted or clashing member is reported and never leaves a partial file
    that the next upload would index.
    """
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as exc:
        out.rejected.append((name, f"not a readable zip ({exc})"))
        return
    with archive:
        members, skipped = _zip_members(archive, name, limits.images)
        out.rejected.extend(skipped)
        if problem := bomb_problem([info for info, _ in members], limits.zip_max_mb):
            out.rejected.append((name, problem))
            return
        if len(out.saved) + len(members) > limits.max_files:
            out.rejected.append((name, f"holds {len(members)} files, more than {limits.max_files} in one upload"))
            return
        root = dest / safe_name(Path(name).stem)
        # beside the collection's folder, not in it: nothing here is ever ingested
        staging = Path(tempfile.mkdtemp(prefix=".unzip-", dir=dest.parent))
        seen: set[Path] = set()
        try:
            for info, rel in members:
                label = f"{name}/{info.filename}"
                staged = staging / f"{len(out.saved)}-{len(out.rejected)}"
                if rel in seen:
                    out.rejected.append((label, f"name clash: another member is also saved as {rel.as_posix()}"))
                elif (problem := _extract_member(archive, info, staged)) or (problem := _move_in(staged, root, rel)):
                    out.rejected.append((label, problem))
                else:
                    out.saved.append(root / rel)
                seen.add(rel)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> str | None:
    """Write one member to `target`; returns why it could not be read, or None."""
    if problem := member_problem(info):
        return problem
    try:
        with archive.open(info) as fin, target.open("wb") as fout:
            # read at most the declared size: a lying header cannot make us write more
            shutil.copyfileobj(_Capped(fin, info.file_size), fout)
            fin.read(1)  # reaching the end is what makes zipfile check the CRC
    except zipfile.BadZipFile as exc:
        return f"damaged in the zip ({exc}); zip it again"
    except RuntimeError as exc:  # zipfile's "password required" for encryption it did not flag
        return f"cannot be read ({exc}); zip it again without a password"
    except NotImplementedError as exc:
        return f"cannot be read ({exc}); zip it again with ordinary (deflate) compression"
    except (OSError, EOFError, ValueError) as exc:
        return f"cannot be read ({exc}); zip it again"
    return None


def _move_in(staged: Path, root: Path, rel: Path) -> str | None:
    """Move a whole extracted member to root/rel; returns why not (a name clash), or None."""
    target = root / rel
    clash = next((p for p in [*reversed(target.parents), target] if p.is_relative_to(root) and p.is_file()), None)
    if clash is not None and clash != target:
        return f"name clash: {clash.relative_to(root.parent)} is a file, so it cannot be a folder too"
    if target.is_dir():
        return f"name clash: {target.relative_to(root.parent)} is a folder, so it cannot be a file too"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.replace(target)
    except OSError as exc:
        return f"cannot be saved ({exc.strerror or exc})"
    return None


def _zip_members(archive: zipfile.ZipFile, name: str, images: bool = False) -> tuple[list, list[tuple[str, str]]]:
    members, skipped = [], []
    for info in archive.infolist():
        rel = safe_relative(info.filename)
        if rel is None or info.is_dir():
            continue
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            skipped.append((f"{name}/{info.filename}", "symbolic links are not extracted"))
        elif problem := type_problem(info.filename, images):
            skipped.append((f"{name}/{info.filename}", problem))
        else:
            members.append((info, rel))
    return members, skipped


class _Capped:
    """A reader that stops after `limit` bytes."""

    def __init__(self, raw, limit: int) -> None:
        self.raw, self.left = raw, limit

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.raw.read(n)
        self.left -= len(data)
        return data
