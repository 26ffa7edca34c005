"""The pre-flight memory estimate: once a local run has read its rows, before validation
copies them and the fit, it estimates the process's peak (interpreter and libraries
included) from rows, columns and classes, and stops with a clear error when that exceeds the
instance's memory, instead of being killed by the host mid-fit with nothing recorded. While
the rows are read, ``load_guard`` stops a table too large to train here before the load
itself outgrows the instance.

The figures are fitted to whole-run peaks measured at 1,000,000 rows since issue 26's
memory work (docs/benchmarks.md, "ARTFAM_ROH's run step by step"): ARTFAM_ROH (51 classes,
13 columns) 949 MB on PostgreSQL (929 MB on SQLite); on SQLite KLASSE_CORE
(HistGradientBoosting, 5 classes, 7 columns) 531 MB and KLASSE_ROH (4 classes, 8 columns
and a description) 1,340 MB, its peak in validating the description. Per million rows a
class costs ~8-9 MB (XGBoost's per-class gradients, hessians and margins of the fit rows), a
column ~14 MB (the holdout's frames, the float32 matrix and its quantised form). The
estimate was within 7 % of those peaks, above all three; the runs have since become
lighter and the figures were kept (on 2026-12-07, on PostgreSQL, 12 % above ARTFAM_ROH's
886 MB and 4 % above KLASSE_CORE's 518 MB). On tables unlike the demo's
(``benchmarks/memory_shapes.py``, 1M rows) 150 classes cost 8.5 MB each: a class now counts
9 (the estimate 1,890 MB against a 1,821 MB peak; 80 numeric columns: 1,538 against 1,381).
Not counted: a model's own size, which grows with trees x categories of its categorical
columns (10 columns of 5,000 levels: 4-10 % above the estimate; 3 of 20,000: 38 % above,
the peak in publishing a 138 MB model). Not known before the fit, so ``check_model``
checks it after the fit, before the model is serialised.

A text column's cost grows with its texts' length, so a run reads it from a sample of its
rows (``text_row_bytes``): each text's own size and its distinct terms, 26-50 bytes each
while TF-IDF builds its vocabulary. The fixed ~800 MB per million rows used before was
fitted to the demo's short descriptions: with 450-character ones KLASSE_ROH peaked at 894 MB
on 200,000 rows where it said 589 (now 1,009; docs/benchmarks.md, "Long texts"). Erring high
refuses a run that might have fitted, erring low lets the host kill it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrain.domain.errors import ResourceLimitError
from retrain.domain.specs import ModelSpec

if TYPE_CHECKING:  # imported by the app at start: no pandas or NumPy until a run needs them
    import pandas as pd

BASE_MB = 400  # interpreter, pandas, scikit-learn, XGBoost, the Azure SDK
PER_CLASS_MB = 9  # per million rows
PER_COLUMN_MB = 14
# and whatever the rows: a boosting level's gradient histograms, up to 256 bins of 16 bytes per
# number column and node (1,500 number columns peaked 219 MB above the estimate at 3,000 rows,
# 111 MB at 10,000: docs/benchmarks.md, "Permutation importances on wide tables")
PER_NUMBER_COLUMN_FIXED_MB = 0.16
PER_TEXT_COLUMN_MB = 800  # when no rows were sampled: the demo's short descriptions
# a row's distinct term while TF-IDF builds its vocabulary: a word (or word n-gram), a
# character n-gram (measured at 150,000 rows: 47-52 and 20-26 bytes)
TERM_BYTES = {"w": 50, "c": 26}
TEXT_SAMPLE_ROWS = 1000
# publishing holds a model several times: its booster's raw bytes, skops' archive and its
# schema (a node per category value), the identity written into it, the load-back check; a
# 109 MB booster (3 columns of 20,000 values) peaked 607 MB above the publish's start
PUBLISH_COPIES = 6
UNLIMITED = 1 << 60  # cgroup v1 says "no limit" with a number about this large


def estimate_mb(
    spec: ModelSpec, rows: int, classes: int, text_bytes: Mapping[str, float] | None = None
) -> int:
    """The whole process's expected peak in MB for a local run of ``rows`` rows.
    ``text_bytes``: bytes per row of each text column (``text_row_bytes``); a column
    without one costs ``PER_TEXT_COLUMN_MB`` per million rows."""
    columns = sum(len(cols) for kind, cols in spec.features.by_kind().items() if kind != "text")
    texts = text_bytes or {}
    per_row = (  # bytes per row, which is MB per million rows
        PER_CLASS_MB * max(classes, 2)
        + PER_COLUMN_MB * columns
        + sum(texts.get(col, PER_TEXT_COLUMN_MB) for col in spec.features.text)
    )
    histograms = PER_NUMBER_COLUMN_FIXED_MB * len(spec.features.numeric)
    return BASE_MB + round(per_row * rows / 1_000_000 + histograms)


def text_row_bytes(
    frame: pd.DataFrame, spec: ModelSpec, sample: int = TEXT_SAMPLE_ROWS, terms: bool = True
) -> dict[str, float]:
    """Bytes per row of each text column at the run's peak, from ``sample`` rows spread over
    ``frame``: the text as a Python string, and (``terms``) its distinct terms under the
    spec's own TF-IDF analysers (the vocabulary is built from every row's terms before
    ``min_df`` and ``max_*_features`` prune it)."""
    import numpy as np

    from retrain.training.text import TextTfidf, documents

    if not spec.features.text or frame.empty:
        return {}
    picked = np.unique(np.linspace(0, len(frame) - 1, min(sample, len(frame))).astype(int))
    # one set of options for every text column of the spec
    options = TextTfidf.from_options(spec.features.text_options)
    analysers = options.analysers(len(frame)) if terms else []
    # a column the rows lack costs nothing here: validation says that it is missing
    out: dict[str, float] = {col: 0.0 for col in spec.features.text if col not in frame}
    for col in spec.features.text:
        if col in out:
            continue
        docs = documents(frame[col].iloc[picked])
        term_bytes = sum(
            TERM_BYTES[block] * len(set(analyse(doc)))
            for block, analyse in analysers
            for doc in docs
        )
        strings = sum(sys.getsizeof(doc) for doc in docs)  # 1-4 bytes a character
        out[col] = (strings + term_bytes) / len(docs)
    return out


def instance_limit_mb(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """The memory this process may use: its cgroup's limit (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``), else the machine's memory; None when unknown."""
    for name in ("memory.max", "memory/memory.limit_in_bytes"):
        try:
            text = (root / name).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < UNLIMITED:
            return int(text) // (1024 * 1024)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return None


def check(
    spec: ModelSpec,
    rows: int,
    classes: int,
    limit_mb: int | None,
    text_bytes: Mapping[str, float] | None = None,
    loading: bool = False,
) -> None:
    """ResourceLimitError when the estimate exceeds ``limit_mb`` (None: no check).
    ``loading``: the rows and classes are those read so far, and the load stops here."""
    if limit_mb is None:
        return
    needed = estimate_mb(spec, rows, classes, text_bytes)
    if needed <= limit_mb:
        return
    what = (
        f"the first {rows:,} rows read x {classes} classes already need"
        if loading
        else f"{rows:,} rows x {classes} classes need"
    )
    fits = _round_down(_rows_that_fit(spec, rows, classes, limit_mb, text_bytes))
    if fits:
        change = _what_to_change(f"TRAINING_MAX_ROWS={fits:,} fits")
    else:  # no row count helps
        change = (
            "No number of rows fits: the interpreter, the libraries and this model's columns "
            f"alone need about {estimate_mb(spec, 1, classes, text_bytes):,} MB. "
            f"{_what_to_change(None)}"
        )
    raise ResourceLimitError(
        f"{spec.name}: {what} about {needed:,} MB, more than this instance's {limit_mb:,} MB: "
        f"{'the load stopped there, ' if loading else ''}nothing was fitted. {change}"
    )


def _rows_that_fit(
    spec: ModelSpec,
    rows: int,
    classes: int,
    limit_mb: int,
    text_bytes: Mapping[str, float] | None,
) -> int:
    """The most rows below ``rows`` whose estimate stays within ``limit_mb``, 0 if none (the
    estimate grows with the rows: a bisection, exact whatever its fixed terms and rounding)."""
    low, high = 0, rows  # estimate(high) > limit; 0 when not even one row fits
    while high - low > 1:
        middle = (low + high) // 2
        if estimate_mb(spec, middle, classes, text_bytes) <= limit_mb:
            low = middle
        else:
            high = middle
    return low


def resident_mb() -> int | None:
    """The process's resident memory now (Linux ``/proc/self/statm``), None elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)


