"""The Dask engine: the data-bound steps of a run on a Dask cluster, the app as the client.

No process holds all rows: workers read their own partitions from PostgreSQL (see
``postgres_partitions``) and keep them; the app sends functions (``dask_tasks``) to them
and receives only summaries, counts and the trained model. Vocabularies and classes are
fixed from the counts before anything is encoded, the holdout is a hash of the key, XGBoost
trains with ``xgboost.dask`` across the workers, and every model (candidate and champion)
is scored where the holdout rows are. The app imports distributed, never xgboost.dask or
dask.dataframe (those, and pyarrow, are the workers' and the scheduler's).

Every call to the cluster is bounded. Connecting (TCP and Dask's handshake, which
distributed leaves unbounded) and each question to the scheduler: DASK_CONNECT_TIMEOUT_S.
A step's wait for its tasks and each transfer of data: DASK_TIMEOUT_S; while it waits, the
step asks the scheduler every WATCH_S whether it is still there. Each run's tasks have keys
of their own (large arguments travel as data under unique keys), and a step that fails
releases everything its run holds on the cluster."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import date
from typing import Any, TypeVar, cast

from loguru import logger

from retrain.adapters import postgres_partitions as partitions
from retrain.adapters.sql_source import SqlSource
from retrain.domain.errors import BackendError, ConfigError, RetrainError
from retrain.domain.specs import ModelSpec

WATCH_S = 2.0  # how often a waiting step asks the scheduler (and a fit checks its workers)
GRACE_S = 3.0  # a fit's task failed: how long the scheduler may take to see a worker leave
PING_S = 3.0  # /api/health's question to the scheduler (the health deadline is 4 s)
SHARE_BYTES = 10_000  # larger keyword arguments travel as data under a key of their own
T = TypeVar("T")


def _tasks() -> Any:
    """The functions workers run (they import pandas: not when the app is indexed)."""
    from retrain.adapters import dask_tasks

    return dask_tasks


class _StepTimeout(Exception):
    """A step waited DASK_TIMEOUT_S for its tasks (worded by ``DaskEngine.cluster``)."""


class _SchedulerLost(Exception):
    """The connection to the scheduler broke (worded by ``DaskEngine.cluster``)."""


def _within(seconds: float, fn: Callable[[], T], late: Callable[[T], Any] | None = None) -> T:
    """``fn()`` in a daemon thread, waited for ``seconds`` at most (then TimeoutError): a
    hard deadline whatever blocks inside. A call that overruns is left to end on its own;
    ``late`` receives what it returns after all (to close it)."""
    box: dict[str, Any] = {}
    gave_up = threading.Event()

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
            return
        if gave_up.is_set() and late is not None:
            with suppress(Exception):
                late(box["value"])

    thread = threading.Thread(target=run, name="dask-bounded-call", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        gave_up.set()
        raise TimeoutError()
    if "error" in box:
        raise box["error"]
    return cast(T, box["value"])


def _identity(address: str, seconds: float) -> dict[str, Any]:
    """The scheduler's answer to ``identity`` on a connection of its own, all within
    ``seconds``: TCP connect, Dask's handshake (which distributed waits for without bound:
    a peer that accepts and never speaks would hold it forever) and the question."""
    from distributed.comm import connect
    from distributed.security import Security

    args = Security().get_connection_args("client")

    async def ask() -> dict[str, Any]:
        comm = await connect(address, timeout=seconds * 0.8, **args)
        try:
            await comm.write({"op": "identity", "n_workers": 0, "reply": True})
            return cast(dict[str, Any], await comm.read())
        finally:
            comm.abort()

    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(ask(), seconds)

    return _within(seconds + 0.5, lambda: asyncio.run(bounded()))


def _first_line(exc: BaseException) -> str:
    """The exception's class and its first line; for a native library's error whose first
    line only says where (XGBoost: "[time] file.cc:83: [socket.cc:88|time]:"), its last
    line before the stack trace, which says what."""
    lines = [line.strip() for line in str(exc).split("Stack trace:")[0].splitlines()]
    lines = [line for line in lines if line]
    text = lines[0] if lines else ""
    if text.endswith(":") and len(lines) > 1:
        text = re.sub(r"^-?\s*\[[^\]]*\]:?\s*", "", lines[-1])
    return type(exc).__name__ + (f": {text[:200]}" if text else "")


class _Run:
    """What one run put on the cluster: its key prefix, and every future it made, held
    weakly (a future the run drops is released as usual; the rows it no longer needs do not
    stay). ``release`` lets go of the live ones at once, also those an exception's traceback
    still holds: the scheduler then forgets them and the workers free their memory."""

    def __init__(self, model: str) -> None:
        self.token = f"{model}-{uuid.uuid4().hex[:8]}"
        self._futures: weakref.WeakSet[Any] = weakref.WeakSet()

    def track(self, futures: Iterable[Any]) -> list[Any]:
        out = list(futures)
        self._futures.update(out)
        return out

    def release(self) -> int:
        live = list(self._futures)
        self._futures.clear()
        for future in live:
            with suppress(Exception):  # a client already closed has released them
                future.release()
        return len(live)


class DaskPartitions:
    """Frames held by the workers (futures), as ``training.summary.Partitions``."""

    def __init__(self, engine: DaskEngine, run: _Run, futures: list) -> None:
        self.engine, self.run, self.futures = engine, run, futures

    def apply(self, fn: Callable[..., Any], **kwargs: Any) -> DaskPartitions:
        return DaskPartitions(
            self.engine, self.run, self.engine.map(self.run, fn, self.futures, **kwargs)
        )

    def collect(self, fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
        return self.engine.gather(self.run, self.apply(fn, **kwargs).futures)

    def repeats(self, spec: ModelSpec) -> int:
        return self.engine.duplicates(self.run, self.futures, spec)


class DaskRows:
    def __init__(self, engine: DaskEngine, frames: DaskPartitions, first: dict[str, Any]) -> None:
        self.engine, self.frames, self.first = engine, frames, first

    @property
    def count(self) -> int:
        return int(self.first.get("rows", 0))

    def window(self, spec: ModelSpec, since: date | None) -> dict[str, str | None]:
        return {
            "column": spec.time_column,
            "since": since.isoformat() if since else None,
            "first": self.first.get("first"),
            "last": self.first.get("last"),
        }

    def release(self) -> None:
        """Let go at once of everything the run holds on the cluster (see ``_Run``)."""
        self.frames.run.release()

    def fingerprint(self, spec: ModelSpec) -> dict[str, str]:
        """Query text; rows: each partition's rows ordered by key, partitions in plan order."""
        digests = ":".join(self.first.get("digests", []))
        return {
            "query_sha256": hashlib.sha256(spec.query.encode()).hexdigest(),
            "rows_sha256": hashlib.sha256(digests.encode()).hexdigest(),
        }


