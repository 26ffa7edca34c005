"""`python -m retrain train --all` against PostgreSQL (SELECT-only role) and Azurite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from azure.storage.blob import BlobServiceClient

import retrain
from retrain.domain.runs import RUN_ID
from tests.integration.conftest import AS_OF
from tests.services import DEV_KEY, READER_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_train_all_publishes_to_blob_storage_and_load_model_reads_it_back(pg, azurite, tmp_path):
    env = {
        "TRAINING_DB_URL": pg.reader_url,
        "ARTIFACT_CONNECTION_STRING": azurite.connection_string,
        "ARTIFACT_CONTAINER": "e2e-models",
        "RUNS_CONTAINER": "e2e-runs",
        "RETRAIN_HOME": str(tmp_path),
        "LOG_LEVEL": "DEBUG",
    }
    done = subprocess.run(
        [sys.executable, "-m", "retrain", "train", "--all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT / "src"), **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for secret in (READER_PASSWORD, DEV_KEY):
        assert secret not in done.stdout + done.stderr

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    names = set(service.get_container_client("e2e-models").list_blob_names())
    for model in ("ARTFAM_ROH", "KLASSE_ROH", "KLASSE_CORE"):
        assert {
            f"{model}/versions/1/model.skops",
            f"{model}/versions/1/card.json",
            f"{model}/champion.json",
        } <= names
        assert any(n.startswith(f"{model}/history/") for n in names)
    runs = list(service.get_container_client("e2e-runs").list_blob_names())
    assert sum(RUN_ID.match(n.removesuffix(".json")) is not None for n in runs) == 3
    assert "overview.json" in runs  # what the cross-model lists read
    assert not any(n.startswith("active/") for n in runs)  # released after the runs

    pipeline = retrain.load_model("KLASSE_ROH", env=env)
    from retrain.adapters import demo_data

    rows = demo_data.generate(50, 99, AS_OF)
    features = [
        "plant",
        "product_line",
        "thickness_mm",
        "density_kg_m3",
        "glue_system",
        "emission_class",
        "moisture_resistant",
        "fire_retardant",
        "description",
    ]
    predicted = pipeline.predict(
        rows[features].astype({"moisture_resistant": float, "fire_retardant": float})
    )
    assert set(predicted) <= set(pipeline.classes_) and len(predicted) == 50
