"""Corrections: received (``receive``: the HTTP route and ``retrain feedback`` alike), and
read back for a run (``join``) and the statistics (``monthly``).

A batch is checked record by record against the model's spec and the champion's classes
(domain/feedback.py); the good records are stored as one create-only object
(service/feedback_store.py), the bad ones are named in the answer with what is wrong. The
client's ``batch_id`` makes a resend a no-op: the same id with the same records answers as
the first time did; the same id with other records is a 409. A resend is found in the month
it was received and in the month before (a batch sent on the 31st and resent on the 1st)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from loguru import logger

from retrain.domain import feedback
from retrain.domain.errors import ConfigError, CorruptStateError, NotFoundError
from retrain.domain.feedback import BatchConflictError, Correction, FeedbackError
from retrain.domain.runs import iso
from retrain.domain.specs import ModelSpec
from retrain.service.context import Services
from retrain.service.feedback_store import Batch, FeedbackStore, encode, key, previous_month
from retrain.service.parallel import read_all

DEFAULT_MAX_RECORDS = 1000


def receive(
    svc: Services,
    model: str,
    batch_id: Any,
    records: Any,
    *,
    max_records: int = DEFAULT_MAX_RECORDS,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Check and store one batch; the answer (``accepted``, ``unknown_class``, ``refused``
    with each record's index and errors, ``key``). FeedbackError when the batch as a whole
    is refused (nothing stored), BatchConflictError for a reused id, BackendError when
    storage fails (nothing stored: send the same batch again)."""
    spec = svc.registry.get(model)
    batch = feedback.batch_id(batch_id)
    if not isinstance(records, list) or not records:
        raise FeedbackError("bad_batch", f"records must be a list of 1 to {max_records} records")
    if len(records) > max_records:
        raise FeedbackError(
            "batch_too_large",
            f"{len(records)} records in one batch; the limit is {max_records} "
            "(FEEDBACK_MAX_RECORDS): send them in several batches",
        )
    now = svc.clock()
    content = fingerprint(records)
    store = FeedbackStore(svc.models.store)
    for month in () if dry_run else (previous_month(now), now):  # a resend: as it was
        earlier = store.get(key(spec.name, batch, month))
        if earlier is not None:
            return _resent(spec.name, earlier, content)
    classes, classes_from = champion_classes(svc, spec)
    accepted: list[Correction] = []
    refused = []
    for index, raw in enumerate(records):
        correction, errors = feedback.check(raw, spec, classes, now)
        if correction is None:
            refused.append({"index": index, "errors": errors})
        else:
            accepted.append(correction)
    header = {
        "format": 1,
        "model": spec.name,
        "batch_id": batch,
        "received_at": iso(now),
        "content_sha256": content,
        "classes_from": classes_from,
        "accepted": len(accepted),
        "unknown_class": sum(c.unknown_class for c in accepted),
        "refused": refused,
    }
    if dry_run:
        return {**answer(spec.name, header, None), "dry_run": True}
    if not accepted:
        raise FeedbackError(
            "no_valid_records",
            f"none of the {len(records)} records can be used; nothing was stored",
            refused,
        )
    where = key(spec.name, batch, now)
    stored = store.create(where, encode(header, accepted))
    if stored is not None:
        return _resent(spec.name, stored, content)
    logger.info(
        "{}: stored {} corrections ({} refused) as {}",
        spec.name,
        len(accepted),
        len(refused),
        where,
    )
    return answer(spec.name, header, where)


def answer(model: str, header: dict[str, Any], where: str | None) -> dict[str, Any]:
    """What a batch's sender is told: the same the first time and on every resend."""
    return {
        "model": model,
        "batch_id": header["batch_id"],
        "received_at": header["received_at"],
        "accepted": header["accepted"],
        "unknown_class": header["unknown_class"],
        "classes_from": header["classes_from"],
        "refused": header["refused"],
        "key": where,
    }


