"""Drift against the champion: the new rows go into the champion's own buckets and counts
are compared with counts (population stability index, PSI).

A shift is reported when the PSI is above ``SHIFT_WARN`` *and* above what sampling noise
alone gives for that many buckets and rows (for two samples of one distribution,
PSI / (1/n1 + 1/n2) follows a chi-square law with buckets - 1 degrees of freedom), so a
small or high-cardinality sample does not cry wolf. Identical rows give a PSI of 0."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from retrain.domain.specs import ModelSpec
from retrain.training import profile as profiling
from retrain.training import text_stats

SHIFT_WARN = 0.1  # a share moving 20 points gives a PSI of at least ~0.16
NOISE_Z = 3.0902  # the standard normal's 0.999 quantile: noise alone passes 1 time in 1000
BUCKET_SHARE = 0.01  # a category needs this share (before or now) for a bucket of its own
MAX_BUCKETS = 50
SURPRISE_ROWS = 15  # a category is new (vanished) when the champion's rows (today's) would
# have held this many of it at today's (the champion's) share: P(none by chance) < 1e-6
OTHER, MISSING = "(other)", "(missing)"

Counts = dict[str, float]


def psi(expected: Counts, actual: Counts) -> float:
    """Population stability index between two distributions given as counts by bucket."""
    e_total = sum(expected.values()) or 1
    a_total = sum(actual.values()) or 1
    total = 0.0
    for key in set(expected) | set(actual):
        e = max(expected.get(key, 0) / e_total, 1e-4)
        a = max(actual.get(key, 0) / a_total, 1e-4)
        total += (a - e) * math.log(a / e)
    return round(total, 4)


def shift(before: Counts, now: Counts) -> float | None:
    """The PSI when it is notable and beyond sampling noise, else None."""
    value = psi(before, now)
    buckets = sum(1 for key in set(before) | set(now) if before.get(key) or now.get(key))
    n_before, n_now = sum(before.values()), sum(now.values())
    if value <= SHIFT_WARN or buckets < 2 or not (n_before and n_now):
        return None
    noise = _chi2_quantile(buckets - 1) * (1 / n_before + 1 / n_now)
    return value if value > noise else None


def _chi2_quantile(df: int) -> float:
    """The chi-square law's 0.999 quantile (Wilson-Hilferty: within 3% of the exact value,
    on the high side for one degree of freedom)."""
    h = 2 / (9 * df)
    return df * (1 - h + NOISE_Z * math.sqrt(h)) ** 3


def compare(
    frame: pd.DataFrame, spec: ModelSpec, current: dict[str, Any], champion: dict[str, Any]
) -> list[dict[str, Any]]:
    """Soft findings: label shift and new classes, feature shift, new or vanished categories."""
    return compare_seen(spec, current, champion, observe(frame, spec, champion))


def compare_seen(
    spec: ModelSpec, current: dict[str, Any], champion: dict[str, Any], seen: dict[str, Any]
) -> list[dict[str, Any]]:
    """``compare`` from the new rows' profile and what ``observe`` saw of them."""
    findings = _label(spec.target, champion.get("class_counts") or {}, current["class_counts"])
    reference = _reference(champion, spec)
    for kind, cols in spec.features.by_kind().items():
        for col in cols:
            before = reference.get(col)
            if before and before.get("kind") == kind and kind in COMPARERS:
                findings += COMPARERS[kind](col, before, current["columns"][col], seen.get(col))
    return findings


def observe(frame: pd.DataFrame, spec: ModelSpec, champion: dict[str, Any]) -> dict[str, Any]:
    """What comparing needs of the rows beyond their profile, as counts that add up across
    partitions (``add_seen``): per numeric column its rows in each of the champion's
    buckets, per categorical column the values present, per text column its lengths in the
    buckets of the champion's length profile."""
    reference = _reference(champion, spec)
    seen: dict[str, dict[str, Any]] = {}
    for kind, cols in spec.features.by_kind().items():
        for col in cols:
            before = reference.get(col)
            if not before or before.get("kind") != kind:
                continue  # not profiled by the champion as this kind: nothing to compare
            if kind == "numeric":
                numbers = profiling.finite(frame[col])
                seen[col] = {"buckets": profiling.bucket_counts(numbers, before["edges"])}
            elif kind == "categorical":
                seen[col] = {"present": {str(v) for v in frame[col].dropna().unique()}}
            elif kind == "text":
                lengths = profiling.finite(text_stats.text_lengths(frame[col]))
                edges = before["length"]["edges"]
                seen[col] = {"length": {"buckets": profiling.bucket_counts(lengths, edges)}}
    return seen


