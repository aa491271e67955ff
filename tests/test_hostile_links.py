"""Symlinks out of the ingested folder are not followed (issue 26): `ln -s /etc/passwd` and `ln -s /etc`
in a folder someone else wrote indexed our own files, which ask, the UI, the API and MCP then served."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.walk import iter_files
from rag.index.store import Store
from rag.settings import Settings
from tests.helpers import by_path, stored, sync
from tests.test_cli import rag
from ui import documents as ui_docs


@pytest.fixture
def tree(tmp_path) -> tuple[Path, Path]:
    """`d/` holding a note, links inside it, links out of it (to a stand-in for /etc/passwd and for /etc), a loop."""
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:Secret Walrus account:/root:/bin/bash\n")
    (outside / "hosts.txt").write_text("Secret Walrus hosts table.\n")
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    (d / "note.txt").write_text("Ferries to the island leave at noon.\n")
    (d / "sub" / "deep.txt").write_text("The lighthouse keeper logs every ship.\n")
    (d / "passwd_link.txt").symlink_to(outside / "passwd")
    (d / "etc_link").symlink_to(outside, target_is_directory=True)
    (d / "note_link.txt").symlink_to(d / "note.txt")  # inside: followed
    (d / "sub_link").symlink_to("sub", target_is_directory=True)  # inside, relative: followed
    (d / "sub" / "up").symlink_to("..", target_is_directory=True)  # a loop back to d
    return d, outside


def test_links_out_of_the_folder_are_skipped_with_a_reason_and_inside_links_work(settings, embedder, tree):
    d, outside = tree
    report = sync(settings, embedder, [d])
    files = {Path(f.path).name: f for f in report.files}
    for name, target in [("passwd_link.txt", outside / "passwd"), ("etc_link", outside)]:
        assert files[name].status.value == "skipped", files[name]
        assert "outside the ingested folder" in files[name].reason and str(target) in files[name].reason
        assert "--follow-links-outside" in files[name].reason
    assert files["up"].status.value == "failed" and "symlink loop" in files["up"].reason  # loops still caught
    paths = set(by_path(stored(settings)))
    assert all(str(outside) not in p and "etc_link" not in p and "passwd" not in p for p in paths), paths
    assert {str(d / "note.txt"), str(d / "note_link.txt"), str(d / "sub_link" / "deep.txt")} <= paths
    assert not any("Walrus" in c["text"] for c in stored(settings).values())
    assert report.totals.failed == 2  # the loop, seen through sub/ and sub_link/: nothing else failed


def test_opting_in_follows_them_and_opting_out_again_drops_what_they_brought(isolated_home, embedder, tree):
    d, _ = tree
    follow = Settings(home=isolated_home, collection="test", follow_links_outside=True)
    sync(follow, embedder, [d])
    assert sum("Walrus" in c["text"] for c in stored(follow).values()) == 2  # passwd_link.txt and etc_link/hosts.txt
    strict = Settings(home=isolated_home, collection="test")
    report = sync(strict, embedder, [d])
    assert {Path(f.path).name for f in report.files if f.status.value == "removed"} >= {"passwd_link.txt"}
    assert not any("Walrus" in c["text"] for c in stored(strict).values())


def test_the_walk_itself_never_enters_a_folder_link_out(tree):
    d, _ = tree
    found = list(iter_files(d, [], []))
    assert not any(str(f.path).startswith(str(d / "etc_link") + os.sep) for f in found)
    assert len([f for f in iter_files(d, [], [], follow_outside=True) if "etc_link" in str(f.path)]) == 2


def test_cli_reports_the_skip_and_the_flag_opts_in(tree):
    d, _ = tree
    out = rag("ingest", str(d), "--json")
    assert out.returncode == 1, out.stderr  # 1: the loop failed; a skipped link alone is not a failure
    skipped = {Path(f["path"]).name for f in json.loads(out.stdout)["files"] if f["status"] == "skipped"}
    assert skipped == {"passwd_link.txt", "etc_link"}
    out = rag("ingest", str(d), "--json", "--follow-links-outside")
    assert out.returncode == 1, out.stderr
    added = {Path(f["path"]).name for f in json.loads(out.stdout)["files"] if f["status"] == "ingested"}
    assert {"passwd_link.txt", "hosts.txt"} <= added


def test_ui_resync_walks_the_same_code(isolated_home, embedder, tree):
    d, _ = tree
    s = Settings(home=isolated_home, collection="docs", llm="embedded")
    store = Store(s)
    ui_docs.sync_paths(s, embedder, store, "docs", [d])
    report = ui_docs.resync(s, embedder, store, "docs", str(d))
    assert {Path(f.path).name for f in report.files if f.status.value == "skipped"} == {"passwd_link.txt", "etc_link"}
    assert all("Walrus" not in d.path for d in ui_docs.list_documents(s, store, "docs"))


def test_ui_resync_refuses_a_nul_byte_kindly(isolated_home, embedder, tree):
    from rag.errors import ConfigError

    d, _ = tree
    s = Settings(home=isolated_home, collection="docs", llm="embedded")
    store = Store(s)
    ui_docs.sync_paths(s, embedder, store, "docs", [d / "sub"])
    for folder in (f"{d / 'sub'}\x00", f"{d}\x00/../etc"):
        with pytest.raises(ConfigError, match="NUL"):
            ui_docs.resync(s, embedder, store, "docs", folder)
    with pytest.raises(ConfigError, match="NUL"):
        ui_docs.remove_document(s, store, "docs", f"{d / 'sub' / 'deep.txt'}\x00")
