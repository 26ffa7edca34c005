"""One object the two cross-model lists read, instead of a few requests per model.

``overview.json`` (runs store) holds a row per model (champion, version count, newest
version, newest run) and the newest runs of every model. Blob Storage answers each request
in milliseconds, but a list of 50 models that reads an alias, a summary and a run listing
per model still costs 150 requests; Azurite, which answers one request at a time and scans
its whole database for each, takes seconds for them (docs/benchmarks.md). With this object
a list costs one read, plus a few checks.

It is derived state, like the per-model summaries (service/version_summary.py):

- **Writers patch it** with compare-and-swap, best effort: a start adds its new runs, a
  run's end adds the run and reads its model's row again from the alias and the summary, a
  promote reads the row again. The row is read inside each compare-and-swap attempt, after
  the overview: of two promotes racing, the one whose patch lands last read the alias after
  both moves. A patch that fails is logged; it never fails a run or a promote.
- **Readers check what can change unseen.** Every models-list request reads every model's
  alias (small objects, side by side): a row never shows a champion its alias does not name,
  whatever patch was lost; a row that disagrees is mended and says so (``mended``). An
  unfinished run is read from its record on every request (its stage moves; another caller
  may fail it as abandoned). A model with no row, or a row that is not typed as a row
  (service/derived_rows.py), is read from its sources. Each models-list request reads
  ``RECHECK`` rows again, picked at random, so a lost patch of the other facts is mended
  within a few dozen requests (a console open on the models list asks every 10 s). What a
  reader mends it writes back (compare-and-swap; a lost race is left to the next request).
- **The run list answers from it only where it holds every run:** ``runs_from`` is the
  oldest run id from which it does (set by the first full scan, raised as old runs drop
  out; "" for all of them). A longer or filtered list that reaches past it scans as before.

Each row also holds the facts its model's health is derived from (service/health.py): the
newest finished run that is not a dry run (``last_finished``, patched with ``last_run`` by
the run's end) and the newest champion-decay point (``decay``, patched by the check that
stores it); a row read from its sources reads the newest run records back to that run (at
most ``_FINISHED_TRIED``) and the newest point. A row written before it held them is read
again from its sources, quietly.

A missing or unreadable overview is rebuilt that way: the first request pays for the
per-model reads once."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from retrain import strict_json
from retrain.domain.decay import DecayResult
from retrain.domain.errors import CorruptStateError, RetrainError
from retrain.domain.ports import PreconditionFailed
from retrain.domain.runs import RunRecord, RunStatus
from retrain.domain.specs import ModelSpec
from retrain.service import decay_points, health, stored, version_summary
from retrain.service.context import Services
from retrain.service.derived_rows import HEALTH_FIELDS, ROW_FIELDS, is_number, parse_row
from retrain.service.parallel import read_all
from retrain.service.version_summary import UNREADABLE, problem

KEY = "overview.json"
FORMAT = 1
KEEP_RUNS = 100  # the newest runs of all models it holds (the console asks for 50)
RECHECK = 2  # rows a models-list request reads again from their sources, at random
ATTEMPTS = 8
_NEWEST_TRIED = 5  # run ids a row reads back from the newest to find an existing record
_FINISHED_TRIED = 20  # and to find the newest finished run that is not a dry run (health)
_SECOND = len("20261122T090000Z")  # a run id's time: ids of one second do not sort by time


@dataclass
class Overview:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> record
    runs_from: str | None = None  # holds every run with an id >= this ("": all of them)
    etag: str | None = None
    changed: bool = False
    mended: dict[str, str] = field(default_factory=dict)  # model -> why its row was left out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "models": {name: row for name, row in sorted(self.models.items())},
            "runs": dict(sorted(self.runs.items())),
            "runs_from": self.runs_from,
        }


# reading and writing -------------------------------------------------------------------
def load(svc: Services) -> Overview:
    """The overview as stored; an empty one if there is none or it cannot be read."""
    obj = svc.runs.store.get(KEY)
    if obj is None:
        return Overview()
    try:
        return stored.parse(obj, "overview", KEY, lambda data: _parse(data, obj.etag))
    except CorruptStateError as exc:
        logger.warning("{}; it is rebuilt from the models and runs", exc)
        return Overview(etag=obj.etag)


def _parse(data: Any, etag: str) -> Overview:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not an overview of format {FORMAT}")
    models, runs, runs_from = data["models"], data["runs"], data["runs_from"]
    if not isinstance(models, dict):
        raise ValueError("'models' is not an object of rows")
    if not isinstance(runs, dict) or not (runs_from is None or isinstance(runs_from, str)):
        raise ValueError("'runs' or 'runs_from' has the wrong type")
    for run_id, record in runs.items():
        if RunRecord.from_dict(record).run_id != run_id:
            raise ValueError("a run is filed under another run's id")
    overview = Overview({}, runs, runs_from, etag)
    for name, row in models.items():
        if _before_health(row):
            continue  # written before rows held health facts: read again, quietly
        try:
            overview.models[name] = parse_row(row)
        except ValueError as exc:  # left out: read again from its sources, and said so
            overview.mended[name] = f"its overview row was not valid ({exc}); read from its sources"
    return overview


def _before_health(row: Any) -> bool:
    """A whole row of the kind written before rows held the facts of a model's health."""
    return (
        isinstance(row, dict)
        and all(f in row for f in ROW_FIELDS)
        and not any(f in row for f in HEALTH_FIELDS)
    )


