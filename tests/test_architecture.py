"""The house's floors (docs/architecture.md): no import cycle between modules, no arrow pointing up.

Every module of the packages below is parsed (not imported) and each import statement counts,
also those inside functions and under `if TYPE_CHECKING:`: a function-level import is a dependency
that only waits for its first call, and a type-only one still ties two files together. Imports of
the standard library and third-party packages are ignored.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "ingest", "ui", "api", "eval", "space", "cli")

# (rewrite_imports: skip - the names below are the new layout's)
# Floors, lowest first: a module may import from its own floor or below, never from above. The
# longest matching prefix decides a module's floor (`cli`, the `rag` command, is the top floor).
FLOORS: dict[str, int] = {
    "rag": 0,  # the package itself (version, logging's NullHandler)
    "rag.types": 0,
    "rag.errors": 0,
    "rag.text": 0,
    "rag.settings": 1,
    "rag.config_trust": 1,
    "rag.serving.hosts": 1,
    "rag.models": 2,
    "rag.llm": 2,
    "rag.index": 3,
    "rag.protocols": 3,  # the shapes of the injected parts: names Settings and the store's CollectionInfo
    "rag.retrieval": 4,
    "rag.verify": 4,
    "rag.answer": 5,
    "rag.engine": 6,
    "rag.app": 6,
    "rag.serving": 6,
    "rag.conversations": 6,
    "ingest": 7,
    "space": 8,
    "eval": 8,
    "ui": 9,
    "api": 9,
    # the `rag` command: its root and one module per command group
    "cli": 10,
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every module of `packages` under `root`, by dotted name."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")) if (root / package / "__init__.py").exists() else []:
            found[module_name(path, root)] = path
    return found


def imports(path: Path, name: str, known: Mapping[str, Path]) -> set[str]:
    """The known modules `path` (module `name`) imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from its package, one level up per extra dot
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` the module mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import rag.x.y` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    known = modules(root, packages)
    return {name: imports(path, name, known) for name, path in known.items()}


def floor(name: str, floors: Mapping[str, int] = FLOORS) -> int | None:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in floors:
            return floors[".".join(parts[:i])]
    return None


def _is_package_of(a: str, b: str) -> bool:
    return b.startswith(a + ".")


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted; a package's
    `__init__` importing its own sub-modules is not a cycle with them (Python loads it first)."""
    pruned = {a: {b for b in bs if not _is_package_of(a, b) and not _is_package_of(b, a)} for a, bs in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:  # iterative would be longer; the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in pruned.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(pruned):
        if v not in index:
            visit(v)
    return sorted(out)


def upward(edges: Mapping[str, set[str]], floors: Mapping[str, int] = FLOORS) -> list[str]:
    """Every import of a module on a higher floor than the importer's (and modules on no floor)."""
    out = []
    for a, targets in sorted(edges.items()):
        fa = floor(a, floors)
        if fa is None:
            out.append(f"{a}: on no floor - add it to FLOORS")
            continue
        for b in sorted(targets):
            fb = floor(b, floors)
            if fb is not None and fb > fa:
                out.append(f"{a} (floor {fa}) imports {b} (floor {fb})")
    return out


# -- the checks on a tiny hand-made tree: they fail when they should -----------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return graph(tmp_path, ("low", "high"))


def test_a_function_level_import_cycle_is_found(tmp_path):
    edges = _tree(tmp_path, {
        "low/__init__.py": "",
        "low/a.py": "from low.b import f\n",
        "low/b.py": "def f():\n    from low import a\n",
        "low/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from low.d import X\n",
        "low/d.py": "import low.c\n",
        "low/e.py": "from . import a\n",
        "high/__init__.py": "",
    })
    assert edges["low.e"] == {"low.a"}  # relative imports resolve
    assert cycles(edges) == [["low.a", "low.b"], ["low.c", "low.d"]]


def test_an_upward_arrow_and_a_module_on_no_floor_are_found(tmp_path):
    edges = _tree(tmp_path, {
        "low/__init__.py": "from low import a\n",  # a package importing its own module: no cycle
        "low/a.py": "import os\n\ndef g():\n    import high.ui\n",
        "high/__init__.py": "",
        "high/ui.py": "from low.a import g\n",
        "high/extra.py": "",
    })
    floors = {"low": 0, "high.ui": 1, "high": 1}
    assert cycles(edges) == [["high.ui", "low.a"]]
    assert upward(edges, floors) == ["low.a (floor 0) imports high.ui (floor 1)"]
    assert upward(edges, {"low": 0, "high.ui": 1}) == [
        "high: on no floor - add it to FLOORS", "high.extra: on no floor - add it to FLOORS",
        "low.a (floor 0) imports high.ui (floor 1)",
    ]


# -- the project ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project() -> dict[str, set[str]]:
    edges = graph()
    assert len(edges) > 100 and "rag.engine" in edges  # the walk found the code
    return edges


def test_no_import_cycles(project):
    assert cycles(project) == []


def test_every_arrow_points_down_the_floors(project):
    assert upward(project) == []
