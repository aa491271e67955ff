"""Saved conversations in the chat page, as plain functions over rag.conversations (no gradio).

A session saves each finished turn after it was answered; a store that cannot be written (damaged,
locked) leaves `session.store_error` set, to be shown beside the list, and the answer stands.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rag.conversations import ConversationNotFound, ConversationStore, ConversationStoreError, SavedTurn
from rag.conversations.lines import line_ranges
from rag.errors import RagError
from ui.handlers import Session, Turn


def saved_turn(turn: Turn) -> SavedTurn:
    lines = line_ranges(turn.answer.sources) if turn.answer else {}
    return SavedTurn(turn.question, turn.answer, turn.text, turn.error, lines=lines)


def restored_turn(t: SavedTurn) -> Turn:
    # an answer neither finished nor failed was stopped: its text so far was saved
    return Turn(t.question, t.text, t.answer, t.error, stopped=t.answer is None and not t.error)


def save_finished(store: ConversationStore, session: Session) -> Session:
    """Save the turns finished since the last save (the first one starts a conversation)."""
    new = [t for t in session.turns[session.saved :] if not t.pending]
    if not new:
        return session
    try:
        if session.conversation_id is None:
            conv = store.create(new[0].question, session.user, session.collection)
            session.conversation_id = conv.id
        for turn in new:
            store.add_turn(session.conversation_id, saved_turn(turn), session.user)
            session.saved += 1
        session.store_error = None
    except RagError as exc:
        session.store_error = f"Not saved: {exc} Questions are still answered."
    return session


def open_conversation(
    store: ConversationStore, session: Session, conversation_id: str | None, missing_ok: bool = False
) -> Session:
    """The session showing saved conversation `conversation_id` (to be continued).

    `missing_ok`: an id that is gone (deleted in another tab) leaves an empty chat, saying nothing.
    """
    if not conversation_id:
        return session
    try:
        conv = store.get(conversation_id, session.user)
    except ConversationNotFound:
        if not missing_ok:
            session.store_error = "That conversation was deleted - pick another one or start a new chat."
        return session
    except RagError as exc:
        session.store_error = str(exc)
        return session
    session.turns = [restored_turn(t) for t in conv.turns]
    session.conversation_id, session.saved, session.store_error = conv.id, len(conv.turns), None
    return session


def new_chat(session: Session) -> Session:
    """An empty chat (the saved conversation stays in the list)."""
    session.turns, session.conversation_id, session.saved = [], None, 0
    return session


def choices(store: ConversationStore, session: Session) -> list[tuple[str, str]]:
    """(label, id) of the user's conversations, newest first; [] (and store_error) when unreadable.

    A label is the title, the number of questions and the time of the last one."""
    try:
        found = store.list(session.user)
    except ConversationStoreError as exc:
        # a "Not saved" said just before names the same file and fix: keep it
        session.store_error = session.store_error or f"{exc} Questions are still answered."
        return []
    # the question count tells a reader (and the browser test) that the newest answer is saved
    return [(f"{c.title} ({c.n_turns}) · {datetime.fromtimestamp(c.updated):%b %d %H:%M}", c.id) for c in found]


def title(store: ConversationStore, session: Session) -> str:
    if not session.conversation_id:
        return ""
    try:
        return store.get(session.conversation_id, session.user).title
    except RagError:
        return ""


def rename(store: ConversationStore, session: Session, new_title: str) -> Session:
    try:
        if not session.conversation_id:
            raise RagError("Ask a question first: a new chat is saved (and can be renamed) once answered.")
        store.rename(session.conversation_id, new_title, session.user)
        session.store_error = None
    except RagError as exc:
        session.store_error = str(exc)
    return session


def delete(store: ConversationStore, session: Session, conversation_id: str | None) -> Session:
    """Delete `conversation_id`; the chat empties when it was the one shown."""
    if not conversation_id:
        session.store_error = "Pick a conversation in the list to delete it."
        return session
    try:
        store.delete(conversation_id, session.user)
        session.store_error = None
    except RagError as exc:
        session.store_error = str(exc)
        return session
    return new_chat(session) if conversation_id == session.conversation_id else session


def export_files(store: ConversationStore, session: Session, folder: Path) -> tuple[str | None, str | None]:
    """The shown conversation written into `folder` as (Markdown, JSON) files for the download buttons."""
    from rag.conversations.export import file_stem, to_json, to_markdown

    if not session.conversation_id:
        return None, None
    try:
        conv = store.get(session.conversation_id, session.user)
    except RagError as exc:
        session.store_error = session.store_error or str(exc)
        return None, None
    md, js = folder / f"{file_stem(conv)}.md", folder / f"{file_stem(conv)}.json"
    md.write_text(to_markdown(conv), encoding="utf-8")
    js.write_text(to_json(conv), encoding="utf-8")
    return str(md), str(js)
