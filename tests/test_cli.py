"""The `rag` command end to end: bad input, JSON report, status, remove, exit codes, Chroma server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DOCS
from tests.pdfgen import make_pdf


def rag(*args: str, env: dict | None = None, drop_root_powers: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "cli", *args]
    if drop_root_powers and os.geteuid() == 0:
        # root reads any file whatever its mode; drop the capabilities that allow it, so a
        # chmod 000 file is unreadable to this run, as it would be for a normal user.
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
    return subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600)


def test_help_is_instant_because_nothing_heavy_is_imported():
    code = (
        "import sys, cli.main, rag, ingest, ui, eval, rag.settings, rag.llm;"
        "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers', 'llama_cpp', 'gradio', 'transformers')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    help_out = rag("--help")
    assert help_out.returncode == 0 and "ingest" in help_out.stdout


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    folder = tmp_path / "bad"
    shutil.copytree(DOCS, folder)
    (folder / "zero.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "latin1.txt").write_bytes("caf\xe9 cr\xe8me br\xfbl\xe9e".encode("latin-1"))
    good_pdf = make_pdf(["A page of real text about lighthouses."] * 3)
    (folder / "truncated.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (folder / "scanned.pdf").write_bytes(make_pdf([None, None]))
    (folder / "huge.txt").write_text("big file. " * 200_000)  # ~2 MB, over the 1 MB limit below
    (folder / "secret.txt").write_text("you cannot read me")
    (folder / "secret.txt").chmod(0)
    os.symlink("loop_b.txt", folder / "loop_a.txt")
    os.symlink("loop_a.txt", folder / "loop_b.txt")
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return folder


EXPECTED = {
    "zero.txt": ("skipped", "empty"),
    "binary.txt": ("failed", "binary"),
    "latin1.txt": ("ingested", "decoded as"),  # not UTF-8: its encoding is detected and reported
    "truncated.pdf": ("failed", "corrupt PDF"),
    "scanned.pdf": ("skipped", "OCR"),
    "huge.txt": ("skipped", "max_file_mb"),
    "secret.txt": ("failed", "permission"),
    "loop_a.txt": ("failed", "symlink loop"),
    "loop_b.txt": ("failed", "symlink loop"),
    "picture.png": ("skipped", "image_model"),  # images are off by default, and the reason says how to turn them on
}


def test_bad_input_is_reported_file_by_file_and_everything_else_is_ingested(bad_folder):
    out = rag("ingest", str(bad_folder), "--json", "--max-file-mb", "1", drop_root_powers=True)
    assert out.returncode == 1, out.stderr  # documented: 1 = some file failed, the rest ingested
    report = json.loads(out.stdout)
    files = {Path(f["path"]).name: f for f in report["files"]}
    for name, (status, words) in EXPECTED.items():
        assert files[name]["status"] == status, files[name]
        assert words.lower() in files[name]["reason"].lower(), files[name]
    good = {p.name for p in DOCS.rglob("*") if p.is_file()} | {"latin1.txt"}
    assert {n for n, f in files.items() if f["status"] == "ingested"} == good
    t = report["totals"]
    assert (t["ingested"], t["failed"], t["skipped"]) == (len(good), 5, 4)
    assert t["chunks_added"] == sum(f["chunks"] for f in report["files"])

    again = rag("ingest", str(bad_folder), "--json", "--max-file-mb", "1", drop_root_powers=True)
    assert json.loads(again.stdout)["totals"]["chunks_added"] == 0


def test_status_and_remove(tmp_path):
    docs = shutil.copytree(DOCS, tmp_path / "docs")
    assert rag("ingest", str(docs), "--collection", "notes", "--json").returncode == 0
    status = json.loads(rag("status", "--json").stdout)
    (row,) = status["collections"]
    assert row["name"] == "notes" and row["files"] == 7 and row["chunks"] >= 7
    assert row["built_with"]["embed_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert row["built_with"]["dim"] == 384 and row["roots"] == [str(docs)]
    removed = json.loads(rag("remove", str(docs / "mars.md"), "--collection", "notes", "--json").stdout)
    assert removed["files"][0]["status"] == "removed"
    assert json.loads(rag("status", "--json").stdout)["collections"][0]["files"] == 6


def test_errors_are_messages_with_a_fix_not_tracebacks(tmp_path):
    missing = rag("ingest", str(tmp_path / "missing"))
    assert missing.returncode == 2 and "Not found" in missing.stderr and "Traceback" not in missing.stderr
    bad_name = rag("ingest", str(DOCS), "--collection", "no spaces allowed")
    assert bad_name.returncode == 2 and "collection" in bad_name.stderr and "Traceback" not in bad_name.stderr
    no_server = rag("status", "--chroma-url", "http://127.0.0.1:9")
    assert no_server.returncode == 2 and "chroma run" in no_server.stderr
    bad_model = rag("ingest", str(DOCS), "--embed-model", str(tmp_path / "no-model"))
    assert bad_model.returncode == 2 and "embed_model" in bad_model.stderr


@pytest.mark.slow
def test_client_server_mode_against_a_real_chroma_server(tmp_path, chroma_server):
    docs = shutil.copytree(DOCS, tmp_path / "docs")
    env = {"RAG_CHROMA_URL": chroma_server}
    first = json.loads(rag("ingest", str(docs), "--collection", "served", "--json", env=env).stdout)
    assert first["totals"]["ingested"] == 7
    (docs / "sourdough.txt").write_text("Rye bread needs a longer proof than wheat bread.")
    (docs / "tcp.html").unlink()
    second = json.loads(rag("ingest", str(docs), "--collection", "served", "--json", env=env).stdout)
    by_name = {Path(f["path"]).name: f["status"] for f in second["files"]}
    assert by_name["sourdough.txt"] == "updated" and by_name["tcp.html"] == "removed"
    assert list(by_name.values()).count("unchanged") == 5

    import chromadb

    _, port = chroma_server.rsplit(":", 1)
    col = chromadb.HttpClient(host="127.0.0.1", port=int(port)).get_collection("served")
    paths = {m["path"] for m in col.get(include=["metadatas"])["metadatas"]}
    assert str(docs / "tcp.html") not in paths and str(docs / "sourdough.txt") in paths
    mismatch = rag("ingest", str(docs), "--collection", "served", "--chunk-size", "64", env=env)
    assert mismatch.returncode == 2 and "--rebuild" in mismatch.stderr
    rebuilt = rag("ingest", str(docs), "--collection", "served", "--chunk-size", "64", "--rebuild", "--json", env=env)
    assert rebuilt.returncode == 0 and json.loads(rebuilt.stdout)["totals"]["ingested"] == 6


ANSWER_KEYS = {
    "answer",
    "abstained",
    "sources",
    "unsupported",
    "rewritten_query",
    "searched_query",
    "backend",
    "model",
    "context_cut",
    "context_focused",
    "timings",
}


def test_ask_prints_one_json_object_and_missing_collections_say_how_to_ingest(tmp_path):
    missing = rag("ask", "anything?", "--collection", "nope")
    assert missing.returncode == 2 and "rag ingest" in missing.stderr and "Traceback" not in missing.stderr
    docs = shutil.copytree(DOCS, tmp_path / "docs")
    assert rag("ingest", str(docs), "--json").returncode == 0

    off = json.loads(rag("ask", "Who won the football world cup in 1998?", "--json").stdout)
    assert set(off) >= ANSWER_KEYS and off["abstained"] and off["backend"] is None
    assert set(off["timings"]) == {"load_s", "retrieve_s", "extract_s", "first_token_s", "total_s"}

    out = rag(
        "ask", "What does error ZX-4471 mean?", "--json", "--hybrid", "--llm", "embedded", "--top-k", "3",
        "--mode", "generate",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["backend"] == "embedded" and answer["answer"]
    assert Path(answer["sources"][0]["path"]).name == "troubleshooting.md"
    assert {"n", "path", "page", "score", "text"} == set(answer["sources"][0])


def test_rag_core_does_not_depend_on_ingest_ui_eval_or_space():
    code = (
        "import sys, rag.app, rag.engine, rag.retrieval.retriever, rag.index.lexical, rag.verify.check, cli.report,"
        " rag.llm;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ingest', 'ui', 'eval', 'space'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
