"""What Dask workers run for the Dask engine: read a partition (``training.summary``'s
functions then parse and count it where it is), split and encode it, train XGBoost
across all of them (xgboost.dask), score a model on the holdout.

Each function takes and returns plain values; partitions stay on the worker that read
them. Workers need this package at the app's version (see docs/scaling.md)."""

from __future__ import annotations

import gc
import os
import tempfile
from collections import Counter
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from retrain.adapters import postgres_partitions
from retrain.domain.specs import ModelSpec
from retrain.training import evaluate, holdout, summary
from retrain.training.features import feature_frame


def ready() -> bool:
    """Run on the scheduler before a run's first step: unpickling it imports this module
    there, and it imports xgboost.dask, whose tracker the fit starts there
    (dask_cluster.DaskCluster.load_code)."""
    import xgboost.dask  # noqa: F401 - imported for the scheduler, not used here

    return True


def read_partition(
    database: postgres_partitions.Database,
    spec: ModelSpec,
    since: date | None,
    plan: postgres_partitions.Plan,
    index: int,
) -> pd.DataFrame:
    return postgres_partitions.read(database, spec, since, plan, index)


def hash_buckets(frame: pd.DataFrame, spec: ModelSpec, buckets: int) -> list[np.ndarray]:
    """The usable rows' hashes, dealt into ``buckets`` by value: equal rows meet in one."""
    hashes = summary.row_hashes(frame, spec)
    return [hashes[hashes % buckets == b] for b in range(buckets)]


def repeats(*parts: np.ndarray) -> int:
    """Rows beyond the first of each hash value (duplicates of another row)."""
    values = np.concatenate(parts) if parts else np.array([], dtype=np.uint64)
    return int(len(values) - len(np.unique(values)))


def split_partition(
    rows: pd.DataFrame,
    spec: ModelSpec,
    rule: holdout.Rule,
    features: Any,
    classes: list[str],
    validation_fraction: float,
) -> dict[str, Any]:
    """Encoded train and validation rows (float32 matrix, label codes) and the raw test rows
    (the pipeline, and the champion's, take the parsed feature columns; the gate, every
    column)."""
    part = rule.parts(rows, validation_fraction)
    labels = rows[spec.target].astype(str)
    X = feature_frame(rows, spec)
    codes = pd.Categorical(labels, categories=classes).codes.astype(np.int32)
    out: dict[str, Any] = {}
    for name, which in (("train", holdout.TRAIN), ("valid", holdout.VALID)):
        mask = part == which
        matrix = features.transform(X[mask]) if mask.any() else np.empty((0, X.shape[1]))
        out[f"{name}_X"] = np.asarray(matrix, dtype=np.float32)
        out[f"{name}_y"] = codes[mask]
    test = part == holdout.TEST
    out["test"] = (X[test], labels[test])
    out["test_rows"] = rows[test]
    out["lengths"] = {
        name: int((part == which).sum())
        for name, which in (
            ("train", holdout.TRAIN),
            ("valid", holdout.VALID),
            ("test", holdout.TEST),
        )
    }
    training = codes[(part == holdout.TRAIN) | (part == holdout.VALID)]
    out["lengths"]["classes"] = np.bincount(training, minlength=len(classes)).tolist()
    return out


def pick(parts: dict[str, Any], name: str) -> Any:
    return parts[name]


