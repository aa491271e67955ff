"""POST /v1/chat/completions: one answer, whole or as server-sent events, in OpenAI's format.

Streaming order: a role chunk; Open WebUI `source` events for the passages the model reads (sent
as soon as retrieval has them, before any text); the text as `delta.content`; the "Sources" list
(rag.answer.footnotes, unless turned off) as one more delta; a last chunk with `finish_reason` and
ragspace's fields (`sources` actually used, `unsupported`, `abstained`, ..., and `answer`, the
checked text without the list: the citation check may remove or add [n] markers after the model
has written, so `answer` can differ from the streamed deltas in those markers); with
`stream_options.include_usage`, a chunk with no choices and `usage`, as OpenAI sends; `data: [DONE]`.

The HTTP status is decided before the first byte: the first answer piece is awaited before the
response starts, so an unknown collection (404), a bad request (400) or an LLM that is down
(503) get their status and OpenAI's error body, not a broken stream.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Generator, Iterator
from itertools import chain

from sse_starlette import ServerSentEvent

from api.errors import error_status
from api.limits import check_count, check_text
from api.openai_format import (
    ChatRequest,
    answer_fields,
    chat_completion,
    chunk,
    completion_id,
    error_body,
    usage,
    webui_source_event,
)
from api.service import RagService
from rag.answer.footnotes import footnotes
from rag.answer.sources import arrange
from rag.llm import LLMError
from rag.types import Answer, Source

log = logging.getLogger(__name__)
SEP = "\n"  # frames end in a blank line of "\n" (sse-starlette's default is "\r\n"), as OpenAI's do
DONE = ServerSentEvent("[DONE]", sep=SEP)


def sse(obj: dict) -> ServerSentEvent:
    """One `data:` event holding `obj` as JSON (json escapes newlines, so it stays one line)."""
    return ServerSentEvent(json.dumps(obj, ensure_ascii=False), sep=SEP)


class _Seen:
    """Sources a retrieval reported, kept for the stream to send before the text."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.sources: list[Source] = []

    def __call__(self, found: list[Source]) -> None:
        # numbered as the engine will list them, so the early `[n] file` names match the answer's [n]
        self.sources = arrange([s for s in found if s.score >= self.threshold])[0]


def _events(service: RagService, req: ChatRequest, on_sources=None) -> tuple[str, Iterator]:
    settings = service.settings
    check_count("messages", len(req.messages), settings.api_max_messages, "api_max_messages")
    for message in req.messages:  # the history is put into the prompt too: each turn is capped like the question
        check_text("message", message.text(), settings)
    question, history = req.question_and_history()
    collection = service.collection_name(req.model)
    return collection, service.stream(question, history, collection, on_sources=on_sources, **req.engine_options())


def answer_once(service: RagService, req: ChatRequest) -> dict:
    """The whole completion (stream: false)."""
    collection, events = _events(service, req)
    try:
        answer = next(e for e in events if isinstance(e, Answer))
        _llm_failed(answer)
    except LLMError:
        service.forget(collection)
        raise
    return chat_completion(collection, answer, _footnotes(service, req, answer))


def _footnotes(service: RagService, req: ChatRequest, answer: Answer) -> str:
    wanted = req.footnotes if req.footnotes is not None else service.settings.api_footnotes
    return footnotes(answer) if wanted else ""


def _llm_failed(event) -> None:
    """The engine falls back to quotes when the model cannot run (the CLI and UI show them); an API
    client asked this model for a completion, so it gets the failure as a 503 with the reason."""
    if isinstance(event, Answer) and event.llm_error:
        raise LLMError(event.llm_error)


def start_stream(service: RagService, req: ChatRequest) -> Generator[ServerSentEvent, None, None]:
    """SSE frames of one answer; raises the request's error before yielding anything (see module doc)."""
    threshold = req.threshold if req.threshold is not None else service.settings.relevance_threshold
    seen = _Seen(threshold)
    collection, events = _events(service, req, on_sources=seen)
    try:
        first = next(events)  # retrieval, and the model's first piece: the errors worth a status code
        head = [first]
        if isinstance(first, str):  # quotes shown because the model failed come whole, its Answer right after
            head.append(next(events))
            _llm_failed(head[-1])
    except LLMError:
        service.forget(collection)
        raise
    return _frames(service, req, collection, head, events, seen)


def _frames(
    service: RagService, req: ChatRequest, collection: str, head: list, events: Iterator, seen: _Seen
) -> Generator[ServerSentEvent, None, None]:
    cid = completion_id()
    sent: set[str] = set()

    def sources(items: list[Source]) -> Generator[ServerSentEvent, None, None]:
        for s in items:
            if s.id not in sent:
                sent.add(s.id)
                yield sse(chunk(cid, collection, None, event=webui_source_event(s)))

    yield sse(chunk(cid, collection, {"role": "assistant", "content": ""}))
    yield from sources(seen.sources)
    streamed = False
    try:
        for event in chain(head, events):
            if isinstance(event, Answer):
                yield from sources(event.sources)
                if not streamed and event.text:  # an abstention (or a reply that came whole)
                    yield sse(chunk(cid, collection, {"content": event.text}))
                if notes := _footnotes(service, req, event):
                    yield sse(chunk(cid, collection, {"content": notes}))
                yield sse(chunk(cid, collection, {}, "stop", **answer_fields(event)))
                if req.stream_options and req.stream_options.include_usage:
                    yield sse(chunk(cid, collection, None, usage=usage(event)))
                break
            streamed = True
            yield sse(chunk(cid, collection, {"content": event}))
    except Exception as exc:  # after the first byte the status is sent: report in the stream
        if isinstance(exc, LLMError):
            service.forget(collection)
        else:
            log.exception("streaming an answer failed")
        _, kind, code = error_status(exc)
        yield sse(error_body(str(exc), kind, code))
    finally:
        close = getattr(events, "close", None)
        if close:
            close()  # frees the model when the client went away mid-answer
    yield DONE


async def in_thread(frames: Generator[ServerSentEvent, None, None]) -> AsyncIterator[ServerSentEvent]:
    """Iterate a blocking generator in worker threads; close it when the client disconnects."""
    import anyio
    from anyio import to_thread

    try:
        while True:
            item = await to_thread.run_sync(next, frames, None)  # frames are never None
            if item is None:
                return
            yield item
    finally:
        with anyio.CancelScope(shield=True):  # a disconnect cancels us; the model must still be freed
            await to_thread.run_sync(frames.close)
