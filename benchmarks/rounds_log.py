"""Round by round: ARTFAM_ROH's XGBoost on the demo table's newest ``--rows`` rows, with the
training and validation log-loss and error after every round and the test macro-F1 of the
model cut after k rounds (issue 26: why early stopping keeps round 1 at 1M rows).

    retrain demo-data --rows 1000000 --as-of 2026-11-01   # RETRAIN_HOME=DIR, written once
    python -m benchmarks.rounds_log --db DIR/training.db --rows 1000000 --rounds 22 \
        [--param max_delta_step=5]

The seed's parameters (depth 6, learning rate 0.3, native categories, two threads), a
stratified 20 % test part and 10 % of the rest for validation, as the product splits;
plain XGBoost on a pandas frame, so the numbers are XGBoost's own. Prints a Markdown table."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from retrain.classifiers.artfam_roh import SPEC  # noqa: E402 - after the path above

QUERY = """
    SELECT plant, product_line, thickness_mm, length_mm, width_mm, density_kg_m3, surface,
           decor_code, glue_system, emission_class, moisture_resistant, fire_retardant,
           customer_segment, article_family || '|' || raw_board AS target
    FROM panel_articles WHERE article_family IS NOT NULL AND raw_board IS NOT NULL
    ORDER BY created_at DESC LIMIT ?
"""


def _value(text: str) -> float | int | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a training.db of demo-data")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=22)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    extra = {k: _value(v) for k, v in (p.split("=", 1) for p in args.param)}

    with sqlite3.connect(args.db) as con:
        frame = pd.read_sql(QUERY, con, params=(args.rows,))
    target = frame.pop("target")
    for column in SPEC.features.categorical:
        frame[column] = frame[column].astype("category")
    for column in SPEC.features.boolean:
        frame[column] = frame[column].astype(float)
    _, codes = np.unique(target, return_inverse=True)
    rest, test = train_test_split(
        np.arange(len(frame)), test_size=0.2, stratify=codes, random_state=0
    )
    fit, val = train_test_split(rest, test_size=0.1, stratify=codes[rest], random_state=42)
    model = XGBClassifier(
        tree_method="hist",
        n_estimators=args.rounds,
        max_depth=6,
        learning_rate=0.3,
        n_jobs=2,
        random_state=42,
        enable_categorical=True,
        eval_metric=["mlogloss", "merror"],
        **extra,
    )
    started = time.monotonic()
    model.fit(
        frame.iloc[fit],
        codes[fit],
        eval_set=[(frame.iloc[fit[:50_000]], codes[fit[:50_000]]), (frame.iloc[val], codes[val])],
        verbose=False,
    )
    seconds = time.monotonic() - started
    log = model.evals_result()
    print(f"{len(frame):,} rows, {codes.max() + 1} classes, {extra or 'seed parameters'}")
    print(f"fit {seconds:.1f} s for {args.rounds} rounds\n")
    print("| round | train log-loss | train error | validation log-loss | validation error |")
    print("| --- | --- | --- | --- | --- |")
    for i in range(args.rounds):
        train, valid = log["validation_0"], log["validation_1"]
        print(
            f"| {i + 1} | {train['mlogloss'][i]:.4f} | {train['merror'][i]:.4f} "
            f"| {valid['mlogloss'][i]:.4f} | {valid['merror'][i]:.4f} |"
        )
    print("\n| rounds kept | test macro-F1 |\n| --- | --- |")
    for k in sorted({1, 3, 5, 10, 20, args.rounds} & set(range(1, args.rounds + 1))):
        predicted = model.predict(frame.iloc[test], iteration_range=(0, k))
        print(f"| {k} | {f1_score(codes[test], predicted, average='macro'):.4f} |")


if __name__ == "__main__":
    main()
