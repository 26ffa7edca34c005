"""HTTP API blueprint (auth level FUNCTION, health anonymous). Training never runs here:
POST writes queued run records and enqueues one message per run, then answers 202."""

from collections.abc import Callable
from typing import Any

import azure.functions as func

from retrain.domain.errors import ConfigError
from retrain.domain.runs import RunStatus
from retrain.entrypoints import training_queue
from retrain.entrypoints.app_services import services
from retrain.entrypoints.http_io import (
    MAX_VERSION,
    BadRequest,
    actor,
    base_url,
    caller,
    endpoint,
    field,
    json_body,
    respond,
    whole_number,
)
from retrain.entrypoints.probes import probe_all
from retrain.entrypoints.training_queue import CONNECTION, QUEUE, Messages
from retrain.entrypoints.whole_numbers import RUNS_LIMIT
from retrain.service import decay_points, queries, run_filter, statistics
from retrain.service.promote import promote
from retrain.service.start import start_runs

bp = func.Blueprint()
RETRY_AFTER_S = "30"
HEALTH_DEADLINE_S = 4.0
DECAY_POINTS = 120  # the newest decay checks the history answers with (10 years monthly)


def _start(
    req: func.HttpRequest, msgs: func.Out[Messages], names: list[str], reason: str, dry_run: bool
) -> func.HttpResponse:
    svc = services()
    started = start_runs(
        svc,
        names,
        trigger="http",
        reason=reason,
        dry_run=dry_run,
        caller=caller(req),
        limits=svc.start_limits,
    )
    if not started.runs and started.conflicts:
        raise started.conflicts[0]
    if not started.runs and started.limited:
        raise min(started.limited, key=lambda exc: exc.retry_after_s)
    if not started.runs and started.failed:
        raise started.failed[0][1]
    msgs.set(training_queue.messages(started.runs))
    base = base_url(req)
    runs = [
        {
            "run_id": r.run_id,
            "model": r.model,
            "status": str(r.status),
            "dry_run": r.dry_run,
            "status_url": f"{base}/api/training/runs/{r.run_id}",
        }
        for r in started.runs
    ]
    body = {
        "runs": runs,
        "batch_id": started.batch_id,
        "skipped": [
            {"model": c.model, "active_run_id": c.run_id, "reason": "already queued or running"}
            for c in started.conflicts
        ]
        + [
            {"model": r.model, "reason": str(r), "retry_after_s": r.retry_after_s}
            for r in started.limited
        ],
        "failed": [{"model": model, "error": str(exc)} for model, exc in started.failed],
    }
    location = str(runs[0]["status_url"])
    return respond(body, 202, {"Location": location, "Retry-After": RETRY_AFTER_S})


@bp.function_name("start_training")
@bp.route(route="training", methods=["POST"])
@bp.queue_output(arg_name="msgs", queue_name=QUEUE, connection=CONNECTION)
@endpoint
def start_training(req: func.HttpRequest, msgs: func.Out[Messages]) -> func.HttpResponse:
    body = json_body(req, {"models", "reason", "dry_run"})
    models = field(body, "models", (list, str), required=True)
    if isinstance(models, str):
        if models != "all":
            raise BadRequest('field "models" must be "all" or a list of model names')
        names = services().registry.names()
    else:
        if not models or len(models) > 100 or not all(isinstance(m, str) for m in models):
            raise BadRequest('field "models" must list 1 to 100 model names as strings')
        names = models
    reason = field(body, "reason", str, "")
    if len(reason) > 500:
        raise BadRequest('field "reason" must be at most 500 characters')
    return _start(req, msgs, names, reason, field(body, "dry_run", bool, False))


@bp.function_name("model_training_trigger")
@bp.route(route="model_training_trigger", methods=["POST"])
@bp.queue_output(arg_name="msgs", queue_name=QUEUE, connection=CONNECTION)
@endpoint
def model_training_trigger(req: func.HttpRequest, msgs: func.Out[Messages]) -> func.HttpResponse:
    """The original app's route: ``{"model_name": "KLASSE_ROH"}``."""
    body = json_body(req, {"model_name", "reason"})
    name = field(body, "model_name", str, required=True)
    return _start(req, msgs, [name], field(body, "reason", str, ""), False)


@bp.function_name("get_run")
@bp.route(route="training/runs/{run_id}", methods=["GET"])
@endpoint
def get_run(req: func.HttpRequest) -> func.HttpResponse:
    record = services().runs.get(req.route_params.get("run_id", ""))
    return respond({**record.to_dict(), "duration_s": record.duration_s})


