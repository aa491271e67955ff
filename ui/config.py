"""The bind-safety check for the chat UI (its settings are fields of `rag.settings.Settings`).

Importing this module does not import gradio.
"""

from __future__ import annotations

import ipaddress

from rag.errors import ConfigError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:password` -> (user, password); None or "" -> None.

    Raises:
        ConfigError: the value has no ':' or an empty user or password.
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise ConfigError("Invalid --auth / RAG_AUTH: use `user:password` with a non-empty user and password.")
    return user.strip(), password


def check_bind(host: str, auth: str | None) -> tuple[str, str] | None:
    """Refuse to serve on a non-loopback address without authentication.

    Returns:
        The parsed (user, password), or None on loopback without auth.

    Raises:
        ConfigError: naming why and how to fix it.
    """
    credentials = parse_auth(auth)
    if credentials is None and not is_loopback(host):
        raise ConfigError(
            f"Refusing to serve the chat UI on {host} without authentication: anyone who can reach "
            "this address could read your documents. Add `--auth user:password` (or set RAG_AUTH), "
            "or bind to 127.0.0.1 (the default)."
        )
    return credentials
