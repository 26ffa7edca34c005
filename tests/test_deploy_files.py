"""Deployment files are checked by their linters and schemas (no Docker engine here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def passes(name: str, *args: str) -> None:
    """Run a checker from requirements-dev.txt; missing fails under CI=true, else skips."""
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: it comes with requirements-dev.txt")
        pytest.skip(f"{name} not installed (make install)")
    done = subprocess.run([found, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_passes_hadolint():
    passes("hadolint", "--failure-threshold", "info", "Dockerfile")


def test_dockerfile_ships_only_the_runtime():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM mcr.microsoft.com/azure-functions/python:4-python3.11" in text
    assert "requirements-dev" not in text and "COPY tests" not in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".retrain", "tests", "node_modules", "local.settings.json"} <= set(ignored)


def test_bitbucket_pipelines_matches_its_schema():
    passes(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.bitbucket-pipelines",
        "bitbucket-pipelines.yml",
    )


def test_pipelines_runs_the_readme_test_command_and_pushes_per_branch():
    import yaml

    pipelines = yaml.safe_load((ROOT / "bitbucket-pipelines.yml").read_text())
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    assert "make test" in pipelines["definitions"]["steps"][0]["step"]["script"]
    assert set(pipelines["pipelines"]["branches"]) == {"develop", "staging", "main"}
    text = (ROOT / "bitbucket-pipelines.yml").read_text()
    assert "--password-stdin" in text and "$ACR_PASSWORD" in text
