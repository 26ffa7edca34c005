"""A stored version proves it is the one asked for (issue 28, point 2): its card names its
model, version and artifact; the identity inside its artifact names the card's model,
version and run. Another model's or version's card or artifact in a version's folder is a
CorruptStateError naming the object: never a loaded model, never a champion. On in-memory
stores and real Azurite containers (the ``two`` fixture of test_corrupt_state.py)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from retrain.domain.errors import CorruptStateError, PromotionRefusedError
from retrain.domain.runs import RunStatus
from retrain.service import queries
from retrain.service.promote import promote
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from retrain.training import serialize
from tests.unit.test_corrupt_state import corrupt, two  # noqa: F401 (a fixture)

CARD = "TOY/versions/{}/card.json"
ARTIFACT = "TOY/versions/{}/model.skops"


@pytest.fixture
def toy(two):  # noqa: F811
    """TOY with two versions (v1 the champion unless v2 won its gate) and OTHER with one."""
    record = execute_run(two, start_runs(two, ["TOY"], trigger="test").runs[0].run_id)
    assert record.status is RunStatus.SUCCEEDED and record.version == 2
    promote(two, "TOY", 1, reason="v1 serves", actor="test")
    return two


def card(svc, key: str) -> dict:
    return json.loads(svc.models.store.get(key).data)


def put(svc, key: str, data: bytes | dict) -> None:
    corrupt(svc.models.store, key, data if isinstance(data, bytes) else json.dumps(data).encode())


def without_identity(data: bytes) -> bytes:
    """An artifact as published before identities existed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != serialize.IDENTITY:
                target.writestr(info, source.read(info))
    return out.getvalue()


def refused_everywhere(svc, version: int, match: str) -> None:
    """The version neither loads nor becomes champion, and the error names the problem;
    the champion, its history and the other versions are as they were."""
    champion = svc.models.champion("TOY").version
    moves = len(svc.models.history("TOY"))
    with pytest.raises(CorruptStateError, match=match):
        svc.models.load("TOY", version)
    with pytest.raises(PromotionRefusedError, match=match) as info:
        promote(svc, "TOY", version, reason="try it", actor="test")
    assert isinstance(info.value.__cause__, CorruptStateError)
    assert svc.models.champion("TOY").version == champion
    assert len(svc.models.history("TOY")) == moves
    assert svc.models.load("OTHER")[1]["model"] == "OTHER"  # another model is unaffected


def test_publish_embeds_the_identity_and_a_load_checks_it(toy):
    for version in (1, 2):
        stored = toy.models.store.get(ARTIFACT.format(version)).data
        run_id = card(toy, CARD.format(version))["run_id"]
        assert serialize.identity_of(stored) == {
            "model": "TOY",
            "version": version,
            "run_id": run_id,
        }
        pipeline, loaded = toy.models.load("TOY", version)
        assert loaded["version"] == version and hasattr(pipeline, "predict")


def test_another_models_card_and_artifact_in_a_version_folder_are_refused(toy):
    for name in ("card.json", "model.skops"):
        put(toy, f"TOY/versions/2/{name}", toy.models.store.get(f"OTHER/versions/1/{name}").data)
    with pytest.raises(CorruptStateError, match=r"model card TOY/versions/2/card\.json is not"):
        toy.models.card("TOY", 2)
    refused_everywhere(toy, 2, "names the model 'OTHER', not TOY")


def test_a_card_naming_the_next_version_is_refused(toy):
    edited = {**card(toy, CARD.format(1)), "version": 2}
    put(toy, CARD.format(1), edited)
    refused_everywhere(toy, 1, "it names version 2, not 1")
    # the version list shows the card's problem once it reads the card (a rebuilt summary)
    toy.models.store.delete("TOY/summary.json")
    listed = {v["version"]: v for v in queries.list_versions(toy, "TOY")}
    assert "it names version 2, not 1" in listed[1]["error"]["message"]
    assert listed[2]["score"] is not None


@pytest.mark.parametrize("value", ["2", 2.0, True, None, [2]])
def test_a_card_whose_version_is_not_a_number_is_refused(toy, value):
    put(toy, CARD.format(2), {**card(toy, CARD.format(2)), "version": value})
    refused_everywhere(toy, 2, "its version is .*not the number 2")


