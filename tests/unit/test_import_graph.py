"""The package's modules import each other in one direction (DESIGN.md's layers): no circle,
counting every module-level import, those under ``if TYPE_CHECKING:`` included (a circle
there still ties two modules' designs together). Imports inside functions are not counted:
they are how heavy libraries load late."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def module_imports(tree: ast.Module) -> set[str]:
    """Names a module imports at module level (in if/try blocks too)."""
    names: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return names


def import_graph(src: Path) -> dict[str, set[str]]:
    files = {}
    for path in src.rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {
        name: {dep for dep in module_imports(ast.parse(path.read_text())) if dep in files} - {name}
        for name, path in files.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import path that comes back to where it started (one per circle's members)."""
    found, seen = [], set()
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for dep in sorted(graph[node]):
                if dep == start:
                    if frozenset(path) not in seen:
                        seen.add(frozenset(path))
                        found.append([*path, start])
                elif dep not in path and dep > start:  # each circle from its smallest member
                    stack.append((dep, [*path, dep]))
    return found


def test_no_module_of_the_package_imports_itself_back() -> None:
    graph = import_graph(SRC)
    assert len(graph) > 50  # the whole package was read
    assert circles(graph) == []


def test_the_check_sees_a_circle_through_type_checking_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import C\n"
    )
    (package / "c.py").write_text("def f():\n    from pkg import a\nimport pkg.a\n")
    assert circles(import_graph(tmp_path)) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
