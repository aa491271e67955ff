"""The OpenAI-compatible API end to end: the official `openai` client against real `rag serve` processes.

Three servers over copies of one small index (tests/data/docs):
  * `served`: the real embedded LLM (SmolLM2, temperature 0), no key - answers, streams, errors.
  * `locked`: RAG_API_KEY set, and Ollama configured at a port where nothing listens - 401 and 503.
  * `echoing`: the Ollama backend talking to tests/ollama_standin.py (a stand-in server: no Ollama can
    be installed here) whose reply echoes the prompt it got, so ten concurrent conversations can
    each be checked for their own words and no one else's without ten slow model runs.
"""

from __future__ import annotations

import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from rag.settings import Settings
from tests.api_server import rag_serve, server_env
from tests.conftest import free_port
from tests.helpers import copy_docs, sync
from tests.ollama_standin import OllamaStandin, StandinConfig

COLLECTION = "apidocs"
ON_TOPIC = "What is a sourdough starter?"
OFF_TOPIC = "Who won the football world cup in 1998?"
CITATION = re.compile(r"\[\d+\]")


def bare(text: str) -> str:
    """The text without [n] markers and whitespace (where the citation check may have put a marker)."""
    return re.sub(r"\s+", "", CITATION.sub("", text))


@pytest.fixture(scope="module")
def index_home(tmp_path_factory, embedder) -> Path:
    """A home with two collections: all test documents, and one with the notes folder only."""
    root = tmp_path_factory.mktemp("api-index")
    docs = copy_docs(root / "docs")
    home = root / "home"
    sync(Settings(home=home, collection=COLLECTION), embedder, [docs])
    sync(Settings(home=home, collection="notes-only"), embedder, [docs / "notes"])
    return home


def _home_copy(index_home: Path, name: str) -> Path:
    # each server gets its own copy: two processes must not share one embedded Chroma directory
    dest = index_home.parent / name
    shutil.copytree(index_home, dest)
    return dest


@pytest.fixture(scope="module")
def served(index_home, model_cache):
    home = _home_copy(index_home, "served")
    # generate: these tests are about the model's answers through the API (quotes are the bundled model's default)
    env = server_env(home, model_cache, llm="embedded", temperature="0", max_answer_tokens="96", answer_mode="generate")
    with rag_serve(home, env, "--collection", COLLECTION) as server:
        yield server


@pytest.fixture(scope="module")
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.v1, api_key="unused-on-localhost", timeout=600, max_retries=0)


@pytest.fixture(scope="module")
def sourdough(client):
    """One real answer (non-streamed), shared by the tests that compare with it."""
    return client.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": ON_TOPIC}])


def stream_parts(stream) -> tuple[list[str], list[dict], dict]:
    """(content deltas, Open WebUI events, the last chunk's extra fields) of a streamed completion,
    with the position of each event relative to the text recorded as `after_text`."""
    deltas, events, last = [], [], {}
    for chunk in stream:
        extra = chunk.model_extra or {}
        if "event" in extra:
            events.append({**extra["event"], "after_text": bool("".join(deltas))})
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            if choice.finish_reason:
                last = {**extra, "finish_reason": choice.finish_reason}
    return deltas, events, last


# -- models, answers, streams ------------------------------------------------------------------


def test_models_are_the_collections(client):
    ids = {m.id for m in client.models.list()}
    assert ids == {COLLECTION, "notes-only"}
    assert client.models.retrieve("notes-only").owned_by == "ragspace"


def test_answer_carries_sources_and_checks(sourdough):
    text = sourdough.choices[0].message.content
    extra = sourdough.model_extra
    assert sourdough.choices[0].finish_reason == "stop" and sourdough.model == COLLECTION
    assert text and "yeast" in text.lower() and not extra["abstained"]
    sources = extra["sources"]
    assert Path(sources[0]["path"]).name == "sourdough.txt"
    assert set(sources[0]) >= {"n", "path", "page", "score", "text", "start", "end", "chunk_id"}
    assert sources[0]["text"] in Path(sources[0]["path"]).read_text()
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    assert cited and cited <= {s["n"] for s in sources}  # every citation points at a listed source
    assert isinstance(extra["unsupported"], list) and extra["rewritten_query"] is None
    assert extra["searched_query"] == ON_TOPIC
    assert extra["backend"] == "embedded"


