"""Saved conversations: the store, the export, the chat page's handlers and the CLI, with the real
engine over the sample documents (quoting: the bundled model's default answer mode, no LLM run)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rag.conversations import ConversationNotFound, ConversationStore, ConversationStoreError, SavedTurn
from rag.conversations.export import to_json, to_markdown
from rag.conversations.lines import line_range
from rag.types import Source
from tests.test_cli import rag
from ui import conversations as convs
from ui import handlers

QUESTION = "Does ragspace send my documents anywhere?"


@pytest.fixture
def store(tmp_path) -> ConversationStore:
    return ConversationStore.for_home(tmp_path / "home", timeout=0.2)


@pytest.fixture
def pool(samples_engine):
    return handlers.EnginePool(samples_engine.settings, lambda s: samples_engine)


def answered(session: handlers.Session, pool, question: str = QUESTION) -> handlers.Session:
    last = session
    for step in handlers.respond(question, session, pool):
        last = step
    return last


def new_session(samples_engine) -> handlers.Session:
    return handlers.Session.new(samples_engine.settings)


def test_a_turn_is_saved_with_its_whole_answer_and_reopens(store, pool, samples_engine):
    session = answered(new_session(samples_engine), pool)
    answer = session.turns[0].answer
    assert answer.sources and answer.mode
    convs.save_finished(store, session)
    assert session.store_error is None and session.conversation_id
    [listed] = store.list()
    assert listed.title == QUESTION and listed.n_turns == 1

    reopened = convs.open_conversation(store, new_session(samples_engine), session.conversation_id)
    again = reopened.turns[0].answer
    assert again.text == answer.text and again.mode == answer.mode and again.spans == answer.spans
    assert [(s.n, s.path, s.text, s.start_char) for s in again.sources] == [
        (s.n, s.path, s.text, s.start_char) for s in answer.sources
    ]
    # a follow-up in the reopened conversation is sent with its history, and saved after it
    follow = answered(reopened, pool, "And does it need the internet?")
    convs.save_finished(store, follow)
    assert store.get(session.conversation_id).n_turns == 2 and len(store.list()) == 1


def test_the_list_is_newest_first_renamed_deleted_and_per_user(store):
    a = store.create("first question", user="ann")
    b = store.create("second question", user="ann")
    store.add_turn(a.id, SavedTurn("first question", text="partial"), user="ann")
    assert [c.id for c in store.list("ann")] == [a.id, b.id]  # a was updated last
    assert store.list("bob") == [] and store.list("") == []
    with pytest.raises(ConversationNotFound, match="rag conversations list"):
        store.get(a.id, user="bob")  # another user's id is "not found", not revealed
    store.rename(a.id, "  Renamed   one ", user="ann")
    assert store.get(a.id, "ann").title == "Renamed one"
    with pytest.raises(ConversationNotFound):
        store.delete(a.id, user="bob")
    store.delete(a.id, user="ann")
    assert [c.id for c in store.list("ann")] == [b.id]


def test_export_holds_citations_quotes_lines_and_mode(store, pool, samples_engine):
    session = convs.save_finished(store, answered(new_session(samples_engine), pool))
    conv = store.get(session.conversation_id)
    answer = conv.turns[0].answer
    doc = json.loads(to_json(conv))
    [turn] = doc["turns"]
    assert turn["question"] == QUESTION and turn["mode"] == answer.mode and turn["answer"] == answer.text
    cited = turn["citations"]
    assert [c["n"] for c in cited] == [s.n for s in answer.sources]
    assert all(c["path"].endswith(".md") and c["passage"] for c in cited)
    # the samples are Markdown files: every passage is found at its lines
    for c in cited:
        first, last = c["lines"]
        lines = Path(c["path"]).read_text(encoding="utf-8").splitlines()[first - 1 : last]
        assert c["passage"].splitlines()[0] in lines[0] and c["where"].startswith("line")
    quoted = [q for c in cited for q in c["quoted"]]
    assert quoted and all(q in answer.text for q in quoted)  # extract mode: the answer is the quotes
    md = to_markdown(conv)
    assert md.startswith(f"# {QUESTION}") and "### Sources" in md and "quoted from the sources" in md
    assert f"`{cited[0]['path']}`, {cited[0]['where']}" in md and f"> {quoted[0].splitlines()[0]}" in md


def test_line_range_only_when_the_file_still_holds_the_passage(tmp_path):
    f = tmp_path / "notes.md"
    f.write_text("one\ntwo\nthree\nfour\n", encoding="utf-8")
    s = Source(1, "id", str(f), None, "two\nthree", 0.5, start_char=4, end_char=13)
    assert line_range(s) == (2, 3)
    f.write_text("changed\ntwo\nthree\n", encoding="utf-8")
    assert line_range(s) is None
    assert line_range(Source(1, "id", str(f), 3, "two", 0.5, 4, 7)) is None  # pages are cited by page


def broken(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not an SQLite database, just bytes " * 100)


def test_a_damaged_database_names_the_file_and_the_fix_and_answers_anyway(store, pool, samples_engine):
    broken(store.path)
    with pytest.raises(ConversationStoreError) as err:
        store.list()
    assert str(store.path) in str(err.value) and f"mv {store.path}" in str(err.value)
    session = answered(new_session(samples_engine), pool)
    assert session.turns[0].answer is not None and session.turns[0].answer.sources  # asked and answered
    convs.save_finished(store, session)
    assert session.store_error.startswith("Not saved") and str(store.path) in session.store_error
    assert convs.choices(store, session) == [] and "damaged" in session.store_error
    store.path.rename(store.path.with_suffix(".broken"))  # the fix the message names
    convs.save_finished(store, session)
    assert session.store_error is None and store.get(session.conversation_id).n_turns == 1


def test_a_locked_database_names_the_file_and_answers_anyway(store, pool, samples_engine):
    store.create("made before the lock")
    holder = sqlite3.connect(store.path)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the file
    try:
        session = answered(new_session(samples_engine), pool)
        assert session.turns[0].answer is not None
        convs.save_finished(store, session)
        assert "locked by another program" in session.store_error and str(store.path) in session.store_error
    finally:
        holder.rollback()
        holder.close()
    convs.save_finished(store, session)  # saved once the lock is gone
    assert session.store_error is None and len(store.list()) == 2


def test_the_page_events_answer_and_show_the_note_when_the_store_is_damaged(samples_engine, pool, tmp_path):
    from ui.events import Events

    settings = samples_engine.settings.model_copy(update={"home": tmp_path / "home"})
    ev = Events(settings, samples_engine.retriever.embedder, samples_engine.retriever.store, pool, settings)
    broken(ev.conv.store.path)
    session = ev.conv.on_load(handlers.Session.new(settings), "", None)[0]
    steps = list(ev.ask(QUESTION, session))
    # the step that shows the finished answer also carries the list and the note beside it
    [(chatbot, _sources, session, _box, *panel)] = [step for step in steps if isinstance(step[4 + 4], str)]
    assert session.turns[0].answer.sources and "rag-answer" in chatbot[-1]["content"]
    note = panel[4]
    assert "damaged" in note and "Questions are still answered" in note and "Not saved" in note


def test_cli_chat_ask_list_export_delete(embedder, isolated_home, tmp_path):
    from rag.index.store import Store
    from rag.settings import Settings
    from ui.launch import ensure_samples

    settings = Settings(home=isolated_home, collection="samples")
    ensure_samples(settings, embedder, Store(settings))
    chat = subprocess_input(["chat", "--cli", "--collection", "samples"], f"{QUESTION}\n\n")
    assert chat.returncode == 0, chat.stderr
    [row] = json.loads(rag("conversations", "list", "--json").stdout)["conversations"]
    assert row["title"] == QUESTION and row["turns"] == 1 and f"conversation {row['id']}" in chat.stderr
    follow = rag("ask", "--collection", "samples", "--conversation", row["id"], "Does it need the internet?")
    assert follow.returncode == 0, follow.stderr
    out = tmp_path / "c.json"
    assert rag("conversations", "export", row["id"], "--format", "json", "-o", str(out)).returncode == 0
    doc = json.loads(out.read_text())
    assert [t["question"] for t in doc["turns"]] == [QUESTION, "Does it need the internet?"]
    assert all(t["citations"] and t["mode"] for t in doc["turns"])
    shown = rag("conversations", "show", row["id"])
    assert shown.returncode == 0 and "## 2. Does it need the internet?" in shown.stdout
    assert rag("conversations", "delete", row["id"]).returncode == 0
    gone = rag("conversations", "show", row["id"])
    assert gone.returncode == 2 and "rag conversations list" in gone.stderr and "Traceback" not in gone.stderr


def test_cli_ask_answers_when_the_database_is_damaged(embedder, isolated_home):
    from rag.index.store import Store
    from rag.settings import Settings
    from ui.launch import ensure_samples

    settings = Settings(home=isolated_home, collection="samples")
    ensure_samples(settings, embedder, Store(settings))
    broken(isolated_home / "conversations.sqlite3")
    out = rag("ask", "--collection", "samples", "--conversation", "new", QUESTION)
    assert out.returncode == 0 and "sources" in out.stdout
    assert "not saved" in out.stderr and "mv " in out.stderr and "conversations.sqlite3" in out.stderr
    listed = rag("conversations", "list")
    assert listed.returncode == 2 and "damaged" in listed.stderr and "Traceback" not in listed.stderr


def subprocess_input(args: list[str], stdin: str):
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "cli", *args]
    return subprocess.run(
        cmd, input=stdin, env=dict(os.environ), capture_output=True, text=True, timeout=600, check=False
    )
