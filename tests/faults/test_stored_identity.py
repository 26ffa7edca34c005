"""Stored objects tampered with (issue 28, points 2 and 3), through the function app's HTTP
functions: a version folder holding another model's or version's card or artifact, a card
edited to name another version or artifact, artifacts swapped with their cards fixed to
match, summary entries and overview rows with wrong types or stale facts.

What must hold after each tampering, over every read and the promote:

- no tampered version loads or becomes champion: a promote answers 422 naming the object,
  the alias and its history are unchanged; its card answers 500 ``corrupt_state`` naming it;
- the lists answer 200 with typed values; a version row whose card is tampered shows the
  error; a derived row (summary entry, overview row) that disagrees with its source shows
  the source and says it was ``mended``;
- the models list names the champion the alias names, on every request;
- the model still trains (a tampered champion is reported by the gate, not followed)."""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from retrain.domain.runs import RunStatus
from retrain.service import overview
from retrain.training import serialize
from tests.faults.world import TALLY
from tests.functions.conftest import deliver, http

MODEL = "KLASSE_ROH"
OTHER = "KLASSE_CORE"


def start(models: list[str]) -> None:
    response, msgs = http("start_training", "POST", "training", {"models": models})
    assert response.status == 202
    deliver(msgs.value)


@pytest.fixture
def trained(quick_app):
    """KLASSE_ROH with v1 and v2 (v1 the champion), KLASSE_CORE with v1; the lists built."""
    start([MODEL, OTHER])
    start([MODEL])
    moved = http(
        "set_champion", "POST", route={"name": MODEL}, body={"version": 1, "reason": "v1 serves"}
    )[0]
    assert moved.status == 200
    assert http("list_models")[0].status == 200  # the overview holds every row
    return quick_app


# tampering ------------------------------------------------------------------------------
def read(store: Any, key: str) -> Any:
    return json.loads(store.get(key).data)


def write(store: Any, key: str, value: Any) -> None:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    store.replace(key, data, store.get(key).etag)


def card_key(model: str, version: int) -> str:
    return f"{model}/versions/{version}/card.json"


def artifact_key(model: str, version: int) -> str:
    return f"{model}/versions/{version}/model.skops"


def another_models_folder(svc: Any) -> tuple[int, str]:
    store = svc.models.store
    write(store, card_key(MODEL, 2), store.get(card_key(OTHER, 1)).data)
    write(store, artifact_key(MODEL, 2), store.get(artifact_key(OTHER, 1)).data)
    return 2, "names the model 'KLASSE_CORE'"


def card_names_the_next_version(svc: Any) -> tuple[int, str]:
    store = svc.models.store
    write(store, card_key(MODEL, 1), {**read(store, card_key(MODEL, 1)), "version": 2})
    return 1, "it names version 2, not 1"


def card_version_is_text(svc: Any) -> tuple[int, str]:
    store = svc.models.store
    write(store, card_key(MODEL, 2), {**read(store, card_key(MODEL, 2)), "version": "2"})
    return 2, "its version is '2', not the number 2"


def card_points_at_another_artifact(svc: Any) -> tuple[int, str]:
    store = svc.models.store
    v1 = read(store, card_key(MODEL, 1))
    write(
        store, card_key(MODEL, 2), {**read(store, card_key(MODEL, 2)), "artifact": v1["artifact"]}
    )
    return 2, "its artifact path is not"


def artifacts_swapped_cards_fixed(svc: Any) -> tuple[int, str]:
    store = svc.models.store
    data = {v: store.get(artifact_key(MODEL, v)).data for v in (1, 2)}
    for version, other in ((1, 2), (2, 1)):
        card = read(store, card_key(MODEL, version))
        card["artifact"].update(sha256=serialize.sha256(data[other]), size_bytes=len(data[other]))
        write(store, card_key(MODEL, version), card)
        write(store, artifact_key(MODEL, version), data[other])
    return 2, "is not this version's artifact"


def artifact_from_another_model_card_fixed(svc: Any) -> tuple[int, str]:
    store = svc.models.store
    data = store.get(artifact_key(OTHER, 1)).data
    card = read(store, card_key(MODEL, 2))
    card["artifact"].update(sha256=serialize.sha256(data), size_bytes=len(data))
    write(store, card_key(MODEL, 2), card)
    write(store, artifact_key(MODEL, 2), data)
    return 2, "its model and version and run_id differ"


def identity_stripped_and_card_renamed(svc: Any) -> tuple[int, str]:
    """An artifact without an identity (as before identities) under a card naming another
    model: the card check alone refuses it."""
    store = svc.models.store
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(store.get(artifact_key(MODEL, 2)).data)) as source,
        zipfile.ZipFile(out, "w") as target,
    ):
        for info in source.infolist():
            if info.filename != serialize.IDENTITY:
                target.writestr(info, source.read(info))
    data = out.getvalue()
    card = read(store, card_key(MODEL, 2))
    card["artifact"].update(sha256=serialize.sha256(data), size_bytes=len(data))
    write(store, card_key(MODEL, 2), {**card, "model": OTHER})
    write(store, artifact_key(MODEL, 2), data)
    return 2, "names the model 'KLASSE_CORE'"


ARTIFACT_ONLY = {artifacts_swapped_cards_fixed, artifact_from_another_model_card_fixed}
VERSION_TAMPERS: list[Callable[[Any], tuple[int, str]]] = [
    another_models_folder,
    card_names_the_next_version,
    card_version_is_text,
    card_points_at_another_artifact,
    artifacts_swapped_cards_fixed,
    artifact_from_another_model_card_fixed,
    identity_stripped_and_card_renamed,
]


