"""MCP requests a hostile (or broken) client sends get a JSON-RPC error reply, and the server keeps serving
(issue 26: over stdio, malformed JSON, non-UTF-8 bytes and `params: "str"` got no reply, so a client waiting
on that id hung). Raw lines to a real `rag mcp`, and raw POSTs to /mcp of a real `rag serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from tests.api_server import rag_serve, server_env
from tests.helpers import sync

COLLECTION = "hostilemcp"
INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}  # fmt: skip
BAD = [  # (raw line, expected id, expected code)
    (b"{not json", None, -32700),
    (b"\xff\xfe\x00garbage \xc3\x28", None, -32700),
    (b'{"jsonrpc":"2.0","id":12,"method":"tools/call","params":"str"}', 12, -32602),
    (b'{"jsonrpc":"2.0","id":"a","method":"tools/list","params":[1]}', "a", -32602),
    (b"[1, 2]", None, -32600),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory, embedder) -> Path:
    root = tmp_path_factory.mktemp("hostile-mcp")
    docs = root / "docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text("The island ferry leaves the harbour at noon every day.\n")
    home = root / "home"
    sync(Settings(home=home, collection=COLLECTION), embedder, [docs])
    return home


def test_stdio_answers_every_bad_line_and_keeps_serving(home, model_cache):
    from api.mcp_stdio import error_reply  # noqa: F401 - the module the stdio command serves through

    env = server_env(home, model_cache, answer_mode="extract")
    lines = [json.dumps(INIT).encode()] + [raw for raw, _, _ in BAD]
    lines += [b'{"jsonrpc":"2.0","method":"notifications/initialized"}', b'{"jsonrpc":"2.0","method":"x","params":1}']
    lines += [b'{"jsonrpc":"2.0","id":3,"result":"x","error":5}']  # a broken response: never answered either
    lines += [json.dumps({"jsonrpc": "2.0", "id": 99, "method": "tools/list"}).encode()]
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "mcp", "--collection", COLLECTION],
        input=b"\n".join(lines) + b"\n", env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    replies = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    errors = [(r["id"], r["error"]["code"]) for r in replies if "error" in r]
    assert errors == [(rid, code) for _, rid, code in BAD], (errors, proc.stderr[-2000:])
    by_id = {r["id"]: r for r in replies if "result" in r}
    assert by_id[1]["result"]["serverInfo"]["name"] == "ragspace"
    assert {t["name"] for t in by_id[99]["result"]["tools"]} >= {"search", "ask"}  # still serving after all that
    assert len(replies) == len(BAD) + 2  # the notifications, even a malformed one, and the broken response got no reply


def test_http_mcp_answers_bad_bodies_with_json_rpc_errors_and_keeps_serving(home, model_cache):
    env = server_env(home, model_cache, answer_mode="extract")
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    with rag_serve(home, env, "--collection", COLLECTION) as server:
        for raw, _, code in BAD[:3]:
            r = httpx.post(f"{server.url}/mcp", content=raw, headers=headers, timeout=60)
            assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text
        ok = httpx.post(f"{server.url}/mcp", json=INIT, headers=headers, timeout=60)
        assert ok.status_code == 200 and "ragspace" in ok.text
