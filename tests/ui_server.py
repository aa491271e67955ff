"""The chat UI served in-process on a free 127.0.0.1 port, for the browser and load tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.index.store import Store
from rag.settings import Settings
from tests.conftest import TEST_PRECISION, free_port


@dataclass
class RunningApp:
    url: str
    settings: Settings
    store: Store
    demo: object = None  # the gr.Blocks being served (its queue tells whether the server is busy)

    def busy(self) -> bool:
        """Whether the server is running or queueing an event (an answer, an ingestion...)."""
        queue = getattr(self.demo, "_queue", None)
        if queue is None:
            return False
        return len(queue) > 0 or any(job is not None for job in queue.active_jobs)


@contextmanager
def running_app(
    home: Path, embedder, port: int | None = None, auth: str | None = None, **overrides
) -> Iterator[RunningApp]:
    """Serve the UI over the sample documents (collection `samples`, indexed here) until exit,
    on `port` (default: a free one; a restart on the same port keeps the browser's local storage),
    behind the login `auth` (`user:password`) when given.

    The environment is isolated for the whole module (the autouse RAG_HOME fixture is per test).
    """
    from ui.app import build_ui, serve
    from ui.launch import ensure_samples

    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("RAG_")]:
            mp.delenv(key)
        mp.setenv("RAG_HOME", str(home))
        mp.setenv("RAG_EMBED_PRECISION", TEST_PRECISION)
        mp.setenv("RAG_CONFIG", str(home / "no-rag.toml"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("GRADIO_TEMP_DIR", str(home / "gradio-tmp"))
        settings = Settings(
            **{
                "home": home,
                "collection": "samples",
                "llm": "embedded",
                "top_k": 3,
                "max_answer_tokens": 48,
                "temperature": 0.0,
                "ollama_host": f"http://127.0.0.1:{free_port()}",  # no Ollama here
                **overrides,
            }
        )
        store = Store(settings)
        ensure_samples(settings, embedder, store)
        ui = settings.model_copy(update={"upload_max_mb": 5})
        demo = build_ui(settings, embedder, store, ui=ui)
        url = serve(demo, "127.0.0.1", port or free_port(), auth, ui, block=False)
        try:
            yield RunningApp(url, settings, store, demo)
        finally:
            demo.close()
