"""Two versions of a model side by side, as data: metrics, gate decisions, params (the
estimator's and the text options), data window, feature schema, class distribution, libraries.

``compare`` is what ``retrain diff --json`` prints (docs/cli.md) and what the CLI's text
(``entrypoints/cli/diff_view.py``) and the operator console's compare view show. The
console computes the same records in the browser from the two cards the API answers
(``compareCards`` in ``console_static/console.js``); tests/console/test_compare.py holds
both to the same output, so a change here needs the same change there."""

from __future__ import annotations

from typing import Any

GATE_KEYS = ("outcome", "reason", "metric", "candidate", "champion", "champion_version")
FEATURE_KINDS = ("numeric", "categorical", "boolean", "text", "target")


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Cards ``a`` and ``b`` (usually the older first): every float metric with its change,
    both gate decisions, and of the params, schema and libraries only what changed."""
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    metrics = [
        {"metric": k, "a": ma.get(k), "b": mb.get(k), "delta": _delta(ma.get(k), mb.get(k))}
        for k in _keys(ma, mb)
        if isinstance(ma.get(k, mb.get(k)), float)
    ]
    pa = (a.get("estimator") or {}).get("params") or {}
    pb = (b.get("estimator") or {}).get("params") or {}
    params = [{"param": k, "a": pa.get(k), "b": pb.get(k)} for k in _keys(pa, pb)]
    # a text column's options (TextOptions) where both versions read text: "text.<option>"
    ta = (a.get("text_features") or {}).get("options") or {}
    tb = (b.get("text_features") or {}).get("options") or {}
    if ta and tb:
        params += [{"param": f"text.{k}", "a": ta.get(k), "b": tb.get(k)} for k in _keys(ta, tb)]
    la, lb = a.get("library_versions") or {}, b.get("library_versions") or {}
    libraries = [{"library": k, "a": la.get(k), "b": lb.get(k)} for k in _keys(la, lb)]
    fa, fb = a.get("data_fingerprint") or {}, b.get("data_fingerprint") or {}
    return {
        "model": a.get("model"),
        "a": a.get("version"),
        "b": b.get("version"),
        "primary_metric": b.get("primary_metric"),
        "metrics": metrics,
        "gate": {
            "a": {k: (a.get("gate") or {}).get(k) for k in GATE_KEYS},
            "b": {k: (b.get("gate") or {}).get(k) for k in GATE_KEYS},
        },
        "params": [p for p in params if not _same(p["a"], p["b"])],
        "data_window": {"a": a.get("data_window"), "b": b.get("data_window")},
        "rows": {"a": a.get("rows"), "b": b.get("rows")},
        "corrections": {"a": a.get("corrections"), "b": b.get("corrections")},  # issue 27
        "same_rows": bool(fa.get("rows_sha256")) and fa.get("rows_sha256") == fb.get("rows_sha256"),
        "same_query": fa.get("query_sha256") == fb.get("query_sha256"),
        "feature_schema": _schema_changes(
            a.get("feature_schema") or {}, b.get("feature_schema") or {}
        ),
        "class_distribution": _classes(
            a.get("class_distribution") or {}, b.get("class_distribution") or {}
        ),
        "library_versions": [x for x in libraries if not _same(x["a"], x["b"])],
    }


def _same(a: Any, b: Any) -> bool:
    return a == b or (a != a and b != b)  # NaN (a param's "missing") equals itself here


def _keys(*maps: dict[str, Any]) -> list[str]:
    return sorted(set().union(*maps))


def _delta(a: Any, b: Any) -> float | None:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(b - a, 6)
    return None


def _schema_changes(a: dict[str, list[str]], b: dict[str, list[str]]) -> list[dict[str, str]]:
    changes = []
    for kind in FEATURE_KINDS:
        before, after = set(a.get(kind) or []), set(b.get(kind) or [])
        changes += [{"kind": kind, "column": c, "change": "added"} for c in sorted(after - before)]
        changes += [
            {"kind": kind, "column": c, "change": "removed"} for c in sorted(before - after)
        ]
    return changes


def _classes(a: dict[str, int], b: dict[str, int]) -> list[dict[str, Any]]:
    total_a, total_b = sum(a.values()) or 1, sum(b.values()) or 1
    out = []
    for label in set(a) | set(b):
        share_a, share_b = a.get(label, 0) / total_a, b.get(label, 0) / total_b
        out.append(
            {
                "class": label,
                "a": a.get(label, 0),
                "b": b.get(label, 0),
                "a_share": round(share_a, 6),
                "b_share": round(share_b, 6),
                "share_delta": round(share_b - share_a, 6),
            }
        )
    # the largest moves first, then the largest classes
    return sorted(out, key=lambda c: (-abs(c["share_delta"]), -(c["a"] + c["b"]), c["class"]))
