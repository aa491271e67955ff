"""Sub-commands imported only when they run, or when help lists them.

Typer has no lazy groups, so this is click's documented pattern ("Lazily Loading Subcommands" in
click's Complex Applications guide) on Typer's group class: the group's `commands` mapping knows
every name from the start and imports a command's module on first lookup. The names alone
(suggestions for a typo, shell completion) import nothing; `rag --help` imports the command
modules, which import nothing heavy at module level (tests/test_cli_lazy.py checks).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import typer
from typer.core import TyperGroup


def load_command(name: str, target: str) -> Any:
    """The click command for registry entry `name` -> `target` ("module:attribute").

    The attribute is either a `typer.Typer` (a group: `rag eval ...`) or a plain function written
    for Typer (a command: its docstring is the help, its defaults the options).
    """
    module_name, _, attr = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attr)
    if isinstance(obj, typer.Typer):
        command = typer.main.get_command(obj)
    else:
        single = typer.Typer(add_completion=False)  # no --install-completion on every command
        single.command(name=name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyCommands(MutableMapping):
    """A group's commands by name: the registry's are imported on first lookup, then kept."""

    def __init__(self, loaded: Mapping[str, Any], registry: Mapping[str, str]) -> None:
        self._loaded = dict(loaded)
        self._registry = dict(registry)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in self._registry:
                raise KeyError(name)
            self._loaded[name] = load_command(name, self._registry[name])
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._registry.pop(name, None)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        # registry order first: `rag --help` lists the commands as the registry does
        yield from self._registry
        yield from (n for n in self._loaded if n not in self._registry)

    def __len__(self) -> int:
        return len(set(self._registry) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._registry or name in self._loaded


def lazy_group(registry: Mapping[str, str]) -> type[TyperGroup]:
    """A Typer group class whose sub-commands come from `registry` (name -> "module:attribute")."""

    class LazyGroup(TyperGroup):
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.commands = LazyCommands(self.commands, registry)

        def list_commands(self, ctx: Any) -> list[str]:
            return list(self.commands)  # names only: TyperGroup's own reads every command

    return LazyGroup
