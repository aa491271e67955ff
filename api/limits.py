"""Request-size caps of `rag serve`, checked before any work (issue 26: 2,000 embeddings inputs took 101 s
and 3.5 GB; a 10 MB chat message 32 s of CPU).

- the body: `api_max_body_mb`, answered 413 by `BodyLimit` before the JSON is even parsed;
- counts and lengths: `api_max_messages` per chat, `api_max_embedding_inputs` per embeddings call and
  `api_max_text_chars` per question, query or input, answered 400 by `check_*` before retrieval.

The MCP SDK has a RequestBodyLimitMiddleware, but it answers in plain text; ours answers in the
OpenAI error format every route uses.
"""

from __future__ import annotations

import json

from api.openai_format import error_body
from rag.errors import QuestionError
from rag.settings import Settings


def check_count(what: str, n: int, cap: int, setting: str) -> None:
    """Raises QuestionError (400) when `n` items exceed `cap`."""
    if n > cap:
        raise QuestionError(f"Too many {what}: {n} > {cap}. Send at most {cap} (the server's `{setting}` setting).")


def check_text(what: str, text: str, settings: Settings) -> None:
    """Raises QuestionError (400) when `text` is longer than `api_max_text_chars`."""
    cap = settings.api_max_text_chars
    if len(text) > cap:
        raise QuestionError(
            f"The {what} is too long: {len(text):,} characters > {cap:,}. Shorten it "
            "(the server's `api_max_text_chars` setting)."
        )


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` gets 413 before the route reads it."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            # the server delivers no more than it declared, so the declared size is the whole check
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
            return
        await self._chunked(scope, receive, send)

    async def _chunked(self, scope, receive, send) -> None:
        """A body of unknown length: read it (up to the cap), then hand it on whole."""
        body, message = bytearray(), {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see it
            body.extend(message.get("body", b""))
            if len(body) > self.max_bytes:
                await self._too_large(send)
                return
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, send) -> None:
        mb = self.max_bytes / 2**20
        message = f"The request body is larger than {mb:g} MB (the server's `api_max_body_mb` setting)."
        body = json.dumps(error_body(message, "invalid_request_error", "request_too_large")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
