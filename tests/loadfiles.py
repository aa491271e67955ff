"""Shared by the loader tests: write a fixture as a user's folder would hold it, load it, catch its error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import LoadError, Page, load


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    """Write a fixture the way a user's folder would hold it; return its path."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load_file(path: Path) -> list[Page]:
    return load(path, path.read_bytes())


def load_error(tmp_path: Path, name: str, data: bytes) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_file(write(tmp_path, name, data))
    return info.value
