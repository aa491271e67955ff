"""`rag mcp`'s stdio transport: the SDK's, plus a JSON-RPC error reply to every line it cannot take.

The SDK (mcp 2.x `stdio_server`) turns a line that is not JSON, not UTF-8 (decoded with
replacement, so no longer JSON) or not a valid message into an exception inside the session,
which logs it and answers nothing: a client waiting on that request id waits forever (issue 26,
`{"id":12,"method":"tools/call","params":"str"}`). Its HTTP transport already answers these
(400 with -32700 / -32602), so only stdio needs this. The reply follows JSON-RPC 2.0: -32700 for a
parse error and -32600 for an invalid request, both with id null when the id cannot be read;
-32602 with the request's id when only `params` is wrong; nothing for a notification (no id) or a response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def error_reply(exc: Exception):
    """The JSONRPCError to answer a line that failed with `exc`, or None (a notification, or not ours)."""
    import pydantic
    from mcp import types

    if not isinstance(exc, pydantic.ValidationError):
        return None
    errors = exc.errors()
    if any(e["type"] == "json_invalid" for e in errors):
        return _error(None, types.PARSE_ERROR, "Parse error: the line is not JSON (or not UTF-8).")
    request = next((e["input"] for e in errors if isinstance(e.get("input"), dict)), None)
    if request is None:
        return _error(None, types.INVALID_REQUEST, "Invalid request: a JSON-RPC message is a JSON object.")
    rid = request.get("id")
    if "method" in request and rid is None:
        return None  # a notification: JSON-RPC never answers one
    if "method" not in request and ("result" in request or "error" in request):
        return None  # a broken response (to a request of ours): responses are never answered
    if not isinstance(rid, (str, int)) or isinstance(rid, bool):
        return _error(None, types.INVALID_REQUEST, "Invalid request: `id` must be a string or a number.")
    if "method" in request and "params" in request and not isinstance(request["params"], dict):
        return _error(rid, types.INVALID_PARAMS, "Invalid params: `params` must be an object.")
    return _error(rid, types.INVALID_REQUEST, f"Invalid request: {_first_problem(errors)}.")


def _first_problem(errors: Sequence[Mapping[str, Any]]) -> str:
    e = errors[0]
    return f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}"


def _error(rid, code: int, message: str):
    from mcp import types

    return types.JSONRPCError(jsonrpc="2.0", id=rid, error=types.ErrorData(code=code, message=message))


async def serve_stdio(mcp) -> None:
    """Run `mcp` (an MCPServer) over stdin/stdout, answering malformed lines instead of dropping them."""
    import anyio
    from mcp.server.stdio import stdio_server
    from mcp.shared.message import SessionMessage

    # the SDK's MCPServer.run_stdio_async, with a filter between the transport and the session;
    # `_lowlevel_server` is the SDK's own name (tests/test_hostile_mcp.py fails if it goes away)
    server = mcp._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        passed, passed_reader = anyio.create_memory_object_stream[Any](0)

        async def filter_lines() -> None:
            async with passed, read_stream:
                async for item in read_stream:
                    if not isinstance(item, Exception):
                        await passed.send(item)
                    elif (reply := error_reply(item)) is not None:
                        await write_stream.send(SessionMessage(reply))

        async with anyio.create_task_group() as tg:
            tg.start_soon(filter_lines)
            await server.run(passed_reader, write_stream, server.create_initialization_options())
