"""Lint, types and the layer rule of DESIGN.md, as tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGE = ROOT / "src" / "retrain"
SDKS = ("azure", "sqlalchemy", "slack_sdk", "psycopg2")
PURE = ("domain", "training", "service", "classifiers")


def test_ruff():
    paths = ["src", "tests", "function_app.py", "scripts", "benchmarks"]
    for args in (["check", *paths], ["format", "--check", *paths]):
        done = subprocess.run(
            [str(BIN / "ruff"), *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_mypy():
    done = subprocess.run(
        [str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_inner_layers_import_no_sdk():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(_imports(path) & set(SDKS))
        for layer in PURE
        for path in (PACKAGE / layer).rglob("*.py")
        if _imports(path) & set(SDKS)
    }
    assert offenders == {}


def test_domain_and_training_do_not_reach_outward():
    for layer in ("domain", "training"):
        for path in (PACKAGE / layer).rglob("*.py"):
            modules = {
                node.module
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module
            }
            outward = {
                m
                for m in modules
                if m.startswith(
                    (
                        "retrain.service",
                        "retrain.adapters",
                        "retrain.entrypoints",
                        "retrain.bootstrap",
                    )
                )
            }
            assert not outward, (path, outward)
