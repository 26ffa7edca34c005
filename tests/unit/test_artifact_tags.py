"""The artifacts' lifecycle tag (service/lifecycle.py) on a fake store that keeps tags: the
gate's outcome at publish, champion / former_champion as the alias moves, cards never
tagged, and a failing tag write never failing a run or a promote. The same on Azurite:
tests/integration/test_blob_tags.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from loguru import logger

from retrain.adapters.local_store import LocalObjectStore
from retrain.domain.errors import BackendError, ConflictError
from retrain.domain.runs import Outcome
from retrain.domain.specs import Registry
from retrain.service import lifecycle
from retrain.service.context import Services
from retrain.service.lifecycle import ArtifactStatus
from retrain.service.model_repository import ModelRepository
from retrain.service.promote import promote
from retrain.service.run_repository import RunRepository
from retrain.service.runner import execute_run
from retrain.service.start import start_runs
from tests.fakes import FakeSource, MemoryObjectStore, RecordingNotifier, toy_frame, toy_spec


class TaggingStore(MemoryObjectStore):
    """MemoryObjectStore with the optional ``set_tags`` of the port; ``fail`` refuses them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, dict[str, str]] = {}
        self.fail = False

    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        if self.fail:
            raise BackendError(f"blob storage set_tags failed on models/{key}")
        if key not in self.objects:
            raise BackendError(f"blob storage set_tags failed on models/{key} (HTTP 404)")
        self.tags[key] = dict(tags)


def services(**spec: object) -> Services:
    return Services(
        registry=Registry([toy_spec(**spec)]),
        source=FakeSource({"TOY": toy_frame()}),
        models=ModelRepository(TaggingStore()),
        runs=RunRepository(MemoryObjectStore()),
        notifier=RecordingNotifier(),
        clock=lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
    )


def train(svc: Services):
    started = start_runs(svc, ["TOY"], trigger="test")
    return execute_run(svc, started.runs[0].run_id)


def status(svc: Services, version: int) -> str | None:
    store = svc.models.store
    assert isinstance(store, TaggingStore)
    return store.tags.get(f"TOY/versions/{version}/model.skops", {}).get(lifecycle.TAG)


@pytest.fixture
def warnings():
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    yield lines
    logger.remove(sink)


def test_a_promoted_version_is_tagged_champion_and_no_card_is_ever_tagged():
    svc = services()
    assert train(svc).outcome is Outcome.PROMOTED
    assert status(svc, 1) == "champion"
    second = train(svc)
    store = svc.models.store
    assert isinstance(store, TaggingStore)
    assert not [key for key in store.tags if not key.endswith("/model.skops")]
    if second.outcome is Outcome.PROMOTED:
        assert (status(svc, 1), status(svc, 2)) == ("former_champion", "champion")
    else:  # judged against v1 and kept it: v2 ages, v1 still serves
        assert (status(svc, 1), status(svc, 2)) == ("champion", str(second.outcome))


def test_a_rejected_version_is_tagged_for_the_lifecycle_policy_and_the_tags_follow_the_alias():
    svc = services(metric_floor=0.999)  # nothing reaches this floor
    first = train(svc)
    assert first.outcome is Outcome.REJECTED and svc.models.champion("TOY") is None
    assert status(svc, 1) == "rejected"
    assert ArtifactStatus(status(svc, 1)) in lifecycle.AGEING

    train(svc)  # v2, rejected too
    promote(svc, "TOY", 1, reason="accepted by hand", actor="test")
    assert (status(svc, 1), status(svc, 2)) == ("champion", "rejected")
    promote(svc, "TOY", 2, reason="newer", actor="test")
    assert (status(svc, 1), status(svc, 2)) == ("former_champion", "champion")
    promote(svc, "TOY", 1, reason="roll back", actor="test")  # old champions stay for this
    assert (status(svc, 1), status(svc, 2)) == ("champion", "former_champion")
    assert not {status(svc, 1), status(svc, 2)} & lifecycle.AGEING


def test_failing_tag_writes_never_fail_a_run_or_a_promote(warnings):
    svc = services()
    store = svc.models.store
    assert isinstance(store, TaggingStore)
    store.fail = True
    record = train(svc)
    assert record.outcome is Outcome.PROMOTED and svc.models.champion("TOY").version == 1
    train(svc)
    promote(svc, "TOY", 2, reason="by hand", actor="test")
    assert svc.models.champion("TOY").version == 2
    assert store.tags == {}  # untagged: the policy matches nothing, both are kept
    assert any("lifecycle tag status=champion not written" in line for line in warnings)


def test_each_publish_tags_the_champion_again_so_a_lost_tag_heals():
    svc = services()
    train(svc)
    store = svc.models.store
    assert isinstance(store, TaggingStore)
    store.tags.clear()  # the champion's tag write was lost
    train(svc)
    assert status(svc, 1) in ("champion", "former_champion")  # v2 may have taken over


def test_a_lost_alias_race_demotes_no_one():
    svc = services()
    train(svc)
    train(svc)
    stale = svc.models.champion_for_update("TOY")
    svc.models.move_champion("TOY", 2, reason="r", actor="a", expected=stale)
    with pytest.raises(ConflictError):
        svc.models.move_champion("TOY", 1, reason="r", actor="b", expected=stale)
    assert (status(svc, 1), status(svc, 2)) == ("former_champion", "champion")


def test_a_store_without_tags_is_left_alone(svc):
    record = execute_run(svc, start_runs(svc, ["TOY"], trigger="test").runs[0].run_id)
    assert record.outcome is Outcome.PROMOTED  # MemoryObjectStore has no set_tags


def test_the_local_folder_takes_tags_as_a_no_op(tmp_path):
    store = LocalObjectStore(tmp_path)
    store.create("TOY/versions/1/model.skops", b"x")
    store.set_tags("TOY/versions/1/model.skops", {"status": "rejected"})
    assert store.list("") == ["TOY/versions/1/model.skops"]  # no sidecar file
    assert lifecycle.of_card({"status": "champion"}) is None  # only gate outcomes at publish
    assert lifecycle.of_card({"status": "rejected"}) is ArtifactStatus.REJECTED
