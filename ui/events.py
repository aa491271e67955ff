"""Gradio event handlers: thin adapters from component values to ui.handlers / ui.documents and
back to component updates. Shared objects only here; per-user state arrives as the `Session`.
"""

from __future__ import annotations

from collections.abc import Iterator

from rag.conversations import ConversationStore
from rag.errors import RagError
from rag.serving.pool import EnginePool
from rag.settings import Settings
from ui import documents as docs
from ui import handlers, render
from ui.conversation_events import PANEL, ConversationEvents
from ui.handlers import Session
from ui.lazy import gradio as _gr
from ui.uploads import UploadLimits


class Events:
    """The handlers of every UI event, over the shared embedder, store and engine pool."""

    def __init__(self, settings: Settings, embedder, store, pool: EnginePool, ui: Settings):
        self.settings, self.embedder, self.store, self.pool, self.ui = settings, embedder, store, pool, ui
        # image files are taken when the server indexes images (`image_model`), else refused saying how
        self.limits = UploadLimits(ui.upload_max_mb, ui.upload_max_files, ui.zip_max_mb, bool(settings.image_model))
        self.conv = ConversationEvents(ConversationStore.for_home(settings.home))

    # -- chat -------------------------------------------------------------------------------

    def ask(self, question: str, session: Session) -> Iterator[tuple]:
        """Stream the answer to `question`: (chatbot, sources panel, session, question box, *PANEL).

        The finished turn is saved just before it is shown, in the same step: the page ignores a
        question sent while this event still runs, so nothing may follow the answer's appearance.
        A store that fails (damaged, locked) costs the saving and says so, never the answer.
        """
        gr = _gr()
        first, saved = True, False
        for s in handlers.respond(question, session, self.pool):
            final = not s.turns or not s.turns[-1].pending
            panel = (gr.skip(),) * PANEL
            if final and not saved:
                s, *panel = self.conv.on_answered(s)
                saved = True
            # the sources panel changes only when an answer is complete; skip it while streaming
            yield (
                render.chat_messages(s),
                render.sources_html(s) if (first or final) else gr.skip(),
                s,
                "" if first else gr.skip(),
                *panel,
            )
            first = False

    # -- status and settings ----------------------------------------------------------------

    def status(self, session: Session) -> str:
        return render.status_html(handlers.status(self.settings, self.store, session))

    def on_load(self, session: Session, current: str | None = None, user: str | None = None) -> tuple:
        """(status, llm picker, collection picker, docs table, doc picker, folder picker), then
        the conversation view (ConversationEvents.view) of this user and browser."""
        gr = _gr()
        view = self.conv.on_load(session, current, user)
        names = sorted(set(docs.collections(self.store)) | {session.collection})
        llms = handlers.llm_choices(self.settings, session.options.llm)
        return (
            self.status(session),
            gr.update(choices=llms, value=session.options.llm),
            gr.update(choices=names, value=session.collection),
            *self.doc_lists(session.collection),
            *view,
        )

    def on_options(self, top_k, hybrid, threshold, temperature, llm, mode, session: Session) -> tuple:
        try:
            llm = handlers.check_llm(self.settings, llm, session.options.llm)
        except RagError as exc:
            gr = _gr()
            gr.Warning(str(exc))
            llm = session.options.llm  # keep the model this session had; the others still apply
        session = handlers.set_options(session, top_k, hybrid, threshold, temperature, llm, mode)
        return session, self.status(session)

    def on_refresh_models(self, session: Session):
        return _gr().update(choices=handlers.llm_choices(self.settings, session.options.llm))

    # -- documents --------------------------------------------------------------------------

    def doc_lists(self, collection: str) -> tuple:
        """(documents table, document picker, folder picker) of `collection`."""
        gr = _gr()
        found = docs.list_documents(self.settings, self.store, collection)
        folders = docs.roots(self.settings, self.store, collection)
        return (
            render.document_rows(found),
            gr.update(choices=[d.path for d in found], value=None),
            gr.update(choices=folders, value=folders[0] if folders else None),
        )

    def on_ingest(self, paths: list[str] | None, session: Session, progress) -> tuple:
        """Save the uploads and ingest them; `progress` is gradio's tracker (a progress bar)."""
        try:
            report, saved = docs.ingest_uploads(
                self.settings,
                self.embedder,
                self.store,
                session.collection,
                paths or [],
                self.limits,
                lambda f, d: progress(f, desc=d),
                self.pool.image_embedder(),
            )
        except RagError as exc:
            return (*self._failed(exc), _gr().skip())
        return (*self._after(session, report, saved, names=True), None)

    def on_resync(self, folder: str, session: Session, progress) -> tuple:
        try:
            report = docs.resync(
                self.settings, self.embedder, self.store, session.collection, folder, lambda f, d: progress(f, desc=d)
            )
        except RagError as exc:
            return self._failed(exc)
        return self._after(session, report, names=True)

    def on_remove(self, path: str, session: Session) -> tuple:
        try:
            report = docs.remove_document(self.settings, self.store, session.collection, path)
        except RagError as exc:
            return self._failed(exc)
        return self._after(session, report)

    def on_collection(self, name: str, session: Session) -> tuple:
        """(session, collection box, docs table, doc picker, folder picker, status)."""
        gr = _gr()
        try:
            session = handlers.set_collection(session, name)
        except RagError as exc:
            gr.Warning(str(exc))
            return (session, gr.update(value=session.collection), *([gr.skip()] * 4))
        return (session, gr.skip(), *self.doc_lists(session.collection), self.status(session))

    def _after(self, session: Session, report, saved=None, names: bool = False) -> tuple:
        """(summary, report table, docs table, doc picker, folder picker, status, collection box)."""
        gr = _gr()
        names_now = sorted(set(docs.collections(self.store)) | {session.collection}) if names else None
        coll = gr.update(choices=names_now) if names_now else gr.skip()
        return (
            render.report_summary(report, saved),
            render.report_rows(report, saved),
            *self.doc_lists(session.collection),
            self.status(session),
            coll,
        )

    def _failed(self, exc: Exception) -> tuple:
        gr = _gr()
        gr.Warning(str(exc))
        return (f"⚠ {exc}", [], *([gr.skip()] * 5))
