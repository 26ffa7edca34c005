"""docker-compose.yml against the compose-spec schema (no Docker engine on these machines)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.test_deploy_files import passes

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_matches_the_compose_spec():
    passes("check-jsonschema", "--builtin-schema", "vendor.compose-spec", "docker-compose.yml")


def test_compose_stack_wires_the_app_to_its_services():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) == {"postgres", "azurite", "seed", "functions"}
    app = services["functions"]["environment"]
    assert "@postgres:5432/training" in app["TRAINING_DB_URL"]
    assert "retrain_reader" in app["TRAINING_DB_URL"]  # the app runs as the SELECT-only role
    assert "azurite:10000" in app["ARTIFACT_CONNECTION_STRING"]
    assert services["azurite"]["image"].endswith(":3.35.0")  # same release as package.json
