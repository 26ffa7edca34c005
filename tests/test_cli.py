"""The CLI in-process on a small SQLite demo database: dry run, rollback, tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrain.entrypoints.cli import main


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cli")
    env = {"RETRAIN_HOME": str(home), "LOG_LEVEL": "WARNING"}
    assert main(["demo-data", "--rows", "3000", "--as-of", "2026-11-01"], env) == 0
    return env


def test_dry_run_prints_the_profile_and_publishes_nothing(env, capsys):
    assert main(["train", "--model", "KLASSE_CORE", "--dry-run"], env) == 0
    out = capsys.readouterr().out
    profile = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert profile["profile"]["rows"] > 2500
    assert set(profile["profile"]["class_counts"]) >= {"STANDARD", "FINE"}
    assert "validated (dry run)" in out
    models = Path(env["RETRAIN_HOME"]) / "artifacts/models"
    assert not (models / "KLASSE_CORE").exists()


def test_rollback_through_the_cli_and_a_tampered_target_is_refused(env, capsys):
    assert main(["train", "--model", "KLASSE_ROH"], env) == 0
    assert main(["train", "--model", "KLASSE_ROH"], env) == 0
    assert main(["promote", "KLASSE_ROH", "1", "--reason", "v2 misroutes plant P04"], env) == 0
    assert "KLASSE_ROH champion is now v1" in capsys.readouterr().out

    assert main(["history", "KLASSE_ROH"], env) == 0
    history = capsys.readouterr().out
    assert "v2 misroutes plant P04" in history and "cli:" in history

    artifact = Path(env["RETRAIN_HOME"]) / "artifacts/models/KLASSE_ROH/versions/2/model.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 3] ^= 0x01
    artifact.write_bytes(bytes(data))
    assert main(["promote", "KLASSE_ROH", "2", "--reason", "try v2 again"], env) == 1
    assert "sha256" in capsys.readouterr().err
    champion = json.loads((artifact.parents[2] / "champion.json").read_text())
    assert champion["version"] == 1


def test_bad_settings_are_named_and_exit_2(env, capsys):
    assert main(["models"], {**env, "LOG_FORMAT": "xml", "TRAINING_MAX_ROWS": "-1"}) == 2
    err = capsys.readouterr().err
    assert "LOG_FORMAT" in err and "TRAINING_MAX_ROWS" in err


@pytest.mark.parametrize(
    "bad",
    [
        {"TRAINING_DB_URL": "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)"},
        {"TRAINING_DB_URL": "postgresql://u:hunter2@db:port/x"},
        {"ARTIFACT_CONNECTION_STRING": "AccountName=a;AccountKey=hunter2;Bogus"},
        {"ENVIRONMENT": "PROD"},
        {"SLACK_TIMEOUT_S": "nan"},
    ],
)
def test_bad_settings_exit_2_naming_them_without_a_traceback(bad, capsys):
    assert main(["models"], bad) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid settings: ") and "Traceback" not in err
    assert "hunter2" not in err and "kv.vault" not in err
