"""Options and helpers several command modules share (importing this loads nothing heavy)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

CollectionOpt = typer.Option(None, "--collection", "-c", help="Collection name (default: settings `collection`).")
ChromaOpt = typer.Option(None, "--chroma-url", help="Chroma server URL (default: embedded store under RAG_HOME).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of tables.")
LlmOpt = typer.Option(None, "--llm", help="auto | ollama[:MODEL] | embedded[:PATH.gguf]")
AllowedHostOpt = typer.Option(
    None, "--allowed-host", help="A Host name to answer besides localhost (repeatable; others get 421)."
)
NoWaitOpt = typer.Option(
    False, "--no-wait", help="If another process is writing the collection, exit (code 2) instead of waiting."
)


def load_settings(**flags: Any):
    """`rag.settings.load_settings` (imported here, when a command runs)."""
    from rag.settings import load_settings

    return load_settings(**flags)


def waiting(collection: str) -> Callable[[Any], None]:
    """What a writer prints while another process holds the collection's writer lock."""

    def on_wait(holder) -> None:
        from rag.text.terminal import safe

        print(
            safe(
                f"waiting: collection {collection!r} is being written by {holder.describe()}; "
                "this run starts when it finishes (Ctrl-C to stop, --no-wait to exit instead)"
            ),
            file=sys.stderr,
            flush=True,
        )

    return on_wait
