"""Validation, profile and drift for rows that are never in one process: each partition is
counted where it lives, the counts are added, and the rules of ``validate``, ``profile``
and ``drift`` judge the totals. No rule is written twice: the local engine goes through the
same ``validate.check_counts``, ``profile.assemble`` / ``edges_of`` and
``drift.compare_seen``, with counts taken over its one frame.

Pass one (``first_pass``) parses the values by kind and counts what the hard rules need
(``validate.Tally``). Pass two (``second_pass``), over the rows that train, counts what the
profile and the drift comparison need. Everything is exact, except the numeric bucket
edges of a column with more than ``EXACT_VALUES`` distinct values in a partition: those
come from a sample per partition, weighted by the partition's size (the counts in those
buckets, and every drift finding, are still exact)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from retrain.domain.specs import ModelSpec
from retrain.training import drift, validate
from retrain.training import profile as profiling

EXACT_VALUES = 20_000  # distinct numeric values per partition and column sent as they are
SAMPLE = 20_000  # values per partition and column sampled when there are more
KINDS = ("numeric", "categorical", "boolean")  # what the partial profiles below describe


class Partitions(Protocol):
    """Frames that live elsewhere (a Dask cluster's workers), worked on where they are."""

    def apply(self, fn: Callable[..., Any], **kwargs: Any) -> Partitions:
        """``fn(part, **kwargs)`` of each part, kept where the part is."""
        ...

    def collect(self, fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
        """``fn(part, **kwargs)`` of each part, brought here (small results only)."""
        ...

    def repeats(self, spec: ModelSpec) -> int:
        """Usable rows that repeat another row in any part (features and target)."""
        ...


@dataclass
class Checked:
    findings: list[dict[str, Any]]
    profile: dict[str, Any]
    dropped: list[str]
    second: dict[str, Any]
    usable: Partitions


def load(raw: Partitions, spec: ModelSpec) -> tuple[Partitions, dict[str, Any]]:
    """(the parts parsed by kind, their added first-pass counts)."""
    firsts = raw.apply(first_pass, spec=spec)
    return firsts.apply(_pick, name="frame"), merge_first(firsts.collect(_pick, name="summary"))


def check(
    parsed: Partitions,
    first: dict[str, Any],
    spec: ModelSpec,
    champion: dict[str, Any] | None,
    window: validate.Window | None = None,
) -> Checked:
    """``validate.validate`` on partitions: the same stops, findings and profile."""
    findings, dropped = check_first(first, spec, window)
    rows = parsed.apply(usable, spec=spec, dropped=dropped)
    findings += validate.duplicate_findings(rows.repeats(spec))
    second = merge_second(rows.collect(second_pass, spec=spec, champion=champion), spec)
    numeric = numeric_edges(second, spec)
    sampled = {col: n["edges"] for col, n in numeric.items() if n["counts"] is None}
    for part in rows.collect(bucket_counts, edges=sampled) if sampled else []:
        for col, counts in part.items():
            total = numeric[col]["counts"] or [0] * len(counts)
            numeric[col]["counts"] = [a + b for a, b in zip(total, counts, strict=True)]
    profile = profile_of(second, spec, numeric)
    if champion:
        findings += drift_findings(second, spec, profile, champion)
    return Checked(findings, profile, dropped, second, rows)


class InMemory:
    """Partitions held in this process (tests; the reference the Dask engine must match)."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def apply(self, fn: Callable[..., Any], **kwargs: Any) -> InMemory:
        return InMemory([fn(part, **kwargs) for part in self.parts])

    def collect(self, fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
        return [fn(part, **kwargs) for part in self.parts]

    def repeats(self, spec: ModelSpec) -> int:
        hashes = np.concatenate([row_hashes(part, spec) for part in self.parts])
        return int(len(hashes) - len(np.unique(hashes)))


def _pick(part: dict[str, Any], name: str) -> Any:
    return part[name]


def first_pass(frame: pd.DataFrame, spec: ModelSpec) -> dict[str, Any]:
    """``{"frame": the parsed rows, "summary": counts}`` of one partition."""
    summary: dict[str, Any] = {"columns": list(frame.columns), "rows": len(frame)}
    summary["digest"] = _digest(frame, spec.key_column)
    if validate.missing_columns(frame.columns, spec):
        return {"frame": frame, "summary": summary}
    summary["time_problems"] = validate.time_column_problems(frame, spec)
    parsed, misfits = validate.parse_kinds(frame, spec)
    summary["tally"] = validate.tally(parsed, spec, misfits)
    time = spec.time_column
    if time and len(frame):
        with contextlib.suppress(TypeError):  # not comparable: no window, as the local engine
            summary["window"] = (str(frame[time].min()), str(frame[time].max()))
    return {"frame": parsed, "summary": summary}


def merge_first(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The partitions' first-pass summaries as one (digests kept in partition order)."""
    columns = set.intersection(*(set(p["columns"]) for p in parts)) if parts else set()
    tallies = [p["tally"] for p in parts if "tally" in p]
    windows = [p["window"] for p in parts if "window" in p]
    # the time column's problem, said once (every partition finds the same)
    problems: list[dict[str, Any]] = next(
        (p["time_problems"] for p in parts if p.get("time_problems")), []
    )
    return {
        "time_problems": problems,
        "columns": sorted(columns),
        "rows": sum(p["rows"] for p in parts),
        "digests": [p["digest"] for p in parts],
        "tally": sum(tallies[1:], tallies[0]) if tallies else None,
        "first": min(w[0] for w in windows) if windows else None,
        "last": max(w[1] for w in windows) if windows else None,
    }


def check_first(
    total: dict[str, Any], spec: ModelSpec, window: validate.Window | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """``validate``'s hard rules on the totals: (findings, classes dropped as too rare)."""
    validate._stop_on(validate.missing_columns(total["columns"], spec))
    validate._stop_on(total.get("time_problems") or [])
    return validate.check_counts(total["tally"], spec, window)


def usable(frame: pd.DataFrame, spec: ModelSpec, dropped: list[str]) -> pd.DataFrame:
    return validate.usable(frame, spec, dropped)


def second_pass(
    frame: pd.DataFrame, spec: ModelSpec, champion: dict[str, Any] | None
) -> dict[str, Any]:
    """Counts of a partition's usable rows for the profile, and what ``drift`` needs."""
    rng = np.random.default_rng(spec.random_state + len(frame))
    out: dict[str, Any] = {
        "rows": len(frame),
        "classes": profiling.category_counts(frame[spec.target]),
        "nulls": {col: int(frame[col].isna().sum()) for col in spec.features.all},
        "columns": {},
    }
    for kind, cols in spec.features.by_kind().items():
        for col in cols:
            out["columns"][col] = PARTIALS[kind](frame[col], rng)
    if champion:
        try:
            out["seen"] = drift.observe(frame, spec, champion)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            out["seen"] = None  # unreadable: reported once, by validate.drift_findings
    return out


def merge_second(parts: list[dict[str, Any]], spec: ModelSpec) -> dict[str, Any]:
    total: dict[str, Any] = {"rows": 0, "classes": {}, "nulls": {}, "columns": {}, "seen": {}}
    for part in parts:
        total["rows"] += part["rows"]
        total["classes"] = _add(total["classes"], part["classes"])
        total["nulls"] = _add(total["nulls"], part["nulls"])
        for kind, cols in spec.features.by_kind().items():
            for col in cols:
                before = total["columns"].get(col)
                now = part["columns"][col]
                total["columns"][col] = now if before is None else MERGERS[kind](before, now)
        if "seen" in part:
            seen = total["seen"]
            total["seen"] = (
                None if seen is None or part["seen"] is None else drift.add_seen(seen, part["seen"])
            )
    return total


def numeric_edges(second: dict[str, Any], spec: ModelSpec) -> dict[str, dict[str, Any]]:
    """Per numeric column its bucket edges, and the counts in them when the sketch is exact
    (else ``bucket_counts`` are taken on the partitions: pass three)."""
    out = {}
    for col in spec.features.numeric:
        part = second["columns"][col]
        edges = profiling.edges_of(part["values"], part["counts"])
        counts: list[int] | None = None
        if part["exact"]:
            codes = np.searchsorted(np.asarray(edges, dtype="float64"), part["values"], "right")
            added = np.bincount(codes, weights=part["counts"], minlength=len(edges) + 1)
            counts = [int(n) for n in np.rint(added)]
        out[col] = {"edges": edges, "counts": counts}
    return out


def bucket_counts(frame: pd.DataFrame, edges: dict[str, list[float]]) -> dict[str, list[int]]:
    return {
        col: profiling.bucket_counts(profiling.finite(frame[col]), cuts)
        for col, cuts in edges.items()
    }


def profile_of(
    second: dict[str, Any], spec: ModelSpec, numeric: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The data profile, as ``profile.profile`` writes it, from the added counts."""
    columns: dict[str, Any] = {}
    for kind, cols in spec.features.by_kind().items():
        for col in cols:
            part = second["columns"][col]
            if kind == "numeric":
                n, mean, m2 = part["moments"]
                columns[col] = {
                    "kind": kind,
                    "edges": numeric[col]["edges"],
                    "counts": numeric[col]["counts"],
                    "missing": part["missing"],
                    "mean": float(mean) if n else None,
                    "std": float(np.sqrt(m2 / n)) if n else None,
                }
            elif kind == "categorical":
                columns[col] = {"kind": kind, **profiling.categorical(part["all"], part["rows"])}
            else:
                columns[col] = part
    return profiling.assemble(second["rows"], second["classes"], second["nulls"], columns)


def drift_findings(
    second: dict[str, Any], spec: ModelSpec, current: dict[str, Any], champion: dict[str, Any]
) -> list[dict[str, Any]]:
    def seen() -> dict[str, Any]:
        if second["seen"] is None:
            raise ValueError("unreadable champion profile")
        return second["seen"]

    return validate.drift_findings(spec, current, champion, seen)


def row_hashes(frame: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """One uint64 per usable (parsed) row over its features and target."""
    return pd.util.hash_pandas_object(frame[list(spec.columns)], index=False).to_numpy()


def _numeric(values: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
    numbers = profiling.finite(values)
    distinct, taken = np.unique(numbers, return_counts=True)
    exact = len(distinct) <= EXACT_VALUES
    counts: np.ndarray = taken
    if not exact:
        distinct, taken = np.unique(rng.choice(numbers, SAMPLE, replace=False), return_counts=True)
        counts = taken * (len(numbers) / SAMPLE)
    mean = float(numbers.mean()) if len(numbers) else 0.0
    m2 = float(((numbers - mean) ** 2).sum()) if len(numbers) else 0.0
    return {
        "values": distinct,
        "counts": counts,
        "exact": exact,
        "missing": len(values) - len(numbers),
        "moments": (len(numbers), mean, m2),
    }


def _add_numeric(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    values, where = np.unique(np.concatenate([a["values"], b["values"]]), return_inverse=True)
    counts = np.bincount(where, weights=np.concatenate([a["counts"], b["counts"]]))
    exact = a["exact"] and b["exact"]
    (n1, mean1, m21), (n2, mean2, m22) = a["moments"], b["moments"]
    n = n1 + n2
    delta = mean2 - mean1
    mean = mean1 + delta * n2 / n if n else 0.0
    m2 = m21 + m22 + delta**2 * n1 * n2 / n if n else 0.0
    return {
        "values": values,
        "counts": np.rint(counts).astype(np.int64) if exact else counts,
        "exact": exact,
        "missing": a["missing"] + b["missing"],
        "moments": (n, mean, m2),
    }


def _categorical(values: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
    return {"all": profiling.category_counts(values), "rows": len(values)}


def _add_categorical(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {"all": _add(a["all"], b["all"]), "rows": a["rows"] + b["rows"]}


def _boolean(values: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
    return profiling.describe("boolean", values)


def _add_boolean(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "boolean",
        "counts": _add(a["counts"], b["counts"]),
        "other": a["other"] + b["other"],
        "missing": a["missing"] + b["missing"],
    }


PARTIALS = {"numeric": _numeric, "categorical": _categorical, "boolean": _boolean}
MERGERS = {"numeric": _add_numeric, "categorical": _add_categorical, "boolean": _add_boolean}


def _add(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    out = dict(left)
    for key, value in right.items():
        out[key] = out.get(key, 0) + value
    return out


def _digest(frame: pd.DataFrame, key: str | None) -> str:
    ordered = frame.sort_values(key, kind="stable") if key and key in frame else frame
    hashed = pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()
