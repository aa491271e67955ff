"""Shared fixtures: isolated state per test, the real bundled model once per session, a real Chroma server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

# Float results differ in the last bits between CPU kinds, thread counts and precisions, so the
# suite pins what it can: embeddings in fp32 (the timed `auto` check would pick bf16 on some CPUs
# and not others) and 2 compute threads unless the run names its own (`OMP_NUM_THREADS=1 make test`
# is how the 1-thread case is checked). `RAGSPACE_TEST_PRECISION=bf16` runs the suite with bf16
# forced, on a CPU that has it. Set before torch is imported, so subprocesses inherit it too.
TEST_PRECISION = os.environ.get("RAGSPACE_TEST_PRECISION", "fp32")
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One cache of derived model files (the bundled model's Q8_0 copy) for the whole run, outside the repo."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch, model_cache):
    """Every test gets its own RAG_HOME and no stray rag.toml or RAG_* settings from the machine."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAG_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("RAG_EMBED_PRECISION", TEST_PRECISION)
    home = tmp_path / "rag-home"
    monkeypatch.setenv("RAG_HOME", str(home))
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "no-rag.toml"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


@pytest.fixture
def docs(tmp_path) -> Path:
    """A private copy of tests/data/docs that a test may edit."""
    from tests.helpers import copy_docs

    return copy_docs(tmp_path / "docs")


@pytest.fixture
def settings(isolated_home):
    """Settings for a collection named `test` in this test's RAG_HOME."""
    from rag.settings import Settings

    return Settings(home=isolated_home, collection="test")


@pytest.fixture(scope="session")
def embedder(model_cache):
    """The real bundled all-MiniLM-L6-v2, loaded once for the whole run, in the pinned test precision."""
    from rag.models.embedder import Embedder

    emb = Embedder(precision=TEST_PRECISION, cache_dir=model_cache)
    _ = emb.model, emb.precision  # load and check the precision now (once per run: subprocesses share model_cache)
    return emb


@pytest.fixture(scope="session")
def samples_engine(tmp_path_factory, embedder):
    """The engine `make run` builds over the built-in samples (indexed as ui.launch does), once per run.

    Read-only for the tests that share it: a test that needs other settings builds an Engine of its own
    over `samples_engine.retriever`.
    """
    from rag.app import build_engine, build_store
    from rag.settings import Settings
    from ui.launch import SAMPLES_COLLECTION, ensure_samples

    settings = Settings(home=tmp_path_factory.mktemp("samples") / "home", collection=SAMPLES_COLLECTION)
    store = build_store(settings)
    ensure_samples(settings, embedder, store)
    return build_engine(settings, embedder=embedder, store=store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chroma_cli() -> str:
    exe = Path(sys.executable).parent / "chroma"
    return str(exe) if exe.exists() else (shutil.which("chroma") or "chroma")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1, its data in a temp dir; yields its URL."""
    import httpx

    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = open(path / "server.log", "wb")  # noqa: SIM115 - the server writes to it until teardown closes it
    proc = subprocess.Popen(
        [_chroma_cli(), "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chroma run exited: {(path / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("chroma run did not answer within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """A tiny random-weight CLIP in the sentence-transformers layout (tests/tiny_clip.py), built once per run."""
    from tests.tiny_clip import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip") / "model")


@pytest.fixture(scope="session")
def image_embedder(tiny_clip):
    """rag's ImageEmbedder over the tiny CLIP, loaded once for the run."""
    from rag.models.image_embedder import ImageEmbedder

    emb = ImageEmbedder(str(tiny_clip))
    _ = emb.model
    return emb
