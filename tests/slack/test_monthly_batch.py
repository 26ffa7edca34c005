"""The monthly timer's batch of the three seed classifiers: one parent message listing every
model (its link asked once and kept with the batch), one threaded reply per model with its
details, one update of the parent at the end, and nothing more however often the
finalisation is retried."""

from __future__ import annotations

import json

from retrain.service.notify import announce
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fake_slack import CHANNEL_ID, permalink
from tests.slack.conftest import TIMER_AT, TOKEN


def _texts(body: dict) -> str:
    """Every text a message shows: fallback, header, fields, sections, context."""
    return json.dumps(body, ensure_ascii=False)


def _model(body: dict) -> str:
    """The model a run message is about, from its header ':icon: MODEL vN · outcome'."""
    return body["blocks"][0]["text"]["text"].split()[1]


def test_one_parent_one_threaded_reply_per_model_and_one_update(monthly):
    calls = monthly.calls
    assert all(c.mode == "ok" for c in calls), [(c.method, c.mode) for c in calls]
    assert [c.method for c in calls] == [
        "chat.postMessage",
        "chat.getPermalink",
        *["chat.postMessage"] * 3,
        "chat.update",
    ]
    parent, link, replies, update = calls[0], calls[1], calls[2:5], calls[5]

    assert parent.thread_ts is None
    parent_ts = parent.ts
    for record in monthly.records:
        assert f"*{record.model}* queued" in _texts(parent.body)
    assert sorted(_model(r.body) for r in replies) == sorted(r.model for r in monthly.records)
    assert {r.thread_ts for r in replies} == {parent_ts}
    assert {r.body["channel"] for r in replies} == {CHANNEL_ID}
    assert update.body["ts"] == parent_ts and update.body["channel"] == CHANNEL_ID

    assert (link.body["channel"], link.body["message_ts"]) == (CHANNEL_ID, parent_ts)
    batch = monthly.svc.runs.batch(monthly.started.batch_id)
    assert (batch["channel"], batch["ts"]) == (CHANNEL_ID, parent_ts)
    assert batch["permalink"] == permalink(parent_ts)  # the console links the thread
    assert monthly.fake.messages[parent_ts]["edited"] is True


def test_the_parent_ends_with_one_line_per_model(monthly):
    update = monthly.calls[5]
    text = _texts(update.body)
    assert update.body["text"].startswith("Retraining finished: 3 models (timer): 3 promoted")
    for record in monthly.records:
        score = f"{record.summary['metric']} {record.summary['score']:.4f}"
        assert f"*{record.model}* · v1 · promoted · {score} (first version)" in text
    assert monthly.started.batch_id in text


def test_each_reply_carries_the_run_details(monthly):
    replies = {_model(r.body): r.body for r in monthly.calls[2:5]}
    for record in monthly.records:
        body, s = replies[record.model], record.summary
        header = body["blocks"][0]["text"]["text"]
        assert header == f":white_check_mark: {record.model} v{record.version} · promoted"
        fields = [f["text"] for f in body["blocks"][1]["fields"]]
        assert fields[0] == f"*{s['metric']}*\n{s['score']:.4f}  (first version)"
        assert fields[1] == (
            f"*Rows*\n{s['rows_loaded']:,} loaded\n{s['rows_train']:,} train / "
            f"{s['rows_test']:,} test"
        )
        window = s["data_window"]
        assert fields[2] == f"*Data window*\n{window['first'][:10]} → {window['last'][:10]}"
        assert fields[3].startswith("*Duration*\n") and " (fit " in fields[3]
        assert fields[4] == "*Trigger*\ntimer: monthly schedule"
        assert f"*Gate:* {s['gate_reason']}" in _texts(body)
        context = [e["text"] for e in body["blocks"][-1]["elements"]]
        assert context == [
            "*LOCAL*",
            f"Run `{record.run_id}`",
            f"Artifact `{s['artifact_uri']}`",
        ]
        assert body["text"].startswith(f"{record.model} · v1 · promoted · {s['metric']}")


def test_every_call_carries_the_bot_token_and_no_payload_does(monthly):
    for call in monthly.calls:
        assert call.headers["authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in call.raw.decode()


def test_a_retried_finalisation_posts_nothing_twice(monthly):
    before = len(monthly.fake.calls)
    for record in monthly.records:
        again = execute_run(monthly.svc, record.run_id)  # a redelivered queue message
        assert again.notified
        announce(monthly.svc, again)  # finish() retried after the announcement
    # the timer firing twice for the same schedule occurrence
    repeat = start_runs(
        monthly.svc,
        monthly.svc.registry.names(),
        trigger="timer",
        at=TIMER_AT,
        tag="monthly",
    )
    assert repeat.runs == []
    assert len(monthly.fake.calls) == before