def save(svc: Services, overview: Overview) -> None:
    """A reader's mends, once: a lost race or a storage failure leaves them to the next.
    Nothing stored yet: nothing written (a read in an empty home creates nothing)."""
    if (
        overview.etag is None
        and not overview.runs
        and not any(row["versions"] or row["last_run"] for row in overview.models.values())
    ):
        return
    try:
        svc.runs.store.replace(KEY, _encode(overview), overview.etag)
    except PreconditionFailed:
        pass
    except RetrainError as exc:
        logger.warning("overview not written ({}): the next request mends it", exc.code)


def patch(svc: Services, change: Callable[[Overview], None]) -> None:
    """Read, ``change``, write with compare-and-swap, again on a lost race. Never raises."""
    try:
        for _ in range(ATTEMPTS):
            overview = load(svc)
            change(overview)
            try:
                svc.runs.store.replace(KEY, _encode(overview), overview.etag)
                return
            except PreconditionFailed:
                continue
        logger.warning("overview not updated: it kept changing; the lists mend it")
    except Exception as exc:  # derived state: never fails a start, a run or a promote
        logger.warning("overview not updated ({}): the lists mend it", _why(exc))


def _why(exc: Exception) -> str:
    """A failure in a log line: our code, or only the type of anything else (its text may
    hold a storage URL)."""
    return exc.code if isinstance(exc, RetrainError) else type(exc).__name__


def _encode(overview: Overview) -> bytes:
    return strict_json.dumps(overview.to_json(), sort_keys=True, compact=True).encode()


# what writers tell it ------------------------------------------------------------------
def note_runs(svc: Services, records: Iterable[RunRecord]) -> None:
    """New or finished runs (start, a run's end)."""
    records = list(records)
    if records:
        patch(svc, lambda overview: add_runs(overview, records))


def note_model(svc: Services, name: str, records: Iterable[RunRecord] = ()) -> None:
    """``name``'s champion or versions changed (a run's end, a promote): its row is read
    again from the alias and the summary inside each compare-and-swap attempt, after the
    overview was read (so the patch that lands last read the alias last); ``records`` are
    added as in ``note_runs``."""
    records = list(records)

    def change(overview: Overview) -> None:
        row = overview.models.get(name)
        if row is not None:
            try:
                fresh = model_facts(svc, svc.registry.get(name))
            except Exception as exc:  # as in patch
                logger.warning(
                    "overview row of {} not read ({}): the lists mend it", name, _why(exc)
                )
            else:
                fresh.pop("mended", None)  # shown by lists, never stored
                if "error" not in fresh:
                    row.update(fresh)
                else:  # shown, never stored: read again next time
                    overview.models.pop(name)
        add_runs(overview, records)

    patch(svc, change)


