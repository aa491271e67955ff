"""The OpenAI-compatible API as third-party clients use it: every request option against the real
engine, the "Sources" list at the end of `content`, `usage`, and the real clients from PyPI
(`openai`, simonw's `llm` with an OpenAI-compatible model config, LangChain's `ChatOpenAI`).

One real `rag serve` over a copy of tests/data/docs, with the bundled model at temperature 0 and
the default answer mode (`auto`: quotes for the bundled model, so most answers need no LLM run).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

from rag.settings import Settings
from tests.api_server import rag_serve, server_env
from tests.helpers import copy_docs, sync

COLLECTION = "clientdocs"
QUESTION = "How long does sourdough dough rise?"
MESSAGES = [{"role": "user", "content": QUESTION}]
# "- [1] sourdough.txt, lines 3-7: "quote"" (rag.answer.footnotes)
FOOTNOTE = re.compile(r"^- \[(\d+)\] ([^,\n]+), lines? (\d+)(?:-(\d+))?: \"([^\"\n]+)\"$", re.M)


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("api-clients")
    docs = copy_docs(root / "docs")
    home = root / "home"
    sync(Settings(home=home, collection=COLLECTION), embedder, [docs])
    return home, docs


@pytest.fixture(scope="module")
def server(index, model_cache):
    home, _ = index
    env = server_env(home, model_cache, llm="embedded", temperature="0", max_answer_tokens="48")
    with rag_serve(home, env, "--collection", COLLECTION) as served:
        yield served


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.v1, api_key="unused-on-localhost", timeout=600, max_retries=0)


def ask(client: openai.OpenAI, question: str = QUESTION, **extra):
    return client.chat.completions.create(
        model=COLLECTION, messages=[{"role": "user", "content": question}], extra_body=extra or None
    )


def check_footnotes(content: str, sources: list[dict]) -> list[re.Match]:
    """The content ends with a Sources list whose entries name listed sources, their real lines
    and a piece of their text."""
    assert "\n\nSources:\n- [" in content, content
    notes = list(FOOTNOTE.finditer(content.split("\n\nSources:\n", 1)[1]))
    by_n = {s["n"]: s for s in sources}
    assert notes, content
    for note in notes:
        source = by_n[int(note[1])]
        assert note[2] == Path(source["path"]).name
        lines = Path(source["path"]).read_text().splitlines()
        first, last = int(note[3]), int(note[4] or note[3])
        assert " ".join(source["text"].split()[:3]) in " ".join(" ".join(lines[first - 1 : last]).split())
        assert note[5].rstrip(".").split()[0] in source["text"]
    return notes


# -- every request option, through the real engine -------------------------------------------


@pytest.mark.parametrize("mode", ["extract", "auto"])
def test_quoting_modes_answer_without_the_model(client, mode):
    reply = ask(client, mode=mode)  # `mode` was refused with 400 before (sent on as `answer_mode`)
    extra = reply.model_extra
    assert extra["mode"] == "extract" and extra["backend"] is None and not extra["abstained"]
    assert Path(extra["sources"][0]["path"]).name == "sourdough.txt"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (0, 0, 0)
    check_footnotes(reply.choices[0].message.content, extra["sources"])


def test_generate_and_both_run_the_model_and_count_its_tokens(client):
    generated = ask(client, mode="generate")
    assert generated.model_extra["mode"] == "generate" and generated.model_extra["backend"] == "embedded"
    assert generated.usage.prompt_tokens > 50 and 0 < generated.usage.completion_tokens <= 48 + 8
    assert generated.usage.total_tokens == generated.usage.prompt_tokens + generated.usage.completion_tokens
    both = ask(client, mode="both")
    assert both.model_extra["mode"] == "both" and "**The model's answer:**" in both.choices[0].message.content


def test_an_unknown_mode_is_400_naming_the_modes(client):
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, mode="creative")
    assert "'extract'" in err.value.body["message"] and "mode" in err.value.body["message"]


def test_top_k_hybrid_path_glob_and_threshold_reach_the_engine(client):
    one = ask(client, mode="extract", top_k=1)
    assert len(one.model_extra["sources"]) + len(one.model_extra["also_near"]) == 1
    fused = ask(client, "What does error ZX-4471 mean?", mode="extract", hybrid=True)
    dense = ask(client, "What does error ZX-4471 mean?", mode="extract", hybrid=False)
    assert all(s["fused_score"] is not None for s in fused.model_extra["sources"])
    assert all(s["fused_score"] is None for s in dense.model_extra["sources"])
    only = ask(client, "How many moons does Mars have?", mode="extract", path_glob="*.csv")
    assert only.model_extra["sources"] and all(s["path"].endswith(".csv") for s in only.model_extra["sources"])
    strict = ask(client, mode="extract", threshold=0.99)
    assert strict.model_extra["abstained"] and "Sources:" not in strict.choices[0].message.content


def test_temperature_reaches_the_model(client):
    greedy = [ask(client, mode="generate", temperature=0).model_extra["answer"] for _ in range(2)]
    hot = ask(client, mode="generate", temperature=2.0).model_extra["answer"]
    assert greedy[0] == greedy[1] and hot != greedy[0]


def test_footnotes_off_by_request_leave_the_answer_alone(client):
    plain = ask(client, footnotes=False)
    content = plain.choices[0].message.content
    assert "Sources:" not in content and re.search(r"\[\d\]", content)
    assert content == plain.model_extra["answer"]


def test_streamed_usage_only_when_asked_and_the_list_as_the_last_text(server):
    def frames(**extra) -> list[dict]:
        body = {"model": COLLECTION, "messages": MESSAGES, "stream": True, **extra}
        with httpx.stream("POST", f"{server.v1}/chat/completions", json=body, timeout=600) as r:
            return [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: {")]

    quiet, counted = frames(), frames(stream_options={"include_usage": True})
    assert not any("usage" in f for f in quiet)
    assert counted[-1]["choices"] == [] and counted[-1]["usage"]["total_tokens"] == 0  # quotes: no model ran
    texts = [c["delta"].get("content") for f in counted for c in f["choices"] if c["delta"].get("content")]
    assert texts[-1].startswith("\n\nSources:\n- [")


def test_the_server_option_turns_the_list_off(index, embedder):
    from fastapi.testclient import TestClient

    from api.server import build_app
    from api.service import RagService
    from rag.app import build_store

    home, _ = index
    settings = Settings(home=home, collection=COLLECTION, api_footnotes=False, answer_mode="extract")
    service = RagService(settings, embedder, build_store(settings))
    with TestClient(build_app(service), base_url="http://127.0.0.1") as http:
        off = http.post("/v1/chat/completions", json={"messages": MESSAGES}).json()
        on = http.post("/v1/chat/completions", json={"messages": MESSAGES, "footnotes": True}).json()
    assert "Sources:" not in off["choices"][0]["message"]["content"]
    check_footnotes(on["choices"][0]["message"]["content"], on["sources"])


# -- the clients users have ------------------------------------------------------------------


def test_openai_client_shows_the_answer_and_its_citations(client):
    reply = ask(client)
    check_footnotes(reply.choices[0].message.content, reply.model_extra["sources"])
    stream = client.chat.completions.create(
        model=COLLECTION, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == reply.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 0


@pytest.mark.parametrize("streaming", [True, False])
def test_llm_cli_with_an_openai_compatible_model(server, tmp_path, streaming):
    user = tmp_path / "llm-user"
    user.mkdir()
    (user / "extra-openai-models.yaml").write_text(
        f"- model_id: ragspace\n  model_name: {COLLECTION}\n  api_base: {server.v1}\n"
    )
    env = {**os.environ, "LLM_USER_PATH": str(user), "OPENAI_API_KEY": "unused-on-localhost"}
    args = [sys.executable, "-m", "llm", "-m", "ragspace", QUESTION] + ([] if streaming else ["--no-stream"])
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr  # `--no-stream` crashed on the missing `usage` before
    assert "sourdough.txt, line" in run.stdout and "[1]" in run.stdout.split("Sources:")[0]
    logs = subprocess.run(
        [sys.executable, "-m", "llm", "logs", "--json", "-n", "1"], env=env, capture_output=True, text=True
    )
    logged = json.loads(logs.stdout)[0]
    assert logged["input_tokens"] == 0 and logged["output_tokens"] == 0  # llm recorded our usage


def test_langchain_chat_openai_shows_the_answer_and_its_citations(server):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model=COLLECTION, base_url=server.v1, api_key="unused-on-localhost", max_retries=0)
    reply = chat.invoke(QUESTION)
    assert "\n\nSources:\n- [1] sourdough.txt, line" in reply.content
    assert reply.usage_metadata["total_tokens"] == 0
    streamed = "".join(part.content for part in chat.stream(QUESTION))
    assert streamed == reply.content
