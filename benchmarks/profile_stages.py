"""Where a run's time and memory go, stage by stage (issue 26.1).

    python -m benchmarks.profile_stages --rows 1000000                  # ARTFAM_ROH, now
    python -m benchmarks.profile_stages --variants now,codes,max_bin_64 --rounds 15

Writes the demo table (SQLite, ``--rows`` rows, fixed ``--as-of``) once into ``--data``
(reused when it is there), then runs the model's whole run through the runner (load ...
publish to a local folder), one process per variant, one at a time. Inside that process
the runner's stages and the steps inside them (encoding, XGBoost's quantised matrices, the
boosting rounds, the holdout's predictions, the permutation importances, serialising) are
timed, and each one's peak RSS is read from ``VmHWM``, which is reset between steps
(``/proc/self/clear_refs``), so a step's peak is the whole process's peak while it ran.

A variant changes one lever of the seed's estimator (``VARIANTS``); ``--rounds N`` caps
the boosting rounds (early stopping stays on) so that levers compare at the same work per
round. Prints a Markdown table per variant and one line per variant with the whole run's
peak, wall time, score and the machine's load average; raw numbers go to ``--out``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks import measure

ROOT = Path(__file__).resolve().parents[1]
AS_OF = measure.TABLE_AS_OF.isoformat()  # fixed: the same rows in every run

# lever -> the seed estimator's parameters it changes ("now": as registered)
VARIANTS: dict[str, dict[str, Any]] = {
    "now": {},
    "codes": {"native": False},  # category codes read as ordered numbers (no native splits)
    "max_bin_64": {"max_bin": 64},
    "max_bin_128": {"max_bin": 128},
    "threads_1": {"n_jobs": 1},
    # XGBoost 3.2 splits no categories in multi-output trees: on the codes, as numbers
    "multi_output_tree": {"multi_strategy": "multi_output_tree", "native": False},
    # early stopping on the validation error (the primary metric's nearest XGBoost metric)
    "error_stop": {"eval_metric": "merror", "early_stopping_rounds": 5},
    "error_stop_10": {"eval_metric": "merror", "early_stopping_rounds": 10},
    # ... with each leaf's step capped: the boosting no longer diverges at 1M rows
    "step_cap": {"max_delta_step": 5, "eval_metric": "merror", "early_stopping_rounds": 5},
    "step_cap_10": {"max_delta_step": 5, "eval_metric": "merror", "early_stopping_rounds": 10},
    # KLASSE_CORE (HistGradientBoosting) with scikit-learn's own stopping tolerance, as it ran
    # until 2026-12-07 (the seed's is 1e-2 since)
    "hgb_tol_default": {"tol": 1e-7},
    # KLASSE_ROH's rounds over its word columns: coarser histograms, half the columns per
    # tree or per split (measured 2026-12-07, not adopted)
    "max_bin_32": {"max_bin": 32},
    "colsample_05": {"colsample_bytree": 0.5},
    "colsample_node_05": {"colsample_bynode": 0.5},
    # KLASSE_CORE (HistGradientBoosting): its step size and patience (2026-12-07; the seed's
    # learning rate is 0.2 since, 0.1 before: patience 5 was measured at 0.1 and stays so)
    "hgb_lr_01": {"learning_rate": 0.1},
    "hgb_lr_02": {"learning_rate": 0.2},
    "hgb_lr_03": {"learning_rate": 0.3},
    "hgb_patience_5": {"n_iter_no_change": 5, "learning_rate": 0.1},
    # the seed's columns without its text: KLASSE_ROH as issue 26.2's 46 s baseline read it
    # (the description came with issue 14)
    "no_text": {"text": False},
    # KLASSE_ROH's description: only the terms most associated with the class (chi-squared)
    "select_terms_10": {"select_terms": 10},
    "select_terms_20": {"select_terms": 20},
    "select_terms_30": {"select_terms": 30},
    "select_terms_50": {"select_terms": 50},
}


def _status() -> tuple[float, float]:
    """(VmHWM, VmRSS) of this process in MB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            found[line[:5]] = int(line.split()[1]) / 1024
    return found["VmHWM"], found["VmRSS"]


