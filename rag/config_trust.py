"""Which rag.toml was read, and whether a rag.toml found in the current folder may send data away.

`rag ingest .` in a folder someone else prepared would read its ./rag.toml; a `chroma_url` or
`ollama_host` there could send every chunk, or every question, to another machine. Such a
value needs the user's word: `--trust-config`, RAG_TRUST_CONFIG=1, or setting it themselves
in the environment or with a flag. A file named by RAG_CONFIG is the user's own choice.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from rag.errors import ConfigError
from rag.serving.hosts import is_loopback

TRUST_ENV = "RAG_TRUST_CONFIG"
TRUST_FLAG = "--trust-config"
# setting -> the environment variables that set it (then the file's value is not used)
REMOTE_SETTINGS = {
    "chroma_url": ("RAG_CHROMA_URL",),
    "ollama_host": ("RAG_OLLAMA_HOST", "OLLAMA_HOST"),
}
_announced: set[str] = set()


def is_loopback_url(url: str) -> bool:
    """Whether `url` (or a bare host:port) points at this machine."""
    return is_loopback(urlsplit(url if "://" in url else f"http://{url}").hostname or "")


def trusted() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


def take_trust_flag(argv: list[str]) -> None:
    """Remove `--trust-config` from `argv` (anywhere before a `--`) and trust for this process."""
    end = argv.index("--") if "--" in argv else len(argv)
    if TRUST_FLAG in argv[:end]:
        argv[:] = [a for i, a in enumerate(argv) if not (i < end and a == TRUST_FLAG)]
        os.environ[TRUST_ENV] = "1"  # at run time, by the edge: child processes trust it too


def check_config_file(path: Path, from_cwd: bool, given: dict) -> None:
    """Announce `path` once per process (on stderr) and refuse an untrusted remote address in it.

    Args:
        path: the rag.toml that was read (nothing happens when it does not exist).
        from_cwd: True when it is ./rag.toml (not named by RAG_CONFIG).
        given: the command-line flags that were given (they win over the file).

    Raises:
        ConfigError: ./rag.toml points chroma_url or ollama_host at another machine and
            nothing says the user trusts it.
    """
    if not path.is_file():
        return
    where = str(path.resolve())
    if where not in _announced:
        _announced.add(where)
        print(f"settings: read {where}", file=sys.stderr)
    if not from_cwd or trusted():
        return
    for key, value in _remote_values(path).items():
        if key in given or any(os.environ.get(env) for env in REMOTE_SETTINGS[key]):
            continue  # the user set it themselves
        raise ConfigError(
            f"{where} (found in the current folder) sets {key} = {value!r}, another machine: your documents "
            f"or questions would be sent there. If you trust this file, run again with {TRUST_FLAG} "
            f"(or set {TRUST_ENV}=1); otherwise set {REMOTE_SETTINGS[key][0]} yourself or remove the line."
        )


def _remote_values(path: Path) -> dict[str, str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # Settings reports a file it cannot read
    return {
        k: str(data[k])
        for k in REMOTE_SETTINGS
        if isinstance(data.get(k), str) and data[k].strip() and not is_loopback_url(data[k])
    }