def add_seen(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Two partitions' ``observe`` as one."""
    out = dict(left)
    for col, part in right.items():
        if col not in out:
            out[col] = part
        elif "buckets" in part:
            out[col] = {"buckets": _added(out[col]["buckets"], part["buckets"])}
        elif "length" in part:
            lengths = _added(out[col]["length"]["buckets"], part["length"]["buckets"])
            out[col] = {"length": {"buckets": lengths}}
        else:
            out[col] = {"present": out[col]["present"] | part["present"]}
    return out


def _added(left: list[int], right: list[int]) -> list[int]:
    return [a + b for a, b in zip(left, right, strict=True)]


def _reference(champion: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    return champion.get("columns") or _format_1(champion, spec)


def _label(target: str, before: dict[str, int], now: dict[str, int]) -> list[dict[str, Any]]:
    if not before:
        return []
    findings = []
    dist = {"counts": before, "other": 0, "missing": 0}
    findings += _categories(target, dist, {"counts": now, "other": 0, "missing": 0}, None)
    for f in findings:
        f["rule"] = "label_shift"
    if new := set(now) - set(before):
        findings.append(_warn("new_classes", target, f"{target}: new classes {_few(new)}"))
    return findings


def _categories(
    col: str, before: dict[str, Any], now: dict[str, Any], seen: dict[str, Any] | None
) -> list[dict[str, Any]]:
    keys = _bucket_keys(before, now)
    old, new = _buckets(before, keys), _buckets(now, keys)
    findings = []
    if (value := shift(old, new)) is not None:
        findings.append(_shifted(col, old, new, value, lambda k: f"'{k}'"))
    if seen is None:
        return findings
    if added := _new_categories(before, now):
        share = sum(now["counts"][k] for k in added) / _total(now)
        text = f"{col}: {len(added)} new categories in {share:.1%} of rows: {_few(added, 3)}"
        findings.append(_warn("new_categories", col, text))
    present = seen["present"]
    gone = {
        k
        for k, n in before["counts"].items()
        if k not in present and _surprising(n, _total(before), _total(now))
    }
    if gone:
        share = sum(before["counts"][k] for k in gone) / _total(before)
        text = f"{col}: vanished {_few(gone, 3)} ({share:.1%} of the champion's rows)"
        findings.append(_warn("vanished_categories", col, text))
    return findings


def _new_categories(before: dict[str, Any], now: dict[str, Any]) -> set[str]:
    """Values the champion did not see, common enough that chance does not explain it. When
    its profile lists only its top values, a value also has to be more common now than the
    rarest value listed was then."""
    n_before, n_now = _total(before), _total(now)
    unseen = {
        k
        for k, n in now["counts"].items()
        if k not in before["counts"] and _surprising(n, n_now, n_before)
    }
    if not before["other"] or not before["counts"]:
        return unseen
    floor = min(before["counts"].values()) / n_before
    return {k for k in unseen if now["counts"][k] / n_now > floor}


def _surprising(count: int, rows: int, other_rows: int) -> bool:
    """``count`` of ``rows`` here, none in ``other_rows`` there: more than chance?"""
    return count * other_rows / max(rows, 1) >= SURPRISE_ROWS


def _bucket_keys(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    shares: dict[str, float] = {}
    for dist in (before, now):
        total = _total(dist) or 1
        for key, count in dist["counts"].items():
            if count >= profiling.BUCKET_ROWS:
                shares[key] = max(shares.get(key, 0.0), count / total)
    common = sorted((k for k, s in shares.items() if s >= BUCKET_SHARE), key=lambda k: -shares[k])
    return common[:MAX_BUCKETS]


def _buckets(dist: dict[str, Any], keys: list[str]) -> Counts:
    counts = {key: float(dist["counts"].get(key, 0)) for key in keys}
    counts[OTHER] = sum(dist["counts"].values()) + dist["other"] - sum(counts.values())
    counts[MISSING] = float(dist["missing"])
    return counts


def _numbers(
    col: str, before: dict[str, Any], now: dict[str, Any], seen: dict[str, Any]
) -> list[dict[str, Any]]:
    old = {str(i): float(n) for i, n in enumerate(before["counts"])}
    new = {str(i): float(n) for i, n in enumerate(seen["buckets"])}
    old[MISSING], new[MISSING] = float(before["missing"]), float(now["missing"])
    if (value := shift(old, new)) is None:
        return []
    if _largest_move(old, new) == MISSING or before.get("mean") is None or now["mean"] is None:
        return [_shifted(col, old, new, value, str)]
    detail = (
        f"mean {before['mean']:.3g} → {now['mean']:.3g}, sd {before['std']:.3g} → {now['std']:.3g}"
    )
    return [_warn("feature_shift", col, f"{col}: {detail} (PSI {value:.2f})", psi=value)]


def _shifted(
    col: str, old: Counts, new: Counts, value: float, name: Callable[[str], str]
) -> dict[str, Any]:
    key = _largest_move(old, new)
    label = {OTHER: "other values", MISSING: "missing"}.get(key) or name(key)
    move = f"{_share(old, key):.0%} → {_share(new, key):.0%}"
    return _warn("feature_shift", col, f"{col}: {label} {move} (PSI {value:.2f})", psi=value)


def _largest_move(old: Counts, new: Counts) -> str:
    return max(set(old) | set(new), key=lambda k: abs(_share(new, k) - _share(old, k)))


def _share(counts: Counts, key: str) -> float:
    return counts.get(key, 0) / (sum(counts.values()) or 1)


def _total(dist: dict[str, Any]) -> int:
    return sum(dist["counts"].values()) + dist["other"] + dist["missing"]


def _format_1(champion: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """Categorical counts of a card written before format 2 (its numeric deciles carry no
    counts, so numeric columns are not compared against it)."""
    rows = int(champion.get("rows") or 0)
    out = {}
    for col, counts in (champion.get("categories") or {}).items():
        missing = round(float((champion.get("null_rates") or {}).get(col, 0.0)) * rows)
        other = max(rows - missing - sum(counts.values()), 0)
        out[col] = {"kind": "categorical", "counts": counts, "other": other, "missing": missing}
    return out


def _warn(rule: str, column: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"rule": rule, "severity": "warning", "column": column, "message": message, **extra}


def _few(values: set[str], limit: int = 8) -> str:
    shown = sorted(values)[:limit]
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(shown) + more


def _booleans(
    col: str, before: dict[str, Any], now: dict[str, Any], seen: dict[str, Any] | None
) -> list[dict[str, Any]]:
    return _categories(col, before, now, None)


def _texts(
    col: str, before: dict[str, Any], now: dict[str, Any], seen: dict[str, Any]
) -> list[dict[str, Any]]:
    """Empty and missing rows, length, and vocabulary: the new rows' token shares in the
    champion's common tokens, the rest as "other" (out of its vocabulary). Token shares are
    scaled to the rows that hold text, so noise is judged by rows, not tokens (a row's
    tokens are not independent draws)."""
    findings = []
    old_rows, new_rows = _presence(before), _presence(now)
    if (value := shift(old_rows, new_rows)) is not None:
        names = {"text": "texts", "empty": "empty texts"}
        findings.append(_shifted(col, old_rows, new_rows, value, lambda k: names[k]))
    lengths = _numbers(col, before["length"], now["length"], seen["length"])
    for f in lengths:
        f["message"] = f["message"].replace(f"{col}:", f"{col} length:", 1)
    findings += lengths
    old, new = (
        {"counts": d["tokens"], "other": d["other_tokens"], "missing": 0} for d in (before, now)
    )
    keys = _bucket_keys(old, new)
    old_buckets = _per_row(_buckets(old, keys), _presence(before)["text"])
    new_buckets = _per_row(_buckets(new, keys), _presence(now)["text"])
    if (value := shift(old_buckets, new_buckets)) is not None:
        found = _shifted(col, old_buckets, new_buckets, value, lambda k: f"token '{k}'")
        found["rule"] = "vocabulary_shift"
        message = found["message"].replace(" (PSI", " of tokens (PSI", 1)
        found["message"] = message.replace("other values", "tokens outside its vocabulary")
        findings.append(found)
    return findings


def _presence(dist: dict[str, Any]) -> Counts:
    texts = dist["rows"] - dist["missing"] - dist["empty"]
    return {"text": texts, "empty": dist["empty"], MISSING: dist["missing"]}


def _per_row(counts: Counts, rows: float) -> Counts:
    total = sum(counts.values())
    counts.pop(MISSING, None)
    return {k: v * rows / total for k, v in counts.items()} if total else counts


COMPARERS: dict[str, Callable[[str, dict, dict, Any], list[dict[str, Any]]]] = {
    "numeric": _numbers,
    "categorical": _categories,
    "boolean": _booleans,
    "text": _texts,
}
