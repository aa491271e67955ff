"""The MCP server through the official `mcp` SDK client: `rag mcp` over stdio, and /mcp of `rag serve`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.api_server import rag_serve, server_env
from tests.helpers import copy_docs, sync

COLLECTION = "mcpdocs"
TOOLS = {"search", "ask", "list_collections", "get_passage"}


@pytest.fixture(scope="module")
def home(tmp_path_factory, embedder) -> Path:
    root = tmp_path_factory.mktemp("mcp")
    home = root / "home"
    sync(Settings(home=home, collection=COLLECTION), embedder, [copy_docs(root / "docs")])
    return home


def payload(result) -> dict:
    """A tool result's JSON (structured content when the SDK gives it, else the text block)."""
    assert not result.is_error, result.content
    if result.structured_content:
        return result.structured_content
    return json.loads(result.content[0].text)


async def exercise(session) -> dict:
    """List the tools and call each; returns what came back, by tool."""
    await session.initialize()
    tools = (await session.list_tools()).tools
    out: dict = {"tools": {t.name: t for t in tools}}
    out["search"] = payload(await session.call_tool("search", {"query": "How many moons does Mars have?"}))
    first = out["search"]["results"][0]
    out["get_passage"] = payload(await session.call_tool("get_passage", {"chunk_id": first["chunk_id"]}))
    out["list_collections"] = payload(await session.call_tool("list_collections", {}))
    out["missing"] = await session.call_tool("get_passage", {"chunk_id": "no-such-chunk"})
    return out


def test_stdio_server_lists_and_runs_the_four_tools(home, model_cache):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = server_env(home, model_cache, llm="embedded", temperature="0", max_answer_tokens="96")
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "cli", "mcp", "--collection", COLLECTION], env=env
    )

    async def main():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            out = await exercise(session)
            out["ask"] = payload(await session.call_tool("ask", {"question": "What is a sourdough starter?"}))
            out["abstain"] = payload(await session.call_tool("ask", {"question": "Who won the 1998 world cup?"}))
            return out

    out = asyncio.run(main())
    assert set(out["tools"]) == TOOLS
    assert all(len(t.description) > 200 for t in out["tools"].values())  # written for a newcomer
    assert "chunk_id" in out["tools"]["get_passage"].input_schema["properties"]

    first = out["search"]["results"][0]
    assert Path(first["path"]).name in {"mars.md", "planets.csv"} and first["score"] > 0.3
    passage = out["get_passage"]
    assert passage["chunk_id"] == first["chunk_id"] and passage["text"] == first["text"]
    assert first["text"] in passage["context"]

    listed = {c["name"]: c for c in out["list_collections"]["collections"]}
    assert listed[COLLECTION]["chunks"] > 0 and listed[COLLECTION]["default"]

    assert out["missing"].is_error and "no-such-chunk" in out["missing"].content[0].text

    answer = out["ask"]
    assert not answer["abstained"] and "yeast" in answer["answer"].lower()
    assert Path(answer["sources"][0]["path"]).name == "sourdough.txt"
    assert out["abstain"]["abstained"] and out["abstain"]["sources"]


def test_the_same_tools_over_http_at_mcp(home, model_cache):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    env = server_env(home, model_cache, llm="embedded")

    async def main(url: str):
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            return await exercise(session)

    with rag_serve(home, env, "--collection", COLLECTION) as server:
        out = asyncio.run(main(f"{server.url}/mcp"))
    assert set(out["tools"]) == TOOLS
    assert Path(out["search"]["results"][0]["path"]).name in {"mars.md", "planets.csv"}
    assert out["get_passage"]["text"] == out["search"]["results"][0]["text"]
