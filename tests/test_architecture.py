"""The shape of ``src/omc_data``: no import cycle between modules, and no module over 700 lines.

The import graph is read from the source with :mod:`ast`, so it sees every import statement: those at
the top of a module, those inside functions (deferred so ``omc-data --help`` stays fast) and those under
``if TYPE_CHECKING:``. A cycle hidden in a function or behind a type-only import is still a cycle to the
reader, and the next refactor turns it into a real one.

How an import statement becomes edges of the graph (the rule the test enforces):

- An edge goes from the importing module to the module the statement **names**, and to nothing else.
  ``import omc_data.a.b`` and ``from omc_data.a.b import f`` name ``omc_data.a.b``; Python also runs
  ``omc_data/__init__.py`` and ``omc_data/a/__init__.py`` on the way, but a parent package is always
  initialised before its submodules, whatever imports what, so those steps are not edges. (So the
  lazy ``__getattr__`` of ``omc_data/__init__.py``, which imports the api, makes a cycle only with
  a module that imports ``omc_data`` itself, by ``import omc_data`` or ``from omc_data import name``
  where ``name`` is not a submodule.)
- ``from pkg import name`` names ``pkg.name`` when that is a module or package of its own, and ``pkg``
  otherwise (``name`` is then an attribute of ``pkg/__init__.py``). ``from pkg import a, b`` gives one
  edge per name.
- An edge to a package is an edge to its ``__init__.py``.
- Relative imports (``from . import x``, ``from ..a import y``) are resolved against the importing
  module's package first.
- Imports of anything outside ``omc_data`` are not edges.

A cycle is any strongly connected set of two or more modules, or a module that imports itself; the
failure names one cycle as ``a -> b -> ... -> a``.
"""

from __future__ import annotations

import ast
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "omc_data"
MAX_LINES = 700


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by the name of its ``__init__``)."""
    found: dict[str, Path] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imported_names(module: str, path: Path, modules: set[str]) -> Iterator[tuple[str, int]]:
    """(target module, line) for every import statement of ``module``, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if is_package(path) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                up = node.level - 1
                assert up < len(base_parts), f"{module}:{node.lineno}: relative import beyond the package"
                base = ".".join(base_parts[: len(base_parts) - up])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if submodule in modules else base), node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: first line importing it}."""
    files = module_files()
    modules = set(files)
    graph: dict[str, dict[str, int]] = {m: {} for m in files}
    for module, path in files.items():
        for target, line in imported_names(module, path, modules):
            if target in modules:
                graph[module].setdefault(target, line)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None: depth-first search for an edge back to the current path."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} -> {b} (line {graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    return "import cycle in src/: " + " -> ".join(cycle) + "\n  " + "\n  ".join(steps)


def test_no_import_cycle_in_src() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the module walk found too few modules: is SRC right?"
    cycle = find_cycle(graph)
    assert cycle is None, describe(cycle, graph)


def test_module_lines_stay_under_the_limit() -> None:
    too_long = {
        str(path.relative_to(SRC)): n
        for path in module_files().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"modules over {MAX_LINES} lines (split them by what a reader looks for): {too_long}"


# -- the checker itself: it must see every kind of import and name the cycle ---------------------------


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("a_text", "expected"),
    [
        ("from omc_data import b\n", ["omc_data.a", "omc_data.b", "omc_data.a"]),
        ("def f():\n    import omc_data.b\n", ["omc_data.a", "omc_data.b", "omc_data.a"]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import g\n",
            ["omc_data.a", "omc_data.b", "omc_data.a"],
        ),
        ("from omc_data.sub import h\n", ["omc_data.a", "omc_data.sub", "omc_data.b", "omc_data.a"]),
        ("import omc_data.sub.c\n", None),  # sub/__init__ runs first, but it is not an edge
        ("import json\n", None),
    ],
    ids=["from-package-import-module", "in-function", "type-checking-relative", "via-init", "parent", "none"],
)
def test_the_checker_sees_every_kind_of_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, a_text: str, expected: list[str] | None
) -> None:
    write_package(
        tmp_path,
        {
            "omc_data/__init__.py": "def __getattr__(name):\n    from omc_data import a\n",
            "omc_data/a.py": a_text,
            "omc_data/b.py": "def g():\n    from . import a\n",
            "omc_data/sub/__init__.py": "from omc_data.b import g as h\n",
            "omc_data/sub/c.py": "X = 1\n",
        },
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    graph = import_graph()
    assert find_cycle(graph) == expected