def note_decay(svc: Services, key: str, point: DecayResult) -> None:
    """A decay point was stored at ``key``: its model's row holds it if it is the newest."""
    facts = health.decay_of(key, point)

    def change(overview: Overview) -> None:
        row = overview.models.get(point.model)
        held = row.get("decay") if row is not None else None
        if row is not None and (held is None or key >= held["key"]) and held != facts:
            row["decay"] = facts
            overview.changed = True

    patch(svc, change)


def add_runs(overview: Overview, records: Iterable[RunRecord]) -> None:
    """Merge ``records`` (the further along of two copies wins), keep the newest runs and
    each model's newest run on its row."""
    for record in records:
        data = record.to_dict()
        held = overview.runs.get(record.run_id)
        if held != data and (held is None or _progress(data) >= _progress(held)):
            overview.runs[record.run_id] = data
            overview.changed = True
        row = overview.models.get(record.model)
        if row is None:
            continue
        last = row.get("last_run")
        newer = last is None or record.run_id >= last["run_id"]
        if newer and last != (summary := last_run_of(record)):
            row["last_run"] = summary
            overview.changed = True
        held_finished = row.get("last_finished")
        finished = health.finished_of(record)
        if (
            finished is not None
            and (held_finished is None or health.order(finished) >= health.order(held_finished))
            and held_finished != finished
        ):
            row["last_finished"] = finished
            overview.changed = True
    if len(overview.runs) > KEEP_RUNS:
        kept = sorted(overview.runs)[-KEEP_RUNS:]
        overview.runs = {run_id: overview.runs[run_id] for run_id in kept}
        if overview.runs_from is not None:
            overview.runs_from = max(overview.runs_from, kept[0])


def _progress(data: dict[str, Any]) -> tuple[bool, str]:
    return RunStatus(data["status"]).finished, data.get("updated_at") or ""


# a model's row from its sources --------------------------------------------------------
def champion_facts(svc: Services, name: str) -> dict[str, Any]:
    """The row's champion fields as the alias says (one small read); ``error`` if the alias
    cannot be read."""
    try:
        champion = svc.models.champion(name)
    except UNREADABLE as exc:
        return {"champion_version": None, "champion_score": None, "error": problem(exc)}
    score = champion.record.get("score") if champion is not None else None
    return {
        "champion_version": champion.version if champion is not None else None,
        "champion_score": score if is_number(score) else None,
    }


def model_facts(svc: Services, spec: ModelSpec) -> dict[str, Any]:
    """Champion and versions as the alias and the summary say (two reads, and the newest
    version's card, which wins over its summary entry). ``mended`` says which summary
    entries were read again from their cards: for the list to show, never to store."""
    facts: dict[str, Any] = {
        **champion_facts(svc, spec.name),
        "versions": 0,
        "latest_version": None,
    }
    summary = version_summary.stored(svc.models, spec.name)
    version_summary.check(svc.models, summary, [max(summary.versions, default=None)], sample=0)
    if summary.mended:  # said by the list that mended it, never stored in the row
        facts["mended"] = "; ".join(f"v{v}: {why}" for v, why in sorted(summary.mended.items()))
    facts["versions"] = len(summary.versions) + len(summary.unreadable)
    if summary.versions:
        latest = summary.versions[max(summary.versions)]
        facts["latest_version"] = {
            "version": latest["version"],
            "status": latest["status"],
            "score": latest["metrics"].get(spec.primary_metric),
            "created_at": latest["created_at"],
        }
        if latest["status"] == "awaiting_approval":  # its decision and deadline (health)
            from retrain.service.approval import awaiting

            facts["latest_version"]["approval"] = awaiting(svc, spec, latest["version"])
    return facts


