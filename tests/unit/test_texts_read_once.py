"""The gate's candidate and champion predict the same test rows: their text columns are
tokenised once for both, and every value is what each model's own transform gives."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import CountVectorizer

from retrain.adapters import demo_data
from retrain.classifiers.estimators import xgboost_hist
from retrain.domain.errors import ChampionUnusableError
from retrain.domain.specs import Features, ModelSpec, TextOptions
from retrain.service.local_engine import LocalHoldout
from retrain.training import evaluate, fit, holdout, validate
from retrain.training.features import build_pipeline
from retrain.training.text import TextTfidf

WORDS = ["Oak", "oak", "pine", "Spruce", "chip", "raw", "birch", "élan", "MDF", "x", "décor"]


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The documents each tokenising pass read (scikit-learn counts terms as it cuts them)."""
    passes: list[int] = []
    count = CountVectorizer._count_vocab
    monkeypatch.setattr(
        CountVectorizer,
        "_count_vocab",
        lambda self, docs, fixed_vocab: passes.append(len(docs)) or count(self, docs, fixed_vocab),
    )
    return passes


def _same(a, b) -> None:
    a, b = a.tocsr(), b.tocsr()
    a.sort_indices()
    b.sort_indices()
    assert a.dtype == b.dtype and a.shape == b.shape
    assert (a.indptr == b.indptr).all() and (a.indices == b.indices).all()
    assert (a.data == b.data).all()


texts = st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=6).map(" ".join), min_size=8)


@settings(max_examples=40, deadline=None)
@given(
    first=texts,
    second=texts,
    test=texts,
    words=st.sampled_from([(1, 1), (1, 2), None]),
    chars=st.sampled_from([(2, 4), None]),
    lowercase=st.booleans(),
    sublinear=st.booleans(),
    select=st.sampled_from([None, 3]),
)
def test_each_step_gets_its_own_transform_from_one_count(
    first, second, test, words, chars, lowercase, sublinear, select
):
    """Two models fitted on different rows (vocabularies and weights differ), each with
    the same text options: inside, each step's transform is bit for bit its own."""
    if words is None and chars is None:
        words = (1, 1)
    options = TextOptions(
        word_ngrams=words,
        char_ngrams=chars,
        min_df=1,
        max_word_features=5,
        max_char_features=8,
        sublinear_tf=sublinear,
        lowercase=lowercase,
        select_terms=select,
    )
    steps = []
    for docs in (first, second):
        labels = np.arange(len(docs)) % 2
        steps.append(TextTfidf.from_options(options).fit(pd.Series(docs), labels))
    column = pd.Series(test)
    own = [step.transform(column) for step in steps]
    with TextTfidf.encoded_together(steps, column):
        inside = [step.transform(column) for step in steps]
        shuffled = [step.transform(column[::-1]) for step in steps]
    for mine, theirs in zip(inside, own, strict=True):
        _same(mine, theirs)
    for mine, step in zip(shuffled, steps, strict=True):
        _same(mine, step.transform(column[::-1]))
    assert not any("_encoded" in vars(step) for step in steps)


def test_texts_are_cut_once_for_both_models_and_alone_where_nothing_is_shared(monkeypatch):
    rng = np.random.default_rng(3)
    docs = [" ".join(rng.choice(WORDS, 5)) for _ in range(300)]
    labels = rng.integers(0, 2, 300)
    options = TextOptions(word_ngrams=(1, 2), char_ngrams=(3, 4), min_df=1)
    a = TextTfidf.from_options(options).fit(pd.Series(docs[:200]), labels[:200])
    b = TextTfidf.from_options(options).fit(pd.Series(docs[100:]), labels[100:])
    column = pd.Series(docs)
    passes = _counted(monkeypatch)
    with TextTfidf.encoded_together([a, b], column):
        assert passes == [300, 300]  # words and character n-grams, each once for both
        a.transform(column), b.transform(column)
        assert passes == [300, 300]
        a.transform(pd.Series(["oak pine", *docs[:5]]))  # a text it was not given: its own
        assert passes == [300, 300, 6, 6]
    # a champion that cuts its texts otherwise (upper and lower case apart): nothing ahead
    c = TextTfidf.from_options(
        TextOptions(word_ngrams=(1, 2), char_ngrams=None, min_df=1, lowercase=False)
    ).fit(pd.Series(docs), labels)
    d = TextTfidf.from_options(TextOptions(word_ngrams=None, char_ngrams=(3, 4), min_df=1))
    d.fit(pd.Series(docs), labels)
    passes.clear()
    with TextTfidf.encoded_together([c, d], column):
        assert passes == [] and "_encoded" not in vars(c)