def model_bytes(model: Any) -> int | None:
    """The fitted model's size as XGBoost stores it (its booster's raw bytes; one transient
    copy to count them), None for other estimators."""
    step = getattr(model, "named_steps", {}).get("classifier")
    estimator: Any = getattr(step, "estimator_", step)
    if not hasattr(estimator, "get_booster"):
        return None
    return len(estimator.get_booster().save_raw("ubj"))


def check_model(
    spec: ModelSpec,
    model: Any,
    limit_mb: int | None,
    resident: Callable[[], int | None] = resident_mb,
    size: Callable[[Any], int | None] = model_bytes,
) -> None:
    """ResourceLimitError, before the model is serialised, when publishing it would pass
    ``limit_mb``: resident memory plus ``PUBLISH_COPIES`` times the model. The pre-flight
    estimate counts rows, columns and classes, not a model's own size, which XGBoost's
    categorical splits make grow with trees x categories (3 columns of 20,000 values: 109
    MB in 100 trees)."""
    if limit_mb is None:
        return
    raw, now = size(model), resident()
    if raw is None or now is None:
        return
    model_mb = raw / (1024 * 1024)
    needed = now + PUBLISH_COPIES * model_mb
    if needed <= limit_mb:
        return
    from retrain.training.features import category_counts

    wide = ", ".join(f"{col} ({n:,} values)" for col, n in category_counts(spec, model)[:3])
    why = (
        "XGBoost keeps each categorical split's set of values in the model (the most: "
        f"{wide}): group a column's rare values, "
        if wide
        else ""
    )
    raise ResourceLimitError(
        f"{spec.name}: the fitted model is {model_mb:,.0f} MB and publishing it needs about "
        f"{needed:,.0f} MB with what this run holds, more than this instance's "
        f"{limit_mb:,} MB: nothing was published, the champion is untouched. {why}"
        f"{'train' if wide else 'Train'} fewer rounds (n_estimators, early_stopping_rounds) "
        "or use a larger instance; TRAINING_MEMORY_LIMIT_MB overrides the limit read from "
        "the instance"
    )