class Steps:
    """Nested, named steps: each step's wall time (summed over its calls), its peak RSS
    and the RSS it started at. Only the innermost step runs at any time."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.rows: dict[str, dict[str, float]] = {}
        self.order: list[str] = []
        self.started = time.perf_counter()
        self.peak = 0.0
        self._reset()

    def _label(self) -> str:
        return " / ".join(self.stack) or "(between stages)"

    def _reset(self) -> None:
        with contextlib.suppress(OSError):  # without it, peaks are cumulative
            Path("/proc/self/clear_refs").write_text("5")
        self.t0 = time.perf_counter()

    def _close(self) -> None:
        hwm, rss = _status()
        label = self._label()
        row = self.rows.get(label)
        if row is None:
            row = self.rows[label] = {"s": 0.0, "peak_mb": 0.0, "start_mb": self.rss_at_open}
            self.order.append(label)
        row["s"] += time.perf_counter() - self.t0
        row["peak_mb"] = max(row["peak_mb"], hwm)
        self.peak = max(self.peak, hwm)
        self.rss_at_open = rss

    rss_at_open = 0.0

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self._close()
        self._reset()
        self.stack.append(name)
        try:
            yield
        finally:
            self._close()
            self.stack.pop()
            self._reset()

    def table(self) -> list[dict[str, Any]]:
        self._close()
        return [
            {
                "step": label,
                "s": round(self.rows[label]["s"], 2),
                "peak_mb": round(self.rows[label]["peak_mb"]),
                "start_mb": round(self.rows[label]["start_mb"]),
            }
            for label in self.order
        ]


def _wrap(steps: Steps, owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with steps.step(label):
            return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def instrument(steps: Steps) -> None:
    """Name the steps inside the runner's stages (monkeypatched in this process only)."""
    import xgboost.sklearn
    from sklearn.compose import ColumnTransformer

    from retrain.service import card, local_engine, runner
    from retrain.training import estimators, evaluate, fit, serialize

    stage = runner._stage

    @contextlib.contextmanager
    def named_stage(attempt: Any, which: Any) -> Iterator[None]:
        with stage(attempt, which), steps.step(str(which)):
            yield

    runner._stage = named_stage  # type: ignore[assignment]
    _wrap(steps, fit, "feature_frame", "feature frame")
    _wrap(steps, ColumnTransformer, "fit_transform", "encode")
    _wrap(steps, ColumnTransformer, "transform", "encode")
    _wrap(steps, estimators.EncodedLabelClassifier, "_input", "categorical frame")
    _wrap(steps, estimators, "train_test_split", "early-stopping split")
    _wrap(steps, estimators, "_rows", "early-stopping rows")
    _wrap(steps, xgboost.sklearn, "_wrap_evaluation_matrices", "XGBoost matrices")
    _wrap(steps, xgboost.sklearn, "train", "boosting")
    _wrap(steps, local_engine.LocalHoldout, "predictions", "holdout predictions")
    _wrap(steps, evaluate, "feature_importance", "permutation importance")
    _wrap(steps, serialize, "dumps", "serialise")
    _wrap(steps, card, "fingerprint", "fingerprint")


def _spec(model: str, lever: dict[str, Any], rounds: int | None) -> Any:
    from retrain.classifiers import default_registry

    spec = default_registry().get(model)
    lever = dict(lever)
    native = lever.pop("native", True)
    if not lever.pop("text", True):
        spec = dataclasses.replace(spec, features=dataclasses.replace(spec.features, text=()))
    if "select_terms" in lever:
        options = dataclasses.replace(
            spec.features.text_options, select_terms=lever.pop("select_terms")
        )
        spec = dataclasses.replace(
            spec, features=dataclasses.replace(spec.features, text_options=options)
        )
    make = spec.estimator

    def estimator() -> Any:
        model = make()
        params = dict(lever)
        if rounds:
            params["n_estimators"] = rounds
        if not native:  # a feature_types of its own: the pipeline leaves the codes numbers
            params["feature_types"] = ["q"] * len(spec.features.all)
        model.set_params(**params)
        return model

    return dataclasses.replace(spec, estimator=estimator)


def instrumented_run(svc: Any, name: str) -> tuple[Any, Steps, float]:
    """``name``'s run through the runner with its steps timed and their peaks read: the
    finished run record, the steps and the wall seconds. SystemExit when the run failed."""
    from retrain.service.runner import execute_run
    from retrain.service.start import start_runs

    record = start_runs(svc, [name], trigger="bench").runs[0]
    steps = Steps()
    instrument(steps)
    started = time.perf_counter()
    done = execute_run(svc, record.run_id)
    wall = time.perf_counter() - started
    if done.status != "succeeded":
        raise SystemExit(f"run failed: {done.error}")
    return done, steps, wall


