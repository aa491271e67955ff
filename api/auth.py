"""Who may call the API: the bind rule (no open port without a key) and the Bearer key check."""

from __future__ import annotations

import hmac
import json

from rag.errors import ConfigError

# Readiness probes carry no data and need no key.
OPEN_PATHS = frozenset({"/health"})


def check_api_bind(host: str, api_key: str | None) -> None:
    """Refuse to serve on a non-loopback address without an API key (the chat UI's rule, for keys).

    Raises:
        ConfigError: naming why and how to fix it.
    """
    # the chat UI's own loopback test, so both edges draw the line in the same place
    from rag.serving.hosts import is_loopback

    if api_key is not None and not api_key.strip():
        raise ConfigError("RAG_API_KEY is set but empty - set a long random key, or unset it.")
    if not api_key and not is_loopback(host):
        raise ConfigError(
            f"Refusing to serve the API on {host} without a key: anyone who can reach this address could "
            "read your documents. Set RAG_API_KEY (clients then send `Authorization: Bearer KEY`), or bind "
            "to 127.0.0.1 (the default)."
        )


def bearer_ok(header: str | None, api_key: str) -> bool:
    """Whether an Authorization header carries `api_key` (constant-time comparison)."""
    scheme, _, token = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())


class BearerAuth:
    """ASGI middleware: every HTTP request but OPEN_PATHS needs `Authorization: Bearer <api_key>`.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which wraps streamed responses
    (server-sent events, MCP's stream) in an extra task per request.
    """

    def __init__(self, app, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1")
        if bearer_ok(header, self.api_key):
            return await self.app(scope, receive, send)
        body = json.dumps(
            {
                "error": {
                    "message": "Missing or wrong API key - send `Authorization: Bearer KEY` with the key the "
                    "server was started with (RAG_API_KEY).",
                    "type": "authentication_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
            }
        )
        await send({"type": "http.response.body", "body": body})
