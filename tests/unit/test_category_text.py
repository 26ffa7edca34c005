"""A categorical column's values are read as their text inside the pipeline: 2002, 2002.0
and "2002" are one category. A column that SQLite returned as integers one month and as text
the next met a champion that knew none of the new values (it scored 0.50 against 0.64 on
its card, and no finding said why); a model trained on the Dask engine, whose categories are
the profile's text, read every integer category as missing."""

from __future__ import annotations

import numpy as np
import pytest

from retrain.domain.specs import Features
from retrain.training import assemble, features, fit, serialize, validate
from tests.fakes import toy_frame, toy_spec

SPEC = toy_spec(features=Features(numeric=("size",), categorical=("colour", "plant")))


def _frame(seed: int = 0):
    frame = toy_frame(rows=1500, seed=seed)
    frame["plant"] = np.random.default_rng(seed).integers(1997, 2003, len(frame))
    frame.loc[frame["plant"] == 2001, "label"] = "large"  # the plant matters
    return frame


@pytest.mark.parametrize("later", [str, float, lambda v: f"{v}"])
def test_a_model_reads_the_same_categories_whatever_type_they_arrive_in(later):
    model = fit.fit(SPEC, fit.split(validate.validate(_frame(), SPEC).frame, SPEC))
    model = serialize.load_trusted(serialize.dumps(model))  # as stored: a trusted type
    X = features.feature_frame(_frame(seed=1), SPEC)
    same = X.assign(plant=X["plant"].map(later).astype(object))
    assert (model.predict(same) == model.predict(X)).all()
    encoder = model.named_steps["features"].named_transformers_["categories"]
    assert list(encoder.categories_[1]) == [str(y) for y in range(1997, 2003)]


def test_the_dask_engines_text_vocabularies_encode_integer_categories():
    vocabularies = {"colour": ["blue", "green", "red"], "plant": ["1997", "1998", "2001"]}
    fitted = assemble.fitted_features(SPEC, vocabularies)
    X = features.feature_frame(_frame().head(50), SPEC)
    codes = fitted.transform(X)[:, 2]
    known = X["plant"].isin([1997, 1998, 2001]).to_numpy()
    assert not np.isnan(codes[known]).any() and np.isnan(codes[~known]).all()