class DaskChecked:
    def __init__(
        self, rows: DaskRows, findings: list, profile: dict, dropped: list[str], second: dict
    ) -> None:
        self.rows, self.findings, self.profile = rows, findings, profile
        self.dropped, self.second = dropped, second


class DaskHoldout:
    def __init__(
        self,
        engine: DaskEngine,
        run: _Run,
        parts: list,
        lengths: list[dict],
        classes: list[str],
        features: Any,
        rule: Any,
    ) -> None:
        self.engine, self.run, self.parts, self.lengths = engine, run, parts, lengths
        self.classes, self.features, self.rule = classes, features, rule

    def release(self) -> None:
        """Let go at once of everything the run holds on the cluster (see ``_Run``)."""
        self.run.release()

    @property
    def rows_train(self) -> int:
        return sum(n["train"] + n["valid"] for n in self.lengths)

    @property
    def rows_test(self) -> int:
        return sum(n["test"] for n in self.lengths)

    def evaluate(self, model: Any) -> dict[str, Any]:
        tasks = _tasks()
        from retrain.training import evaluate

        engine, run = self.engine, self.run
        with engine.cluster("scoring the holdout", run):
            shipped = engine.scatter(run, model)
            counts = engine.gather(run, engine.map(run, tasks.confusion, self.parts, model=shipped))
        return evaluate.evaluate_counts(sum(counts, Counter()))

    def triples(self, candidate: Any, champion: Any, sight: Any) -> Any:
        """``training.evaluate.triples`` counted where the test rows are, then added."""
        tasks = _tasks()
        engine, run = self.engine, self.run
        with engine.cluster("comparing with the champion", run):
            ours, theirs = engine.scatter(run, candidate), engine.scatter(run, champion)
            found = engine.gather(
                run,
                engine.map(
                    run, tasks.triples, self.parts, candidate=ours, champion=theirs, sight=sight
                ),
            )
        unseen: Counter[tuple[str, str, str]] = sum((f[0] for f in found), Counter())
        every: Counter[tuple[str, str, str]] = sum((f[1] for f in found), Counter())
        bases = [f[2] for f in found if f[2] != "no rows"]
        return unseen, every, bases[0] if bases else "no rows"

    def feature_importance(
        self, model: Any, metric: str, random_state: int
    ) -> dict[str, Any] | None:
        """Not computed on a cluster: it would bring holdout rows to the app."""
        return None


