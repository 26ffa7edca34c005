"""One measurement per process, so each peak RSS is its own.

``python -m benchmarks.measure TASK '<json args>'`` prints one JSON line: wall seconds, peak
RSS in MB and task-specific numbers. bench.py runs these and builds the table."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

WINDOW_START = date(2000, 1, 1)  # the benchmark table's rows are all inside the window
TABLE_AS_OF = date(2026, 11, 1)  # the benchmark table's newest day (bench.create_table)


def at_table_day(svc: Any) -> Any:
    """``svc`` with its clock at the benchmark table's day: a run's data window then holds
    the same rows on any date (every row, as the bare fit's WINDOW_START does). With
    today's clock the window dropped the oldest rows, the two fits early-stopped on other
    validation rows and the run/bare ratio compared unlike fits."""
    svc.clock = lambda: datetime.combine(TABLE_AS_OF, datetime.min.time(), UTC)
    return svc


def _peak_mb(who: int | None = None) -> float:
    """Peak RSS of this process (VmHWM: getrusage's ru_maxrss survives execve on Linux and
    would report the parent's size), or of the largest waited-for child."""
    if who is not None:
        return round(resource.getrusage(who).ru_maxrss / 1024, 1)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def _spec(name: str) -> Any:
    """A seed classifier, or BENCH_CORE: ARTFAM_ROH's features (with the ~900-value
    decor_code) predicting the 5 core material classes, for the encoding comparison."""
    import dataclasses

    from retrain.classifiers import default_registry

    if name != "BENCH_CORE":
        return default_registry().get(name)
    base = default_registry().get("ARTFAM_ROH")
    query = base.query.replace(
        "article_family || '|' || raw_board AS artfam_roh", "core_material_class"
    )
    return dataclasses.replace(base, name="BENCH_CORE", query=query, target="core_material_class")


def floor(args: dict) -> dict:
    """psql's binary COPY of the same query to /dev/null: what the hardware allows."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    spec = _spec(args["model"])
    sql = str(
        text(spec.query)
        .bindparams(since=WINDOW_START)
        .compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    copy = "\\copy (" + " ".join(sql.split()) + ") TO '/dev/null' WITH (FORMAT binary)"
    subprocess.run(
        ["psql", args["psql_url"], "-v", "ON_ERROR_STOP=1", "-c", copy],
        check=True,
        capture_output=True,
    )
    return {"peak_mb": _peak_mb(resource.RUSAGE_CHILDREN)}


def naive_load(args: dict) -> dict:
    frame = _naive_frame(args)
    return {"rows": len(frame)}


def _naive_frame(args: dict) -> Any:
    import pandas as pd
    from sqlalchemy import create_engine, text

    spec = _spec(args["model"])
    engine = create_engine(args["db_url"])
    with engine.connect() as conn:
        return pd.read_sql(text(spec.query), conn, params={"since": WINDOW_START})


def product_load(args: dict) -> dict:
    from sqlalchemy import create_engine

    from retrain.adapters.sql_source import SqlSource

    frame = SqlSource(create_engine(args["db_url"])).load(_spec(args["model"]), WINDOW_START)
    return {"rows": len(frame), "frame_mb": round(frame.memory_usage(deep=True).sum() / 2**20, 1)}


def naive_fit(args: dict) -> dict:
    """What people write by default: read_sql + get_dummies (dense) + XGBClassifier."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    spec = _spec(args["model"])
    frame = _naive_frame(args).dropna(subset=[spec.target])
    started = time.perf_counter()
    X = pd.get_dummies(frame[list(spec.features.all)], columns=list(spec.features.categorical))
    y = frame[spec.target].astype("category").cat.codes
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=spec.test_size, stratify=y, random_state=spec.random_state
    )
    model = _xgboost(args, spec).fit(X_train, y_train)
    score = float((model.predict(X_test) == y_test.to_numpy()).mean())
    return {
        "columns": X.shape[1],
        "fit_s": round(time.perf_counter() - started, 2),
        "accuracy": round(score, 4),
    }


def encoding(args: dict) -> dict:
    """One way to feed categories to XGBoost, same rows and rounds, scored on one holdout."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder

    from retrain.training.features import feature_frame

    spec = _spec(args["model"])
    frame = _product_frame(args)
    frame = frame[frame[spec.target].notna()]
    y = frame[spec.target].astype("category").cat.codes.to_numpy()
    X = feature_frame(frame, spec)
    cats, others = (
        list(spec.features.categorical),
        [c for c in X.columns if c not in spec.features.categorical],
    )
    kind = args["kind"]
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    if kind in ("codes", "codes_early_stop"):
        for col in cats:
            X[col] = X[col].astype("category").cat.codes.replace(-1, np.nan).astype("float32")
        matrix: Any = X
    elif kind == "native":
        for col in cats:
            X[col] = X[col].astype("category")
        matrix = X
        extra = {"enable_categorical": True}
    elif kind == "sparse_onehot":
        from scipy import sparse

        onehot = OneHotEncoder(handle_unknown="ignore", dtype=np.float32).fit_transform(
            X[cats].fillna("<NA>").astype(str)
        )
        matrix = sparse.hstack(
            [sparse.csr_matrix(X[others].to_numpy(np.float32)), onehot], format="csr"
        )
    elif kind == "dense_onehot":
        matrix = pd.get_dummies(X, columns=cats, dtype=np.float32)
    else:
        raise SystemExit(f"unknown encoding {kind}")
    prep_s = time.perf_counter() - started
    index = np.arange(len(y))
    train, test = train_test_split(
        index, test_size=spec.test_size, stratify=y, random_state=spec.random_state
    )
    fit_rows = train
    params: dict[str, Any] = {}
    if kind == "codes_early_stop":
        fit_rows, val = train_test_split(
            train, test_size=0.1, stratify=y[train], random_state=spec.random_state
        )
        extra["early_stopping_rounds"] = 20
        params["eval_set"] = [(_rows(matrix, val), y[val])]
        params["verbose"] = False
    model = _xgboost(args, spec, **extra)
    started = time.perf_counter()
    model.fit(_rows(matrix, fit_rows), y[fit_rows], **params)
    fit_s = time.perf_counter() - started
    score = float((model.predict(_rows(matrix, test)) == y[test]).mean())
    return {
        "prep_s": round(prep_s, 2),
        "fit_s": round(fit_s, 2),
        "accuracy": round(score, 4),
        "rounds": int(getattr(model, "best_iteration", args["rounds"] - 1) or 0) + 1,
    }


def product_fit(args: dict) -> dict:
    """The product's own path on the naive path's problem and XGBoost set-up: COPY loader,
    validate, split, the pipeline of training/features.py (native categories, early
    stopping) and its evaluation."""
    import dataclasses

    from retrain.training import evaluate, fit, validate

    spec = _spec(args["model"])
    spec = dataclasses.replace(
        spec, estimator=lambda: _xgboost(args, spec, early_stopping_rounds=20)
    )
    data = fit.split(validate.validate(_product_frame(args), spec).frame, spec)
    started = time.perf_counter()
    model = fit.fit(spec, data)
    fit_s = time.perf_counter() - started
    scores = evaluate.evaluate(model, data.X_test, data.y_test)
    return {
        "fit_s": round(fit_s, 2),
        "accuracy": round(scores["accuracy"], 4),
        "rounds": model.named_steps["classifier"].rounds_,
    }


def _xgboost(args: dict, spec: Any, **extra: Any) -> Any:
    """The same XGBoost set-up for every path compared: hist, fixed depth, two threads."""
    from xgboost import XGBClassifier

    return XGBClassifier(
        tree_method="hist",
        n_estimators=args["rounds"],
        max_depth=args["depth"],
        n_jobs=2,
        random_state=spec.random_state,
        **extra,
    )


def _rows(matrix: Any, index: Any) -> Any:
    return matrix.iloc[index] if hasattr(matrix, "iloc") else matrix[index]


def _product_frame(args: dict) -> Any:
    from sqlalchemy import create_engine

    from retrain.adapters.sql_source import SqlSource

    source = SqlSource(create_engine(args["db_url"]))
    return source.load(_spec(args["model"]), WINDOW_START, args.get("max_rows"))


def seed_run(args: dict) -> dict:
    """A whole seed-classifier run: load, validate, fit, evaluate, publish to Azurite."""
    done = _runner(args)()
    return {
        "timings": done.timings,
        "score": done.summary["score"],
        "metric": done.summary["metric"],
    }


def _runner(args: dict) -> Callable[[], Any]:
    """Services on the benchmark's database and Azurite; calling the result runs the seed
    model once and returns its finished run record."""
    import os

    from retrain import bootstrap
    from retrain.entrypoints import logs
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    env = {
        **os.environ,
        "TRAINING_DB_URL": args["db_url"],
        "ARTIFACT_CONNECTION_STRING": args["blob"],
        "LOG_LEVEL": "WARNING",
    }
    svc = at_table_day(bootstrap.build(bootstrap.load_settings(env)))
    logs.configure("WARNING")

    def run() -> Any:
        record = start_runs(svc, [args["model"]], trigger="bench").runs[0]
        done = execute_run(svc, record.run_id)
        if done.status != "succeeded":
            raise SystemExit(f"run failed: {done.error}")
        return done

    return run


def bare_fit(args: dict) -> dict:
    """The product's load + the spec's bare estimator on the same matrix: the 1.3x yardstick."""
    return {"fit_s": _bare(args)}


def _bare(args: dict) -> float:
    """Load, validate, split and ``fit.fit``; the fit's seconds."""
    from retrain.training import fit, validate

    spec = _spec(args["model"])
    frame = _product_frame(args)
    data = fit.split(validate.validate(frame, spec).frame, spec)
    started = time.perf_counter()
    fit.fit(spec, data)
    return round(time.perf_counter() - started, 2)


def warm_runs(args: dict) -> dict:
    """Runs and bare fits in one process, as a Functions worker serves the runs of a month:
    its libraries imported once. A first run imports them and makes the champion the others
    are compared with; then ``reps`` runs and ``reps`` load + bare fits alternate. The
    medians of each, in seconds; ``seed_run`` and ``bare_fit`` are the one-off command's."""
    import statistics

    started = time.perf_counter()
    execute = _runner(args)
    execute()
    first = time.perf_counter() - started
    runs, bares = [], []
    for _ in range(args.get("reps", 3)):
        started = time.perf_counter()
        execute()
        runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        _bare(args)
        bares.append(time.perf_counter() - started)
    return {
        "first_run_s": round(first, 2),
        "run_s": round(statistics.median(runs), 2),
        "bare_s": round(statistics.median(bares), 2),
        "runs_s": [round(s, 2) for s in runs],
        "bares_s": [round(s, 2) for s in bares],
    }


TASKS: dict[str, Callable[[dict], dict]] = {
    "floor": floor,
    "naive_load": naive_load,
    "product_load": product_load,
    "naive_fit": naive_fit,
    "encoding": encoding,
    "product_fit": product_fit,
    "seed_run": seed_run,
    "bare_fit": bare_fit,
    "warm_runs": warm_runs,
}

if __name__ == "__main__":
    task, raw = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    result = TASKS[task](json.loads(raw))
    result.setdefault("peak_mb", _peak_mb())
    result["wall_s"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))