def load_guard(
    spec: ModelSpec, limit_mb: int, resident: Callable[[], int | None] = resident_mb
) -> Callable[[pd.DataFrame], None]:
    """For the loader to call with each part of the rows it reads (``TrainingSource.load``'s
    ``on_chunk``): stops the load with a ResourceLimitError, before the host kills it with
    nothing recorded, as soon as

    - the rows read so far, with the classes seen so far and their texts' own size, need
      more than ``limit_mb`` by ``estimate_mb``: a lower bound of the ``check`` made once
      every row is read, which would refuse the whole table, so the rest is not read; or
    - the process's resident memory, plus twice the most a part after the first has added
      to it, passes ``limit_mb``: a load's own copies can outgrow the estimate (SQLite's
      chunk of rows as Python objects, the heap they leave). The first part also pays for
      the reader's imports (150-260 MB with the first 100,000 rows; 10-75 MB a part after
      that on the demo tables)."""
    rows = 0
    classes: set[object] = set()
    texts: dict[str, float] | None = None
    last: int | None = None
    step = 0

    def on_chunk(chunk: pd.DataFrame) -> None:
        nonlocal rows, texts, last, step
        rows += len(chunk)
        if spec.target in chunk:
            classes.update(chunk[spec.target].dropna().unique())
        if spec.features.text and not texts:  # the strings only: terms come with the fit
            texts = text_row_bytes(chunk, spec, terms=False)
        check(spec, rows, len(classes), limit_mb, texts, loading=True)
        now = resident()
        if now is None:
            return
        if last is not None:
            step = max(step, now - last)
        last = now
        if now + 2 * step > limit_mb:
            raise ResourceLimitError(
                f"{spec.name}: loading stopped after {rows:,} rows: the process held "
                f"{now:,} MB of this instance's {limit_mb:,} MB, and the next rows might not "
                f"fit: nothing was fitted. "
                f"{_what_to_change(f'TRAINING_MAX_ROWS well below {rows:,}')}"
            )

    return on_chunk


def _what_to_change(rows: str | None) -> str:
    """``rows``: the TRAINING_MAX_ROWS that would fit; None when no row count helps."""
    fewer = f"Train on the newest rows ({rows}), use" if rows else "Use"
    return (
        f"{fewer} the Dask engine (TRAINING_ENGINE=dask, docs/scaling.md) or a larger "
        "instance; TRAINING_MEMORY_LIMIT_MB overrides the limit read from the instance"
    )


def _round_down(rows: int) -> int:
    """A readable row count at or below ``rows`` (two significant digits)."""
    if rows < 100:
        return rows
    step = 10 ** (len(str(rows)) - 2)
    return rows // step * step


def release_free_memory() -> None:
    """Hand the memory the process freed but its allocators kept back to the OS: glibc's
    heap (``malloc_trim``: pandas' and NumPy's freed arrays of a few MB stay in the heap
    once glibc has raised its mmap threshold) and pyarrow's pool (pandas' string columns).
    Called before XGBoost allocates its gradients and margins (~450 MB at 1M rows and 51
    classes) and before the split's copies, it lowers the run's peak by what they kept
    (docs/benchmarks.md). Does
    nothing where neither applies (another C library, pyarrow not loaded)."""
    import ctypes

    if "pyarrow" in sys.modules:
        with contextlib.suppress(Exception):  # best effort: an older pool may lack it
            sys.modules["pyarrow"].default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        # the process's own symbols: glibc's malloc_trim, absent from musl (AttributeError)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)