def _members(dask_scheduler: Any) -> dict[str, str]:
    """Runs on the scheduler: its workers now, address -> server id (a worker restarted on
    the same address has a new id)."""
    return {address: str(ws.server_id) for address, ws in dask_scheduler.workers.items()}


def _lock_holders(dask_scheduler: Any) -> list[str]:
    """Runs on the scheduler: who holds worker locks now (xgboost.dask's MultiLock ids)."""
    locks = dask_scheduler.extensions.get("multi_locks")
    return [str(holder) for holder in locks.requests] if locks else []


def _release_abandoned(dask_scheduler: Any, before: list[str], workers: list[str]) -> int:
    """Runs on the scheduler: release the worker locks that an abandoned fit took. xgboost.dask
    locks its ring's workers (MultiLock, named by worker address) from the task that drives
    the fit; when that task died with a worker, nobody ever releases them, and every later fit
    on those workers waits until DASK_TIMEOUT_S. Released: holders that took all their locks
    after the fit began (not in ``before``) on the fit's ``workers`` only. Returns how many."""
    locks = dask_scheduler.extensions.get("multi_locks")
    if locks is None:
        return 0
    abandoned = [
        holder
        for holder, names in list(locks.requests.items())
        if str(holder) not in before
        and locks.requests_left.get(holder) == 0
        and set(names) <= set(workers)
    ]
    for holder in abandoned:
        locks.release(id=holder)
    return len(abandoned)


def _gone(watch: dict[str, str], members: dict[str, str]) -> list[str]:
    return sorted(address for address, sid in watch.items() if members.get(address) != sid)


