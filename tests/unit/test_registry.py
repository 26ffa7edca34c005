from __future__ import annotations

import pytest

from retrain.classifiers import default_registry
from retrain.domain.errors import UnknownModelError
from retrain.domain.specs import Features, Registry
from tests.fakes import toy_spec


def test_seed_classifiers_are_registered():
    registry = default_registry()
    assert registry.names() == ["ARTFAM_ROH", "KLASSE_CORE", "KLASSE_ROH"]
    estimators = {type(spec.estimator()).__name__ for spec in registry}
    assert estimators == {"XGBClassifier", "HistGradientBoostingClassifier"}


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownModelError) as info:
        default_registry().get("KLASSE_X")
    assert str(info.value) == (
        "unknown model 'KLASSE_X' (did you mean KLASSE_ROH?); "
        "known models: ARTFAM_ROH, KLASSE_CORE, KLASSE_ROH"
    )


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("klasse_core", "KLASSE_CORE"), ("ARTFAM", "ARTFAM_ROH"), ("NOPE", None), ("", None)],
)
def test_an_unknown_name_suggests_the_closest_known_one(typed, meant):
    with pytest.raises(UnknownModelError) as info:
        default_registry().get(typed)
    assert info.value.suggestion == meant
    assert ("did you mean" in str(info.value)) == (meant is not None)


def test_registering_a_name_twice_is_refused():
    registry = Registry([toy_spec()])
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(toy_spec())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "lower"}, "must match"),
        ({"query": "SELECT 1"}, ":since"),
        ({"primary_metric": "auc"}, "primary_metric"),
        ({"features": Features(numeric=("label",))}, "also listed as a feature"),
    ],
)
def test_spec_mistakes_are_caught_at_definition(overrides, message):
    with pytest.raises(ValueError, match=message):
        toy_spec(**overrides)
