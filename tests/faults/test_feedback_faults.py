"""Corrections under storage faults (issue 27): 500s, refused connections and lost answers
injected into the Blob SDK's pipeline while batches are posted. A client that resends a
batch until it gets an answer that is not a 503 ends with every batch stored exactly once,
whole, holding every record it accepted: nothing half written, nothing lost."""

from __future__ import annotations

import gzip
import json

import pytest

from retrain.entrypoints import feedback_api
from tests.faults.world import TALLY, Faults, World
from tests.functions.conftest import http


def correction(n: int) -> dict:
    return {
        "key": n,
        "predicted": "A",
        "true_label": "B" if n % 3 else "C",
        "who": f"line-{n % 4}",
        "when": "2026-11-20T08:15:00Z",
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_batches_survive_storage_faults_whole_and_once(tmp_path, use, azurite, seed, monkeypatch):
    monkeypatch.setattr(feedback_api, "RATE", feedback_api.CallerRate())
    faults = Faults(seed, rate=0.6)  # high: some operations exhaust the SDK's 3 retries
    world = World(tmp_path, azurite.connection_string, use, transport=faults)
    batches = {
        f"b{n}": [correction(n * 10 + i) for i in range(1 + n % 5)] + [{"who": "bad"}]
        for n in range(12)
    }
    answers, tries = {}, 0
    for batch_id, records in batches.items():
        for _ in range(30):  # the client resends until storage answers
            tries += 1
            response, _ = http(
                "post_feedback",
                "POST",
                "models/KLASSE_ROH/feedback",
                {"batch_id": batch_id, "records": records},
                route={"name": "KLASSE_ROH"},
            )
            if response.status != 503:
                break
        assert response.status == 201, response.text
        answers[batch_id] = response.json
    faults.rate = 0.0
    keys = world.svc.models.store.list("feedback/KLASSE_ROH/")
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == sorted(f"{b}.jsonl.gz" for b in batches)
    for batch_id, records in batches.items():
        key = answers[batch_id]["key"]
        lines = gzip.decompress(world.svc.models.store.get(key).data).decode().splitlines()
        header, *stored = (json.loads(line) for line in lines)
        assert header["batch_id"] == batch_id and header["accepted"] == len(records) - 1
        assert [int(s["key"]) for s in stored] == [r["key"] for r in records[:-1]]
        assert answers[batch_id]["refused"][0]["index"] == len(records) - 1
    TALLY.add(
        feedback_batches=len(batches),
        feedback_tries=tries,
        **{f"feedback_injected_{k}": v for k, v in faults.injected.items()},
    )
    assert sum(faults.injected.values()) > 5  # the faults really happened
    assert tries > len(batches)  # and some posts had to be sent again
    faults.close()
