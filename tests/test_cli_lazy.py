"""The `rag` command imports a sub-command only when it runs: `rag --help` lists them all, loads nothing heavy."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap

import typer
from typer.testing import CliRunner

from cli.lazy import lazy_group, load_command
from cli.main import COMMANDS

HEAVY = (
    "torch", "chromadb", "gradio", "ray", "llama_cpp", "sentence_transformers", "transformers", "llama_index",
    "pydantic_settings",  # rag.settings: half a second of `rag --help` when a command module imports it at the top
)  # fmt: skip
ROOMS = ("ingest", "ui", "eval", "space", "api")


def run_rag_and_list_modules(*args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `rag ARGS` in a fresh interpreter, then report which top-level modules it imported."""
    code = textwrap.dedent(
        """
        import json, runpy, sys
        sys.argv = ["rag", *sys.argv[1:]]
        code = 0
        try:
            runpy.run_module("cli", run_name="__main__")
        except SystemExit as exc:
            code = exc.code
        print(json.dumps(sorted(sys.modules)), file=sys.stderr)
        sys.exit(code)
        """
    )
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    modules = json.loads(out.stderr.strip().splitlines()[-1])
    return out, modules


def short_help(target: str) -> str:
    module, _, attr = target.partition(":")
    obj = getattr(__import__(module, fromlist=[attr]), attr)
    text = obj.info.help if isinstance(obj, typer.Typer) else inspect.getdoc(obj)
    return " ".join(text.split())[:30]


def test_help_lists_every_command_and_imports_nothing_heavy():
    out, modules = run_rag_and_list_modules("--help")
    assert out.returncode == 0
    heavy = [m for m in HEAVY if m in modules]
    assert heavy == [], f"`rag --help` imported {heavy}"
    assert [m for m in ROOMS if m in modules] == []  # the command modules import their rooms when they run
    help_text = " ".join(out.stdout.replace("│", " ").split())
    for name, target in COMMANDS.items():
        assert f" {name} " in help_text, name
        assert short_help(target) in help_text, name


def test_a_command_imports_its_own_module_not_the_others():
    out, modules = run_rag_and_list_modules("doctor", "--help")
    assert out.returncode == 0 and "--llm" in out.stdout
    assert "cli.doctor" in modules
    assert not {"cli.eval", "cli.space", "cli.ask", "cli.serve", "cli.ingest"} & set(modules)
    assert [m for m in HEAVY if m in modules] == []


def test_every_registry_entry_loads_with_the_name_it_is_registered_under():
    for name, target in COMMANDS.items():
        command = load_command(name, target)
        assert command.name == name and command.help, name


def test_a_typo_is_answered_with_the_lazy_names_without_importing_them():
    out, modules = run_rag_and_list_modules("ingets")
    assert out.returncode == 2
    assert "No such command 'ingets'" in out.stderr and "'ingest'" in out.stderr
    assert "cli.ingest" not in modules


def test_adding_a_command_is_one_module_and_one_registry_line(tmp_path, monkeypatch):
    (tmp_path / "hello_cmd.py").write_text(
        textwrap.dedent(
            '''
            import typer

            def hello(name: str = typer.Argument(..., help="Who.")) -> None:
                """Say hello."""
                print(f"hello {name}")

            group = typer.Typer(help="A group of two.", no_args_is_help=True)

            @group.command("one")
            def one() -> None:
                print("one")

            @group.command("two")
            def two() -> None:
                print("two")
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hello_cmd", raising=False)
    app = typer.Typer(cls=lazy_group({"hello": "hello_cmd:hello", "pair": "hello_cmd:group"}), add_completion=False)

    @app.callback()
    def root() -> None:
        """Root."""

    runner = CliRunner()
    listed = runner.invoke(app, ["--help"])
    assert listed.exit_code == 0 and "Say hello." in listed.output and "A group of two." in listed.output
    assert runner.invoke(app, ["hello", "world"]).output == "hello world\n"
    assert runner.invoke(app, ["pair", "two"]).output == "two\n"
    missing = runner.invoke(app, ["hello"])
    assert missing.exit_code == 2 and "Missing argument" in missing.output
