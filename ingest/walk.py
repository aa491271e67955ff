"""Finding the files to ingest: recursive, glob filters, hidden folders skipped, symlink loops caught."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class Found:
    """A file to consider, or (when `problem` is set) one that cannot even be looked at."""

    path: Path
    stat: os.stat_result | None
    problem: str | None = None
    folder: bool = False  # a folder that could not be listed: what is indexed under it is kept


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


def iter_files(root: Path, include: list[str], exclude: list[str]) -> Iterator[Found]:
    """Every candidate file below `root` (or `root` itself), in a stable order."""
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        st, problem = _stat(root)
        yield Found(root, st, problem)
        return
    yield from _walk(root, root, include, exclude, {os.path.realpath(root)})


def _walk(root: Path, folder: Path, include: list[str], exclude: list[str], ancestors: set[str]) -> Iterator[Found]:
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
        if st is not None and os.path.isdir(path):
            real = os.path.realpath(path)
            if real in ancestors:
                yield Found(path, None, f"symlink loop: this folder link points back to {real}; remove the link")
                continue
            if _matches(rel, entry.name, exclude):
                continue
            yield from _walk(root, path, include, exclude, ancestors | {real})
        elif wanted(rel, entry.name, include, exclude):
            if problem is None and not os.path.isfile(path):
                problem = "not a regular file (device, socket or pipe); remove it or exclude it"
            yield Found(path, st, problem)
