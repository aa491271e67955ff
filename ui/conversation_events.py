"""The chat page's conversation list: open, rename, delete, new chat, export downloads.

Every event here returns (session, chatbot, sources panel, *PANEL): PANEL is the list, the two
download buttons, the browser-stored current id, the note beside the list and the title box.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rag.conversations import ConversationStore
from ui import conversations as convs
from ui import handlers, render
from ui.handlers import Session
from ui.lazy import gradio as _gr

PANEL = 6  # outputs of `panel()`


class ConversationEvents:
    """Conversation events over one ConversationStore (every user's; each call is scoped to one)."""

    def __init__(self, store: ConversationStore) -> None:
        self.store = store
        self._folder: Path | None = None

    def folder(self) -> Path:
        # one private (0700) folder in the temp dir, where gradio may serve files from
        self._folder = self._folder or Path(tempfile.mkdtemp(prefix="ragspace-export-"))
        return self._folder

    def panel(self, session: Session) -> tuple:
        """(list, Markdown download, JSON download, current id, note, title box) for this session."""
        gr = _gr()
        md, js = convs.export_files(self.store, session, self.folder())
        listed = convs.choices(self.store, session)
        return (
            gr.update(choices=listed, value=session.conversation_id),
            gr.update(value=md, interactive=md is not None),
            gr.update(value=js, interactive=js is not None),
            session.conversation_id or "",
            render.store_note_html(session.store_error),
            convs.title(self.store, session),
        )

    def view(self, session: Session) -> tuple:
        return (session, render.chat_messages(session), render.sources_html(session), *self.panel(session))

    def on_answered(self, session: Session) -> tuple:
        """(session, *PANEL) once an answer is complete: saved (a store that fails costs the saving,
        never the answer, which is already shown), and the list and downloads updated."""
        session = convs.save_finished(self.store, session)
        return (session, *self.panel(session))

    def on_load(self, session: Session, current: str | None, user: str | None) -> tuple:
        """A page (re)load: the user's list, and the conversation this browser showed last."""
        session.user = user or ""
        return self.view(convs.open_conversation(self.store, session, current, missing_ok=True))

    def on_open(self, conversation_id: str | None, session: Session) -> tuple:
        if not conversation_id or conversation_id == session.conversation_id:
            return (session, *([_gr().skip()] * (2 + PANEL)))
        return self.view(convs.open_conversation(self.store, handlers.clear(session), conversation_id))

    def on_new(self, session: Session) -> tuple:
        return self.view(convs.new_chat(convs.save_finished(self.store, handlers.stop(session))))

    def on_rename(self, new_title: str, session: Session) -> tuple:
        return self.view(convs.rename(self.store, session, new_title))

    def on_delete(self, conversation_id: str | None, session: Session) -> tuple:
        return self.view(convs.delete(self.store, session, conversation_id or session.conversation_id))

    def on_stop(self, session: Session) -> tuple:
        return self.view(convs.save_finished(self.store, handlers.stop(session)))


# The browser keeps only the id of the conversation it shows (ids grant nothing: the store
# answers each user with their own conversations only), so a fixed key and secret are enough
# and let the id survive a restart of the server (gradio's default secret is new each start).
BROWSER_KEY = "ragspace-conversation"
BROWSER_SECRET = "ragspace-conversation-id"
