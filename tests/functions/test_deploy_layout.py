"""What a zip deploy or remote build (`func azure functionapp publish`) uploads: the app
root with function_app.py, host.json, requirements.txt and src/, nothing else of weight."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# what a working copy grows besides the tracked files (make install, tests, the demo)
LOCAL_ONLY = {
    ".venv",
    ".retrain",
    "node_modules",
    "local.settings.json",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    "bench-results",
    "test-output",
}
UPLOADED = {"function_app.py", "host.json", "requirements.txt", "src", "README.md", ".funcignore"}


def ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern.rstrip("/")) for pattern in patterns)


def test_funcignore_uploads_only_the_app():
    patterns = [
        line.strip()
        for line in (ROOT / ".funcignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    names = {path.split("/")[0] for path in tracked} | LOCAL_ONLY
    kept = {name for name in names if not ignored(name, patterns)}
    assert {"function_app.py", "host.json", "requirements.txt", "src"} <= kept
    assert kept <= UPLOADED, sorted(kept - UPLOADED)
    assert ignored("local.settings.json", patterns)  # may hold real secrets
