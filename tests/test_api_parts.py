"""The API's parts on their own: the bind rule, the key check, engine options, passages with neighbours."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from api.auth import bearer_ok, check_api_bind
from api.service import ENGINE_OPTIONS, RagService, UnsupportedOption
from rag.errors import ConfigError
from rag.settings import Settings
from tests.helpers import copy_docs, sync


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_key(host):
    check_api_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "myhost.example"])
def test_other_addresses_need_a_key(host):
    with pytest.raises(ConfigError, match="RAG_API_KEY"):
        check_api_bind(host, None)
    check_api_bind(host, "a-long-key")


def test_an_empty_key_is_refused():
    with pytest.raises(ConfigError, match="empty"):
        check_api_bind("127.0.0.1", "  ")


def test_rag_serve_refuses_an_open_port_before_loading_anything(isolated_home):
    out = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "RAG_API_KEY" in out.stderr and "127.0.0.1" in out.stderr


def test_bearer_check():
    assert bearer_ok("Bearer k3y", "k3y") and bearer_ok("bearer  k3y", "k3y")
    assert not bearer_ok(None, "k3y") and not bearer_ok("Bearer k3", "k3y") and not bearer_ok("Basic k3y", "k3y")


class _OldEngine:
    """An engine without `mode` (a stand-in, as in other tests): the option is refused, not dropped."""

    def stream(self, question, history=None, *, top_k=None, threshold=None):
        yield from ()


def test_every_request_option_is_a_keyword_of_the_real_engine():
    from api.openai_format import ChatRequest
    from rag.engine import Engine

    fields = ChatRequest(messages=[{"role": "user", "content": "q"}]).engine_options()
    accepted = inspect.signature(Engine.stream).parameters
    assert set(fields) == set(ENGINE_OPTIONS) and all(ENGINE_OPTIONS[f] in accepted for f in fields)
    opts = {"top_k": 3, "threshold": None, "mode": "extract"}
    assert RagService.engine_options(_OldEngine(), {"top_k": 3, "mode": None}) == {"top_k": 3}
    with pytest.raises(UnsupportedOption, match="mode"):
        RagService.engine_options(_OldEngine(), opts)


def test_passage_comes_with_its_neighbours_stitched_in_order(tmp_path, embedder):
    from rag.index.store import Store

    docs = copy_docs(tmp_path / "docs")
    settings = Settings(home=tmp_path / "home", collection="small-chunks", chunk_size=24, chunk_overlap=6)
    sync(settings, embedder, [docs / "sourdough.txt"])
    service = RagService(settings, embedder, Store(settings))
    got = service.store.get("small-chunks").get(include=["metadatas"])
    by_index = sorted(zip(got["metadatas"], got["ids"]), key=lambda x: x[0]["chunk_index"])
    assert len(by_index) >= 4
    _, middle = by_index[2]

    found = service.passage(middle, neighbours=1)
    assert [p.chunk_index for p in [*found.before, found.passage, *found.after]] == [1, 2, 3]
    text = (docs / "sourdough.txt").read_text()
    first, last = found.before[0], found.after[0]
    assert found.context == text[first.start : last.end]  # overlaps removed, nothing lost
    assert found.to_dict()["n_chunks"] == len(by_index)
    edge = service.passage(by_index[0][1], neighbours=2)
    assert edge.before == [] and [p.chunk_index for p in edge.after] == [1, 2]
