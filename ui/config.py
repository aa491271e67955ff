"""The bind-safety check for the chat UI (its settings are fields of `rag.settings.Settings`).

Importing this module does not import gradio.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.errors import ConfigError
from rag.serving.hosts import is_loopback


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:password` -> (user, password); None or "" -> None.

    Raises:
        ConfigError: the value has no ':' or an empty user or password.
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise ConfigError(
            "Invalid --auth-file / RAG_AUTH: use `user:password` with a non-empty user and password."
        )
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
            "this address could read your documents. Add `--auth-file FILE` (a file holding user:password) "
            "or set RAG_AUTH, "
            "or bind to 127.0.0.1 (the default)."
        )
    return credentials


def refuse_auth_flag() -> None:
    """`--auth user:password` would be readable by every user of the machine in `ps`.

    Raises:
        ConfigError: always, naming the two safe ways.
    """
    raise ConfigError(
        "--auth user:password is refused: other users of this machine can read command lines (`ps`). "
        "Put user:password in a file only you can read and pass `--auth-file FILE`, or set RAG_AUTH."
    )


def read_auth_file(path: Path) -> str:
    """The `user:password` held in `path` (its first line).

    Raises:
        ConfigError: the file cannot be read or holds no `user:password`.
    """
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
        mode = Path(path).expanduser().stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the --auth-file {path}: {exc} - check the path and its permissions.") from None
    if mode & 0o077:
        print(f"warning: {path} can be read by other users; `chmod 600 {path}`", file=sys.stderr)
    value = (text.splitlines() or [""])[0].strip()
    parse_auth(value)  # refuses an empty or malformed value now, naming the fix
    return value


def check_tls(host: str, certfile: Path | None, keyfile: Path | None) -> bool:
    """Whether to serve https; warns when a password would cross the network in clear text.

    Raises:
        ConfigError: only one of the two files given, or one is missing.
    """
    if (certfile is None) != (keyfile is None):
        raise ConfigError("Give both --ssl-certfile and --ssl-keyfile (a PEM certificate and its private key).")
    for f in (certfile, keyfile):
        if f is not None and not Path(f).expanduser().is_file():
            raise ConfigError(f"{f} does not exist - give the path of a PEM file.")
    if certfile is None and not is_loopback(host):
        print(
            f"warning: serving http on {host}: passwords and documents cross the network unencrypted; "
            "add --ssl-certfile and --ssl-keyfile to serve https.",
            file=sys.stderr,
        )
    return certfile is not None