def model_row(svc: Services, spec: ModelSpec) -> tuple[dict[str, Any], RunRecord | None]:
    """A row from its sources, and the newest run's record it read (if it is readable): the
    alias, the summary, the model's run listing, the newest record that exists, the newest
    finished run that is not a dry run (health) and the newest decay point."""
    row = model_facts(svc, spec)
    row["last_run"] = None
    row["last_finished"] = None
    row["decay"] = _newest_decay(svc, spec.name)
    newest: RunRecord | None = None
    for tried, run_id in enumerate(reversed(svc.runs.ids_of(spec.name)[-_FINISHED_TRIED:])):
        held = row["last_finished"]
        if held is not None and run_id[:_SECOND] != held["run_id"][:_SECOND]:
            break  # an older second: the newest finished run is found
        looking = row["last_run"] is None and tried < _NEWEST_TRIED
        try:
            record = svc.runs.find(run_id)
        except UNREADABLE as exc:
            if looking:
                row["last_run"] = {"run_id": run_id, "error": problem(exc)}
            continue  # an older finished run may still be read for health
        if record is None:  # a record removed again (its model was busy)
            continue
        if looking:
            row["last_run"], newest = last_run_of(record), record
        finished = health.finished_of(record)
        if finished is not None and (held is None or health.order(finished) > health.order(held)):
            row["last_finished"] = finished  # runs created in the same second: read them all
    return row, newest


def _newest_decay(svc: Services, name: str) -> dict[str, Any] | None:
    """The newest decay point's facts; None if there is none or it cannot be read (a
    check that cannot be read says nothing about the champion)."""
    try:
        keys = decay_points.keys(svc, name)
        point = decay_points.read(svc, name, keys[-1]) if keys else None
    except RetrainError as exc:  # the rest of the row still shows; a later read mends it
        logger.warning("decay points of {} not read ({}): health without them", name, exc.code)
        return None
    if point is None or "error" in point:
        return None
    return health.decay_of(point["key"], point)


def last_run_of(record: RunRecord) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "status": str(record.status),
        "stage": str(record.stage),
        "outcome": str(record.outcome) if record.outcome else None,
        "dry_run": record.dry_run,
        "trigger": record.trigger,
        "version": record.version,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "error": record.error,
    }


# what readers check --------------------------------------------------------------------
def rows(svc: Services, specs: list[ModelSpec]) -> dict[str, dict[str, Any]]:
    """Every registered model's row: from the overview, the missing ones and ``RECHECK``
    others from their sources, every other row's champion from its alias, unfinished last
    runs from their records. A row that was mended says so in ``mended``."""
    overview = load(svc)
    held = [spec for spec in specs if spec.name in overview.models]
    due = [spec for spec in specs if spec.name not in overview.models]
    due += random.sample(held, min(RECHECK, len(held)))  # stateless: nothing to write
    out = {name: dict(row) for name, row in overview.models.items()}
    found: list[RunRecord] = []
    for spec, (row, record) in zip(due, read_all(lambda s: model_row(svc, s), due), strict=True):
        notes = [_mended(overview, spec.name, row), row.pop("mended", None)]
        out[spec.name] = row | ({"mended": "; ".join(n for n in notes if n)} if any(notes) else {})
        if record is not None:
            found.append(record)
        if not _readable(row):
            overview.models.pop(spec.name, None)  # shown, never stored: read again next time
        elif overview.models.get(spec.name) != row:
            overview.models[spec.name] = row
            overview.changed = True
    _recheck_champions(svc, overview, [s for s in held if s not in due], out)
    unfinished = [
        row["last_run"]["run_id"]
        for name, row in out.items()
        if row.get("last_run") and _unfinished(row["last_run"])
    ]
    for record in _live(svc, overview, unfinished)[0]:
        found.append(record)
        out[record.model]["last_run"] = last_run_of(record)
    add_runs(overview, found)
    for name in set(overview.models) - {spec.name for spec in specs}:
        del overview.models[name]  # no longer registered
        overview.changed = True
    if overview.changed:
        save(svc, overview)
    return out


