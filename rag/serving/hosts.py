"""Which Host headers the servers answer: a guard against DNS rebinding, shared by `rag serve` and `rag chat`.

A web page the user opens can make its own domain resolve to 127.0.0.1 and then read a keyless
loopback server as if it were same-origin; the request still carries that page's Host header
(`evil.example:8000`). So on a loopback bind only the loopback names are answered, plus what the
operator lists in `allowed_hosts` (a name behind their own reverse proxy, say); anything else
gets 421 Misdirected Request, as the MCP SDK's own guard answers on /mcp. Off loopback the
API key (or UI login) is the guard and the names clients use are unknown, so only a configured
`allowed_hosts` list is enforced there.

`HostGuard` is plain ASGI (no framework import), so it wraps FastAPI and Gradio's app alike.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")  # answered on a loopback bind
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})  # names that are loopback


def host_name(header: str) -> str:
    """The host part of a Host header (`[::1]:8000` -> `::1`, `Example.COM.:80` -> `example.com`)."""
    value = header.strip().lower()
    if value.startswith("["):  # an IPv6 literal, maybe with a port
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 maybe in brackets) only reaches this machine.

    The one definition: the UI's and the API's bind checks and rag/config_trust.py use it too.
    """
    name = host.strip().strip("[]").lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def allowed_hosts(bind: str, extra: list[str]) -> set[str] | None:
    """Host names a server bound to `bind` answers; None means any (a non-loopback bind with no list)."""
    names = {host_name(h) for h in extra if h.strip()}
    if not names and not is_loopback(host_name(bind)):
        return None
    return names | set(LOOPBACK_NAMES) | {host_name(bind)}


def mcp_host_patterns(bind: str, extra: list[str]) -> list[str]:
    """The same list in the MCP SDK's `TransportSecuritySettings.allowed_hosts` form (any port)."""
    names = sorted(allowed_hosts(bind, extra) or [])
    shown = [f"[{n}]" if ":" in n else n for n in names]
    return [p for n in shown for p in (n, f"{n}:*")]


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class HostGuard:
    """ASGI middleware: requests whose Host is not in `allowed` get 421 before any route runs."""

    def __init__(self, app, allowed: set[str] | None) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] not in ("http", "websocket") or self._ok(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await _misdirected(send)

    def _ok(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"host", b"").decode("latin-1")
        return bool(header) and self.allowed is not None and host_name(header) in self.allowed


async def _misdirected(send: Send) -> None:
    message = (
        "Host header not allowed: this server answers only the names it is configured for "
        "(loopback by default); add the name with --allowed-host (or the `allowed_hosts` setting)."
    )
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": "host_not_allowed"}})
    await send({
        "type": "http.response.start",
        "status": 421,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body.encode()})