class DaskEngine:
    name = "dask"

    def __init__(
        self,
        source: SqlSource | Callable[[], SqlSource] | None,
        database: partitions.Database,
        address: str,
        partition_rows: int = 500_000,
        timeout_s: int = 3600,
        client: Any = None,
        connect_timeout_s: float = 10,
    ) -> None:
        """``source`` plans the partitions: an SqlSource, or a function that makes one when
        a run first needs it (so that building the engine connects and builds nothing)."""
        self._source: SqlSource | None = None if callable(source) else source
        self._make_source: Callable[[], SqlSource] | None = source if callable(source) else None
        self.database, self.address = database, address
        self.partition_rows, self.timeout_s = partition_rows, timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._client = client
        self._lock = threading.Lock()

    @property
    def source(self) -> SqlSource:
        if self._source is None and self._make_source is not None:
            self._source = self._make_source()
        return cast(SqlSource, self._source)

    # -- the connection ------------------------------------------------------------------

    def client(self) -> Any:
        """One client per engine, connected on first use and again once it lost its
        scheduler (whose futures are gone with it): BackendError when the scheduler does not
        answer within DASK_CONNECT_TIMEOUT_S."""
        with self._lock:
            current = self._client
            if current is not None and current.status == "running":
                return current
            self._client = None
            if current is not None:
                self._close(current)
            self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        from distributed import Client

        seconds = self.connect_timeout_s
        failed = (
            f"could not connect to the Dask scheduler {self.address} within {seconds:g} s "
            "(DASK_CONNECT_TIMEOUT_S)"
        )
        try:  # the handshake first, bounded: Client() would wait on a deaf one forever
            answer = _identity(self.address, seconds)
            if answer.get("type") != "Scheduler":
                raise BackendError(f"{failed}: the address answers, but not as a Dask scheduler")
            return _within(
                seconds + 1,
                lambda: Client(self.address, timeout=seconds, set_as_default=False),
                late=lambda client: client.close(timeout=seconds),
            )
        except RetrainError:
            raise
        except TimeoutError:
            raise BackendError(f"{failed}: it accepted the connection but never answered") from None
        except Exception as exc:
            raise BackendError(f"{failed}: {_first_line(exc)}") from None

    def _close(self, client: Any) -> None:
        """Let a client go (bounded; a close that hangs is left behind)."""
        seconds = self.connect_timeout_s
        with suppress(Exception):
            _within(seconds + 1, lambda: client.close(timeout=seconds))

    def ping(self) -> None:
        """The scheduler answers a question (``identity``) within PING_S, for /api/health: a
        port that accepts and never speaks is not a scheduler. The error names neither the
        address nor the library's words."""
        try:
            answer = _identity(self.address, PING_S - 0.5)
        except Exception:
            raise BackendError("Dask scheduler did not answer (DASK_SCHEDULER_ADDRESS)") from None
        if answer.get("type") != "Scheduler":
            raise BackendError("DASK_SCHEDULER_ADDRESS answers, but not as a Dask scheduler")

    def _ask(self, client: Any, what: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """``fn`` run on the scheduler, answered within DASK_CONNECT_TIMEOUT_S."""
        seconds = self.connect_timeout_s
        return self._answer(
            client, what, lambda: client.run_on_scheduler(fn, callback_timeout=seconds, **kwargs)
        )

    def _answer(self, client: Any, what: str, ask: Callable[[], T]) -> T:
        if client.status != "running":
            raise _SchedulerLost()
        try:
            return ask()
        except TimeoutError:
            raise BackendError(
                f"the Dask scheduler {self.address} did not answer ({what}) within "
                f"{self.connect_timeout_s:g} s (DASK_CONNECT_TIMEOUT_S)"
            ) from None
        except Exception:
            if client.status != "running":
                raise _SchedulerLost() from None
            raise

    def _still_there(self, client: Any) -> None:
        """The scheduler answers a question (``identity``) within DASK_CONNECT_TIMEOUT_S."""
        seconds = self.connect_timeout_s
        self._answer(
            client,
            "whether it is still there",
            lambda: client.sync(client.scheduler.identity, n_workers=0, callback_timeout=seconds),
        )

    def workers(self) -> set[str]:
        """The workers the scheduler knows now (asked afresh, not the client's cache)."""
        return set(self._ask(self.client(), "its workers", _members))

    # -- a run's work --------------------------------------------------------------------

    @contextmanager
    def cluster(self, doing: str, run: _Run | None = None) -> Iterator[None]:
        """A step of ``run``: when it fails, everything the run holds on the cluster is
        released, and anything the cluster raised becomes a BackendError saying what was
        under way and where (a retry may succeed); the product's own errors pass unchanged."""
        try:
            yield
        except BaseException as exc:
            if run is not None:
                run.release()
            if isinstance(exc, RetrainError) or not isinstance(exc, Exception):
                raise
            raise self._worded(exc, doing) from None

    def _worded(self, exc: Exception, doing: str) -> BackendError:
        lost = self._client is not None and self._client.status != "running"
        if isinstance(exc, _SchedulerLost) or lost:
            return BackendError(
                f"lost the connection to the Dask scheduler {self.address} while {doing} "
                "(it stopped, restarted or became unreachable); the run's work there is gone "
                "and nothing was published"
            )
        if isinstance(exc, _StepTimeout | TimeoutError):
            return BackendError(
                f"Dask cluster {self.address}: {doing} did not finish within "
                f"{self.timeout_s} s (DASK_TIMEOUT_S)"
            )
        return BackendError(f"Dask cluster {self.address} failed while {doing}: {_first_line(exc)}")

    def map(self, run: _Run, fn: Callable[..., Any], futures: list, **kwargs: Any) -> list:
        """``fn(future, **kwargs)`` for each future, under keys of ``run``'s own. A keyword
        argument larger than SHARE_BYTES travels as data of its own (scattered under a
        unique key): ``Client.map`` would store it under the argument's name, a key that
        every run's map shares."""
        client = self.client()
        shared = {name: self.share(run, value) for name, value in kwargs.items()}
        key = f"{getattr(fn, '__name__', 'task')}-{run.token}"
        return run.track(client.map(fn, futures, key=key, pure=False, **shared))

    def share(self, run: _Run, value: Any) -> Any:
        from dask.sizeof import sizeof
        from distributed import Future

        if isinstance(value, Future) or sizeof(value) <= SHARE_BYTES:
            return value
        return self.scatter(run, value, broadcast=False)

    def scatter(self, run: _Run, value: Any, broadcast: bool = True) -> Any:
        """``value`` on the workers under a unique key, within DASK_TIMEOUT_S."""
        client = self.client()
        shipped = client.scatter([value], broadcast=broadcast, hash=False, timeout=self.timeout_s)
        return run.track(shipped)[0]

    def gather(
        self,
        run: _Run,
        futures: list,
        watch: dict[str, str] | None = None,
        locks_before: list[str] | None = None,
    ) -> list:
        """Results of ``futures``; the first task error is raised as it is. Waits at most
        DASK_TIMEOUT_S, and asks the scheduler every WATCH_S (within
        DASK_CONNECT_TIMEOUT_S) which workers it has: a scheduler gone or silent fails the
        step at once. With ``watch`` (worker address -> id), a worker leaving fails it too:
        an XGBoost training ring cannot lose a member, and would otherwise wait for its
        collective timeout. The run is then released, and the worker locks taken since
        ``locks_before`` on the watched workers."""
        from distributed import wait

        client = self.client()
        deadline, pending = time.monotonic() + self.timeout_s, set(futures)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _StepTimeout()
            if client.status != "running":
                raise _SchedulerLost()
            try:
                with client.as_current():  # wait() asks for the current client
                    done, pending = wait(
                        pending, timeout=min(left, WATCH_S), return_when="FIRST_COMPLETED"
                    )
            except TimeoutError:
                done = set()
            failed = [f for f in done if f.status != "finished"]
            if watch:
                members = self._ask(client, "which workers it has", _members)
                self._check_ring(client, run, watch, members, bool(failed), locks_before)
            else:
                self._still_there(client)
            if failed:
                if failed[0].status == "error":
                    raise failed[0].exception(timeout=self.connect_timeout_s)
                raise (
                    _SchedulerLost()
                    if client.status != "running"
                    else BackendError(
                        f"Dask cluster {self.address}: a task of this step was {failed[0].status}"
                    )
                )
        if not futures:
            return []
        return cast(
            list, client.sync(client._gather, list(futures), callback_timeout=self.timeout_s)
        )

    def _check_ring(
        self,
        client: Any,
        run: _Run,
        watch: dict[str, str],
        members: dict[str, str],
        failed: bool,
        locks_before: list[str] | None,
    ) -> None:
        """Fail the fit when one of its workers left. A lost worker is named before a task
        error: its peers then fail with XGBoost's own words ("Invalid worker address",
        a collective error), which hide what happened, and the scheduler may hear of the
        loss a moment after them."""
        gone = _gone(watch, members)
        until = time.monotonic() + (GRACE_S if failed else 0.0)
        while not gone and time.monotonic() < until:
            time.sleep(0.25)
            gone = _gone(watch, self._ask(client, "which workers it has", _members))
        if not gone:
            return
        run.release()  # the fit and the run's partitions: nothing of it stays on a survivor
        released = self._ask(
            client,
            "releasing the abandoned fit's worker locks",
            _release_abandoned,
            before=locks_before or [],
            workers=sorted(watch),
        )
        if released:
            logger.warning(
                "Dask: released {} XGBoost worker lock(s) held by the abandoned fit", released
            )
        raise BackendError(
            f"Dask worker {', '.join(gone)} left the cluster during the fit (killed, out of "
            "memory or restarted); the fit was abandoned and nothing published"
        )

    def load(self, spec: ModelSpec, since: date | None, max_rows: int | None) -> DaskRows:
        tasks = _tasks()
        from retrain.training import summary, validate

        if problem := self.refuses(spec):
            raise ConfigError([problem])
        client, run = self.client(), _Run(spec.name)  # a silent cluster costs no query
        plan = partitions.plan(self.source, spec, since, max_rows, self.partition_rows)
        if max_rows is not None and spec.newest_by is None:
            validate.check_row_limit(plan.rows, spec, max_rows)  # more rows: stops, as local
        logger.info(
            "Dask: {} rows in {} partitions on {}", plan.rows, len(plan.conditions), self.address
        )
        with self.cluster("reading partitions", run):
            reads = run.track(
                client.submit(
                    tasks.read_partition,
                    self.database,
                    spec,
                    since,
                    plan,
                    i,
                    key=f"read-{run.token}-{i}",
                    pure=False,
                )
                for i in range(len(plan.conditions))
            )
            parsed, first = summary.load(DaskPartitions(self, run, reads), spec)
        return DaskRows(self, cast(DaskPartitions, parsed), first)

    def validate(
        self,
        rows: DaskRows,
        spec: ModelSpec,
        champion_profile: dict[str, Any] | None,
        window: Any = None,
    ) -> DaskChecked:
        """``validate.validate``'s rules on the partitions' added counts (training/summary.py):
        the same findings, stops and profile as the local engine on the same rows."""
        from retrain.training import summary

        with self.cluster("profiling partitions", rows.frames.run):
            checked = summary.check(rows.frames, rows.first, spec, champion_profile, window)
        rows.frames = cast(DaskPartitions, checked.usable)
        return DaskChecked(rows, checked.findings, checked.profile, checked.dropped, checked.second)

    def duplicates(self, run: _Run, frames: list, spec: ModelSpec) -> int:
        """Rows repeating another row anywhere: hashes dealt into buckets by value, so each
        bucket is counted by one task and no process sees all of them."""
        tasks = _tasks()
        client, buckets = self.client(), len(frames)
        dealt = self.map(run, tasks.hash_buckets, frames, spec=spec, buckets=buckets)
        counts = [
            client.submit(
                tasks.repeats,
                *run.track(
                    client.submit(tasks.pick, d, b, key=f"pick-{run.token}-{uuid.uuid4().hex}")
                    for d in dealt
                ),
                key=f"repeats-{run.token}-{b}",
            )
            for b in range(buckets)
        ]
        return sum(self.gather(run, run.track(counts)))

    def split(self, checked: DaskChecked, spec: ModelSpec) -> DaskHoldout:
        tasks = _tasks()
        from retrain.training import assemble, fit, holdout

        rule = holdout.rule_for(spec, checked.rows.window(spec, None)["last"])
        vocabularies = {
            col: list(checked.second["columns"][col]["all"]) for col in spec.features.categorical
        }
        features = assemble.fitted_features(spec, vocabularies)
        classes = sorted(checked.profile["class_counts"])
        estimator = spec.estimator()
        fraction = 0.0
        if getattr(estimator, "early_stopping_rounds", None):
            fraction = float(
                getattr(
                    assemble.build_pipeline(spec).named_steps["classifier"],
                    "validation_fraction",
                    0.1,
                )
            )
        run = checked.rows.frames.run
        with self.cluster("splitting partitions", run):
            parts = self.map(
                run,
                tasks.split_partition,
                checked.rows.frames.futures,
                spec=spec,
                rule=rule,
                features=features,
                classes=classes,
                validation_fraction=fraction,
            )
            lengths = self.gather(run, self.map(run, tasks.pick, parts, name="lengths"))
            checked.rows.frames = DaskPartitions(self, run, [])  # the parts hold what is needed
            train_classes = [sum(c) for c in zip(*(n["classes"] for n in lengths), strict=True)]
            fit.check_parts(
                spec,
                rule,
                sum(n["test"] for n in lengths),
                sum(train_classes),
                sum(1 for n in train_classes if n),
            )
        return DaskHoldout(self, run, parts, lengths, classes, features, rule)

    def fit(
        self,
        spec: ModelSpec,
        holdout: DaskHoldout,
        on_round: Callable[[int, int], None] | None = None,  # rounds run on the workers
    ) -> Any:
        tasks = _tasks()
        from retrain.training import assemble

        class_rows = [sum(c) for c in zip(*(n["classes"] for n in holdout.lengths), strict=True)]
        params, class_weights = assemble.xgboost_setup(spec, class_rows)
        client, run = self.client(), holdout.run
        with self.cluster("fitting XGBoost (xgboost.dask)", run):
            keys, picks = {}, []
            for name in ("train_X", "train_y", "valid_X", "valid_y"):
                futures = self.map(run, tasks.pick, holdout.parts, name=name)
                picks.extend(futures)
                keys[name] = [f.key for f in futures]
            lengths = {part: [n[part] for n in holdout.lengths] for part in ("train", "valid")}
            watch = self._ask(client, "which workers it has", _members)
            locks_before = self._ask(client, "which worker locks are held", _lock_holders)
            fitted = client.submit(
                tasks.fit_xgboost,
                keys,
                lengths,
                len(spec.features.all),
                params,
                class_weights,
                self.timeout_s,
                key=f"fit-{run.token}",
                pure=False,
            )
            model = self.gather(run, run.track([fitted]), watch, locks_before)[0]
            del picks  # kept alive until the fit is done
        return assemble.pipeline_from_booster(spec, holdout.features, holdout.classes, model)

    def refuses(self, spec: ModelSpec) -> str | None:
        """Why this engine cannot train ``spec`` (the runner then trains it in-process), or
        None when it can."""
        from retrain.training import assemble, summary

        problems = []
        if spec.key_column is None:
            problems.append(
                f"{spec.name} has no key_column (the Dask engine partitions rows by it)"
            )
        estimator = spec.estimator()
        if not assemble.is_xgboost(estimator):
            problems.append(
                f"{spec.name}'s estimator is {type(estimator).__name__} (the Dask engine "
                "trains XGBoost only, with xgboost.dask)"
            )
        kinds = [kind for kind, cols in spec.features.by_kind().items() if cols]
        if other := sorted(set(kinds) - set(summary.KINDS)):
            problems.append(
                f"{spec.name} has {', '.join(other)} features (the Dask engine profiles "
                f"{', '.join(summary.KINDS)} only)"
            )
        return "; ".join(problems) or None
