"""Throwaway PostgreSQL 15 and Azurite for the tests and the benchmark, on loopback ports,
stopped by their own pids. Nothing here downloads: PostgreSQL comes from the machine
(/usr/lib/postgresql/15/bin), Azurite from ./node_modules (package.json, pinned)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (public, documented by Microsoft)
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
READER, READER_PASSWORD = "retrain_reader", "reader-pw"


class ServiceUnavailable(RuntimeError):
    """A service could not be started here (missing binary, no permission, timeout)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, seconds: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceUnavailable(f"process exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise ServiceUnavailable(f"nothing answered on 127.0.0.1:{port} within {seconds} s")


@dataclass
class Postgres:
    port: int
    database: str = "training"

    def url(
        self,
        user: str = "postgres",
        password: str | None = None,
        driver: str = "postgresql+psycopg2",
    ) -> str:
        auth = f"{user}:{password}" if password else user
        return f"{driver}://{auth}@127.0.0.1:{self.port}/{self.database}"

    @property
    def superuser_url(self) -> str:
        return self.url()

    @property
    def reader_url(self) -> str:
        return self.url(READER, READER_PASSWORD)

    @property
    def psql_url(self) -> str:
        return self.url(driver="postgresql")

    def psql(self, sql: str) -> str:
        done = subprocess.run(
            ["psql", self.psql_url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout

    def grant_reader(self) -> None:
        """The role the app runs as: CONNECT, USAGE and SELECT, nothing else."""
        self.psql(f"""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN
                CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}';
              END IF;
            END $$;
            GRANT CONNECT ON DATABASE {self.database} TO {READER};
            GRANT USAGE ON SCHEMA public TO {READER};
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER};
        """)


def _as_postgres(args: list[str]) -> list[str]:
    """initdb refuses root: run the server tools as the postgres user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    if not (PG_BIN / "initdb").exists():
        raise ServiceUnavailable(f"PostgreSQL 15 not found in {PG_BIN} (set PG_BIN)")
    tmp = Path(tempfile.mkdtemp(prefix="retrain-pg-"))
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = tmp / "data", free_port()
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(tmp / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log = tmp / "server.log"
        detail = log.read_text()[-2000:] if log.exists() else str(exc)
        shutil.rmtree(tmp, ignore_errors=True)
        raise ServiceUnavailable(f"PostgreSQL did not start: {detail}") from exc
    pid = int((data / "postmaster.pid").read_text().split()[0])
    try:
        server = Postgres(port)
        subprocess.run(
            [
                "psql",
                server.url("postgres", driver="postgresql").rsplit("/", 1)[0] + "/postgres",
                "-qc",
                f"CREATE DATABASE {server.database}",
            ],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)  # fast shutdown
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Azurite:
    port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{DEV_ACCOUNT};"
        )


@contextlib.contextmanager
def azurite() -> Iterator[Azurite]:
    if not AZURITE.exists():
        raise ServiceUnavailable(f"{AZURITE} missing: run `npm ci` (make test does)")
    port = free_port()
    # its stderr in a file, not a pipe no one reads (a full pipe would block Node's writes)
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [
                str(AZURITE),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--silent",
                "--loose",
                "--disableTelemetry",
            ],
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            try:
                _wait_for_port(port, 60, proc)
            except ServiceUnavailable as exc:
                errors.seek(0)
                detail = errors.read()[-2000:].decode(errors="replace").strip()
                raise ServiceUnavailable(f"{exc}: {detail}" if detail else str(exc)) from None
            yield Azurite(port)
        finally:
            # in memory, nothing to save: a stop that takes longer than 2 s is cut short
            # (it took the whole 10 s it was given at the end of a full test session)
            proc.terminate()
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
