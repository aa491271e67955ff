"""`rag ask` and `rag status` as a terminal user meets them after `make run` (the samples indexed):
truthful timings, no LLM loaded for a quote, 80 columns, and a missing collection that names the
ones there are."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.conftest import REPO
from tests.helpers import sync

QUESTION = "Where does ragspace keep its data?"
# what `rag ask` runs, then whether llama.cpp was imported (loading the LLM imports it)
ASK_AND_TELL = (
    "import sys; sys.argv = ['rag', *sys.argv[1:]]\n"
    "from cli.main import main\n"
    "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
    "print('llama_cpp imported:', 'llama_cpp' in sys.modules, file=sys.stderr)\n"
)


@pytest.fixture(scope="module")
def made_run(tmp_path_factory, embedder) -> Path:
    """A home as `make run` leaves it: the built-in samples in the collection `samples`, nothing else."""
    home = tmp_path_factory.mktemp("made-run") / "home"
    sync(Settings(home=home, collection="samples"), embedder, [REPO / "samples"])
    return home


def run(home: Path, *args: str, columns: int | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_HOME": str(home), "RAG_LLM": "embedded"}
    if columns:
        env["COLUMNS"] = str(columns)
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_a_quoted_answer_reports_load_apart_from_retrieval_and_loads_no_llm(made_run):
    out = run(made_run, "ask", QUESTION, "--collection", "samples", code=ASK_AND_TELL)
    assert "llama_cpp imported: False" in out.stderr, out.stderr[-2000:]
    said = re.search(
        r"quotes, no LLM - load (\d+\.\d+)s, retrieve (\d+) ms, first text (\d+\.\d+)s, total (\d+\.\d+)s", out.stdout
    )
    assert said, out.stdout[-2000:]  # a quote's first text was called "first token", and loading was retrieval
    load, retrieve, first, total = float(said[1]), float(said[2]) / 1000, float(said[3]), float(said[4])
    # a cold process loads the embedding model (seconds); searching 20 chunks takes milliseconds
    assert retrieve < load and load + retrieve <= first + 0.01 and first <= total
    assert "first token" not in out.stdout


def test_status_fits_80_columns(made_run):
    out = run(made_run, "status", columns=80)
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= 80, out.stdout
    # nothing is broken mid-word: the model's name and the date can be read (and copied) whole
    assert "sentence-transformers/all-MiniLM-L6-v2" in out.stdout
    assert re.search(r"indexed +\d{4}-\d\d-\d\d \d\d:\d\d UTC", out.stdout)
    folder = str(REPO / "samples")
    if len(folder) <= 80 - 14:
        assert f"folder      {folder}\n" in out.stdout


def test_asking_the_default_collection_names_the_ones_there_are(made_run):
    out = run(made_run, "ask", QUESTION)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "'default' does not exist" in out.stderr
    assert "it has 'samples'" in out.stderr and "--collection samples" in out.stderr, out.stderr
