"""The README's "Adding a classifier" section, followed word for word on a copy of the code,
the demo flow at a small size, and the README's `retrain` commands as written."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _cli(args: list[str], src: Path, home: Path) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRAINING_", "ARTIFACT_", "SLACK_", "POSTGRES_"))
    }
    env.update(PYTHONPATH=str(src), RETRAIN_HOME=str(home), ENABLE_SLACK="false")
    return subprocess.run(
        [sys.executable, "-m", "retrain", *args],
        env=env,
        cwd=src.parent,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    done = _cli(["demo-data", "--rows", "4000", "--as-of", "2026-11-01"], ROOT / "src", home)
    assert done.returncode == 0, done.stderr
    return home


def test_adding_a_classifier_as_the_readme_says(tmp_path: Path, demo_home: Path) -> None:
    section = _section("Adding a classifier")
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 4  # EMISSION_CLASS and SURFACE_TEXT: a module and its registration
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    for block in blocks:
        code = (
            "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())
            + "\n"
        )
        first = code.splitlines()[0]
        path = tmp_path / first.removeprefix("# ").split(" ")[0]
        if "(append)" in first:
            path.write_text(path.read_text() + "\n" + code)
        else:
            path.write_text(code)
    commands = re.findall(r"PYTHONPATH=src \.venv/bin/python -m retrain (train .*)", section)
    assert len(commands) == 2
    outputs = []
    for command in commands:
        done = _cli(command.split(), src, demo_home)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "EMISSION_CLASS  1" in outputs[0]
    assert "SURFACE_TEXT  1" in outputs[1]
    card = json.loads(
        (demo_home / "artifacts/models/EMISSION_CLASS/versions/1/card.json").read_text()
    )
    assert card["feature_schema"]["target"] == ["emission_class"]
    # no time column, no :since: every row of the table trained, nothing invented
    assert "created_at" not in section.split("```python")[1].split("```")[0]
    assert card["data_window"] == {"column": None, "since": None, "first": None, "last": None}
    assert card["rows"]["loaded"] == 4000
    _the_text_classifier_trained(demo_home)


def _the_text_classifier_trained(home: Path) -> None:
    """SURFACE_TEXT: a card with its vocabulary and top terms, an artifact that loads with
    the trusted list and reads raw descriptions (missing ones too)."""
    import pandas as pd

    import retrain

    card = json.loads((home / "artifacts/models/SURFACE_TEXT/versions/1/card.json").read_text())
    assert card["feature_schema"]["text"] == ["description"]
    text = card["text_features"]
    assert text["vocabulary_size"]["description"] > 500
    assert set(text["top_terms_per_class"]) == set(card["classes"])
    assert card["metrics"]["macro_f1"] > 0.8
    model = retrain.load_model("SURFACE_TEXT", env={"RETRAIN_HOME": str(home)})
    rows = pd.DataFrame({"description": ["MDF MR 19 mm HPL belegt", "Spanplatte roh", None]})
    assert list(model.predict(rows)[:2]) == ["HPL", "raw"]


def test_demo_twice_gives_version_2_and_leaves_version_1(demo_home: Path) -> None:
    src = ROOT / "src"
    first = _cli(["train", "--all"], src, demo_home)
    assert first.returncode == 0, first.stderr
    models = demo_home / "artifacts/models"
    seeds = ("ARTFAM_ROH", "KLASSE_ROH", "KLASSE_CORE")
    v1 = {p: p.read_bytes() for name in seeds for p in models.glob(f"{name}/versions/1/*")}
    assert len(v1) == 6  # three models x (artifact + card)
    second = _cli(["train", "--all"], src, demo_home)
    assert second.returncode == 0, second.stderr
    for name in seeds:
        assert (models / name / "versions/2/card.json").exists()
        assert re.search(rf"{name}\s+2\s+(promoted|kept champion)", second.stdout)
    assert {p: p.read_bytes() for p in v1} == v1
    # KLASSE_ROH reads the description; no ablation fit unless its spec asks for one
    card = json.loads((models / "KLASSE_ROH/versions/2/card.json").read_text())
    assert "text_ablation" not in card
    # ... the 30 of its 300 words most associated with the class (select_terms)
    text = card["text_features"]
    assert text["vocabulary_size"]["description"] == text["options"]["select_terms"] == 30
    listing = _cli(["versions", "KLASSE_ROH"], src, demo_home)
    assert listing.returncode == 0
    assert re.search(r"^\s*1\s+promoted\s+no\s", listing.stdout, re.M)
    assert re.search(r"^\s*2\s+promoted\s+yes\s", listing.stdout, re.M)


def test_the_commands_to_look_around_work_as_written(tmp_path: Path) -> None:
    """The README's `retrain` block, line by line, with the `retrain` command `make`
    installs, on a home of its own where KLASSE_ROH (the model the block names) has two
    versions."""
    section = _section("The `retrain` command")
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    lines = [line.split("  #")[0].strip() for line in block[1].splitlines()]
    assert lines[0] == "source .venv/bin/activate"
    commands = [shlex.split(line) for line in lines[1:] if line]
    assert len(commands) >= 8 and all(c[0] == "retrain" for c in commands)
    home = tmp_path / "home"
    for args in (["demo-data", "--rows", "3000"], *[["train", "--model", "KLASSE_ROH"]] * 2):
        done = _cli(args, ROOT / "src", home)
        assert done.returncode == 0, done.stderr
    script = Path(sys.executable).parent / "retrain"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update(RETRAIN_HOME=str(home), ENABLE_SLACK="false", LOG_LEVEL="WARNING")
    for command in commands:
        done = subprocess.run(
            [str(script), *command[1:]],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
        assert done.stdout.strip(), command


def test_unknown_model_on_the_command_line(demo_home: Path) -> None:
    done = _cli(["train", "--model", "NOPE"], ROOT / "src", demo_home)
    assert done.returncode == 1
    assert "unknown model 'NOPE'; known models: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH" in done.stderr
    done = _cli(["versions", "klasse_rho"], ROOT / "src", demo_home)
    assert done.returncode == 1
    assert "unknown model 'klasse_roh'" not in done.stderr
    assert "unknown model 'klasse_rho' (did you mean KLASSE_ROH?)" in done.stderr