def test_streamed_answer_reassembles_to_the_same_text(client, sourdough):
    stream = client.chat.completions.create(
        model=COLLECTION, messages=[{"role": "user", "content": ON_TOPIC}], stream=True
    )
    deltas, events, last = stream_parts(stream)
    whole = sourdough.choices[0].message.content
    assert len(deltas) > 1 and last["finish_reason"] == "stop"
    # the checked text equals the non-streamed answer; the deltas are the model's own words, which
    # differ from it at most in the [n] markers the citation check removed or added afterwards
    assert last["answer"] == sourdough.model_extra["answer"]
    assert whole.startswith(last["answer"] + "\n\nSources:\n")
    assert bare("".join(deltas)) == bare(whole)  # the Sources list streamed as the last text
    assert last["sources"] == sourdough.model_extra["sources"]
    sent = [e for e in events if e["type"] == "source"]
    assert sent and not any(e["after_text"] for e in sent)  # sources arrive before the text
    assert {e["data"]["source"]["id"] for e in sent} >= {s["chunk_id"] for s in last["sources"]}
    assert sent[0]["data"]["document"][0] == last["sources"][0]["text"]
    # named [1] as the answer cites it; the cosine under its name, and under Open WebUI's key
    first = sent[0]["data"]
    assert first["source"]["name"].startswith("[1] ") and last["sources"][0]["n"] == 1
    assert first["similarities"] == first["distances"] == [last["sources"][0]["score"]]
    assert isinstance(last["also_near"], list)


def test_off_topic_question_abstains_with_the_closest_passages(client):
    reply = client.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": OFF_TOPIC}])
    assert reply.model_extra["abstained"] and "do not contain" in reply.choices[0].message.content
    assert reply.model_extra["sources"] and reply.model_extra["backend"] is None  # no model was asked
    deltas, events, last = stream_parts(
        client.chat.completions.create(
            model=COLLECTION, messages=[{"role": "user", "content": OFF_TOPIC}], stream=True
        )
    )
    assert "".join(deltas) == reply.choices[0].message.content and last["abstained"]
    assert len([e for e in events if e["type"] == "source"]) == len(last["sources"])


def test_the_stream_on_the_wire_is_data_lines_ending_in_done(served):
    body = {"model": COLLECTION, "messages": [{"role": "user", "content": OFF_TOPIC}], "stream": True}
    with httpx.stream("POST", f"{served.v1}/chat/completions", json=body, timeout=600) as response:
        raw = response.read().decode()
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert "\r" not in raw and raw.endswith("\n\n")
    frames = [f for f in raw.split("\n\n") if f and not f.startswith(":")]  # ":" lines: keep-alive comments
    assert all(f.startswith("data: ") and "\n" not in f for f in frames), frames[:3]
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(f.removeprefix("data: ")) for f in frames[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant" and chunks[-1]["abstained"]


def test_extra_fields_reach_the_engine(client):
    """top_k, path_glob and threshold through extra_body (threshold 0.99: abstains, so no LLM call)."""
    reply = client.chat.completions.create(
        model=COLLECTION,
        messages=[{"role": "user", "content": "How many moons does Mars have?"}],
        extra_body={"top_k": 2, "path_glob": "*.csv", "threshold": 0.99},
    )
    extra = reply.model_extra
    assert extra["abstained"] and 1 <= len(extra["sources"]) <= 2
    assert all(s["path"].endswith(".csv") for s in extra["sources"])


# -- errors --------------------------------------------------------------------------------------


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no-such-thing", messages=[{"role": "user", "content": ON_TOPIC}])
    body = err.value.body
    assert body["code"] == "model_not_found" and "rag ingest" in body["message"] and COLLECTION in body["message"]


@pytest.mark.parametrize(
    "messages, says",
    [
        ([], "empty"),
        ([{"role": "user", "content": "   "}], "no text"),
        ([{"role": "user", "content": ON_TOPIC}, {"role": "assistant", "content": "Yes."}], "'assistant'"),
        ([{"content": ON_TOPIC}], "role"),
    ],
)
def test_bad_messages_are_400(client, messages, says):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=COLLECTION, messages=messages)
    assert says in err.value.body["message"] and err.value.body["type"] == "invalid_request_error"


