"""`rag serve` (the OpenAI-compatible API and MCP over HTTP) and `rag mcp` (MCP over stdio)."""

from __future__ import annotations

from typing import List, Optional

import typer

from cli.options import AllowedHostOpt, ChromaOpt, CollectionOpt, LlmOpt


def serve(
    host: Optional[str] = typer.Option(
        None, "--host", help="Address to serve on (default 127.0.0.1; any other needs RAG_API_KEY)."
    ),
    port: Optional[int] = typer.Option(None, "--port", help="Port (default 8000, or RAG_API_PORT)."),
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    llm: Optional[str] = LlmOpt,
    allowed_host: Optional[List[str]] = AllowedHostOpt,
) -> None:
    """Serve an OpenAI-compatible API (/v1) and the MCP tools (/mcp) over your collections."""
    from api.server import serve_command

    serve_command(
        host=host, port=port, collection=collection, llm=llm, chroma_url=chroma_url, allowed_hosts=allowed_host
    )


def mcp(
    collection: Optional[str] = CollectionOpt,
    chroma_url: Optional[str] = ChromaOpt,
    llm: Optional[str] = LlmOpt,
) -> None:
    """Serve the MCP tools (search, ask, list_collections, get_passage) over stdin/stdout, for agents."""
    from api.server import mcp_command

    mcp_command(collection=collection, llm=llm, chroma_url=chroma_url)