@bp.function_name("list_runs")
@bp.route(route="training/runs", methods=["GET"])
@endpoint
def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    """Newest first; filters (each optional): ``model``, ``status``, ``trigger``, ``since``
    and ``until`` (a date or an ISO time with offset; the run id's time, since inclusive),
    ``batch`` (a batch id: its runs, and ``batch`` in the answer with its Slack thread)."""
    svc = services()
    status = req.params.get("status") or None
    if status is not None and status not in {s.value for s in RunStatus}:
        raise BadRequest(f"status must be one of {', '.join(s.value for s in RunStatus)}")
    chosen = _run_filter(req, status)
    limit = _int_param(req, "limit", 50, *RUNS_LIMIT)
    records, unreadable = queries.find_runs(svc, chosen, limit)
    body: dict[str, Any] = {"runs": [{**r.to_dict(), "duration_s": r.duration_s} for r in records]}
    if chosen.batch is not None:
        body["batch"] = run_filter.batch(svc, chosen.batch)
    if unreadable:
        body["unreadable"] = unreadable
    return respond(body)


def _run_filter(req: func.HttpRequest, status: str | None) -> run_filter.RunFilter:
    def given(name: str, parse: Callable[[str], Any]) -> Any:
        raw = req.params.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse(raw)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None

    since = given("since", lambda raw: run_filter.parse_time(raw, "since"))
    until = given("until", lambda raw: run_filter.parse_time(raw, "until"))
    if since is not None and until is not None and until <= since:
        raise BadRequest("until must be later than since")
    return run_filter.RunFilter(
        model=req.params.get("model") or None,
        status=status,
        trigger=given("trigger", run_filter.parse_trigger),
        since=since,
        until=until,
        batch=given("batch", run_filter.parse_batch),
    )


@bp.function_name("training_statistics")
@bp.route(route="training/statistics", methods=["GET"])
@endpoint
def training_statistics(req: func.HttpRequest) -> func.HttpResponse:
    """Per model and overall over the last ``?days=`` (default 90): service/statistics.py."""
    days = _int_param(
        req, "days", statistics.DEFAULT_DAYS, statistics.MIN_DAYS, statistics.MAX_DAYS
    )
    return respond(statistics.compute(services(), days))


@bp.function_name("list_models")
@bp.route(route="models", methods=["GET"])
@endpoint
def list_models(req: func.HttpRequest) -> func.HttpResponse:
    return respond({"models": queries.list_models(services())})


@bp.function_name("list_versions")
@bp.route(route="models/{name}/versions", methods=["GET"])
@endpoint
def list_versions(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params.get("name", "")
    return respond({"model": name, "versions": queries.list_versions(services(), name)})


@bp.function_name("get_version")
@bp.route(route="models/{name}/versions/{version}", methods=["GET"])
@endpoint
def get_version(req: func.HttpRequest) -> func.HttpResponse:
    version = whole_number(req.route_params.get("version", ""), "version", 1, MAX_VERSION)
    return respond(queries.get_version(services(), req.route_params.get("name", ""), version))


@bp.function_name("set_champion")
@bp.route(route="models/{name}/champion", methods=["POST"])
@endpoint
def set_champion(req: func.HttpRequest) -> func.HttpResponse:
    """Promote or roll back: ``{"version": 3, "reason": "..."}``."""
    body = json_body(req, {"version", "reason"})
    version = field(body, "version", int, required=True)
    if not 1 <= version <= MAX_VERSION:
        raise BadRequest(f'field "version" must be between 1 and {MAX_VERSION}')
    reason = field(body, "reason", str, required=True)
    if not reason.strip() or len(reason) > 500:
        raise BadRequest('field "reason" must say why, in 1 to 500 characters')
    moved = promote(
        services(), req.route_params.get("name", ""), version, reason=reason, actor=actor(req)
    )
    return respond(moved)


@bp.function_name("champion_history")
@bp.route(route="models/{name}/history", methods=["GET"])
@endpoint
def champion_history(req: func.HttpRequest) -> func.HttpResponse:
    svc = services()
    spec = svc.registry.get(req.route_params.get("name", ""))
    return respond(
        {
            "model": spec.name,
            "history": svc.models.history(spec.name),
            # the champion scored on each month's new rows (service/decay.py), oldest first
            "decay": decay_points.points(svc, spec.name, DECAY_POINTS),
        }
    )


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Which dependencies answer, within HEALTH_DEADLINE_S whatever hangs. Names each failing
    check and its error class or "no answer", nothing more."""
    try:
        svc = services()
    except ConfigError:  # named in the logs and on the authenticated routes, not here
        return respond({"status": "misconfigured", "checks": {"settings": "invalid"}}, 503)
    probes = {
        "training_db": svc.source.ping,
        "model_store": svc.models.store.ping,
        "run_store": svc.runs.store.ping,
    }
    if ping := getattr(svc.engine, "ping", None):  # TRAINING_ENGINE=dask: its scheduler
        probes[f"{svc.engine.name}_scheduler"] = ping  # type: ignore[union-attr]
    checks = probe_all(probes, HEALTH_DEADLINE_S)
    healthy = all(v == "ok" for v in checks.values())
    return respond(
        {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503
    )


def _int_param(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    return whole_number(raw, name, low, high)
