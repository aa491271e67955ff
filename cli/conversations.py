"""`rag conversations list|show|export|delete`, `rag chat --cli` (a terminal chat) and what
`rag ask --conversation ID` uses to continue a saved conversation.

The CLI is the user without auth (user ""), the same one the chat page serves on 127.0.0.1;
`--user NAME` reaches a signed-in user's conversations (the data home's owner may read them all).
A conversation store that cannot be used is reported on stderr; the question is answered anyway.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import typer

conversations_app = typer.Typer(
    help="Saved conversations (the chat page's and `rag chat --cli`'s): list, show, export, delete.",
    no_args_is_help=True,
    add_completion=False,
)
UserOpt = typer.Option("", "--user", help="Whose conversations: a chat-page login name (default: no login).")
IdArg = typer.Argument(..., help="The conversation's id (`rag conversations list` shows them).")


def _store():
    from rag.conversations import ConversationStore
    from rag.settings import load_settings

    return ConversationStore.for_home(load_settings().home)


def _say(text: str, err: bool = False) -> None:
    from rag.text.terminal import safe

    print(safe(text), file=sys.stderr if err else sys.stdout, flush=True)


@conversations_app.command("list")
def list_(user: str = UserOpt, as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Saved conversations, most recent first: id, last update, questions, title."""
    found = _store().list(user)
    if as_json:
        rows = [{"id": c.id, "title": c.title, "updated": c.updated, "turns": c.n_turns} for c in found]
        print(json.dumps({"conversations": rows}))
        return
    if not found:
        _say("No saved conversations yet: ask in `rag chat` (the page or --cli), or `rag ask --conversation new`.")
    for c in found:
        _say(f"{c.id}  {datetime.fromtimestamp(c.updated):%Y-%m-%d %H:%M}  {c.n_turns:>3} Q  {c.title}")


@conversations_app.command()
def show(conversation_id: str = IdArg, user: str = UserOpt) -> None:
    """Print a conversation as Markdown: questions, answers, and each answer's sources."""
    from rag.conversations.export import to_markdown

    _say(to_markdown(_store().get(conversation_id, user)))


@conversations_app.command()
def export(
    conversation_id: str = IdArg,
    fmt: str = typer.Option("md", "--format", "-f", help="md (to read) or json (every citation's fields)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file (default: stdout)."),
    user: str = UserOpt,
) -> None:
    """Export a conversation with its citations (file, page or lines, quoted passages, mode)."""
    from rag.conversations.export import to_json, to_markdown
    from rag.errors import ConfigError

    if fmt not in ("md", "json"):
        raise ConfigError(f"--format {fmt!r} is not one of md, json - choose one.")
    conv = _store().get(conversation_id, user)
    text = to_markdown(conv) if fmt == "md" else to_json(conv)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot write {output}: {exc} - choose a path in a folder you may write.") from None
    _say(f"wrote {output}", err=True)


@conversations_app.command()
def delete(conversation_id: str = IdArg, user: str = UserOpt) -> None:
    """Delete a saved conversation."""
    _store().delete(conversation_id, user)
    _say(f"deleted {conversation_id}", err=True)


class Continued:
    """A saved conversation a terminal question continues; `id` "new" (or None) starts one.

    Store failures are reported on stderr and leave the question answered, unsaved.
    """

    def __init__(self, settings, conversation_id: str | None, user: str = "") -> None:
        from rag.conversations import ConversationStore

        self.store, self.user = ConversationStore.for_home(settings.home), user
        self.collection = settings.collection
        self.id = None if conversation_id in (None, "", "new") else conversation_id
        self.history: list[dict] = []
        self.working = True
        if self.id:
            self._load()

    def _load(self) -> None:
        from rag.conversations import ConversationNotFound, ConversationStoreError

        assert self.id is not None  # called only for a conversation that exists
        try:
            conv = self.store.get(self.id, self.user)
        except ConversationNotFound:
            raise
        except ConversationStoreError as exc:
            self.working = False
            _say(f"warning: {exc} This question is answered without the conversation.", err=True)
            return
        for t in conv.turns:
            if t.answer is not None or t.text:
                self.history += [
                    {"role": "user", "content": t.question},
                    {"role": "assistant", "content": t.answer.text if t.answer else t.text},
                ]

    def save(self, question: str, answer) -> None:
        """Add the answered question (the first one creates the conversation and prints its id)."""
        from rag.conversations import SavedTurn
        from rag.conversations.lines import line_ranges
        from rag.errors import RagError

        if answer is None or not self.working:
            return
        try:
            if self.id is None:
                self.id = self.store.create(question, self.user, self.collection).id
                _say(f'saved as conversation {self.id} (continue: rag ask --conversation {self.id} "...")', err=True)
            self.store.add_turn(self.id, SavedTurn(question, answer, lines=line_ranges(answer.sources)), self.user)
        except RagError as exc:
            _say(f"warning: not saved: {exc}", err=True)
            return
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def chat_loop(settings, conversation_id: str | None = None, user: str = "") -> None:
    """`rag chat --cli`: ask, answer with sources, repeat (an empty line or Ctrl-D ends); every
    answer is saved in the conversation `conversation_id` (or a new one)."""
    from cli.report import print_answer, read_stream
    from rag.app import build_engine

    convo = Continued(settings, conversation_id, user)
    engine = build_engine(settings)
    live = sys.stdout.isatty()
    _say(f"ragspace chat on collection {settings.collection!r}; an empty line or Ctrl-D ends.", err=True)
    while True:
        try:
            question = input("? " if sys.stdin.isatty() else "").strip()
        except EOFError:
            break
        if not question:
            break
        answer, streamed = read_stream(engine.stream(question, convo.history), live)
        print_answer(answer, streamed=streamed if live else None)
        convo.save(question, answer)
