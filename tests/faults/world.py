"""The function app on real Azurite containers, driven through its own function objects
(timer, HTTP, queue, poison queue) as the host would, with faults injected into storage.

``Faults`` is an azure-core transport: per request it may answer 500 (from a tiny server
that always does), refuse the connection, or let the request land and then lose the answer
(a timeout after the server stored it), which is the hardest case for create-only writes.
``Tally`` counts what the suite did and what broke, for docs/reliability.md."""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, LinearRetry

from retrain.adapters.blob_store import BlobObjectStore
from retrain.domain.runs import RunStatus
from retrain.service.model_repository import ModelRepository
from retrain.service.run_repository import RunRepository
from tests import services
from tests.functions.conftest import Out, build_services, function, http, quick_registry

MAX_ATTEMPTS = 3  # host.json maxDequeueCount
# The SDK's own retries here: three, each 0.1 s after the last, no random jitter. No fault
# in this suite ends with time: Faults decides per request (seeded), and an outage lasts
# until the test starts Azurite again, before the queue's next delivery. A longer wait
# would only make the suite slower (it was ExponentialRetry(0, 1): 0-4 s at random a retry).
# The app's own policy (blob_store.blob_stores, used in production) is not changed by this:
# four tries, about 4, 10 and 28 s apart (+-3 s).
SDK_RETRY_BACKOFF_S = 0.1
SDK_RETRIES = 3


def sdk_retry() -> LinearRetry:
    """The storage clients' retry policy in this suite (see above)."""
    return LinearRetry(backoff=SDK_RETRY_BACKOFF_S, random_jitter_range=0, retry_total=SDK_RETRIES)


class RestartableAzurite:
    """Azurite keeping its blobs on disk, so it can be stopped and started mid-run."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.port = services.free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(services.AZURITE),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(self.location),
                "--skipApiVersionCheck",
                "--silent",
                "--loose",
                "--disableTelemetry",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        services._wait_for_port(self.port, 60, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)
            self.proc = None

    @property
    def connection_string(self) -> str:
        return services.Azurite(self.port).connection_string


class _Always500(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = (  # as Azure Storage answers it (the SDK needs both Code and Message)
            b'<?xml version="1.0" encoding="utf-8"?><Error><Code>InternalError</Code>'
            b"<Message>Server encountered an internal error. Please try again after some "
            b"time.</Message></Error>"
        )
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


class Faults(RequestsTransport):
    """Injects storage faults into the SDK pipeline at ``rate`` (seeded), by kind."""

    KINDS = ("500", "refused", "lost_answer")

    def __init__(self, seed: int, rate: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.random = random.Random(seed)
        self.rate = rate
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Always500)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        super().close()

    def send(self, request: Any, **kwargs: Any) -> Any:
        with self._lock:
            kind = self.random.choice(self.KINDS) if self.random.random() < self.rate else None
            if kind:
                self.injected[kind] += 1
        if kind == "refused":
            raise ServiceRequestError("injected: connection refused")
        if kind == "500":  # this one try goes to a server that answers 500
            original = request.url
            host = original.split("/")[2]
            request.url = original.replace(host, f"127.0.0.1:{self._server.server_address[1]}")
            try:
                return super().send(request, **kwargs)
            finally:
                request.url = original
        response = super().send(request, **kwargs)
        if kind == "lost_answer":
            raise ServiceResponseTimeoutError("injected: the answer was lost")
        return response


@dataclass
class Tally:
    """What the fault suite did and what broke; printed at the end of the test session."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, **values: int) -> None:
        for key, value in values.items():
            self.counts[key] += value


TALLY = Tally()


