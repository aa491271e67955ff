"""`rag serve` as a hostile client meets it (issue 26): Host headers of other names (DNS rebinding), oversized
requests, wrong types. One real `rag serve` over a tiny index; extract mode, so no LLM is loaded."""

from __future__ import annotations

import httpx
import pytest
from rag.serving.hosts import allowed_hosts, host_name

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
    env = server_env(
        home, model_cache, answer_mode="extract", llm="embedded",
        api_max_body_mb="0.25", api_max_messages="6", api_max_embedding_inputs="8", api_max_text_chars="2000",
    )  # fmt: skip
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


# -- request sizes ------------------------------------------------------------------------------

def _chat(server, messages, **kw):
    body = {"model": COLLECTION, "messages": messages}
    return httpx.post(f"{server.v1}/chat/completions", json=body, timeout=120, **kw)


def test_a_body_over_the_cap_is_413_before_it_is_parsed(server):
    big = {"model": COLLECTION, "messages": [{"role": "user", "content": "ferry " * 60_000}]}  # ~360 KB > 0.25 MB
    r = httpx.post(f"{server.v1}/chat/completions", json=big, timeout=60)
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large", r.text
    assert "api_max_body_mb" in r.json()["error"]["message"]

    def chunks():  # no Content-Length: the body is counted as it arrives
        yield b'{"model": "hostile", "input": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    r = httpx.post(f"{server.v1}/embeddings", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    r = httpx.post(f"{server.url}/mcp", content=b"[" + b"1," * 200_000 + b"1]", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})  # fmt: skip
    assert r.status_code == 413


def test_counts_and_lengths_over_the_caps_are_400_naming_the_setting(server):
    r = httpx.post(f"{server.v1}/embeddings", json={"model": COLLECTION, "input": ["ferry"] * 9}, timeout=60)
    assert r.status_code == 400 and "api_max_embedding_inputs" in r.json()["error"]["message"], r.text
    r = httpx.post(f"{server.v1}/embeddings", json={"model": COLLECTION, "input": ["x" * 2001]}, timeout=60)
    assert r.status_code == 400 and "api_max_text_chars" in r.json()["error"]["message"], r.text
    r = _chat(server, [{"role": "user", "content": "ferry " * 400}])  # 2,400 characters
    assert r.status_code == 400 and "api_max_text_chars" in r.json()["error"]["message"], r.text
    r = _chat(server, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}] * 3 + [
        {"role": "user", "content": "ferry?"}])  # fmt: skip
    assert r.status_code == 400 and "api_max_messages" in r.json()["error"]["message"], r.text
    r = httpx.post(f"{server.v1}/retrieve", json={"query": "ferry " * 400}, timeout=60)
    assert r.status_code == 400 and "api_max_text_chars" in r.json()["error"]["message"], r.text
    at_the_caps = httpx.post(f"{server.v1}/embeddings", json={"model": COLLECTION, "input": ["x" * 2000] * 8})
    assert at_the_caps.status_code == 200 and len(at_the_caps.json()["data"]) == 8


@pytest.mark.parametrize("text", [5, ["ferry"], {"a": 1}, None])
def test_a_text_part_whose_text_is_not_a_string_is_400(server, text):
    r = _chat(server, [{"role": "user", "content": [{"type": "text", "text": text}]}])
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error", r.text
    assert "string" in r.json()["error"]["message"]


def test_text_parts_that_are_strings_still_answer(server):
    r = _chat(server, [{"role": "user", "content": [{"type": "text", "text": "When does the ferry leave?"}]}])
    assert r.status_code == 200 and "noon" in r.json()["choices"][0]["message"]["content"], r.text