def fingerprint(records: list[Any]) -> str:
    """The sha256 of the records as sent (key order does not matter)."""
    text = json.dumps(records, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _resent(model: str, stored: Batch, content: str) -> dict[str, Any]:
    if stored.header.get("content_sha256") != content:
        raise BatchConflictError(
            f"batch {stored.batch_id} of {model} was stored at {stored.received_at} with other "
            "records; a resend must repeat the same records: send new or changed records "
            "under a new batch_id"
        )
    return answer(model, stored.header, stored.key)


def champion_classes(svc: Services, spec: ModelSpec) -> tuple[frozenset[str] | None, int | None]:
    """The classes the champion knows (its card's ``classes``) and its version; (None, None)
    without a champion or when its card cannot be read (then no class is flagged)."""
    try:
        champion = svc.models.champion(spec.name)
        if champion is None or champion.version is None:
            return None, None
        card = svc.models.card(spec.name, champion.version)
    except (NotFoundError, CorruptStateError) as exc:
        logger.warning("{}: the champion's classes are unknown: {}", spec.name, exc)
        return None, None
    classes = card.get("classes")
    if not isinstance(classes, list):
        return None, champion.version
    return frozenset(str(c) for c in classes), champion.version


@dataclass
class Stored:
    """The corrections of a model that a run may use, oldest first, and what was left out."""

    corrections: list[Correction]
    batches: int
    refused_at_receipt: int
    refused: int  # stored, but no longer valid for the spec (a feature or the key went)
    unreadable: list[str]


def stored(svc: Services, spec: ModelSpec, since: date | None) -> Stored:
    """Every stored correction of ``spec`` received from ``since``'s month on (all without
    ``since``), checked against the spec as it is now; unreadable batches are named and
    skipped (a warning), never a failed run."""
    batches, unreadable = _batches(svc, spec, since)
    now = svc.clock()
    everyone = [
        (c.when, b.received_at, b.batch_id, i, c)
        for b in batches
        for i, c in enumerate(b.corrections)
    ]
    usable, refused = [], 0
    for *_, c in sorted(everyone, key=lambda t: t[:4]):
        again, _errors = feedback.check(_raw(c), spec, None, now)
        if again is None:
            refused += 1
        else:
            usable.append(Correction(**{**again.to_dict(), "unknown_class": c.unknown_class}))
    return Stored(
        usable,
        len(batches),
        sum(len(b.header["refused"]) for b in batches),
        refused,
        unreadable,
    )


def _batches(svc: Services, spec: ModelSpec, since: date | None) -> tuple[list[Batch], list[str]]:
    """The stored batches of ``spec`` from ``since``'s month on (one listing, then the
    batches side by side), and the keys of those that cannot be read."""
    store = FeedbackStore(svc.models.store)

    def read(where: str) -> Batch | str:
        try:
            return store.get(where) or where
        except CorruptStateError as exc:
            logger.warning("{}", exc)
            return where

    found = read_all(read, store.keys(spec.name, since))
    return [b for b in found if isinstance(b, Batch)], [w for w in found if isinstance(w, str)]


def summary(svc: Services, spec: ModelSpec, months: int = 12, newest: int = 10) -> dict[str, Any]:
    """Per month received (the last ``months``, this one included): batches, corrections,
    how many of them agreed with the prediction they judge (``agreement``: an estimate of
    live accuracy where people confirm right predictions too, with its count), refused and
    unknown-class records; this month's row; the ``newest`` disagreements."""
    now = svc.clock()
    index = now.year * 12 + now.month - 1 - (months - 1)
    batches, unreadable = _batches(svc, spec, date(index // 12, index % 12 + 1, 1))
    rows: dict[str, dict[str, Any]] = {}
    for b in batches:
        month = "-".join(b.key.split("/")[2:4])  # feedback/<MODEL>/<yyyy>/<mm>/...
        row = rows.setdefault(month, _month(month))
        row["batches"] += 1
        row["received"] += len(b.corrections)
        row["agreed"] += sum(c.predicted == c.true_label for c in b.corrections)
        row["refused"] += len(b.header["refused"])
        row["unknown_class"] += sum(c.unknown_class for c in b.corrections)
    for row in rows.values():
        row["agreement"] = round(row["agreed"] / row["received"], 4) if row["received"] else None
    this = f"{now.year:04d}-{now.month:02d}"
    wrong = [c for b in batches for c in b.corrections if c.predicted != c.true_label]
    return {
        "model": spec.name,
        "mode": spec.corrections,
        "this_month": rows.get(this) or {**_month(this), "agreement": None},
        "months": [rows[m] for m in sorted(rows)],
        "newest_disagreements": [
            c.to_dict() for c in sorted(wrong, key=lambda c: c.when, reverse=True)[:newest]
        ],
        **({"unreadable": unreadable} if unreadable else {}),
    }


def received_since(svc: Services, spec: ModelSpec, since: datetime) -> dict[str, Any]:
    """Corrections received at or after ``since``: how many, how many agreed with the
    prediction they judge, and that share (``agreement``, None without any)."""
    batches, _ = _batches(svc, spec, since.date())
    first = iso(since)
    judged = [c for b in batches if b.received_at >= first for c in b.corrections]
    agreed = sum(c.predicted == c.true_label for c in judged)
    share = round(agreed / len(judged), 4) if judged else None
    return {"received": len(judged), "agreed": agreed, "agreement": share}


def _month(month: str) -> dict[str, Any]:
    return {
        "month": month,
        "batches": 0,
        "received": 0,
        "agreed": 0,
        "refused": 0,
        "unknown_class": 0,
    }


def month_line(svc: Services, models: list[str]) -> str | None:
    """One line for the monthly Slack summary: the corrections of the last 30 days per
    model (the timer fires on the 1st: the month just ended) and how often the prediction
    agreed; None when no model received any."""
    since = svc.clock() - timedelta(days=30)
    parts = []
    for name in models:
        row = received_since(svc, svc.registry.get(name), since)
        if row["received"]:
            parts.append(f"{name} {row['received']} ({row['agreement']:.0%} agreed)")
    return "Corrections in the last 30 days: " + ", ".join(parts) if parts else None


def _raw(c: Correction) -> dict[str, Any]:
    return {k: v for k, v in c.to_dict().items() if k != "unknown_class"}


def join(svc: Services, engine: Any, spec: ModelSpec, rows: Any, since: date | None) -> Any:
    """(rows with the spec's stored corrections joined, the card's ``corrections`` record);
    (rows, None) for ``corrections="ignore"``. The engine joins (``with_corrections``); an
    engine without it refuses the run with a ConfigError."""
    if spec.corrections == "ignore":
        return rows, None
    joiner = getattr(engine, "with_corrections", None)
    if joiner is None:
        raise ConfigError(
            [
                f"{spec.name}: corrections={spec.corrections!r} is not supported by the "
                f"{engine.name} engine (it joins no corrections yet): set corrections='ignore' "
                "or train with TRAINING_ENGINE=local"
            ]
        )
    found = stored(svc, spec, since)
    joined, counts = joiner(rows, spec, found.corrections)
    times = [c.when for c in found.corrections]
    record = {
        "mode": spec.corrections,
        "batches": found.batches,
        "received": len(found.corrections) + found.refused,
        **counts,
        "refused": found.refused_at_receipt + found.refused,
        "first": min(times, default=None),
        "last": max(times, default=None),
        **({"unreadable": found.unreadable} if found.unreadable else {}),
    }
    logger.info(
        "corrections ({}): {} used of {} received, {} refused",
        spec.corrections,
        record.get("used"),
        record["received"],
        record["refused"],
    )
    return joined, record


def labelled(svc: Services, spec: ModelSpec, frame: Any, since: date | None) -> tuple[Any, int]:
    """The decay check's rows (a loaded frame) with people's corrections as labels known
    since the champion was trained: by the spec's rule, or, where the spec ignores them in
    training, ``override`` with a key_column, else ``append``. (frame, corrections used)."""
    from retrain.training import corrections as joining

    mode = spec.corrections
    if mode == "ignore":
        mode = "override" if spec.key_column else "append"
    found = stored(svc, spec, since)
    if not found.corrections:
        return frame, 0
    joined, counts = joining.join(frame, replace(spec, corrections=mode), found.corrections)
    return joined, counts["used"]
