"""`rag serve` as a hostile client meets it (issue 26): Host headers of other names (DNS rebinding), oversized
requests, wrong types. One real `rag serve` over a tiny index; extract mode, so no LLM is loaded."""

from __future__ import annotations

import httpx
import pytest

from rag.hosts import allowed_hosts, host_name
from rag.settings import Settings
from tests.api_server import rag_serve, server_env
from tests.helpers import sync

COLLECTION = "hostile"
EVIL = {"Host": "evil.example"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder, model_cache):
    root = tmp_path_factory.mktemp("hostile-api")
    docs = root / "docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text("The island ferry leaves the harbour at noon every day.\n")
    home = root / "home"
    sync(Settings(home=home, collection=COLLECTION), embedder, [docs])
    env = server_env(home, model_cache, answer_mode="extract", llm="embedded")
    with rag_serve(home, env, "--collection", COLLECTION, "--allowed-host", "rag.internal") as served:
        yield served


def test_host_names_are_parsed_with_ports_and_brackets():
    assert [host_name(h) for h in ("127.0.0.1:8000", "[::1]:80", "[::1]", "LocalHost.", "evil.example:1")] == [
        "127.0.0.1", "::1", "::1", "localhost", "evil.example",
    ]  # fmt: skip
    assert allowed_hosts("127.0.0.1", []) >= {"localhost", "127.0.0.1", "::1"}
    assert "evil.example" not in allowed_hosts("127.0.0.1", [])
    assert allowed_hosts("0.0.0.0", []) is None  # off loopback the key guards; a list still applies when given
    assert "rag.internal" in allowed_hosts("0.0.0.0", ["rag.internal:443"])


ROUTES = [
    ("GET", "/health", None),
    ("GET", "/v1/models", None),
    ("GET", "/docs", None),
    ("POST", "/v1/retrieve", {"query": "ferry", "collection": COLLECTION}),
    ("POST", "/v1/embeddings", {"model": COLLECTION, "input": "ferry"}),
    ("POST", "/v1/chat/completions", {"model": COLLECTION, "messages": [{"role": "user", "content": "ferry?"}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_route_answers_421_to_another_host_and_200_to_loopback_names(server, method, path, body):
    refused = httpx.request(method, server.url + path, json=body, headers=EVIL, timeout=120)
    assert refused.status_code == 421, refused.text
    assert refused.json()["error"]["code"] == "host_not_allowed" and "--allowed-host" in refused.text
    port = server.url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "rag.internal"):  # the last one: --allowed-host
        ok = httpx.request(method, server.url + path, json=body, headers={"Host": host}, timeout=300)
        assert ok.status_code == 200, (host, ok.text)


def test_mcp_refuses_another_host_too(server):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", **EVIL}
    assert httpx.post(f"{server.url}/mcp", json=body, headers=headers, timeout=60).status_code == 421