def test_a_card_pointing_at_another_versions_artifact_is_refused(toy):
    """The card keeps its model and version but names v1's artifact, with v1's size and
    sha256: the bytes match the card, the path does not."""
    v1 = card(toy, CARD.format(1))
    put(toy, CARD.format(2), {**card(toy, CARD.format(2)), "artifact": v1["artifact"]})
    refused_everywhere(toy, 2, r"its artifact path is not TOY/versions/2/model\.skops")


def test_artifacts_swapped_between_versions_with_their_cards_fixed_are_refused(toy):
    """The full swap: v1's and v2's artifacts exchanged and each card's sha256 and size
    edited to match. Only the identity inside each artifact tells."""
    data = {v: toy.models.store.get(ARTIFACT.format(v)).data for v in (1, 2)}
    for version, other in ((1, 2), (2, 1)):
        edited = card(toy, CARD.format(version))
        edited["artifact"].update(sha256=serialize.sha256(data[other]), size_bytes=len(data[other]))
        put(toy, CARD.format(version), edited)
        put(toy, ARTIFACT.format(version), data[other])
    for version in (1, 2):
        with pytest.raises(CorruptStateError, match=r"is not this version's artifact"):
            toy.models.load("TOY", version)
    refused_everywhere(toy, 2, rf"artifact {ARTIFACT.format(2)} is not this version's")


def test_an_artifact_from_another_run_of_the_same_version_number_is_refused(toy):
    """Its identity names the card's model and version, but another run."""
    edited = {**card(toy, CARD.format(2)), "run_id": "20261122T090000Z-TOY-00000000"}
    put(toy, CARD.format(2), edited)
    refused_everywhere(toy, 2, "its run_id differ")


def test_a_garbled_identity_is_refused(toy):
    stored = without_identity(toy.models.store.get(ARTIFACT.format(2)).data)
    out = io.BytesIO(stored)
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr(serialize.IDENTITY, b'{"model": ["TOY"]')
    garbled = out.getvalue()
    edited = card(toy, CARD.format(2))
    edited["artifact"].update(sha256=serialize.sha256(garbled), size_bytes=len(garbled))
    put(toy, CARD.format(2), edited)
    put(toy, ARTIFACT.format(2), garbled)
    refused_everywhere(toy, 2, "its identity is not JSON")


def test_an_artifact_published_before_identities_still_loads_and_its_card_is_checked(toy):
    old = without_identity(toy.models.store.get(ARTIFACT.format(2)).data)
    assert serialize.identity_of(old) is None
    edited = card(toy, CARD.format(2))
    edited["artifact"].update(sha256=serialize.sha256(old), size_bytes=len(old))
    put(toy, CARD.format(2), edited)
    put(toy, ARTIFACT.format(2), old)
    assert toy.models.load("TOY", 2)[1]["version"] == 2
    assert promote(toy, "TOY", 2, reason="old artifact", actor="test")["version"] == 2
    put(toy, CARD.format(2), {**edited, "model": "OTHER"})  # the card check still applies
    with pytest.raises(CorruptStateError, match="names the model 'OTHER'"):
        toy.models.load("TOY", 2)


def test_a_run_whose_champion_is_misfiled_trains_and_names_the_problem(toy):
    put(toy, CARD.format(1), {**card(toy, CARD.format(1)), "version": 7})
    record = execute_run(toy, start_runs(toy, ["TOY"], trigger="test").runs[0].run_id)
    assert record.status is RunStatus.SUCCEEDED and record.version == 3
    assert "champion v1 could not score the holdout" in record.summary["gate_reason"]
    assert "names version 7" in record.summary["gate_reason"]


def test_identity_bytes_are_the_same_for_the_same_input():
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("schema.json", b"{}")
    plain = data.getvalue()
    once = serialize.with_identity(plain, "TOY", 3, "r1")
    assert once == serialize.with_identity(plain, "TOY", 3, "r1")
    again = serialize.with_identity(once, "TOY", 4, "r2")  # stamped again: one identity
    assert serialize.identity_of(again) == {"model": "TOY", "version": 4, "run_id": "r2"}
    with zipfile.ZipFile(io.BytesIO(again)) as archive:
        assert archive.namelist().count(serialize.IDENTITY) == 1
    assert serialize.with_identity(b"not a zip", "TOY", 1, None) == b"not a zip"
