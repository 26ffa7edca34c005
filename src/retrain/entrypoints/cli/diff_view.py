"""Two versions of a model side by side: metrics, gate decisions, params, data window,
feature schema, class distribution, libraries. ``compare`` gives the data of
``retrain diff --json`` (lists of records, docs/cli.md); ``diff_text`` shows it."""

from __future__ import annotations

from typing import Any

from retrain.entrypoints.cli.tables import Column, cell, pairs, score, table, yes_no

GATE_KEYS = ("outcome", "reason", "metric", "candidate", "champion", "champion_version")
FEATURE_KINDS = ("numeric", "categorical", "boolean", "text", "target")
CLASSES_SHOWN = 15


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    ma, mb = a.get("metrics") or {}, b.get("metrics") or {}
    metrics = [
        {"metric": k, "a": ma.get(k), "b": mb.get(k), "delta": _delta(ma.get(k), mb.get(k))}
        for k in _keys(ma, mb)
        if isinstance(ma.get(k, mb.get(k)), float)
    ]
    pa = (a.get("estimator") or {}).get("params") or {}
    pb = (b.get("estimator") or {}).get("params") or {}
    params = [{"param": k, "a": pa.get(k), "b": pb.get(k)} for k in _keys(pa, pb)]
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


def diff_text(d: dict[str, Any]) -> str:
    va, vb = f"v{d['a']}", f"v{d['b']}"
    out = [f"{d['model']} {va} -> {vb}"]
    delta = Column("delta", show=lambda v: "-" if v is None else f"{v:+.4f}", right=True)
    out.append(
        "Metrics on each version's own holdout\n"
        + _indent(
            table(
                d["metrics"],
                [
                    Column("metric"),
                    Column("a", va, show=score, right=True),
                    Column("b", vb, show=score, right=True),
                    delta,
                ],
                width=96,
            )
        )
    )
    gate = [
        (v, f"{g['outcome']}: {g['reason']}")
        for v, g in ((va, d["gate"]["a"]), (vb, d["gate"]["b"]))
    ]
    out.append("Gate\n" + "\n".join(pairs(gate)))
    window = {k: d["data_window"][k] or {} for k in ("a", "b")}
    rows = {k: d["rows"][k] or {} for k in ("a", "b")}
    data = [
        (f"window {v}", f"since {w.get('since')}: {w.get('first')} .. {w.get('last')}")
        for v, w in ((va, window["a"]), (vb, window["b"]))
    ]
    data += [
        (f"rows {v}", " · ".join(f"{r[k]:,} {k}" for k in ("loaded", "train", "test") if k in r))
        for v, r in ((va, rows["a"]), (vb, rows["b"]))
    ]
    data += [("same rows", yes_no(d["same_rows"])), ("same query", yes_no(d["same_query"]))]
    out.append("Data\n" + "\n".join(pairs(data)))
    schema = [(c["change"], f"{c['kind']} {c['column']}") for c in d["feature_schema"]]
    out.append("Features\n" + "\n".join(pairs(schema) or ["  no change"]))
    out.append(_changed("Params", d["params"], "param", va, vb))
    shown = d["class_distribution"][:CLASSES_SHOWN]
    classes = table(
        shown,
        [
            Column("class", flex=True),
            Column("a", va, right=True),
            Column("a_share", "share", show=_pct, right=True),
            Column("b", vb, right=True),
            Column("b_share", "share", show=_pct, right=True),
            Column("share_delta", "change", show=_points, right=True),
        ],
        width=96,
    )
    more = len(d["class_distribution"]) - len(shown)
    tail = f"\n  … {more} more classes (--json lists all)" if more > 0 else ""
    out.append("Class distribution, largest changes first\n" + _indent(classes) + tail)
    out.append(_changed("Libraries", d["library_versions"], "library", va, vb))
    return "\n\n".join(out)


def _changed(title: str, rows: list[dict[str, Any]], key: str, va: str, vb: str) -> str:
    if not rows:
        return f"{title}\n  no change"
    columns = [Column(key), Column("a", va, show=cell, flex=True), Column("b", vb, flex=True)]
    return f"{title}\n" + _indent(table(rows, columns, width=96))


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _points(value: float) -> str:
    return f"{value * 100:+.1f} pt"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
