"""Two versions of a model side by side, as text: ``diff_text`` shows what
``retrain.service.compare.compare`` gives (the data of ``retrain diff --json``, docs/cli.md;
the console's compare view shows the same)."""

from __future__ import annotations

from typing import Any

from retrain.domain.feedback import used_text
from retrain.entrypoints.cli.tables import Column, cell, pairs, score, table, yes_no
from retrain.service.compare import compare

__all__ = ["compare", "diff_text"]

CLASSES_SHOWN = 15


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
    data += [
        (f"corrections {v}", used_text(c))
        for v, c in ((va, d["corrections"]["a"]), (vb, d["corrections"]["b"]))
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
