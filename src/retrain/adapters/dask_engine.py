"""The Dask engine: the data-bound steps of a run on a Dask cluster, the app as the client.

No process holds all rows: workers read their own partitions from PostgreSQL (see
``postgres_partitions``) and keep them; the app sends functions (``dask_tasks``) to them
and receives only summaries, counts and the trained model. Vocabularies and classes are
fixed from the counts before anything is encoded, the holdout is a hash of the key, XGBoost
trains with ``xgboost.dask`` across the workers, and every model (candidate and champion)
is scored where the holdout rows are. The app imports distributed, never xgboost.dask or
dask.dataframe (those, and pyarrow, are the workers' and the scheduler's)."""

from __future__ import annotations

import hashlib
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Set
from contextlib import contextmanager
from datetime import date
from typing import Any, cast

from loguru import logger

from retrain.adapters import postgres_partitions as partitions
from retrain.adapters.sql_source import SqlSource
from retrain.domain.errors import BackendError, ConfigError, RetrainError
from retrain.domain.specs import ModelSpec

WATCH_S = 2.0  # how often a fit checks that its workers are still there


def _tasks() -> Any:
    """The functions workers run (they import pandas: not when the app is indexed)."""
    from retrain.adapters import dask_tasks

    return dask_tasks


class DaskPartitions:
    """Frames held by the workers (futures), as ``training.summary.Partitions``."""

    def __init__(self, engine: DaskEngine, futures: list) -> None:
        self.engine, self.futures = engine, futures

    def apply(self, fn: Callable[..., Any], **kwargs: Any) -> DaskPartitions:
        client = self.engine.client()
        return DaskPartitions(self.engine, client.map(fn, self.futures, pure=False, **kwargs))

    def collect(self, fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
        return self.engine.gather(self.apply(fn, **kwargs).futures)

    def repeats(self, spec: ModelSpec) -> int:
        return self.engine.duplicates(self.futures, spec)


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
        parts: list,
        lengths: list[dict],
        classes: list[str],
        features: Any,
        rule: Any,
    ) -> None:
        self.engine, self.parts, self.lengths = engine, parts, lengths
        self.classes, self.features, self.rule = classes, features, rule

    @property
    def rows_train(self) -> int:
        return sum(n["train"] + n["valid"] for n in self.lengths)

    @property
    def rows_test(self) -> int:
        return sum(n["test"] for n in self.lengths)

    def evaluate(self, model: Any) -> dict[str, Any]:
        tasks = _tasks()
        from retrain.training import evaluate

        client = self.engine.client()
        with self.engine.cluster("scoring the holdout"):
            shipped = client.scatter(model, broadcast=True, hash=False)
            counts = self.engine.gather(client.map(tasks.confusion, self.parts, model=shipped))
        return evaluate.evaluate_counts(sum(counts, Counter()))

    def triples(self, candidate: Any, champion: Any, sight: Any) -> Any:
        """``training.evaluate.triples`` counted where the test rows are, then added."""
        tasks = _tasks()
        client = self.engine.client()
        with self.engine.cluster("comparing with the champion"):
            ours = client.scatter(candidate, broadcast=True, hash=False)
            theirs = client.scatter(champion, broadcast=True, hash=False)
            found = self.engine.gather(
                client.map(tasks.triples, self.parts, candidate=ours, champion=theirs, sight=sight)
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


class DaskEngine:
    name = "dask"

    def __init__(
        self,
        source: SqlSource,
        database: partitions.Database,
        address: str,
        partition_rows: int = 500_000,
        timeout_s: int = 3600,
        client: Any = None,
    ) -> None:
        self.source, self.database, self.address = source, database, address
        self.partition_rows, self.timeout_s = partition_rows, timeout_s
        self._client = client

    def client(self) -> Any:
        """One client per app process, connected on first use and again if it was lost."""
        if self._client is None or self._client.status not in ("running", "connecting"):
            from distributed import Client

            with self.cluster(f"connecting to the Dask scheduler {self.address}"):
                self._client = Client(
                    self.address, timeout=self.database.connect_timeout_s, set_as_default=False
                )
        return self._client

    @contextmanager
    def cluster(self, doing: str) -> Iterator[None]:
        """Anything the cluster raises becomes a BackendError saying what was under way
        (a retry may succeed); the product's own errors pass through unchanged."""
        try:
            yield
        except RetrainError:
            raise
        except TimeoutError:
            raise BackendError(
                f"Dask cluster: {doing} did not finish within {self.timeout_s} s (DASK_TIMEOUT_S)"
            ) from None
        except Exception as exc:
            text = (str(exc) or "").strip().splitlines()
            raise BackendError(
                f"Dask cluster failed while {doing}: {type(exc).__name__}"
                + (f": {text[0][:300]}" if text else "")
            ) from None

    def gather(
        self, futures: list, watch: Set[str] = frozenset(), locks_before: list[str] | None = None
    ) -> list:
        """Results of ``futures``; the first task error is raised as it is, and waiting longer
        than DASK_TIMEOUT_S is a TimeoutError (see ``cluster``). With ``watch`` (worker
        addresses), a worker leaving the cluster fails at once: an XGBoost training ring
        cannot lose a member, and would otherwise wait for its collective timeout. The worker
        locks taken since ``locks_before`` on the watched workers are then released."""
        from distributed import wait

        client = self.client()
        deadline, pending = time.monotonic() + self.timeout_s, set(futures)
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            try:
                with client.as_current():  # wait() asks for the current client
                    done, pending = wait(
                        pending, timeout=min(left, WATCH_S), return_when="FIRST_COMPLETED"
                    )
            except TimeoutError:
                done = set()
            failed = [f for f in done if f.status == "error"]
            # a lost worker first: its peers' tasks then fail with XGBoost's own words
            # ("Invalid worker address ..."), which hide what happened
            gone = sorted(set(watch) - self.workers()) if watch else []
            if gone:
                client.cancel(list(pending))
                released = client.run_on_scheduler(
                    _release_abandoned, before=locks_before or [], workers=sorted(watch)
                )
                if released:
                    logger.warning(
                        "Dask: released {} XGBoost worker lock(s) held by the abandoned fit",
                        released,
                    )
                raise BackendError(
                    f"Dask worker {', '.join(gone)} left the cluster during the fit (killed, "
                    "out of memory or restarted); the fit was abandoned and nothing published"
                )
            if failed:
                raise failed[0].exception()
        return client.gather(futures) if futures else []

    def ping(self) -> None:
        """The scheduler accepts connections (for /api/health: a TCP connect, no client, no
        distributed import; names neither the address nor the error's text)."""
        host, _, port = self.address.split("://", 1)[-1].rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=10):
                pass
        except (OSError, ValueError):
            raise BackendError("Dask scheduler unreachable (DASK_SCHEDULER_ADDRESS)") from None

    def workers(self) -> set[str]:
        """The workers the scheduler knows now (asked afresh, not the client's cache)."""
        client = self.client()
        return set(client.sync(client.scheduler.identity, n_workers=-1)["workers"])

    def load(self, spec: ModelSpec, since: date | None, max_rows: int | None) -> DaskRows:
        tasks = _tasks()
        from retrain.training import summary, validate

        if problem := self.refuses(spec):
            raise ConfigError([problem])
        plan = partitions.plan(self.source, spec, since, max_rows, self.partition_rows)
        if max_rows is not None and spec.newest_by is None:
            validate.check_row_limit(plan.rows, spec, max_rows)  # more rows: stops, as local
        client, run = self.client(), uuid.uuid4().hex[:8]
        logger.info(
            "Dask: {} rows in {} partitions on {}", plan.rows, len(plan.conditions), self.address
        )
        with self.cluster("reading partitions"):
            reads = [
                client.submit(
                    tasks.read_partition,
                    self.database,
                    spec,
                    since,
                    plan,
                    i,
                    key=f"read-{spec.name}-{run}-{i}",
                    pure=False,
                )
                for i in range(len(plan.conditions))
            ]
            parsed, first = summary.load(DaskPartitions(self, reads), spec)
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

        with self.cluster("profiling partitions"):
            checked = summary.check(rows.frames, rows.first, spec, champion_profile, window)
        rows.frames = cast(DaskPartitions, checked.usable)
        return DaskChecked(rows, checked.findings, checked.profile, checked.dropped, checked.second)

    def duplicates(self, frames: list, spec: ModelSpec) -> int:
        """Rows repeating another row anywhere: hashes dealt into buckets by value, so each
        bucket is counted by one task and no process sees all of them."""
        tasks = _tasks()
        client, buckets = self.client(), len(frames)
        dealt = client.map(tasks.hash_buckets, frames, spec=spec, buckets=buckets, pure=False)
        counts = [
            client.submit(tasks.repeats, *[client.submit(tasks.pick, d, b) for d in dealt])
            for b in range(buckets)
        ]
        return sum(self.gather(counts))

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
        client = self.client()
        with self.cluster("splitting partitions"):
            parts = client.map(
                tasks.split_partition,
                checked.rows.frames.futures,
                spec=spec,
                rule=rule,
                features=features,
                classes=classes,
                validation_fraction=fraction,
                pure=False,
            )
            lengths = self.gather(client.map(tasks.pick, parts, name="lengths", pure=False))
        checked.rows.frames = DaskPartitions(self, [])  # the split parts hold what is needed
        train_classes = [sum(c) for c in zip(*(n["classes"] for n in lengths), strict=True)]
        fit.check_parts(
            spec,
            rule,
            sum(n["test"] for n in lengths),
            sum(train_classes),
            sum(1 for n in train_classes if n),
        )
        return DaskHoldout(self, parts, lengths, classes, features, rule)

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
        client = self.client()
        with self.cluster("fitting XGBoost (xgboost.dask)"):
            keys, picks = {}, []
            for name in ("train_X", "train_y", "valid_X", "valid_y"):
                futures = client.map(tasks.pick, holdout.parts, name=name, pure=False)
                picks.extend(futures)
                keys[name] = [f.key for f in futures]
            lengths = {part: [n[part] for n in holdout.lengths] for part in ("train", "valid")}
            workers = self.workers()
            locks_before = client.run_on_scheduler(_lock_holders)
            fitted = client.submit(
                tasks.fit_xgboost,
                keys,
                lengths,
                len(spec.features.all),
                params,
                class_weights,
                self.timeout_s,
                pure=False,
            )
            model = self.gather([fitted], watch=workers, locks_before=locks_before)[0]
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