def test_malformed_json_is_400_in_openai_format(served):
    r = httpx.post(
        f"{served.v1}/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


# -- embeddings and retrieval --------------------------------------------------------------------


def test_embeddings_are_the_collections_vectors(client, embedder):
    import numpy as np

    texts = ["wild yeast culture", "the red planet"]
    expected = embedder.embed(texts)
    packed = client.embeddings.create(model=COLLECTION, input=texts)  # the client asks for base64
    floats = client.embeddings.create(model=COLLECTION, input=texts[0], encoding_format="float")
    assert [d.index for d in packed.data] == [0, 1] and packed.usage.prompt_tokens > 0
    assert np.allclose([d.embedding for d in packed.data], expected, atol=1e-5)
    assert np.allclose(floats.data[0].embedding, expected[0], atol=1e-5)


def test_retrieve_returns_sources_only(served):
    r = httpx.post(
        f"{served.v1}/retrieve",
        json={"query": "ZX-4471 disk full", "collection": COLLECTION, "top_k": 3, "hybrid": True},
        timeout=60,
    )
    body = r.json()
    assert r.status_code == 200 and 1 <= len(body["sources"]) <= 3
    assert Path(body["sources"][0]["path"]).name == "troubleshooting.md"
    glob = httpx.post(f"{served.v1}/retrieve", json={"query": "planets", "path_glob": "notes/*"}, timeout=60)
    assert all("/notes/" in s["path"] for s in glob.json()["sources"])
    missing = httpx.post(f"{served.v1}/retrieve", json={"query": "x", "collection": "nope-nope"}, timeout=60)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


# -- a key, and an LLM that is down -------------------------------------------------------------


@pytest.fixture(scope="module")
def locked(index_home, model_cache):
    home = _home_copy(index_home, "locked")
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens here: Ollama is "down"
    env = server_env(home, model_cache, api_key="s3cret-key", llm="ollama:llama3.2", ollama_host=nobody)
    with rag_serve(home, env, "--collection", COLLECTION) as server:
        yield server


def test_a_configured_key_is_required(locked):
    with pytest.raises(openai.AuthenticationError) as err:
        openai.OpenAI(base_url=locked.v1, api_key="wrong", max_retries=0).models.list()
    assert err.value.status_code == 401 and "RAG_API_KEY" in err.value.body["message"]
    assert httpx.get(f"{locked.v1}/models").status_code == 401  # no Authorization header at all
    assert httpx.post(f"{locked.url}/mcp", json={}).status_code == 401  # MCP is behind the key too
    assert httpx.get(f"{locked.url}/health").status_code == 200  # the readiness probe is not
    ok = openai.OpenAI(base_url=locked.v1, api_key="s3cret-key", max_retries=0)
    assert COLLECTION in {m.id for m in ok.models.list()}


@pytest.mark.parametrize("stream", [False, True])
def test_llm_down_is_503_with_the_reason(locked, stream):
    ok = openai.OpenAI(base_url=locked.v1, api_key="s3cret-key", max_retries=0, timeout=120)
    with pytest.raises(openai.APIStatusError) as err:
        ok.chat.completions.create(model=COLLECTION, messages=[{"role": "user", "content": ON_TOPIC}], stream=stream)
    assert err.value.status_code == 503
    assert "Ollama is not reachable" in err.value.body["message"] and "ollama serve" in err.value.body["message"]


# -- concurrency ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def echoing(index_home, model_cache):
    home = _home_copy(index_home, "echoing")
    with OllamaStandin(StandinConfig()) as standin:
        env = server_env(home, model_cache, llm="ollama:llama3.2", ollama_host=standin.host, condense="heuristic")
        with rag_serve(home, env, "--collection", COLLECTION) as server:
            yield server


TOPICS = [  # (question, the file its best source must come from)
    ("How many moons does Mars have", "mars.md"),
    ("How long does sourdough dough rise", "sourdough.txt"),
    ("What does TCP guarantee about delivery", "tcp.html"),
]


def conversation(i: int) -> tuple[list[dict], str]:
    """Messages of conversation i, all carrying its own marker word `convNq`."""
    marker = f"conv{i}q"
    if i % 2:  # a follow-up: only the history says what "it" is
        return [
            {"role": "user", "content": f"What does error code ZX-4471 mean? Ticket {marker}."},
            {"role": "assistant", "content": "The destination disk is full [1]."},
            {"role": "user", "content": f"How do I fix it ({marker})?"},
        ], "troubleshooting.md"
    question, path = TOPICS[(i // 2) % len(TOPICS)]
    return [{"role": "user", "content": f"{question} ({marker})?"}], path


def test_ten_concurrent_conversations_do_not_cross_talk(echoing):
    client = openai.OpenAI(base_url=echoing.v1, api_key="x", max_retries=0, timeout=600)

    def ask(i: int) -> tuple[str, dict]:
        messages, _ = conversation(i)
        if i % 3 == 0:  # some streamed, some not
            deltas, _, last = stream_parts(
                client.chat.completions.create(model=COLLECTION, messages=messages, stream=True)
            )
            return "".join(deltas), last
        reply = client.chat.completions.create(model=COLLECTION, messages=messages)
        return reply.choices[0].message.content, reply.model_extra

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(ask, range(10)))
    for i, (text, extra) in enumerate(results):
        own, others = f"conv{i}q", [f"conv{j}q" for j in range(10) if j != i]
        everything = text + json.dumps(extra)
        assert text.startswith("Stand-in answer to:") and own in text  # the model saw this question
        assert not [o for o in others if o in everything], f"conversation {i} saw another's words"
        assert Path(extra["sources"][0]["path"]).name == conversation(i)[1]
        if i % 2:  # the follow-up was rewritten with its own history
            assert "ZX-4471" in extra["rewritten_query"] and own in extra["rewritten_query"]
