"""The Dask engine: the data-bound steps of a run on a Dask cluster, the app as the client.

No process holds all rows: workers read their own partitions from PostgreSQL (see
``postgres_partitions``) and keep them; the app sends functions (``dask_tasks``) to them
and receives only summaries, counts and the trained model. Vocabularies and classes are
fixed from the counts before anything is encoded, the holdout is a hash of the key, XGBoost
trains with ``xgboost.dask`` across the workers, and every model (candidate and champion)
is scored where the holdout rows are. The app imports distributed, never xgboost.dask or
dask.dataframe (those, and pyarrow, are the workers' and the scheduler's). Every call to
the cluster is bounded: ``dask_cluster``."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, cast

from loguru import logger

from retrain.adapters import postgres_partitions as partitions
from retrain.adapters.dask_cluster import DaskCluster, Run, lock_holders, members
from retrain.adapters.sql_source import SqlSource
from retrain.domain.errors import ConfigError
from retrain.domain.specs import ModelSpec


def _tasks() -> Any:
    """The functions workers run (they import pandas: not when the app is indexed)."""
    from retrain.adapters import dask_tasks

    return dask_tasks


class DaskPartitions:
    """Frames held by the workers (futures), as ``training.summary.Partitions``."""

    def __init__(self, engine: DaskEngine, run: Run, futures: list) -> None:
        self.engine, self.run, self.futures = engine, run, futures

    def apply(self, fn: Callable[..., Any], **kwargs: Any) -> DaskPartitions:
        return DaskPartitions(
            self.engine, self.run, self.engine.dask.map(self.run, fn, self.futures, **kwargs)
        )

    def collect(self, fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
        return self.engine.dask.gather(self.run, self.apply(fn, **kwargs).futures)

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
        """Let go at once of everything the run holds on the cluster (see ``Run``)."""
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
        run: Run,
        parts: list,
        lengths: list[dict],
        classes: list[str],
        features: Any,
        rule: Any,
    ) -> None:
        self.engine, self.run, self.parts, self.lengths = engine, run, parts, lengths
        self.classes, self.features, self.rule = classes, features, rule

    def release(self) -> None:
        """Let go at once of everything the run holds on the cluster (see ``Run``)."""
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
        with engine.dask.step("scoring the holdout", run):
            shipped = engine.dask.scatter(run, model)
            counts = engine.dask.gather(
                run, engine.dask.map(run, tasks.confusion, self.parts, model=shipped)
            )
        return evaluate.evaluate_counts(sum(counts, Counter()))

    def texts_read_once(self, *models: Any) -> AbstractContextManager[None]:
        """Nothing ahead: each partition's task predicts with both models where it is."""
        return contextlib.nullcontext()

    def triples(self, candidate: Any, champion: Any, sight: Any) -> Any:
        """``training.evaluate.triples`` counted where the test rows are, then added."""
        tasks = _tasks()
        engine, run = self.engine, self.run
        with engine.dask.step("comparing with the champion", run):
            ours, theirs = engine.dask.scatter(run, candidate), engine.dask.scatter(run, champion)
            found = engine.dask.gather(
                run,
                engine.dask.map(
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
        self.database = database
        self.partition_rows, self.timeout_s = partition_rows, timeout_s
        self.dask = DaskCluster(address, timeout_s, connect_timeout_s, client)

    @property
    def address(self) -> str:
        return self.dask.address

    @address.setter
    def address(self, value: str) -> None:
        self.dask.address = value

    @property
    def connect_timeout_s(self) -> float:
        return self.dask.connect_timeout_s

    @property
    def source(self) -> SqlSource:
        if self._source is None and self._make_source is not None:
            self._source = self._make_source()
        return cast(SqlSource, self._source)

    def ping(self) -> None:
        """For /api/health: ``DaskCluster.ping``."""
        self.dask.ping()

    def load(self, spec: ModelSpec, since: date | None, max_rows: int | None) -> DaskRows:
        tasks = _tasks()
        from retrain.training import summary, validate

        if problem := self.refuses(spec):
            raise ConfigError([problem])
        client, run = self.dask.client(), Run(spec.name)  # a silent cluster costs no query
        plan = partitions.plan(self.source, spec, since, max_rows, self.partition_rows)
        if max_rows is not None and spec.newest_by is None:
            validate.check_row_limit(plan.rows, spec, max_rows)  # more rows: stops, as local
        logger.info(
            "Dask: {} rows in {} partitions on {}", plan.rows, len(plan.conditions), self.address
        )
        with self.dask.step("reading partitions", run):
            self.dask.load_code(client, tasks.ready)
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

        with self.dask.step("profiling partitions", rows.frames.run):
            checked = summary.check(rows.frames, rows.first, spec, champion_profile, window)
        rows.frames = cast(DaskPartitions, checked.usable)
        return DaskChecked(rows, checked.findings, checked.profile, checked.dropped, checked.second)

    def duplicates(self, run: Run, frames: list, spec: ModelSpec) -> int:
        """Rows repeating another row anywhere: hashes dealt into buckets by value, so each
        bucket is counted by one task and no process sees all of them."""
        tasks = _tasks()
        client, buckets = self.dask.client(), len(frames)
        dealt = self.dask.map(run, tasks.hash_buckets, frames, spec=spec, buckets=buckets)
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
        return sum(self.dask.gather(run, run.track(counts)))

    def split(self, checked: DaskChecked, spec: ModelSpec, now: Any = None) -> DaskHoldout:
        tasks = _tasks()
        from retrain.training import assemble, fit, holdout

        rule = holdout.rule_for(spec, checked.rows.window(spec, None)["last"], now)
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
        with self.dask.step("splitting partitions", run):
            parts = self.dask.map(
                run,
                tasks.split_partition,
                checked.rows.frames.futures,
                spec=spec,
                rule=rule,
                features=features,
                classes=classes,
                validation_fraction=fraction,
            )
            lengths = self.dask.gather(run, self.dask.map(run, tasks.pick, parts, name="lengths"))
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
        client, run = self.dask.client(), holdout.run
        with self.dask.step("fitting XGBoost (xgboost.dask)", run):
            keys, picks = {}, []
            for name in ("train_X", "train_y", "valid_X", "valid_y"):
                futures = self.dask.map(run, tasks.pick, holdout.parts, name=name)
                picks.extend(futures)
                keys[name] = [f.key for f in futures]
            lengths = {part: [n[part] for n in holdout.lengths] for part in ("train", "valid")}
            watch = self.dask.ask(client, "which workers it has", members)
            locks_before = self.dask.ask(client, "which worker locks are held", lock_holders)
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
            model = self.dask.gather(run, run.track([fitted]), watch, locks_before)[0]
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
