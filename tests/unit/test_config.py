from __future__ import annotations

from pathlib import Path

import pytest

from retrain.config import Settings
from retrain.domain.errors import ConfigError


def test_defaults_are_the_embedded_setup():
    settings = Settings.from_environ({})
    assert settings.training_db_url.reveal() == "sqlite:///.retrain/training.db"
    assert settings.artifact_dir == Path(".retrain/artifacts")
    assert not settings.uses_blob and not settings.enable_slack
    assert settings.training_schedule == "0 0 3 1 * *"


def test_postgres_conn_str_is_an_alias():
    settings = Settings.from_environ({"POSTGRES_CONN_STR": "postgresql://u:pw@db/x"})
    assert settings.training_db_url.reveal() == "postgresql://u:pw@db/x"


def test_every_problem_is_reported_at_once_without_values_of_secrets():
    with pytest.raises(ConfigError) as info:
        Settings.from_environ(
            {
                "TRAINING_QUERY_TIMEOUT_S": "soon",
                "ENABLE_SLACK": "maybe",
                "ARTIFACT_CONTAINER": "Bad_Name",
                "LOG_FORMAT": "xml",
                "TRAINING_SCHEDULE": "monthly",
                "TRAINING_MAX_ROWS": "0",
                "TRAINING_DB_URL": "hunter2-not-a-url",
            }
        )
    names = " ".join(info.value.problems)
    for name in (
        "TRAINING_QUERY_TIMEOUT_S",
        "ENABLE_SLACK",
        "ARTIFACT_CONTAINER",
        "LOG_FORMAT",
        "TRAINING_SCHEDULE",
        "TRAINING_MAX_ROWS",
        "TRAINING_DB_URL",
    ):
        assert name in names
    assert "hunter2" not in str(info.value)


def test_slack_on_needs_a_destination():
    with pytest.raises(ConfigError, match="ENABLE_SLACK"):
        Settings.from_environ({"ENABLE_SLACK": "true"})
    settings = Settings.from_environ(
        {"ENABLE_SLACK": "true", "SLACK_TOKEN": "xoxb-1", "SLACK_CHANNEL": "#ml"}
    )
    assert settings.slack_bot_token.reveal() == "xoxb-1"


def test_secrets_never_show_in_repr():
    settings = Settings.from_environ(
        {
            "SLACK_BOT_TOKEN": "xoxb-secret-token",
            "SLACK_CHANNEL": "#ml",
            "ARTIFACT_CONNECTION_STRING": "AccountName=acct;AccountKey=supersecretkey",
            "TRAINING_DB_URL": "postgresql://app:pgpassword@db/train",
        }
    )
    text = repr(settings)
    for secret in ("xoxb-secret-token", "supersecretkey", "pgpassword"):
        assert secret not in text
    assert set(settings.secrets()) == {
        "xoxb-secret-token",
        "AccountName=acct;AccountKey=supersecretkey",
        "supersecretkey",
        "postgresql://app:pgpassword@db/train",
        "pgpassword",
    }
