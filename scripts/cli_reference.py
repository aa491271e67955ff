"""Write docs/cli.md from the `rag` command itself: every command and option with its help text.

    .venv/bin/python scripts/cli_reference.py > docs/cli.md

tests/test_cli_reference.py fails when docs/cli.md is not what this prints (a flag added, a help changed).
"""

from __future__ import annotations

import click
import typer

from cli.main import COMMANDS, app


def reference() -> str:
    """docs/cli.md as the commands describe themselves."""
    group = typer.main.get_command(app)
    ctx = click.Context(group, info_name="rag")
    out = ["# The `rag` command", "", "[Back to the README](../README.md)", "",
           "Every command, with its options, as `rag COMMAND --help` prints them. Global options go before the",
           "command: `--verbose` (debug log on stderr; or `RAG_LOG_LEVEL`), `--debug` (tracebacks; or `RAG_DEBUG=1`),",
           "`--trust-config` (let ./rag.toml point at another machine). Exit codes: 0 success, 1 some files failed",
           "(the rest were ingested), 2 a usage, settings, model or store error (nothing changed), 3 a bug (one line",
           "naming the crash log). JSON output (`--json`) is described with each subject's page.", ""]
    def opts(cmd):
        rows = []
        for p in cmd.params:
            if isinstance(p, click.Argument):
                rows.append((p.human_readable_name.upper(), getattr(p, "help", "") or ""))
            elif not p.hidden:
                names = ", ".join(f"`{o}`" for o in p.opts + p.secondary_opts)
                rows.append((names, (p.help or "").replace("|", "\\|")))
        return rows
    def emit(name, cmd, level="##"):
        out.append(f"{level} `rag {name}`")
        out.append("")
        out.append((cmd.help or "").strip().split("\n\n")[0].replace("\n", " "))
        out.append("")
        if isinstance(cmd, click.Group):
            for sub in cmd.list_commands(ctx):
                emit(f"{name} {sub}", cmd.get_command(ctx, sub), "###")
            return
        rows = [r for r in opts(cmd) if r[0] != "`--help`"]
        if rows:
            out.append("| option | meaning |")
            out.append("| --- | --- |")
            out.extend(f"| {a} | {b} |" for a, b in rows)
            out.append("")
    for name in COMMANDS:
        emit(name, group.get_command(ctx, name))
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