def runs(
    svc: Services, status: str | None, limit: int, names: list[str]
) -> tuple[list[RunRecord], list[str]]:
    """The newest ``limit`` runs of the ``names`` models (with ``status``, if given), and
    unreadable records met on the way: from the overview where it holds every run asked
    for, else by a scan (whose result seeds the overview's run list)."""
    overview = load(svc)
    wanted = set(names)
    if overview.runs_from is not None:
        held = sorted((r for r in overview.runs.values() if r["model"] in wanted),
                      key=lambda r: r["run_id"], reverse=True)  # fmt: skip
        unfinished = [r["run_id"] for r in held if _unfinished(r)]
        live, unreadable = _live(svc, overview, unfinished)
        fresh = {record.run_id: record for record in live}
        records = [
            fresh.get(r["run_id"]) or RunRecord.from_dict(r)
            for r in held
            if r["run_id"] in overview.runs  # else it vanished
        ]
        add_runs(overview, live)
        if overview.changed:
            save(svc, overview)
        matching = [r for r in records if status is None or r.status == status]
        if len(matching) >= limit or overview.runs_from == "":
            return matching[:limit], unreadable
    records, unreadable = svc.runs.scan(None, status, limit, models=names)
    if status is None and not unreadable:
        oldest = "" if len(records) < limit else records[-1].run_id
        before = overview.runs_from
        add_runs(overview, records)
        overview.runs_from = oldest if before is None else min(before, oldest)
        if len(overview.runs) >= KEEP_RUNS:
            overview.runs_from = max(overview.runs_from, min(overview.runs))
        save(svc, overview)
    return records, unreadable


def _mended(overview: Overview, name: str, fresh: dict[str, Any]) -> str | None:
    """Why the stored row of ``name`` was mended, if it was: left out as not valid, or
    naming another champion than its alias (``fresh`` is the row from its sources)."""
    if name in overview.mended:
        return overview.mended[name]
    held = overview.models.get(name)
    if held is None or "error" in fresh or held["champion_version"] == fresh["champion_version"]:
        return None
    return _champion_mended(held["champion_version"], fresh["champion_version"])


def _champion_mended(held: int | None, alias: int | None) -> str:
    shown = "no champion" if held is None else f"v{held} as champion"
    named = "names none" if alias is None else f"names v{alias}"
    return f"the overview named {shown}; the alias {named}"


def _recheck_champions(
    svc: Services, overview: Overview, specs: list[ModelSpec], out: dict[str, dict[str, Any]]
) -> None:
    """Every other row's champion against its alias, side by side: the alias wins, and a row
    it corrects says so and is written back."""
    names = [spec.name for spec in specs]
    for name, facts in zip(names, read_all(lambda n: champion_facts(svc, n), names), strict=True):
        row = overview.models[name]
        if "error" in facts:
            out[name] = {**out[name], **facts}
            overview.models.pop(name)  # shown, never stored: read again next time
            continue
        if {k: row[k] for k in facts} != facts:
            if row["champion_version"] != facts["champion_version"]:
                why = _champion_mended(row["champion_version"], facts["champion_version"])
                out[name] = {**out[name], **facts, "mended": why}
            else:  # the same champion, another score: no news for the reader
                out[name] = {**out[name], **facts}
            row.update(facts)
            overview.changed = True


def _readable(row: dict[str, Any]) -> bool:
    """Whether the row's alias and newest run could be read (an unreadable run record is
    a last run with an error and no status)."""
    return "error" not in row and (row["last_run"] is None or "status" in row["last_run"])


def _unfinished(data: dict[str, Any]) -> bool:
    return data.get("status") in (RunStatus.QUEUED, RunStatus.RUNNING)


def _live(
    svc: Services, overview: Overview, run_ids: list[str]
) -> tuple[list[RunRecord], list[str]]:
    """The records of ``run_ids`` as stored now, and the keys of unreadable ones; a vanished
    one leaves the overview."""
    records: list[RunRecord] = []
    unreadable: list[str] = []
    for run_id, found in zip(run_ids, read_all(svc.runs.read_or_error, run_ids), strict=True):
        if isinstance(found, RunRecord):
            records.append(found)
        elif isinstance(found, CorruptStateError):
            unreadable.append(found.key)
        elif overview.runs.pop(run_id, None) is not None:
            overview.changed = True
    return records, unreadable