class World:
    """One app: its own containers on ``connection_string``, the quick seed classifiers on a
    3,000-row SQLite demo database, a recording notifier. ``use`` makes the function
    objects run on it (``app_services.override``)."""

    def __init__(
        self,
        home: Path,
        connection_string: str,
        use: Callable[..., None],
        transport: Faults | None = None,
        lease_s: float = 1.0,
        prefix: str | None = None,
    ) -> None:
        self.svc, settings = build_services(home, registry=quick_registry())
        options: dict[str, Any] = {
            "retry_policy": sdk_retry(),
            "connection_timeout": 2,
            "read_timeout": 10,
        }
        if transport is not None:
            options["transport"] = transport
        service = BlobServiceClient.from_connection_string(connection_string, **options)
        prefix = prefix or f"w{random.getrandbits(48):012x}"
        self.svc.models = ModelRepository(BlobObjectStore(service.get_container_client(prefix)))
        self.svc.runs = RunRepository(BlobObjectStore(service.get_container_client(prefix + "r")))
        self.svc.lease_s = lease_s
        self.svc.heartbeat_s = lease_s / 4
        self.settings = settings
        use(self.svc, settings)

    @property
    def notifier(self) -> Any:
        return self.svc.notifier

    # the host's side ------------------------------------------------------------------
    def fire_timer(self) -> list[str]:
        msgs = Out()
        function("monthly_retraining")(SimpleNamespace(past_due=False), msgs)
        return list(msgs.value or [])

    def post(self, models: Any) -> tuple[int, list[str]]:
        response, msgs = http("start_training", "POST", "training", {"models": models})
        return response.status, list(msgs.value or [])

    def deliver(self, message: str, before_retry: Callable[[], None] | None = None) -> None:
        """One message through the queue as the host handles it: up to MAX_ATTEMPTS
        deliveries while the function raises, then the poison queue (retried until it
        answers: storage comes back)."""
        from azure.functions.queue import QueueMessage

        for attempt in range(1, MAX_ATTEMPTS + 1):
            msg = QueueMessage(
                id="m", body=message.encode(), dequeue_count=attempt, pop_receipt="r"
            )
            try:
                function("train_model")(msg)
                return
            except Exception:
                TALLY.add(retried_deliveries=1)
                if before_retry is not None:
                    before_retry()
                # the host shows the message again after visibilityTimeout (5 min), long
                # after a dead attempt's lease has run out
                time.sleep(self.svc.lease_s * 1.2)
        for _ in range(20):
            msg = QueueMessage(id="p", body=message.encode(), dequeue_count=1, pop_receipt="r")
            try:
                function("training_gave_up")(msg)
                TALLY.add(poison_handled=1)
                return
            except Exception:
                continue
        raise AssertionError(f"the poison handler never completed for {message}")

    # what holds ---------------------------------------------------------------------
    def check(self, messages: list[str], champions_before: dict[str, int | None]) -> None:
        """Every promise of issue 10's point 2 over everything this world did. Violations
        are counted into TALLY (so the summary shows the zeros), then asserted."""
        run_ids = [json.loads(m)["run_id"] for m in messages]
        stored = {r.run_id: r for r in self.svc.runs.list(limit=1000) if not r.dry_run}
        announced = Counter(r.run_id for r in self.notifier.runs)
        problems: dict[str, list] = {
            "runs_sent_twice": [r for r, n in Counter(run_ids).items() if n > 1],
            "runs_lost_queued_without_message": sorted(set(stored) - set(run_ids)),
            "runs_lost_never_finished": [r for r, x in stored.items() if not x.status.finished],
            "runs_with_extra_versions": [],
            "runs_announced_not_once": [r for r in stored if announced[r] != 1],
            "champions_wrongly_moved": [],
            "models_left_marked_active": [],
        }
        for run_id, record in stored.items():
            versions = self._versions_of(record.model, run_id)
            if len(versions) > 1:  # a failed run may have stored one (e.g. alias moved meanwhile)
                problems["runs_with_extra_versions"].append((run_id, versions))
            elif record.status is RunStatus.SUCCEEDED and versions != [record.version]:
                problems["runs_lost_never_finished"].append((run_id, "its version is missing"))
        for spec in self.svc.registry:
            problems["champions_wrongly_moved"] += self._champion_problems(
                spec.name, stored, champions_before.get(spec.name)
            )
            if self.svc.runs.active(spec.name) is not None:
                problems["models_left_marked_active"].append(spec.name)
        TALLY.add(
            runs=len(stored),
            runs_succeeded=sum(r.status is RunStatus.SUCCEEDED for r in stored.values()),
            runs_failed=sum(r.status is RunStatus.FAILED for r in stored.values()),
            **{name: len(found) for name, found in problems.items()},
        )
        assert not any(problems.values()), {k: v for k, v in problems.items() if v}

    def _versions_of(self, model: str, run_id: str) -> list[int]:
        return [
            v
            for v in self.svc.models.versions(model)
            if self.svc.models.card(model, v).get("run_id") == run_id
        ]

    def _champion_problems(self, model: str, runs: dict, before: int | None) -> list:
        """The alias moved only for promoted runs, each once, and ends on the last one."""
        champion = self.svc.models.champion(model)
        moves = [h for h in self.svc.models.history(model) if h.get("run_id")]
        promoted = {
            r.run_id: r.version
            for r in runs.values()
            if r.model == model and r.outcome == "promoted" and r.status is RunStatus.SUCCEEDED
        }
        wrong: list = [m for m in moves if promoted.get(m["run_id"]) != m["version"]]
        if len(moves) != len({m["run_id"] for m in moves}):
            wrong.append((model, "a run moved the alias twice"))
        now = champion.version if champion else None
        if now != (moves[-1]["version"] if moves else before):
            wrong.append((model, f"alias on v{now}, history says otherwise"))
        TALLY.add(champion_moves=len(moves))
        return wrong

    def champions(self) -> dict[str, int | None]:
        out = {}
        for spec in self.svc.registry:
            champion = self.svc.models.champion(spec.name)
            out[spec.name] = champion.version if champion else None
        return out


@contextlib.contextmanager
def restartable_azurite(tmp_path: Path) -> Iterator[RestartableAzurite]:
    server = RestartableAzurite(tmp_path / "azurite")
    server.location.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Tripwire:
    """An ObjectStore that calls ``trip()`` once, right after a write ``when(key, data)``
    matches: the write landed, and storage goes away before anything else happens."""

    def __init__(self, store: Any, when: Callable[[str, bytes], bool], trip: Callable) -> None:
        self.store, self.when, self.trip = store, when, trip
        self.tripped = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _after(self, key: str, data: bytes) -> None:
        if not self.tripped and self.when(key, data):
            self.tripped = True
            self.trip()

    def create(self, key: str, data: bytes) -> str:
        etag = self.store.create(key, data)
        self._after(key, data)
        return etag

    def replace(self, key: str, data: bytes, etag: str | None) -> str:
        new = self.store.replace(key, data, etag)
        self._after(key, data)
        return new
