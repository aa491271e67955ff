"""Finding the files to ingest: recursive, glob filters, hidden folders skipped, symlink loops caught.

A symlink whose target lies outside the folder being ingested (`ln -s /etc/passwd`, `ln -s /etc`) is
not followed: whoever wrote the folder would otherwise choose which of our files get indexed and
served. It is reported as skipped with the reason; `follow_links_outside` opts in.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path


@dataclass(frozen=True)
class Found:
    """A file to consider, or (when `problem` is set) one that cannot even be looked at."""

    path: Path
    stat: os.stat_result | None
    problem: str | None = None
    folder: bool = False  # a folder that could not be listed: what is indexed under it is kept
    skipped: bool = False  # `problem` is a deliberate skip (a link out of the folder), not a failure

    @property
    def known_stat(self) -> os.stat_result:
        """`stat` of a file without a `problem` (the walk sets one whenever it could look at the file)."""
        if self.stat is None:
            raise ValueError(f"{self.path} has no stat: {self.problem}")
        return self.stat


def _matches(rel: str, name: str, patterns: list[str]) -> bool:
    return any(fnmatch(rel, p) or fnmatch(name, p) for p in patterns)


def wanted(rel: str, name: str, include: list[str], exclude: list[str]) -> bool:
    if include and not _matches(rel, name, include):
        return False
    return not _matches(rel, name, exclude)


def _stat(path: Path) -> tuple[os.stat_result | None, str | None]:
    try:
        return path.stat(), None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symlink loop: the link points back to itself; remove or fix the link"
        if exc.errno == errno.ENOENT:
            return None, "broken symlink: its target does not exist; remove or fix the link"
        if exc.errno == errno.EACCES:
            return None, "unreadable: permission denied; check the file's permissions"
        return None, f"unreadable: {exc.strerror}"


OUTSIDE = (
    "symlink to {target}, outside the ingested folder: not followed; pass --follow-links-outside "
    "(or set follow_links_outside) to include it"
)


def _outside(entry: os.DirEntry, real: str, top: str) -> bool:
    """Whether `entry` is a link that leads out of the folder whose real path is `top`."""
    return entry.is_symlink() and os.path.commonpath([real, top]) != top


def iter_files(
    root: Path, include: list[str], exclude: list[str], *, follow_outside: bool = False
) -> Iterator[Found]:
    """Every candidate file below `root` (or `root` itself), in a stable order.

    Args:
        follow_outside: follow symlinks whose target lies outside `root` (off: they are reported as skipped).
    """
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        st, problem = _stat(root)
        yield Found(root, st, problem)
        return
    top = os.path.realpath(root)  # the root itself may be a link: the user named it
    yield from _walk(root, root, include, exclude, {top}, None if follow_outside else top)


def _walk(
    root: Path, folder: Path, include: list[str], exclude: list[str], ancestors: set[str], top: str | None
) -> Iterator[Found]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Found(folder, None, f"{exc.strerror or exc}; check its permissions or mount", folder=True)
        return
    for entry in entries:
        if entry.name.startswith("."):  # hidden files and folders, .git included
            continue
        path = Path(entry.path)
        rel = path.relative_to(root).as_posix()
        st, problem = _stat(path)
        real = os.path.realpath(path)
        if st is not None and top is not None and _outside(entry, real, top):
            if not _matches(rel, entry.name, exclude):
                yield Found(path, None, OUTSIDE.format(target=real), skipped=True)
            continue
        if st is not None and os.path.isdir(path):
            if real in ancestors:
                yield Found(path, None, f"symlink loop: this folder link points back to {real}; remove the link")
                continue
            if _matches(rel, entry.name, exclude):
                continue
            yield from _walk(root, path, include, exclude, ancestors | {real}, top)
        elif wanted(rel, entry.name, include, exclude):
            if problem is None and not os.path.isfile(path):
                problem = "not a regular file (device, socket or pipe); remove it or exclude it"
            yield Found(path, st, problem)
