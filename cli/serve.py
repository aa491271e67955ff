"""`rag serve` (the OpenAI-compatible API and MCP over HTTP) and `rag mcp` (MCP over stdio)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.options import AllowedHostOpt, ChromaOpt, CollectionOpt, LlmOpt


def serve(
    host: str | None = typer.Option(
        None, "--host", help="Address to serve on (default 127.0.0.1; any other needs RAG_API_KEY)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000, or RAG_API_PORT)."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    llm: str | None = LlmOpt,
    allowed_host: list[str] | None = AllowedHostOpt,
) -> None:
    """Serve an OpenAI-compatible API (/v1) and the MCP tools (/mcp) over your collections."""
    from api.server import serve_command

    serve_command(
        host=host, port=port, collection=collection, llm=llm, chroma_url=chroma_url, allowed_hosts=allowed_host
    )


def mcp(
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    llm: str | None = LlmOpt,
    home: Path | None = typer.Option(
        None, "--home", help="Data home holding the collections (default: RAG_HOME, else the user data directory)."
    ),
) -> None:
    """Serve the MCP tools (search, ask, list_collections, get_passage) over stdin/stdout, for agents."""
    from api.server import mcp_command

    mcp_command(collection=collection, llm=llm, chroma_url=chroma_url, home=home)