def fit_xgboost(
    keys: dict[str, list[str]],
    lengths: dict[str, list[int]],
    width: int,
    params: dict[str, Any],
    class_weights: list[float] | None,
    timeout_s: int,
) -> bytes:
    """Train ``params``' XGBClassifier with xgboost.dask on the partitions named by
    ``keys`` (futures the app holds), as the local EncodedLabelClassifier trains it: rows
    weighted by ``class_weights``, and with early stopping the fit that stopped on the
    validation rows (no second fit, as locally). Returns the model as ``save_model`` writes
    it. Runs as a task: it drives the other workers through ``worker_client``.

    Runs once: when a worker died while running it, the scheduler would start it again on
    a survivor, but the app has abandoned that fit (its ring broke), so the second start
    stops at once instead of training for nobody."""
    from distributed import get_worker, worker_client

    key = get_worker().get_current_task()
    with worker_client() as client:
        if client.run_on_scheduler(times_lost, key=key):
            raise FitFailed(
                "this fit was abandoned: a worker running it left the cluster (not run again)"
            )
        before = set(client.futures)
        try:
            return _fit_xgboost(client, keys, lengths, width, params, class_weights, timeout_s)
        except Exception as exc:
            failure = f"{type(exc).__name__}: {str(exc).split('Stack trace:')[0].strip()}"
            _drop_tracebacks(client, before)
        # what is left of the failed fit's frames holds its futures in reference cycles:
        # collected now, not whenever this worker's collector next runs (an idle worker's
        # may not run for minutes, and the scheduler keeps their results until then)
        gc.collect()
    # raised here, without the failed fit's traceback (see _drop_tracebacks)
    raise FitFailed(failure)


def _drop_tracebacks(client: Any, before: set) -> None:
    """Let the futures of a failed fit go. distributed keeps a failed task's exception on its
    future's state and raises that very object, so its traceback grows through the frames
    that hold the fit's futures (xgboost.dask's through this worker's client): a cycle
    rooted in the client, never collected, and the scheduler would keep their results and
    the rows they depend on for as long as the worker lives."""
    for key, state in list(client.futures.items()):
        error = getattr(state, "exception", None)
        if key not in before and isinstance(error, BaseException):
            error.__traceback__ = None
            state.traceback = None


class FitFailed(Exception):
    """The fit failed on the cluster (the library's words, no traceback)."""


def _fit_xgboost(
    client: Any,
    keys: dict[str, list[str]],
    lengths: dict[str, list[int]],
    width: int,
    params: dict[str, Any],
    class_weights: list[float] | None,
    timeout_s: int,
) -> bytes:
    import dask.array as da
    import xgboost.dask as dxgb
    from distributed import Future
    from xgboost.collective import Config

    def array(name: str, label: bool) -> Any:
        blocks = [
            da.from_delayed(
                Future(key, client=client),
                shape=(n,) if label else (n, width),
                dtype=np.int32 if label else np.float32,
            )
            for key, n in zip(keys[name], lengths[name.split("_")[0]], strict=True)
        ]
        return da.concatenate(blocks)

    def weights(labels: Any) -> Any:
        if class_weights is None:
            return None
        table = np.asarray(class_weights, dtype=np.float32)
        return labels.map_blocks(lambda codes: table[codes], dtype=np.float32)

    def fit(options: dict[str, Any], X: Any, y: Any, eval_set: Any = None) -> Any:
        model = dxgb.DaskXGBClassifier(
            **{**options, "n_jobs": None},
            coll_cfg=Config(timeout=timeout_s, tracker_timeout=timeout_s),
        )
        model.client = client
        model.fit(
            X,
            y,
            sample_weight=weights(y),
            eval_set=[eval_set] if eval_set else None,
            sample_weight_eval_set=[weights(eval_set[1])] if eval_set and class_weights else None,
            verbose=False,
        )
        return model

    train_X, train_y = array("train_X", False), array("train_y", True)
    if not params.get("early_stopping_rounds"):
        model = fit(params, train_X, train_y)
    else:
        valid = (array("valid_X", False), array("valid_y", True))
        model = fit(params, train_X, train_y, valid)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.ubj")
        model.save_model(path)
        with open(path, "rb") as saved:
            return saved.read()


def triples(
    parts: dict[str, Any], candidate: Any, champion: Any, sight: holdout.Sight
) -> evaluate.Triples:
    X, y = parts["test"]
    return evaluate.triples(candidate, champion, X, y, parts["test_rows"], sight)


def confusion(parts: dict[str, Any], model: Any) -> Counter[tuple[str, str]]:
    X, y = parts["test"]
    return evaluate.confusion_counts(model, X, y)


def times_lost(dask_scheduler: Any, key: str) -> int:
    """Runs on the scheduler: how many workers died while running task ``key``."""
    task = dask_scheduler.tasks.get(key)
    return int(task.suspicious) if task is not None else 0
