"""The `rag` command line: a thin edge over rag/, ingest/ and the rooms above them.

Each command lives in its own module of this package and is imported only when it runs (or when
help lists it): see COMMANDS. Adding a command or a group is one module plus one line there.

Exit codes: 0 success; 1 some files failed to ingest (the rest were ingested); 2 a usage,
settings, model or store error (nothing was changed); 3 an unexpected error (see cli.crash).
"""

from __future__ import annotations

import json
import logging
import sys

import typer

from cli.lazy import lazy_group
from rag.errors import RagError

log = logging.getLogger(__name__)

# name -> "module:attribute": a plain function for a command, a typer.Typer for a group of commands.
# `rag --help` lists them in this order.
COMMANDS: dict[str, str] = {
    "ingest": "cli.ingest:ingest",
    "status": "cli.ingest:status",
    "remove": "cli.ingest:remove",
    "ask": "cli.ask:ask",
    "chat": "cli.ask:chat",
    "doctor": "cli.doctor:doctor",
    "serve": "cli.serve:serve",
    "mcp": "cli.serve:mcp",
    "eval": "cli.eval:eval_app",
    "space": "cli.space:space_app",
    "conversations": "cli.conversations:conversations_app",
}

app = typer.Typer(
    cls=lazy_group(COMMANDS),
    help="ragspace: chat with a folder of documents, locally. Start with `rag ingest FOLDER`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Print the traceback of an unexpected error (any position; or RAG_DEBUG=1)."
    ),
    trust_config: bool = typer.Option(
        False, "--trust-config", help="Let ./rag.toml point chroma_url/ollama_host at another machine (any position)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", help="Show ragspace's debug log on stderr (before the command; or RAG_LOG_LEVEL=debug)."
    ),
) -> None:
    """ragspace: chat with a folder of documents, locally. Start with `rag ingest FOLDER`."""
    # main() takes `--debug` and `--trust-config` out of argv so every subcommand accepts them; this documents them.
    # `--verbose` is the root's own (`rag ingest --verbose` lists unchanged files), so it goes before the command.
    from cli.logs import configure_logging, log_level

    configure_logging(log_level(verbose))
    log.debug("rag %s (Python %s)", " ".join(sys.argv[1:]), sys.version.split()[0])


def main() -> None:
    """Entry point: runs the app and turns errors into a message and an exit code (see module doc)."""
    from cli.crash import report_unexpected, take_debug_flag
    from rag.config_trust import take_trust_flag
    from rag.text.terminal import safe

    debug = take_debug_flag(sys.argv)
    take_trust_flag(sys.argv)
    as_json = _wants_json(sys.argv)
    try:
        _run_for_json() if as_json else app(prog_name="rag")
    except RagError as exc:
        print(f"error: {safe(exc)}", file=sys.stderr)  # errors may quote a path or a document's words
        _json_error(as_json, str(exc), "error", exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        _json_error(as_json, "interrupted", "interrupted", 130)
        sys.exit(130)
    except Exception as exc:  # not ours: one line and exit 3, never the "some files failed" code
        code = report_unexpected(exc, debug)
        _json_error(as_json, f"unexpected {type(exc).__name__}: {exc}", "unexpected", code)
        sys.exit(code)


def _wants_json(argv: list[str]) -> bool:
    end = argv.index("--") if "--" in argv else len(argv)
    return "--json" in argv[1:end]


def _run_for_json() -> None:
    """Run the app so that a usage error (bad option or value) comes back here, to be answered in JSON
    as well: a JSON consumer reads stdout, where click's message never goes."""
    try:
        code = app(standalone_mode=False, prog_name="rag")
    except typer.Abort:
        raise KeyboardInterrupt from None
    except typer.TyperException as exc:  # typer's (vendored) click usage errors: bad option, bad value
        exc.show()  # type: ignore[attr-defined]  # typer's stubs omit click's show() on its exceptions
        _json_error(True, exc.format_message(), "usage", exc.exit_code)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _json_error(as_json: bool, message: str, kind: str, exit_code: int) -> None:
    """With --json, the error as one JSON object on stdout (the message also went to stderr)."""
    if as_json:
        print(json.dumps({"error": {"message": message, "kind": kind, "exit_code": exit_code}}), flush=True)


if __name__ == "__main__":
    main()
