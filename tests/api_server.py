"""A real `rag serve` subprocess on a free 127.0.0.1 port, for the API tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO, TEST_PRECISION, free_port

STARTUP_S = 300  # loads the embedding model first; generous, as the machine may be busy


def server_env(home: Path, model_cache: Path, **settings: str) -> dict[str, str]:
    """This process's environment without RAG_* settings, plus an isolated home and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_HOME=str(home),
        RAG_CONFIG=str(home / "no-rag.toml"),
        RAG_MODEL_CACHE=str(model_cache),
        RAG_EMBED_PRECISION=TEST_PRECISION,  # the server embeds as the tests' own embedder does
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
    )
    env.update({f"RAG_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen
    log: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"


@contextmanager
def rag_serve(home: Path, env: dict[str, str], *args: str) -> Iterator[Server]:
    """Run `rag serve --port P *args`; yields once GET /health answers, stops the server after."""
    import httpx

    port = free_port()
    log = home / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        server = Server(f"http://127.0.0.1:{port}", proc, log)
        try:
            _wait_ready(server, httpx)
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(server: Server, httpx) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"rag serve exited ({server.proc.returncode}): {server.log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)  # polling the port: connection refused until uvicorn listens
    raise RuntimeError(f"rag serve did not answer within {STARTUP_S} s: {server.log.read_text()[-3000:]}")
