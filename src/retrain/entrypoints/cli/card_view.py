"""A model card as a person reads it. Pure: a card in, text out; a key a card lacks (an
older card) shows as "-"."""

from __future__ import annotations

from typing import Any

from retrain.domain.feedback import used_text
from retrain.entrypoints.cli.tables import Column, pairs, score, table, when, yes_no
from retrain.service.report import comparison_text, holdout_text

FEATURE_KINDS = ("numeric", "categorical", "boolean", "text", "target")


def card_text(card: dict[str, Any], champion: bool) -> str:
    gate, rows = card.get("gate") or {}, card.get("rows") or {}
    metrics = card.get("metrics") or {}
    primary = card.get("primary_metric")
    head = [
        f"{card.get('model')} v{card.get('version')} · {card.get('status')} · "
        f"champion: {yes_no(champion)}",
        *pairs(
            [
                ("created", f"{when(card.get('created_at'))} UTC"),
                ("run", str(card.get("run_id"))),
                ("code", str(card.get("code_version") or "-")),
                ("estimator", (card.get("estimator") or {}).get("class", "-")),
            ]
        ),
    ]
    out = ["\n".join(head)]
    out.append(_section("Gate", _gate_items(gate)))
    metric_items = [
        (name, score(value) + ("  (primary)" if name == primary else ""))
        for name, value in metrics.items()
        if isinstance(value, int | float) and name != "test_rows"
    ]
    test_rows = rows.get("test")
    holdout = f"{test_rows:,} rows" if isinstance(test_rows, int) else "rows unknown"
    out.append(_section(f"Metrics on the holdout ({holdout})", metric_items))
    out.append("Per class\n" + _indent(per_class_table(metrics.get("per_class") or {})))
    window = card.get("data_window") or {}
    fingerprint = card.get("data_fingerprint") or {}
    data = [
        ("rows", " · ".join(f"{rows[k]:,} {k}" for k in ("loaded", "train", "test") if k in rows)),
        ("window", f"since {window.get('since')}: {window.get('first')} .. {window.get('last')}"),
        ("holdout", holdout_text(card.get("holdout"))),
        ("corrections", used_text(card.get("corrections"))),
        ("classes", _counts(card.get("class_distribution") or {})),
        ("rows sha256", str(fingerprint.get("rows_sha256", "-"))[:16] + "…"),
        ("query sha256", str(fingerprint.get("query_sha256", "-"))[:16] + "…"),
        ("max rows", str(card.get("max_rows") or "all")),
    ]
    out.append(_section("Data", data))
    findings = card.get("validation_findings") or []
    out.append(_section("Findings", [(f["severity"], f["message"]) for f in findings]))
    schema = card.get("feature_schema") or {}
    out.append(
        _section("Features", [(k, ", ".join(schema.get(k) or []) or "-") for k in FEATURE_KINDS])
    )
    if importance := card.get("feature_importance"):
        out.append(_importance_section(importance))
    if text := _text_lines(card):
        out.append(_section("Text", text))
    estimator = card.get("estimator") or {}
    params = estimator.get("params") or {}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if v is not None)
    libraries = card.get("library_versions") or {}
    out.append(
        _section(
            "Estimator",
            [
                ("params", shown or "-"),
                *([("rounds", _rounds(rounds))] if (rounds := estimator.get("rounds")) else []),
                ("libraries", " · ".join(f"{k} {v}" for k, v in libraries.items()) or "-"),
            ],
        )
    )
    artifact = card.get("artifact") or {}
    out.append(
        _section(
            "Artifact",
            [
                ("uri", str(artifact.get("uri"))),
                ("sha256", str(artifact.get("sha256"))),
                ("size", f"{artifact.get('size_bytes', 0) / 2**20:.1f} MB"),
            ],
        )
    )
    return "\n\n".join(out)


def _rounds(rounds: dict[str, Any]) -> str:
    """'85 trained (of at most 400)', and which round predicts when it is not the last."""
    text = f"{rounds.get('trained')} trained (of at most {rounds.get('planned')})"
    if rounds.get("used") != rounds.get("trained"):
        text += f", predicting with the first {rounds.get('used')}"
    return text


def _gate_items(gate: dict[str, Any]) -> list[tuple[str, str]]:
    champion = "-"
    if gate.get("champion") is not None:
        champion = f"{score(gate['champion'])} (v{gate.get('champion_version')})"
    delta = gate.get("delta")
    compared = gate.get("comparison") if isinstance(gate.get("comparison"), dict) else None
    return [
        ("decision", str(gate.get("outcome"))),
        ("reason", str(gate.get("reason"))),
        ("candidate", f"{score(gate.get('candidate'))} {gate.get('metric', '')}".rstrip()),
        ("champion", champion),
        ("delta", comparison_text(compared) or ("-" if delta is None else f"{delta:+.4f}")),
        *([("compared on", str(compared.get("basis")))] if compared else []),
        *([("caveat", str(compared["caveat"]))] if compared and compared.get("caveat") else []),
        ("floor", score(gate.get("floor"))),
        ("tolerance", score(gate.get("tolerance"))),
    ]


def per_class_table(per_class: dict[str, Any]) -> str:
    rows = [{"class": label, **scores} for label, scores in per_class.items()]
    columns = [
        Column("class", flex=True),
        *(Column(k, show=score, right=True) for k in ("precision", "recall", "f1")),
        Column("support", right=True),
    ]
    return table(rows, columns, width=96)


def _section(title: str, items: list[tuple[str, str]]) -> str:
    return "\n".join([title, *(pairs(items) or ["  none"])])


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _counts(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda kv: -kv[1])
    return " · ".join(f"{k} {v:,}" for k, v in ordered) or "-"


TOP_FEATURES = 10


def _importance_section(importance: dict[str, Any]) -> str:
    """The columns whose shuffling costs the most, as the console's card shows them."""
    features = importance.get("features") or []
    title = (  # within 100 characters for every metric and up to 1,000 rows
        f"Feature importance: drop in {importance.get('metric')} when a column is shuffled "
        f"({importance.get('rows')} rows, {importance.get('repeats')} repeats)"
    )
    items = [(str(f.get("feature")), score(f.get("importance"))) for f in features[:TOP_FEATURES]]
    if len(features) > TOP_FEATURES:
        items.append(("…", f"{len(features) - TOP_FEATURES} more in --json"))
    columns = importance.get("columns")
    if isinstance(columns, dict):
        items.append(
            (
                "shuffled",
                f"{columns.get('shuffled')} of {columns.get('of')} columns, chosen by "
                f"{columns.get('chosen_by')}: every column of a table this wide would cost "
                "more than the fit",
            )
        )
    return _section(title, items)


def _text_lines(card: dict[str, Any]) -> list[tuple[str, str]]:
    """Vocabulary sizes and the score with and without the text (docs/text.md)."""
    text = card.get("text_features") or {}
    counted = text.get("terms_counted") or {}
    lines = []
    for col, size in (text.get("vocabulary_size") or {}).items():
        said = f"{size:,} terms"
        if counted.get(col, size) != size:
            said += f", those of the {counted[col]:,} counted that go most with the class"
        lines.append((f"{col} vocabulary", said))
    ablation = card.get("text_ablation") or {}
    metric = ablation.get("primary_metric")
    if metric:
        with_text = (ablation.get("with_text") or {}).get(metric)
        without = (ablation.get("without_text") or {}).get(metric)
        lines.append((f"{metric}", f"{with_text} with the text, {without} without"))
    return lines
