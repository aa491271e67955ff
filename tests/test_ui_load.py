"""Ten users at once through gradio_client: every question answered, no error, no cross-talk.

One embedded SmolLM2 answers the on-topic questions in turn (its lock); off-topic ones abstain
without the model. Each client is its own gradio session, so each must see only its own turns.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.ui_server import running_app
from ui import render

SESSIONS = 10
ON_TOPIC = ["What is ragspace?", "How does ragspace work?", "Does ragspace send my documents anywhere?"]


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    # top_k 2 and 48 answer tokens keep 10 model answers in a modest time on 2 cores
    allowed = tmp_path_factory.mktemp("ui-folders")  # the UI re-syncs only folders it is allowed
    with running_app(
        tmp_path_factory.mktemp("ui-load"), embedder, top_k=2, max_answer_tokens=48, ui_folders=[allowed],
        answer_mode="generate",  # the point is ten sessions sharing the one embedded model
    ) as running:
        yield running


def questions(i: int) -> list[str]:
    """Three questions only session `i` asks: one for the model, two that abstain at once."""
    return [
        f"{ON_TOPIC[i % len(ON_TOPIC)]} (user {i})",
        f"How many legs does spider number {i} have?",
        f"What did the weather in Lima look like on day {i}?",
    ]


def user(url: str, i: int) -> tuple[list[str], list[dict], float]:
    """One browser session's worth of traffic; returns its questions, final chat and seconds taken."""
    from gradio_client import Client

    started = time.perf_counter()
    client = Client(url, verbose=False, download_files=False)
    chat: list[dict] = []
    for q in questions(i):
        chat, *_ = client.predict(q, api_name="/ask")  # then sources, box and the conversation list
    client.close()
    return questions(i), chat, time.perf_counter() - started


def test_ten_concurrent_sessions_get_their_own_answers(app):
    started = time.perf_counter()
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda i: user(app.url, i), range(SESSIONS)))
    total = time.perf_counter() - started
    model_answers = 0
    for asked, chat, _ in results:
        assert len(chat) == 2 * len(asked)
        users = [m["content"] for m in chat if m["role"] == "user"]
        # each session's history holds exactly its own questions, in order (no cross-talk)
        assert [_plain(u) for u in users] == [render.question_html(q) for q in asked]
        for reply in (m["content"] for m in chat if m["role"] == "assistant"):
            text = _plain(reply)
            assert "rag-error" not in text and "Searching the documents" not in text and "rag-meta" in text
            model_answers += "answered by embedded" in text
    assert model_answers >= SESSIONS // 2  # the model really answered, not only abstentions
    slowest = max(seconds for *_, seconds in results)
    print(
        f"\n{SESSIONS} sessions x 3 questions: {total:.1f} s total, slowest session {slowest:.1f} s, "
        f"{model_answers} model answers"
    )


def _plain(content) -> str:
    """A chatbot message's text, whichever shape gradio_client returns (str or [{"text": ...}])."""
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text", content.get("value", "")))
    return str(content)


FILLER_FILES = 100  # about 10 s of embedding on 2 cores; a chat answer takes well under 1 s


def filler(n: int) -> str:
    """A distinct, chunk-sized note (about one 250-token chunk), so ingestion has real work to do."""
    birds = ["gannet", "puffin", "kittiwake", "fulmar", "razorbill", "guillemot"]
    bird = birds[n % len(birds)]
    lines = [f"# Field note {n}: the {bird} colony", ""]
    lines += [
        f"On survey day {n} the {bird} colony on stack {k} held {n * 7 + k * 13} nesting pairs, "
        f"with {k + n % 5} chicks fledged by evening and wind from bearing {(n * 37 + k) % 360} degrees."
        for k in range(8)
    ]
    return "\n".join(lines)


def test_a_long_ingestion_does_not_hold_up_chat(app, tmp_path):
    from gradio_client import Client

    folder = app.settings.ui_folders[0] / "gannets"
    folder.mkdir()
    for n in range(FILLER_FILES):
        (folder / f"note-{n:03}.md").write_text(filler(n), encoding="utf-8")
    ingester, chatter = (Client(app.url, verbose=False, download_files=False) for _ in range(2))
    job = ingester.submit(str(folder), api_name="/resync")
    deadline = time.monotonic() + 60
    while job.status().code.name not in ("PROCESSING", "PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.perf_counter()
    chat, *_ = chatter.predict("How many legs does a spider have?", api_name="/ask")
    answered = time.perf_counter() - started
    assert not job.done(), "the ingestion finished before the chat answer: make it longer"
    assert "closest" in _plain(chat[-1]["content"])  # a real answer (an abstention), not an error
    summary, *_ = job.result(timeout=600)
    assert f"{FILLER_FILES} new" in summary
    print(f"\nchat answered in {answered:.1f} s while {FILLER_FILES} files were being ingested")
    ingester.close()
    chatter.close()
