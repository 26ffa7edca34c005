"""Text features: load + vectorize + fit time and peak memory, with and without a description
column, and the sparse matrix against a naive dense one (docs/benchmarks.md).

``python -m benchmarks.text_bench [--rows 1000000] [--dense-rows 20000]`` writes the demo
table (with descriptions) to a Parquet file once, then runs each measurement in its own
process (peak RSS = that process's VmHWM) and prints a Markdown table; raw numbers go to
bench-results/text.json.

- ``xgb_plain``: KLASSE_ROH without its text column (XGBoost hist, native categories).
- ``xgb_text``: KLASSE_ROH as registered (+ word TF-IDF of the description, sparse CSR).
- ``linear_text``: SURFACE_TEXT of the README (text only, default TextOptions: word 1-2 +
  char_wb 3-5 TF-IDF, logistic regression), sparse.
- ``*_dense``: the same matrix densified before the fit (the naive path). KLASSE_ROH's 300
  word columns at full size; SURFACE_TEXT's tens of thousands of columns only at
  ``--dense-rows`` rows, beside its sparse path at the same rows: that dense matrix at 1M
  rows does not fit in memory, so its size there is extrapolated (rows x columns x 4 bytes)
  and said so."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

AS_OF = date(2026, 11, 1)
RESULTS = Path("bench-results/text.json")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def _spec(part: str) -> Any:
    from retrain.classifiers import default_registry
    from retrain.classifiers.estimators import logistic_regression
    from retrain.domain.specs import Features, ModelSpec

    if part.startswith("linear"):
        return ModelSpec(
            name="SURFACE_TEXT",
            description="README example",
            query="SELECT description, surface FROM panel_articles",
            target="surface",
            features=Features(text=("description",)),
            estimator=logistic_regression,
            primary_metric="macro_f1",
        )
    spec = default_registry().get("KLASSE_ROH")
    if part.startswith("xgb_plain"):
        return dataclasses.replace(spec, features=dataclasses.replace(spec.features, text=()))
    return spec


def child(part: str, path: str, rows: int) -> dict[str, Any]:
    """One measurement: load the columns, validate, split, vectorize, fit, score."""
    import pandas as pd

    from retrain.training import fit as fitting
    from retrain.training import validate
    from retrain.training.features import build_pipeline

    spec = _spec(part)
    started = time.perf_counter()
    frame = pd.read_parquet(path, columns=list(spec.required_columns))
    if rows < len(frame):
        frame = frame.iloc[:rows]
    loaded = time.perf_counter()
    data = fitting.split(validate.validate(frame, spec).frame, spec)
    del frame
    pipeline = build_pipeline(spec)
    features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    matrix = features.fit_transform(data.X_train)
    if part.endswith("_dense"):
        matrix = matrix.toarray()
    vectorized = time.perf_counter()
    classifier.fit(matrix, data.y_train)
    fitted = time.perf_counter()
    test = features.transform(data.X_test)
    predicted = classifier.predict(test.toarray() if part.endswith("_dense") else test)
    score = float((predicted == data.y_test.to_numpy()).mean())
    stored = getattr(matrix, "nnz", matrix.size)
    return {
        "part": part,
        "rows": rows,
        "load_s": round(loaded - started, 2),
        "prepare_vectorize_s": round(vectorized - loaded, 2),
        "fit_s": round(fitted - vectorized, 2),
        "total_s": round(fitted - started, 2),
        "peak_mb": _peak_mb(),
        "columns": int(matrix.shape[1]),
        "stored_values": int(stored),
        "matrix_mb": round(_matrix_bytes(matrix) / 2**20, 1),
        "holdout_accuracy": round(score, 4),
        "rounds": getattr(classifier, "rounds_", None),
    }


def _matrix_bytes(matrix: Any) -> int:
    if hasattr(matrix, "nnz"):
        return int(matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes)
    return int(matrix.nbytes)


def _run(part: str, path: str, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.text_bench", "--child", part, path, str(rows)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"part": part, "rows": rows, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dense-rows", type=int, default=20_000, help="linear, dense path")
    parser.add_argument("--parts", default="xgb_plain,xgb_text,linear_text,dense")
    parser.add_argument("--child", nargs=3, metavar=("PART", "PATH", "ROWS"))
    args = parser.parse_args(argv)
    if args.child:
        part, path, rows = args.child
        print(json.dumps(child(part, path, int(rows))))
        return
    from retrain.adapters import demo_data

    parts = args.parts.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "articles.parquet")
        demo_data.generate(args.rows, 7, AS_OF).to_parquet(path)
        plan = [(p, args.rows) for p in parts if p != "dense"]
        if "dense" in parts:
            # XGBoost's 300 word columns densify to rows x 300 floats: measured at full size;
            # the linear model's tens of thousands of columns only at --dense-rows
            plan += [("xgb_text_dense", args.rows)]
            plan += [("linear_text", args.dense_rows), ("linear_text_dense", args.dense_rows)]
        results = []
        for part, rows in plan:
            results.append(_run(part, path, rows))
            print(json.dumps(results[-1]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": _machine(), "results": results}, indent=1))
    print(_table(results))


def _machine() -> str:
    import os
    import platform

    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"


def _table(results: list[dict[str, Any]]) -> str:
    keys = ["part", "rows", "load_s", "prepare_vectorize_s", "fit_s", "total_s", "peak_mb"]
    keys += ["columns", "stored_values", "matrix_mb", "holdout_accuracy"]
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['part']} | {r['rows']} | failed: {r['error']} |")
        else:
            lines.append("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
