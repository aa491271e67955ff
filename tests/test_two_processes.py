"""A chat process and an ingest process on one RAG_HOME: the open retriever sees the new chunks.

Chroma's embedded client serves the vector index it loaded; without the generation file a
retriever kept open (the chat UI, an Engine) never finds what `rag ingest --watch` adds later.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rag.index.store import Store
from rag.retrieval.retriever import Retriever

from tests.helpers import sync

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
AXOLOTL = (
    "The axolotl is a salamander that regrows whole limbs, its spinal cord and parts of its heart. "
    "Axolotl limb regeneration starts with a blastema of dedifferentiated cells."
)


def ingest_elsewhere(settings, folder: Path) -> dict:
    """`rag ingest` in another process on the same RAG_HOME and collection."""
    env = {
        **os.environ,
        "RAG_HOME": str(settings.home),
        "RAG_COLLECTION": settings.collection,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(folder), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_open_retriever_finds_a_file_another_process_just_ingested(settings, embedder, docs, tmp_path):
    sync(settings, embedder, [docs])
    retriever = Retriever(settings, embedder, Store(settings))
    before = retriever.search("axolotl limb regeneration", top_k=3, hybrid=False, threshold=-1.0)
    assert before and not any("axolotl" in s.path for s in before)  # the index is loaded and in use

    more = tmp_path / "more"
    more.mkdir()
    (more / "axolotl.md").write_text(AXOLOTL)
    assert ingest_elsewhere(settings, more)["totals"]["ingested"] == 1

    dense = retriever.search("axolotl limb regeneration", top_k=3, hybrid=False)
    assert dense and dense[0].path == str(more / "axolotl.md")
    hybrid = retriever.search("axolotl blastema", top_k=3, hybrid=True)
    assert hybrid[0].path == str(more / "axolotl.md")
