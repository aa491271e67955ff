"""The chat UI's logic as plain functions over rag/ objects: no gradio here, so tests need no browser.

Per-user state is a `Session` value that gradio keeps in a `gr.State` (one per browser session);
the only shared object is the `EnginePool` (rag/serving/pool.py, shared with the API), whose
engines hold no per-user state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace

from rag.errors import CollectionNotFound, ConfigError, RagError
from rag.llm import LLMError
from rag.serving.pool import EnginePool
from rag.settings import Settings
from rag.types import Answer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChatOptions:
    """The per-session answer settings (the Settings tab)."""

    top_k: int = 5
    hybrid: bool = True
    threshold: float = 0.3
    temperature: float = 0.1
    llm: str = "auto"
    mode: str = "auto"  # answer_mode: auto | extract | generate | both

    @classmethod
    def from_settings(cls, s: Settings) -> ChatOptions:
        return cls(s.top_k, s.hybrid, s.relevance_threshold, s.temperature, s.llm, s.answer_mode)


@dataclass
class Turn:
    """One question and what came back (streamed text until the Answer arrives)."""

    question: str
    text: str = ""
    answer: Answer | None = None
    error: str | None = None
    stopped: bool = False
    images: list = field(default_factory=list)  # ui.images.ShownImage: shown beside the sources, never sent to the LLM

    @property
    def pending(self) -> bool:
        return self.answer is None and self.error is None and not self.stopped


@dataclass
class Session:
    """Everything one browser session owns: its collection, options and conversation."""

    collection: str
    options: ChatOptions
    turns: list[Turn] = field(default_factory=list)
    user: str = ""  # the signed-in user when auth is on: whose saved conversations these are
    conversation_id: str | None = None  # the saved conversation shown (ui/conversations.py)
    saved: int = 0  # turns of it already saved
    store_error: str | None = None  # the conversation store could not be used: what to do

    @classmethod
    def new(cls, settings: Settings) -> Session:
        return cls(settings.collection, ChatOptions.from_settings(settings))


def answer_images(pool: EnginePool, engine, collection: str, question: str, answer: Answer) -> list:
    """Images matching an answered question (ui/images.py); [] when `image_model` is empty."""
    from ui.images import shown_images

    try:
        store = engine.retriever.store
        return shown_images(pool.settings, store, pool.image_embedder(), collection, question, answer)
    except RagError as exc:  # a broken image setup must not cost the answer
        log.warning("no images for %r: %s", question, exc)
        return []


def engine_history(turns: list[Turn]) -> list[dict]:
    """The conversation as the engine wants it: finished turns only, raw text (not our HTML)."""
    history: list[dict] = []
    for t in turns:
        if t.answer is not None or (t.stopped and t.text):
            history += [
                {"role": "user", "content": t.question},
                {"role": "assistant", "content": t.answer.text if t.answer else t.text},
            ]
    return history


def respond(question: str, session: Session, pool: EnginePool) -> Iterator[Session]:
    """Ask `question` in this session; yields the session after each streamed piece.

    The last turn ends with an `Answer`, or an `error` that says what to do. Closing the
    iterator (the stop button) closes the engine's stream too, which frees the model.
    """
    question = (question or "").strip()
    if not question:
        yield session
        return
    turn = Turn(question)
    history = engine_history(session.turns)
    session.turns.append(turn)
    yield session
    o = session.options
    try:
        with pool.lease(session.collection, o.llm) as engine:
            events = engine.stream(
                question,
                history,
                top_k=o.top_k,
                hybrid=o.hybrid,
                threshold=o.threshold,
                temperature=o.temperature,
                mode=o.mode,
            )
            with closing(events):
                for event in events:
                    if isinstance(event, Answer):
                        turn.answer = event
                        turn.images = answer_images(pool, engine, session.collection, question, event)
                    else:
                        turn.text += event
                    yield session
    except LLMError as exc:
        pool.forget(session.collection, o.llm)
        turn.error = str(exc)
    except CollectionNotFound:
        turn.error = empty_collection_help(session.collection)
    except RagError as exc:
        turn.error = str(exc)
    except Exception as exc:  # a bug must not leave the turn spinning forever
        log.exception("answering %r failed", question)
        turn.error = f"Unexpected error ({type(exc).__name__}: {exc}) - see the server log."
    yield session


def stop(session: Session) -> Session:
    """Mark an answer still being written as stopped (its text so far is kept)."""
    for turn in session.turns:
        if turn.pending:
            turn.stopped = True
    return session


def clear(session: Session) -> Session:
    """A new, empty chat (a saved conversation stays saved); the collection and options stay."""
    return replace(session, turns=[], conversation_id=None, saved=0)


def set_options(
    session: Session,
    top_k: float,
    hybrid: bool,
    threshold: float,
    temperature: float,
    llm: str | None,
    mode: str | None = None,
) -> Session:
    """The session with new answer settings (sliders send floats)."""
    from rag.answer.mode import MODES

    opts = ChatOptions(
        int(top_k),
        bool(hybrid),
        float(threshold),
        float(temperature),
        (llm or "auto").strip() or "auto",
        mode if mode in MODES else session.options.mode,
    )
    return replace(session, options=opts)


def set_collection(session: Session, name: str | None) -> Session:
    """The session switched to collection `name` (which may not exist yet: ingesting creates it).

    Raises:
        ConfigError: the name is not a valid collection name.
    """
    name = (name or "").strip()
    try:
        Settings._valid_collection(name)  # the same rule as `--collection`
    except ValueError as exc:
        raise ConfigError(f"{name!r} is not a valid collection name: {exc}.") from None
    return replace(session, collection=name)


def empty_collection_help(collection: str) -> str:
    return (
        f"Collection {collection!r} has no documents yet - add some in the Documents tab "
        f"(upload files or a zip), or run `rag ingest PATH --collection {collection}`."
    )


# -- status -------------------------------------------------------------------------------


@dataclass
class Status:
    """What the status line shows, and the banners that say what to do."""

    collection: str
    chunks: int
    files: int
    embed_model: str
    llm: str  # backend label, e.g. "embedded (SmolLM2-135M-Instruct.Q4_1.gguf)"
    warnings: list[str] = field(default_factory=list)  # something is wrong: the user must act
    notes: list[str] = field(default_factory=list)  # worth knowing, nothing is broken


def status(settings: Settings, store, session: Session) -> Status:
    """Index size, embedding model and LLM of this session, with banners for what is missing."""
    from ingest.status import collection_status

    rows = collection_status(settings, store, only=session.collection)
    row = rows[0] if rows else {"chunks": 0, "files": 0}
    llm, warnings, notes = describe_llm(settings, session.options.llm)
    if not row["chunks"]:
        warnings.insert(0, empty_collection_help(session.collection))
    return Status(session.collection, row["chunks"], row["files"], settings.embed_model, llm, warnings, notes)


def describe_llm(settings: Settings, spec: str) -> tuple[str, list[str], list[str]]:
    """(label, warnings, notes) for an LLM spec; probes Ollama (1 s) but loads no model."""
    from rag.llm import parse_llm_spec, resolve_llm
    from rag.llm.ollama_backend import ollama_available

    warnings: list[str] = []
    notes: list[str] = []
    try:
        parsed = parse_llm_spec(spec)
    except RagError as exc:
        return f"{spec} (unusable)", [str(exc)], notes
    model = parsed.ollama_model(settings)
    if model is not None and not ollama_available(settings.ollama_host, model):
        fix = f"start it with `ollama serve` and `ollama pull {model}`"
        if parsed.backend == "ollama":
            warnings.append(
                f"Ollama is not answering at {settings.ollama_host} with model {model!r} - "
                f"{fix}, or choose `embedded` in Settings."
            )
            return f"ollama ({model}, unreachable)", warnings, notes
        notes.append(
            f"Ollama is not running at {settings.ollama_host}: answers come from the small "
            f"embedded model. For better answers, {fix}."
        )
    try:
        backend = resolve_llm(settings, spec)
    except RagError as exc:
        return f"{spec} (unusable)", [str(exc)], notes
    return f"{backend.name} ({backend.model})", warnings, notes


def llm_choices(settings: Settings, current: str | None = None) -> list[str]:
    """LLM specs to offer: auto, embedded, the configured GGUF files (`ui_models`), and one per model
    the Ollama server has (if it answers)."""
    from rag.llm.ollama_backend import list_models

    choices = ["auto", "embedded", *(f"embedded:{p}" for p in settings.ui_models)]
    try:
        choices += [f"ollama:{m}" for m in list_models(settings.ollama_host, timeout=1.0)]
    except Exception as exc:  # no server: nothing to list
        log.debug("no Ollama models listed: %s", exc)
    for extra in (settings.llm, current):
        if extra and extra not in choices:
            choices.append(extra)
    return choices


def check_llm(settings: Settings, spec: str | None, current: str | None = None) -> str:
    """The spec, if the server offers it (see `llm_choices`; bare `ollama` is its configured model).

    A browser may name no other model: `embedded:/any/path` would make llama.cpp parse any file,
    and saying whether it exists would reveal the server's files. So every other spec gets the
    same refusal, whatever it names.

    Raises:
        ConfigError: the spec is not one the server offers.
    """
    spec = (spec or "auto").strip() or "auto"
    if spec in ("auto", "embedded", "ollama", settings.llm, current):
        return spec
    if spec in llm_choices(settings):
        return spec
    raise ConfigError(
        "That model is not one this server offers - choose one from the list (Refresh models lists Ollama's). "
        "The server's operator can offer GGUF files with the `ui_models` setting."
    )