def summary_entry(svc: Any, version: int, change: Callable[[dict], Any]) -> None:
    store, key = svc.models.store, f"{MODEL}/summary.json"
    data = read(store, key)
    data["versions"] = [change(e) if e["version"] == version else e for e in data["versions"]]
    write(store, key, json.dumps(data).encode())  # NaN stays NaN, as a hand edit may leave it


DERIVED_TAMPERS: dict[str, Callable[[Any], None]] = {
    "summary entry with a NaN score": lambda svc: summary_entry(
        svc, 2, lambda e: {**e, "metrics": {**e["metrics"], "balanced_accuracy": math.nan}}
    ),
    "summary entry with a list for its metrics": lambda svc: summary_entry(
        svc, 1, lambda e: {**e, "metrics": list(e["metrics"].values())}
    ),
    "summary entry that is a list": lambda svc: summary_entry(svc, 2, lambda e: list(e)),
    "summary entry contradicting its card": lambda svc: summary_entry(
        svc, 1, lambda e: {**e, "status": "rejected", "metrics": {"balanced_accuracy": 0.99}}
    ),
    "overview row naming a stale champion": lambda svc: overview.patch(
        svc, lambda o: o.models[MODEL].update(champion_version=2, champion_score=0.99)
    ),
    "overview row with text for numbers": lambda svc: overview.patch(
        svc, lambda o: o.models[MODEL].update(champion_version="1", versions="two")
    ),
}


# what must hold ---------------------------------------------------------------------------
def alias(svc: Any, model: str) -> int | None:
    champion = svc.models.champion(model)
    return None if champion is None else champion.version


def number(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )


def lists_hold(svc: Any) -> dict[str, Any]:
    """Both lists answer 200 with typed values and the alias's champion; returns them."""
    models = http("list_models")[0]
    assert models.status == 200
    rows = {m["name"]: m for m in models.json["models"]}
    for name, row in rows.items():
        assert row["champion_version"] == alias(svc, name), name
        assert number(row["champion_score"]) and isinstance(row["versions"], int)
    versions = http("list_versions", route={"name": MODEL})[0]
    assert versions.status == 200
    for row in versions.json["versions"]:
        if "error" in row:
            assert row["error"]["code"] == "corrupt_state" and row["error"]["message"]
            continue
        assert number(row["score"]) and all(number(v) for v in row["metrics"].values())
        assert isinstance(row["created_at"], str) and isinstance(row["status"], str)
        assert row["rows"] is None or all(isinstance(v, int) for v in row["rows"].values())
    assert http("champion_history", route={"name": MODEL})[0].status == 200
    return {"models": rows, "versions": {v["version"]: v for v in versions.json["versions"]}}


@pytest.mark.parametrize("tamper", VERSION_TAMPERS, ids=lambda t: t.__name__)
def test_a_tampered_version_never_loads_nor_becomes_champion(trained, tamper):
    version, problem = tamper(trained)
    TALLY.add(stored_objects_tampered=1)
    champion = alias(trained, MODEL)
    moves = len(http("champion_history", route={"name": MODEL})[0].json["history"])

    refused = http(
        "set_champion", "POST", route={"name": MODEL}, body={"version": version, "reason": "x"}
    )[0]
    assert refused.status == 422 and refused.json["error"]["code"] == "promotion_refused"
    assert problem in refused.json["error"]["message"]
    assert alias(trained, MODEL) == champion
    history = http("champion_history", route={"name": MODEL})[0].json["history"]
    assert len(history) == moves
    TALLY.add(tampered_promotes_refused=1)

    card = http("get_version", route={"name": MODEL, "version": str(version)})[0]
    if tamper in ARTIFACT_ONLY:  # the card is the version's own; its artifact is not
        assert card.status == 200 and card.json["version"] == version
    else:
        assert card.status == 500 and card.json["error"]["code"] == "corrupt_state"
        assert f"{MODEL}/versions/{version}/card.json" in card.json["error"]["message"]
        assert problem in card.json["error"]["message"]
    lists_hold(trained)
    assert http("list_versions", route={"name": OTHER})[0].status == 200  # the other model

    before = {r.run_id for r in trained.runs.list(model=MODEL)}
    start([MODEL])  # the model still trains; a tampered champion is the gate's problem
    (record,) = [r for r in trained.runs.list(model=MODEL) if r.run_id not in before]
    assert record.status is RunStatus.SUCCEEDED, record.error


@pytest.mark.parametrize("name", list(DERIVED_TAMPERS))
def test_a_tampered_derived_row_is_shown_from_its_source_and_says_so(trained, name):
    truth = {v: trained.models.card(MODEL, v) for v in (1, 2)}
    DERIVED_TAMPERS[name](trained)
    TALLY.add(derived_rows_tampered=1)
    shown = lists_hold(trained)
    mended = [
        row["mended"]
        for row in [shown["models"][MODEL], *shown["versions"].values()]
        if "mended" in row
    ]
    assert alias(trained, MODEL) == 1  # the champion's (v1) and the newest (v2) entries are
    assert mended, name  # compared with their cards on every request
    for version, card in truth.items():
        row = shown["versions"][version]
        assert row["score"] == card["metrics"]["balanced_accuracy"]
        assert row["status"] == card["status"]
    again = lists_hold(trained)  # written back: nothing left to mend
    assert not any("mended" in row for row in [again["models"][MODEL], *again["versions"].values()])
    TALLY.add(derived_rows_mended=1)
