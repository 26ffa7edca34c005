"""The installed `retrain` command as a person runs it: from any folder, on a terminal (a
pseudo-terminal here) with a live progress line, and quiet in a pipe or with --quiet."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

import retrain

BIN = Path(sys.executable).parent


def _environ(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, "LOG_LEVEL": "INFO", "COLUMNS": "120", **extra}


def test_the_console_script_and_python_m_work_from_any_folder(tmp_path):
    script = BIN / "retrain"
    if not script.exists():
        pytest.fail(f"{script} missing: `make` installs the package (pip install -e .)")
    for command in ([str(script)], [sys.executable, "-m", "retrain"]):
        done = subprocess.run(
            [*command, "--version"],
            cwd=tmp_path,
            env=_environ(),  # no PYTHONPATH: the editable install finds src/
            capture_output=True,
            text=True,
            check=False,
        )
        assert (done.returncode, done.stdout) == (0, f"retrain {retrain.__version__}\n")
    assert list(tmp_path.iterdir()) == []


# the demo rows end on AS_OF and the runs see them a few weeks later, whatever today is
AS_OF = "2026-11-01"
PINNED = _environ(PINNED_NOW="2026-11-22T09:00:00+00:00")
PINNED_CLI = [sys.executable, str(Path(__file__).with_name("pinned_cli.py"))]


def _on_a_terminal(args: list[str], home: Path) -> str:
    """Run ``retrain`` (clock pinned) with stdout and stderr on a pseudo-terminal; everything
    it drew."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*PINNED_CLI, *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**PINNED, "RETRAIN_HOME": str(home)},
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=300) == 0, b"".join(chunks)[-3000:]
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_shows_rows_rounds_and_time_left_and_quiet_shows_none(tmp_path):
    demo = subprocess.run(
        [str(BIN / "retrain"), "demo-data", "--rows", "2000", "--as-of", AS_OF],
        env=_environ(RETRAIN_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert "\x1b[2K" not in demo.stderr  # not a terminal: no live line
    # ARTFAM_ROH: its boosting (51 classes) lasts several of the live line's ticks on 2,000
    # rows; KLASSE_ROH's 30 words fit 2,000 rows in about one
    screen = _on_a_terminal(["train", "--model", "ARTFAM_ROH"], tmp_path)
    live = [part.strip() for part in screen.split("\r\x1b[2K") if part.strip()]
    assert any(re.fullmatch(r"ARTFAM_ROH  2,000 rows loaded  · \d+\.\ds", x) for x in live)
    fitting = r"ARTFAM_ROH  fitting: round \d+/400  ≤[\dms. ]+ left  · "
    assert any(re.match(fitting, x) for x in live), live
    assert any(x.startswith("ARTFAM_ROH  evaluating") for x in live), live
    assert "stage fit" in screen and re.search(r"ARTFAM_ROH +1 +promoted", screen)
    quiet = _on_a_terminal(["train", "--model", "KLASSE_ROH", "--dry-run", "--quiet"], tmp_path)
    assert "\x1b[2K" not in quiet and "INFO" not in quiet
    assert "validated (dry run)" in quiet
