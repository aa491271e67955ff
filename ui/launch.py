"""`rag chat`: index the sample documents on first run, then serve the chat UI.

Nothing heavy is imported at module level: rag/cli.py registers `chat_command` and `rag --help`
must stay instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rag.settings import Settings
from rag.types import IngestReport
from ui.config import check_bind, check_tls, read_auth_file

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SAMPLES_COLLECTION = "samples"


def ensure_samples(settings: Settings, embedder, store, samples: Path = SAMPLES_DIR) -> IngestReport | None:
    """Ingest the built-in sample documents into `samples` when that is the collection in use
    and it is missing or empty. Returns the report, or None when nothing had to be done."""
    from rag.errors import CollectionNotFound

    if settings.collection != SAMPLES_COLLECTION or not samples.is_dir():
        return None
    try:
        if store.get(SAMPLES_COLLECTION).count() > 0:
            return None
    except CollectionNotFound:
        pass
    from ingest.pipeline import Sync

    return Sync(settings, embedder, store).run([samples])


def chat_command(
    collection: str | None = None,
    host: str | None = None,
    port: int | None = None,
    auth: str | None = None,
    llm: str | None = None,
    chroma_url: str | None = None,
    block: bool = True,
    auth_file: Path | None = None,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    allowed_hosts: list[str] | None = None,
) -> None:
    """Serve the chat UI (what `rag chat` runs). None means "not given": settings decide.

    Args:
        collection: the collection new sessions start in (`samples` gets the sample documents).
        host: bind address; anything but loopback needs `auth` (or RAG_AUTH).
        port: TCP port (default RAG_UI_PORT or 7860).
        auth: `user:password` (default RAG_AUTH); `rag chat` never takes it from the command line.
        auth_file: a file holding `user:password` (wins over `auth`).
        ssl_certfile, ssl_keyfile: PEM certificate and key: serve https (default settings').
        allowed_hosts: Host names answered besides loopback (default settings'; rag/serving/hosts.py).
        llm: LLM spec for new sessions (auto, embedded, ollama:MODEL).
        chroma_url: a Chroma server instead of the embedded store.
        block: serve until interrupted (False: return once the server runs, for tests).

    Raises:
        ConfigError: bad settings, or a non-loopback host without auth (checked before any loading).
    """
    from rag.settings import load_settings

    if auth_file is not None:
        auth = read_auth_file(auth_file)
    settings = load_settings(
        collection=collection, llm=llm, chroma_url=chroma_url, ui_host=host, ui_port=port, auth=auth,
        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, allowed_hosts=allowed_hosts or None,
    )  # fmt: skip
    check_bind(settings.ui_host, settings.auth)
    tls = check_tls(settings.ui_host, settings.ssl_certfile, settings.ssl_keyfile)
    from rag.app import build_embedder, build_store
    from ui.app import build_ui, serve

    # gradio keeps uploads in its temp dir before we copy them: keep that private, under RAG_HOME
    os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.home / "gradio-tmp"))
    embedder, store = build_embedder(settings), build_store(settings)
    report = ensure_samples(settings, embedder, store)
    if report is not None:
        print(
            f"Indexed the sample documents into collection {SAMPLES_COLLECTION!r} "
            f"({report.totals.chunks_added} chunks).",
            file=sys.stderr,
        )
    demo = build_ui(settings, embedder, store)
    print(
        f"ragspace chat on {'https' if tls else 'http'}://{_url_host(settings.ui_host)}:{settings.ui_port} "
        f"(collection {settings.collection!r}); Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    serve(demo, settings.ui_host, settings.ui_port, settings.auth, settings, block)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
