"""The pre-flight memory estimate against measured peaks on tables unlike the demo's
(issue 26.5): wide numeric rows (``wide_num``: 80 columns, ``wide400``: 400, ``wide1500``:
1,500), many categorical columns, many classes (``many_cls``: 150, ``cls600``: 600),
high-cardinality categories (``hicard``: 10 columns of 5,000 levels, ``hicard3``: 3 of
20,000; ``lowcard`` is ``hicard`` with 30 levels).

    python -m benchmarks.memory_shapes --rows 500000
    python -m benchmarks.memory_shapes --rows 1000000 --shapes wide_num,hicard

Each shape's table is generated once into ``--data``/SHAPE-ROWS/training.db (SQLite,
seeded), then trained by the runner in a process of its own (load ... publish to a local
folder; XGBoost ``hist`` capped at 20 rounds: the peak is the rows', not the rounds'). The
steps' peaks are read as ``profile_stages`` reads them (``VmHWM``, reset between steps).
Prints one Markdown row per shape: ``memory.estimate_mb`` for its rows and classes, the
measured peak and the step it was in."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# numeric columns, categorical columns, classes, levels per categorical column
SHAPES: dict[str, tuple[int, int, int, int]] = {
    "wide_num": (80, 0, 2, 0),
    "many_cat": (2, 25, 3, 30),
    "many_cls": (10, 0, 150, 0),
    "hicard": (10, 10, 5, 5000),
    "hicard3": (10, 3, 5, 20000),
    "lowcard": (10, 10, 5, 30),  # hicard with 30 levels: what the levels cost
    "wide400": (400, 0, 3, 0),
    "wide1500": (1500, 0, 2, 0),
    "cls600": (10, 2, 600, 20),
}


def _spec(shape: str) -> Any:
    from retrain.classifiers.estimators import xgboost_hist
    from retrain.domain.specs import Features, ModelSpec

    num, cat, _, _ = SHAPES[shape]
    return ModelSpec(
        name="SHAPE",
        description=f"memory_shapes {shape}",
        query="SELECT * FROM t",
        target="y",
        features=Features(
            numeric=tuple(f"n{i}" for i in range(num)),
            categorical=tuple(f"c{i}" for i in range(cat)),
        ),
        estimator=lambda: xgboost_hist(n_estimators=20),
        min_rows=100,
        primary_metric="accuracy",
    )


def make_table(db: Path, shape: str, rows: int) -> None:
    """Numbers N(0, 1) and categories uniform over their levels; the target is the
    quantile bin of a random mix of them (every class about as frequent)."""
    import numpy as np
    import pandas as pd
    from sqlalchemy import create_engine

    num, cat, classes, levels = SHAPES[shape]
    rng = np.random.default_rng(0)
    columns: dict[str, Any] = {}
    signal = np.zeros(rows)
    for i in range(num):
        columns[f"n{i}"] = rng.normal(size=rows)
        signal += columns[f"n{i}"] * rng.normal()
    for i in range(cat):
        codes = rng.integers(0, levels, rows)
        columns[f"c{i}"] = np.char.add("lvl_", codes.astype(str))
        signal += (codes % 7) * 0.3
    edges = np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])
    columns["y"] = np.char.add("k", np.searchsorted(edges, signal).astype(str))
    db.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns).to_sql("t", create_engine(f"sqlite:///{db}"), index=False)


def one_run(args: dict[str, Any]) -> dict[str, Any]:
    """In the child: the shape's run, its steps' peaks and the estimate."""
    from benchmarks.profile_stages import instrumented_run
    from retrain import bootstrap
    from retrain.domain.specs import Registry
    from retrain.entrypoints import logs
    from retrain.training import memory

    spec = _spec(args["shape"])
    env = {**os.environ, "RETRAIN_HOME": args["home"], "LOG_LEVEL": "WARNING"}
    logs.configure("WARNING")
    svc = bootstrap.build(bootstrap.load_settings(env), registry=Registry([spec]))
    _, steps, wall = instrumented_run(svc, spec.name)
    table = steps.table()
    top = max(table, key=lambda row: row["peak_mb"])
    return {
        "shape": args["shape"],
        "rows": args["rows"],
        "classes": SHAPES[args["shape"]][2],
        "estimate_mb": memory.estimate_mb(spec, args["rows"], SHAPES[args["shape"]][2]),
        "peak_mb": top["peak_mb"],
        "where": top["step"],
        "wall_s": round(wall, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--data", type=Path, default=ROOT / "bench-results" / "shapes")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        print(json.dumps(one_run(json.loads(opts.child))))
        return
    print("| shape | rows | classes | estimate MB | peak MB | estimate / peak | peak in |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for shape in opts.shapes.split(","):
        home = opts.data / f"{shape}-{opts.rows}"
        if not (home / "training.db").exists():
            make_table(home / "training.db", shape, opts.rows)
        child = json.dumps({"shape": shape, "rows": opts.rows, "home": str(home)})
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.memory_shapes", "--child", child],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            cwd=ROOT,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"| {shape} | {r['rows']:,} | {r['classes']} | {r['estimate_mb']:,} | "
            f"{r['peak_mb']:,} | {r['estimate_mb'] / r['peak_mb']:.2f} | {r['where']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