def one_run(args: dict[str, Any]) -> dict[str, Any]:
    """In the child: the seed spec with the variant's lever, trained by the runner."""
    from retrain import bootstrap
    from retrain.domain.specs import Registry
    from retrain.entrypoints import logs

    load_before = os.getloadavg()
    spec = _spec(args["model"], VARIANTS[args["variant"]], args.get("rounds"))
    env = {**os.environ, "RETRAIN_HOME": args["home"], "LOG_LEVEL": "WARNING"}
    logs.configure("WARNING")
    svc = bootstrap.build(bootstrap.load_settings(env), registry=Registry([spec]))
    measure.at_table_day(svc)
    done, steps, wall = instrumented_run(svc, spec.name)
    table = steps.table()
    card = svc.models.card(spec.name, done.version)
    return {
        "model": spec.name,
        "variant": args["variant"],
        "rows": args["rows"],
        "rounds_cap": args.get("rounds"),
        "src": args.get("src"),
        "rounds": card.get("estimator", {}).get("rounds"),
        "wall_s": round(wall, 1),
        "peak_mb": round(max(steps.peak, max(r["peak_mb"] for r in table))),
        "metric": done.summary["metric"],
        "score": done.summary["score"],
        "load_average": [round(x, 2) for x in (*load_before, *os.getloadavg())],
        "steps": table,
    }


def ensure_data(data: Path, rows: int) -> Path:
    """The demo table at ``rows`` rows in ``data``/training.db (written once)."""
    db = data / "training.db"
    marker = data / f"rows-{rows}-{AS_OF}"
    if db.exists() and marker.exists():
        return db
    data.mkdir(parents=True, exist_ok=True)
    for stale in (db, *data.glob("rows-*")):  # another row count's table and its marker
        stale.unlink(missing_ok=True)
    command = ["demo-data", "--rows", str(rows), "--as-of", AS_OF, "--quiet"]
    subprocess.run(
        [sys.executable, "-m", "retrain", *command],
        env={**os.environ, "RETRAIN_HOME": str(data)},
        check=True,
    )
    marker.touch()
    return db


def render(result: dict[str, Any]) -> str:
    la = result["load_average"]
    lines = [
        f"\n{result['model']}, {result['rows']:,} rows, variant {result['variant']}"
        + (f", at most {result['rounds_cap']} rounds" if result["rounds_cap"] else "")
        + f": {result['wall_s']} s, peak {result['peak_mb']} MB, {result['metric']} "
        f"{result['score']:.4f}, rounds {result['rounds']}, load average {la[0]:.2f} before, "
        f"{la[3]:.2f} after\n",
        "| step | s | peak MB | MB at start |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {row['step']} | {row['s']} | {row['peak_mb']} | {row['start_mb']} |"
        for row in result["steps"]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None, run: Callable[..., Any] = subprocess.run) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--model", default="ARTFAM_ROH")
    parser.add_argument("--variants", default="now", help=f"comma-separated: {','.join(VARIANTS)}")
    parser.add_argument("--rounds", type=int, default=None, help="cap the boosting rounds")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "retrain-profile-data"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "stages.json")
    parser.add_argument(
        "--src", type=Path, default=ROOT / "src", help="the retrain package's tree to measure"
    )
    opts = parser.parse_args(argv)
    variants = [v.strip() for v in opts.variants.split(",") if v.strip()]
    if set(variants) - set(VARIANTS):
        parser.error(f"--variants takes a subset of {','.join(VARIANTS)}")
    db = ensure_data(opts.data, opts.rows)
    results = json.loads(opts.out.read_text()) if opts.out.exists() else []
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{opts.src}"}
    for variant in variants:
        with tempfile.TemporaryDirectory() as home:
            (Path(home) / "training.db").symlink_to(db)
            args = {
                "model": opts.model,
                "variant": variant,
                "rows": opts.rows,
                "rounds": opts.rounds,
                "home": home,
                "src": str(opts.src),
            }
            done = run(
                [sys.executable, "-m", "benchmarks.profile_stages", "--child", json.dumps(args)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                check=False,
            )
        if done.returncode != 0:
            raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(render(result), flush=True)
        results.append(result)
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        opts.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(one_run(json.loads(sys.argv[2]))))
    else:
        main()
