"""The MCP server: ragspace's search, answers and passages as tools for agents (official `mcp` SDK).

The same tools run over stdio (`rag mcp`, for clients that start the server themselves) and over
streamable HTTP at /mcp of `rag serve`. Tool functions are async and run the engine in a worker
thread, so an answer being written never blocks the HTTP server's event loop.
"""

from __future__ import annotations

from api.openai_format import answer_fields, source_dict
from api.service import RagService

INSTRUCTIONS = (
    "ragspace is a private, local search engine over the user's own documents (notes, PDFs, web pages, "
    "code), split into passages and grouped into named collections. Use `search` to find passages "
    "relevant to a query, `get_passage` to read more text around a passage, `ask` for a short answer "
    "written from the documents with numbered citations, and `list_collections` to see what is indexed. "
    "Answers and passages come only from the user's documents: when nothing relevant is found, `ask` says "
    "so (abstained=true) instead of guessing."
)

SEARCH_DOC = """Find the passages of the user's documents that best match a query (no answer is written).

Use this to look something up in the user's files. Each result has: `chunk_id` (pass it to
`get_passage` for the surrounding text), `path` of the file it came from, `page` (PDFs; null
otherwise), `score` (cosine similarity to the query, about 0.3+ is relevant, 0.5+ strong) and the
passage `text`; `fused_score` is set when keyword and meaning ranks were fused (hybrid). Results
are best first.

Args:
    query: what to look for, in natural language or keywords.
    collection: which collection to search (see `list_collections`); empty = the server's default.
    top_k: how many passages to return (1-50).
    hybrid: also match exact keywords (names, codes, numbers) besides meaning; empty = the server's
        `hybrid` setting (on unless turned off, as everywhere in ragspace); false ranks by meaning alone.
"""

ASK_DOC = """Answer a question from the user's documents, with [n] citations of the passages used.

Returns `answer` (text citing sources as [1], [2]...), `sources` (the cited passages, numbered as
in the answer, each with path, page, score, text and chunk_id), `abstained` (true when the
documents do not contain the answer: then `answer` says so and `sources` lists the closest
passages), `unsupported` (answer sentences the automatic check could not find in the sources:
treat them as doubtful) and `rewritten_query`. Slower than `search` (a local language model
writes the answer); use `search` when you only need the passages.

Args:
    question: the question, self-contained (name the subject rather than "it").
    collection: which collection to answer from; empty = the server's default.
"""

LIST_DOC = """List the document collections this ragspace server has indexed.

Each has `name` (pass it as `collection` to the other tools), `chunks` (passages stored),
`embed_model` (the embedding model it was built with) and `default` (true for the collection
used when none is named).
"""

PASSAGE_DOC = """Read one passage in full with the passages just before and after it in the same file.

Use after `search` or `ask` when a passage is cut off or you need its context. Returns the
passage (`text`, `path`, `page`, `chunk_index`, `start`/`end` character offsets), `before` and
`after` (neighbouring passages, nearest first in reading order) and `context` (all of them joined
into one continuous text, overlaps removed).

Args:
    chunk_id: the `chunk_id` of a result from `search` or a source from `ask`.
    collection: the collection that result came from; empty = the server's default.
    neighbours: how many passages to include on each side (0-5).
"""


def _tool_error(exc: Exception, service: RagService) -> Exception:
    """The agent's error: the message that names the fix, in MCP's terms (tools and their arguments)."""
    from mcp.server.mcpserver.exceptions import ToolError

    from api.service import UnknownCollection

    if isinstance(exc, UnknownCollection) and not exc.have:
        return ToolError(
            f"No collection named {exc.name!r}: the server's data home ({service.settings.home}) has no "
            "collections. Restart the server on the folder that holds the index (`rag mcp --home FOLDER`, "
            "or RAG_HOME for `rag serve`), or index documents there with `rag ingest PATH`."
        )
    if isinstance(exc, UnknownCollection):
        return ToolError(
            f"No collection named {exc.name!r} (collections: {', '.join(exc.have) or 'none yet'}). "
            "Call the `list_collections` tool and pass one of its names as `collection`, or leave "
            f"`collection` empty for the server's default ({service.settings.collection!r})."
        )
    return ToolError(str(exc))


def build_mcp(service: RagService):
    """An MCP server (the SDK's MCPServer, FastMCP before mcp 2) with the four tools over `service`."""
    from anyio import to_thread
    from mcp.server.mcpserver import MCPServer

    from rag.errors import RagError

    mcp = MCPServer("ragspace", instructions=INSTRUCTIONS, log_level="WARNING")

    async def run(fn, *args, **kwargs):
        try:
            return await to_thread.run_sync(lambda: fn(*args, **kwargs))
        except RagError as exc:  # the agent gets the message that names the fix
            raise _tool_error(exc, service) from None

    @mcp.tool(description=SEARCH_DOC)
    async def search(query: str, collection: str = "", top_k: int = 5, hybrid: bool | None = None) -> dict:
        hybrid = service.settings.hybrid if hybrid is None else hybrid  # as `rag ask` and the API search
        found = await run(service.search, query, collection or None, top_k=max(1, min(top_k, 50)), hybrid=hybrid)
        name = await run(service.collection_name, collection or None)
        return {"collection": name, "hybrid": hybrid, "results": [source_dict(s) for s in found]}

    @mcp.tool(description=ASK_DOC)
    async def ask(question: str, collection: str = "") -> dict:
        answer = await run(_ask, service, question, collection or None)
        return answer_fields(answer)

    @mcp.tool(description=LIST_DOC)
    async def list_collections() -> dict:
        infos = await run(service.collections)
        return {
            "collections": [
                {
                    "name": c.name,
                    "chunks": c.count,
                    "embed_model": c.fingerprint.get("embed_model"),
                    "default": c.name == service.settings.collection,
                }
                for c in infos
            ]
        }

    @mcp.tool(description=PASSAGE_DOC)
    async def get_passage(chunk_id: str, collection: str = "", neighbours: int = 1) -> dict:
        found = await run(service.passage, chunk_id, collection or None, max(0, min(neighbours, 5)))
        return found.to_dict()

    return mcp


def _ask(service: RagService, question: str, collection: str | None):
    from rag.llm import LLMError
    from rag.types import Answer

    try:
        for event in service.stream(question, [], collection):
            if isinstance(event, Answer):
                return event
    except LLMError:
        service.forget(service.collection_name(collection))
        raise
    raise AssertionError("the engine's stream always ends with an Answer")