def _spec(**options) -> ModelSpec:
    return ModelSpec(
        name="KLASSE_TXT",
        description="raw material class from the description",
        query="SELECT * FROM articles",
        target="raw_material_class",
        features=Features(
            numeric=("thickness_mm",),
            categorical=("plant",),
            text=("description",),
            text_options=TextOptions(min_df=2, **options),
        ),
        estimator=lambda: xgboost_hist(n_estimators=8),
        min_rows=100,
        primary_metric="balanced_accuracy",
    )


def _split(rows: pd.DataFrame, spec: ModelSpec) -> fit.Split:
    return fit.split(validate.validate(rows, spec).frame, spec)


def test_the_gate_reads_the_test_texts_once_and_decides_as_before(monkeypatch):
    """A champion trained on last month's rows, a candidate on this month's: the metrics and
    the gate's counts are those of predicting each model on its own."""
    as_of = pd.Timestamp("2026-11-01").date()
    spec = _spec(select_terms=20)
    last = demo_data.generate(3000, 7, pd.Timestamp("2026-10-01").date())
    now = demo_data.generate(3000, 8, as_of)
    champion = fit.fit(spec, _split(last, spec))
    data = _split(now, spec)
    candidate = fit.fit(spec, data)
    sight = holdout.Sight(version=1, rule=None, time_column=None, since=None, last=None)

    passes = _counted(monkeypatch)
    alone = LocalHoldout(data)
    expected = (alone.evaluate(candidate), alone.triples(candidate, champion, sight))
    tokenised_alone = sum(passes)
    passes.clear()
    together = LocalHoldout(data)
    with together.texts_read_once(candidate, champion):
        got = (together.evaluate(candidate), together.triples(candidate, champion, sight))
    assert got == expected
    rows = len(data.y_test)
    assert tokenised_alone == 2 * 2 * rows  # words and characters, for each model
    assert sum(passes) == 2 * rows  # words and characters, once
    for model in (candidate, champion):
        assert not any("_encoded" in vars(s) for s, _ in evaluate._text_steps(model))


def test_a_champion_without_text_or_none_at_all_changes_nothing(monkeypatch):
    spec = _spec()
    rows = demo_data.generate(1500, 4, pd.Timestamp("2026-11-01").date())
    data = _split(rows, spec)
    candidate = fit.fit(spec, data)
    numbers = dataclasses.replace(spec, features=Features(numeric=("thickness_mm",)))
    plain = build_pipeline(numbers).fit(data.X_train[["thickness_mm"]], data.y_train)
    passes = _counted(monkeypatch)
    for rival in (None, plain):
        held = LocalHoldout(data)
        with held.texts_read_once(candidate, rival):
            assert passes == []  # one model reads the texts: it encodes them as before
            held.evaluate(candidate)
        assert passes and set(passes) == {len(data.y_test)}
        passes.clear()


def test_a_step_that_cannot_be_read_so_encodes_on_its_own(monkeypatch):
    """A champion stored by another scikit-learn may lack a setting this one reads: the
    texts are then encoded by each model as before, with the same values."""
    rng = np.random.default_rng(9)
    docs = [" ".join(rng.choice(WORDS, 4)) for _ in range(200)]
    labels = rng.integers(0, 2, 200)
    options = TextOptions(word_ngrams=(1, 1), char_ngrams=None, min_df=1)
    a = TextTfidf.from_options(options).fit(pd.Series(docs[:150]), labels[:150])
    b = TextTfidf.from_options(options).fit(pd.Series(docs[50:]), labels[50:])
    column = pd.Series(docs)
    own = [a.transform(column), b.transform(column)]
    del b.vectorizers_[0][1].decode_error  # read only for bytes, asked for by get_params
    passes = _counted(monkeypatch)
    with TextTfidf.encoded_together([a, b], column):
        assert "_encoded" not in vars(a) and passes == []
        _same(a.transform(column), own[0])
        _same(b.transform(column), own[1])


def test_a_champion_not_built_as_ours_fails_where_it_did():
    """Its steps cannot be read: the candidate encodes as before, and the champion's own
    failure reaches the gate as a champion that cannot score (not a failed run)."""

    class Odd:
        named_steps = None

        def predict(self, X):
            raise RuntimeError("nope")

    spec = _spec()
    data = _split(demo_data.generate(1500, 6, pd.Timestamp("2026-11-01").date()), spec)
    candidate = fit.fit(spec, data)
    sight = holdout.Sight(version=1, rule=None, time_column=None, since=None, last=None)
    held = LocalHoldout(data)
    with held.texts_read_once(candidate, Odd()):
        held.evaluate(candidate)
        with pytest.raises(ChampionUnusableError, match="nope"):
            held.triples(candidate, Odd(), sight)
