"""`make demo-local`: the demo against a throwaway local PostgreSQL 15 and Azurite, no Docker.

Starts both on loopback ports, writes the demo rows into PostgreSQL, creates the app's
SELECT-only role, trains every classifier twice through the CLI as that role with artifacts
in Azurite, lists what was stored, and stops both servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def main() -> int:
    from azure.storage.blob import BlobServiceClient
    from sqlalchemy import create_engine
    from tests.services import azurite, postgres

    from retrain.adapters import demo_data

    with postgres() as pg, azurite() as blob:
        print(f"PostgreSQL on 127.0.0.1:{pg.port}, Azurite on 127.0.0.1:{blob.port}", flush=True)
        demo_data.write(create_engine(pg.superuser_url), demo_data.generate())
        pg.grant_reader()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "TRAINING_DB_URL": pg.reader_url,
            "ARTIFACT_CONNECTION_STRING": blob.connection_string,
        }
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-m", "retrain", "train", "--all"], env=env, cwd=ROOT, check=False
            )
            if done.returncode != 0:
                return done.returncode
        container = BlobServiceClient.from_connection_string(
            blob.connection_string
        ).get_container_client("models")
        print("\nblobs in the models container:")
        for name in container.list_blob_names():
            print("  " + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
