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


def check_search(out: dict) -> None:
    """`search` is hybrid unless told otherwise (it was dense only), and a wrong collection says what
    to do in MCP's terms (it pointed an agent at `GET /v1/models`)."""
    assert out["search"]["hybrid"] and all(r["fused_score"] is not None for r in out["search"]["results"])
    assert not out["dense"]["hybrid"] and all(r["fused_score"] is None for r in out["dense"]["results"])
    wrong = out["wrong"].content[0].text
    assert out["wrong"].is_error and "`list_collections`" in wrong and COLLECTION in wrong
    assert "/v1/models" not in wrong


async def exercise(session) -> dict:
    """List the tools and call each; returns what came back, by tool."""
    await session.initialize()
    tools = (await session.list_tools()).tools
    out: dict = {"tools": {t.name: t for t in tools}}
    out["search"] = payload(await session.call_tool("search", {"query": "How many moons does Mars have?"}))
    dense = {"query": "How many moons does Mars have?", "hybrid": False}
    out["dense"] = payload(await session.call_tool("search", dense))
    out["wrong"] = await session.call_tool("search", {"query": "moons", "collection": "no-such-collection"})
    first = out["search"]["results"][0]
    out["get_passage"] = payload(await session.call_tool("get_passage", {"chunk_id": first["chunk_id"]}))
    out["list_collections"] = payload(await session.call_tool("list_collections", {}))
    out["missing"] = await session.call_tool("get_passage", {"chunk_id": "no-such-chunk"})
    return out


def test_stdio_server_lists_and_runs_the_four_tools(home, model_cache):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    env = server_env(home, model_cache, llm="embedded", temperature="0", max_answer_tokens="96")
    env["RAG_HOME"] = str(home.parent / "not-this-one")  # --home wins over the environment
    args = ["-m", "cli", "mcp", "--collection", COLLECTION, "--home", str(home)]
    params = StdioServerParameters(command=sys.executable, args=args, env=env)

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
    check_search(out)
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
    check_search(out)


def test_a_home_without_collections_says_to_restart_on_the_right_folder(tmp_path, embedder):
    from mcp.server.mcpserver.exceptions import ToolError

    from api.mcp_tools import build_mcp
    from api.service import RagService
    from rag.app import build_store

    settings = Settings(home=tmp_path / "empty-home", collection=COLLECTION)
    server = build_mcp(RagService(settings, embedder, build_store(settings)))
    with pytest.raises(ToolError) as err:
        asyncio.run(server.call_tool("search", {"query": "moons"}))
    message = str(err.value)
    assert "has no collections" in message and "--home" in message and str(settings.home) in message
    assert "/v1/models" not in message


def test_home_must_be_a_folder(tmp_path):
    from api.server import mcp_command
    from rag.errors import ConfigError

    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(ConfigError, match=r"--home .* is not a folder"):
        mcp_command(home=not_a_folder)
