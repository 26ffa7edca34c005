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


@pytest.mark.parametrize("name", ["TRAINING_DB_URL", "POSTGRES_CONN_STR"])
@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://reader:Hunter2@Secret@127.0.0.1:5432/prod",
        "postgresql://reader:Hunter2@Secret@Secret@db/prod",
    ],
)
def test_a_database_url_with_an_unescaped_at_sign_is_refused_without_quoting_it(name, url):
    """SQLAlchemy reads the password up to the first '@', urlsplit (and so the secrets the
    logs are scrubbed of) up to the last: the rest of the password became the host's name
    in the driver's error, in the run record, the API and Slack."""
    with pytest.raises(ConfigError, match="percent-encode") as info:
        Settings.from_environ({name: url})
    assert "Secret" not in str(info.value) and "Hunter2" not in str(info.value)
    escaped = url.replace("@Secret", "%40Secret")
    Settings.from_environ({name: escaped})  # accepted


KEY_VAULT = "@Microsoft.KeyVault(SecretUri=https://plant-kv.vault.azure.net/secrets/pg/abc123)"
EVERY_SETTING = [
    "TRAINING_DB_URL",
    "POSTGRES_CONN_STR",
    "ARTIFACT_CONNECTION_STRING",
    "ARTIFACT_ACCOUNT_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_WEBHOOK_URL",
    "SLACK_CHANNEL",
    "SLACK_TIMEOUT_S",
    "TRAINING_QUERY_TIMEOUT_S",
    "TRAINING_MAX_ATTEMPTS",
    "ENABLE_SLACK",
    "LOG_LEVEL",
    "ENVIRONMENT",
    "UAMI_CLIENT_ID",
]


@pytest.mark.parametrize("name", EVERY_SETTING)
def test_an_unresolved_key_vault_reference_is_named_in_any_setting(name):
    with pytest.raises(ConfigError) as info:
        Settings.from_environ({name: KEY_VAULT})
    assert info.value.problems == [
        f"{name} is an unresolved Key Vault reference: give the app's identity read access "
        "to the secret (Key Vault Secrets User) and check the reference"
    ]
    assert "plant-kv" not in str(info.value) and "abc123" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRAINING_DB_URL", "postgresql://app:pw@db:notaport/train"),
        ("TRAINING_DB_URL", "postgresql://app:pw@[::1/train"),
        ("TRAINING_DB_URL", "mysql://app:pw@db/train"),
        ("TRAINING_DB_URL", "postgresql:///train"),
        ("POSTGRES_CONN_STR", "host=db user=app password=pw dbname=train"),
        ("ARTIFACT_ACCOUNT_URL", "ftp://acct.blob.core.windows.net"),
        ("ARTIFACT_ACCOUNT_URL", "https://"),
        ("ARTIFACT_CONNECTION_STRING", "https://acct.blob.core.windows.net/?sv=2024&sig=pw"),
        ("ARTIFACT_CONNECTION_STRING", "AccountName=acct;Password=pw"),
        ("SLACK_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/pw"),
        ("SLACK_BOT_TOKEN", "not-a-token-pw"),
        ("SLACK_API_URL", "slack"),
    ],
)
def test_an_unusable_url_or_secret_is_named_without_its_value(name, value):
    with pytest.raises(ConfigError) as info:
        Settings.from_environ({name: value})
    assert [p.split(" ")[0] for p in info.value.problems] == [name]
    assert "pw" not in str(info.value).replace("password", "")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_TIMEOUT_S", "nan"),
        ("SLACK_TIMEOUT_S", "inf"),
        ("SLACK_TIMEOUT_S", "1e3"),
        ("SLACK_TIMEOUT_S", "100000"),
        ("TRAINING_QUERY_TIMEOUT_S", "999999999"),
        ("TRAINING_QUERY_TIMEOUT_S", "٣٠"),
        ("TRAINING_QUERY_TIMEOUT_S", "1_000"),
        ("TRAINING_CONNECT_TIMEOUT_S", "0"),
        ("TRAINING_MAX_ROWS", "-5"),
        ("TRAINING_MAX_ATTEMPTS", "2.5"),
        ("TRAINING_MAX_ATTEMPTS", "1000"),
    ],
)
def test_non_finite_absurd_or_foreign_numbers_are_refused(name, value):
    with pytest.raises(ConfigError) as info:
        Settings.from_environ({name: value})
    assert [p.split(" ")[0] for p in info.value.problems] == [name]


def test_max_attempts_must_agree_with_host_json():
    host = {"extensions": {"queues": {"maxDequeueCount": 3}}}
    assert Settings.from_environ({}, host=host).max_attempts == 3
    with pytest.raises(ConfigError, match="TRAINING_MAX_ATTEMPTS must equal"):
        Settings.from_environ({"TRAINING_MAX_ATTEMPTS": "5"}, host=host)
    override = {
        "TRAINING_MAX_ATTEMPTS": "5",
        "AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "5",
    }
    assert Settings.from_environ(override, host=host).max_attempts == 5
    with pytest.raises(ConfigError, match="TRAINING_MAX_ATTEMPTS"):
        Settings.from_environ({}, host={})  # the host's own default is 5


def test_the_repository_host_json_agrees_with_the_default():
    from retrain.entrypoints.app_services import host_json

    assert Settings.from_environ({}, host=host_json()).max_attempts == 3


@pytest.mark.parametrize("environment", ["DEV", "staging", "PROD"])
def test_outside_local_the_embedded_defaults_must_be_chosen_on_purpose(environment):
    with pytest.raises(ConfigError) as info:
        Settings.from_environ({"ENVIRONMENT": environment})
    assert [p.split(" ")[0] for p in info.value.problems] == [
        "TRAINING_DB_URL",
        "ARTIFACT_ACCOUNT_URL",
        "ENABLE_SLACK",
    ]
    chosen = Settings.from_environ(
        {
            "ENVIRONMENT": environment,
            "TRAINING_DB_URL": "sqlite:////data/training.db",
            "ARTIFACT_DIR": "/data/artifacts",
            "ENABLE_SLACK": "false",
        }
    )
    assert chosen.environment == environment.upper()


def test_environment_is_one_of_four():
    assert Settings.from_environ({}).environment == "LOCAL"
    with pytest.raises(ConfigError, match="ENVIRONMENT must be one of LOCAL, DEV, STAGING, PROD"):
        Settings.from_environ({"ENVIRONMENT": "production"})
