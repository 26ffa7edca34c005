"""Text columns: TF-IDF blocks in one sparse matrix, artifacts that load back, profiles and
vocabulary drift that stay quiet on the same data and speak on a real shift."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from retrain.adapters import demo_data
from retrain.classifiers.estimators import xgboost_hist
from retrain.domain.specs import Features, TextOptions
from retrain.entrypoints.cli.card_view import card_text
from retrain.training import drift, serialize, text_card, text_stats
from retrain.training.features import build_pipeline, feature_frame
from retrain.training.profile import profile
from retrain.training.validate import validate
from tests.fakes import toy_spec

AS_OF = pd.Timestamp("2026-11-01").date()
TEXT_RULES = {"feature_shift", "vocabulary_shift"}


def _articles(rows: int, seed: int) -> pd.DataFrame:
    return demo_data.generate(rows, seed, AS_OF)


def _spec(estimator=lambda: xgboost_hist(n_estimators=15), **features):
    chosen = features or {"text": ("description",)}
    return toy_spec(
        features=Features(**chosen),
        target="surface",
        min_rows=1,
        max_null_rate=1.0,
        estimator=estimator,
    )


def _fitted(spec, frame):
    checked = validate(frame, spec).frame
    pipeline = build_pipeline(spec)
    pipeline.fit(feature_frame(checked, spec), checked[spec.target].astype(str))
    return pipeline, checked


# --- the matrix -------------------------------------------------------------------------


def test_text_with_other_columns_stays_one_sparse_matrix_and_keeps_zero_apart_from_missing():
    frame = _articles(600, 1)
    spec = _spec(
        text=("description",),
        categorical=("plant",),
        numeric=("thickness_mm",),
        boolean=("fire_retardant",),
    )
    pipeline, checked = _fitted(spec, frame)
    matrix = pipeline.named_steps["features"].transform(feature_frame(checked, spec))
    assert sp.issparse(matrix) and matrix.format == "csr" and matrix.dtype == np.float32
    # category codes, the number and the flag are stored for every row, zeros included:
    # XGBoost would read a left-out entry as missing
    dense_part = matrix[:, :3].toarray()
    assert (np.diff(matrix[:, :3].tocsr().indptr) == 3).all()
    assert (dense_part[:, 2] == 0).any() and (dense_part[:, 0] == 0).any()
    # XGBoost is told the first column is a category, as without text
    classifier = pipeline.named_steps["classifier"]
    assert classifier.categorical_features == (0,)
    assert classifier.estimator_.get_params()["feature_types"][:3] == ["c", "q", "q"]
    assert matrix.shape[1] > 100  # the TF-IDF terms follow


def test_a_linear_model_gets_one_hot_categories_and_scaled_numbers():
    spec = _spec(
        lambda: LogisticRegression(max_iter=300),
        text=("description",),
        categorical=("plant",),
        numeric=("thickness_mm",),
    )
    pipeline, checked = _fitted(spec, _articles(600, 2))
    matrix = pipeline.named_steps["features"].transform(feature_frame(checked, spec))
    assert sp.issparse(matrix)
    plants = checked["plant"].nunique()
    assert matrix[:, :plants].sum(axis=1).min() == 1  # one-hot: one plant per row
    assert abs(matrix[:, plants].toarray()).max() <= 1.0  # thickness scaled
    assert pipeline.named_steps["classifier"].categorical_features == ()


def test_other_estimators_take_missing_numbers_beside_text():
    """A decision tree and logistic regression refuse NaN in a sparse matrix: the pipeline
    gives them the median and a was-missing column (density_kg_m3 has gaps)."""
    from sklearn.tree import DecisionTreeClassifier

    frame = _articles(600, 8)
    assert frame["density_kg_m3"].isna().any()
    for estimator in (DecisionTreeClassifier, lambda: LogisticRegression(max_iter=300)):
        spec = _spec(estimator, text=("description",), numeric=("density_kg_m3",))
        pipeline, checked = _fitted(spec, frame)
        matrix = pipeline.named_steps["features"].transform(feature_frame(checked, spec))
        assert sp.issparse(matrix) and not np.isnan(matrix.data).any()
        assert matrix[:, 1].sum() == checked["density_kg_m3"].isna().sum()  # was missing


@pytest.mark.parametrize("estimator", ["xgboost", "logistic"])
def test_a_text_model_round_trips_through_the_artifact_format(estimator):
    factory = {
        "xgboost": lambda: xgboost_hist(n_estimators=10),
        "logistic": lambda: LogisticRegression(max_iter=300),
    }[estimator]
    spec = _spec(factory, text=("description",), categorical=("plant",))
    pipeline, _ = _fitted(spec, _articles(500, 3))
    data = serialize.dumps(pipeline)
    loaded = serialize.loads(data, serialize.sha256(data), len(data))
    raw = _articles(50, 4)[["description", "plant"]]
    raw.loc[:5, "description"] = None  # missing text is empty text, also after loading
    assert (loaded.predict(raw) == pipeline.predict(raw)).all()


def test_an_artifact_holds_the_vocabulary_in_one_piece_whatever_its_size():
    """scikit-learn's term indices are NumPy integers after min_df: skops wrote each as a
    file of its own, and naming each file scanned all earlier ones (a default text column's
    70,000 terms: many minutes to publish). The artifact's files do not grow with terms."""
    import io
    import zipfile

    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(6000)])
    frame = _articles(1500, 5)
    frame["description"] = [" ".join(words[rng.integers(0, 6000, 60)]) for _ in range(1500)]
    spec = _spec(lambda: xgboost_hist(n_estimators=3), text=("description",))
    pipeline, checked = _fitted(spec, frame)
    terms = sum(
        len(v.vocabulary_)
        for _, step, _ in pipeline.named_steps["features"].transformers_
        if hasattr(step, "vectorizers_")
        for _, v in step.vectorizers_
    )
    assert terms > 5000  # enough terms that one file each would show
    data = serialize.dumps(pipeline)
    files = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(files) < 50, len(files)
    loaded = serialize.loads(data, serialize.sha256(data), len(data))
    rows = feature_frame(checked, spec).iloc[:100]
    assert (loaded.predict(rows) == pipeline.predict(rows)).all()
    assert (loaded.predict_proba(rows) == pipeline.predict_proba(rows)).all()


def test_text_options_are_checked_and_passed_on():
    with pytest.raises(ValueError, match="char_ngrams must be"):
        TextOptions(char_ngrams=(5, 3))
    with pytest.raises(ValueError, match="both None"):
        TextOptions(word_ngrams=None, char_ngrams=None)
    with pytest.raises(ValueError, match="min_df"):
        TextOptions(min_df=0)
    options = TextOptions(char_ngrams=None, max_word_features=50)
    spec = _spec(lambda: LogisticRegression(max_iter=200), text=("description",))
    spec = toy_spec(
        features=Features(text=("description",), text_options=options),
        target="surface",
        min_rows=1,
        estimator=spec.estimator,
    )
    pipeline, _ = _fitted(spec, _articles(400, 5))
    names = pipeline.named_steps["features"].get_feature_names_out()
    assert len(names) == 50 and all(":w:" in n for n in names)


def test_select_terms_keeps_the_terms_that_tell_the_classes_apart():
    """A rare word that names the class outlasts frequent words that say nothing about it
    (chi-squared against the target); the model reads the kept terms only, the same columns
    at training, at prediction and after loading."""
    rng = np.random.default_rng(7)
    frame = _articles(3000, 8).dropna(subset=["surface"])
    surfaces = sorted(frame["surface"].astype(str).unique())
    signal = {f"wood{i}" for i in range(len(surfaces))}
    noise = np.array([f"common{i}" for i in range(60)])
    frame["description"] = [
        " ".join(rng.choice(noise, 8)) + (f" wood{surfaces.index(s)}" if rng.random() < 0.3 else "")
        for s in frame["surface"].astype(str)
    ]
    options = TextOptions(char_ngrams=None, word_ngrams=(1, 1), select_terms=len(signal))
    spec = _spec(
        lambda: xgboost_hist(n_estimators=10),
        text=("description",),
        text_options=options,
    )
    pipeline, checked = _fitted(spec, frame)
    features = pipeline.named_steps["features"]
    names = features.get_feature_names_out()
    assert {n.rsplit(":", 1)[1] for n in names} == signal
    rows = feature_frame(checked, spec)
    encoded = features.transform(rows)
    assert encoded.shape == (len(rows), len(signal))
    refit = build_pipeline(spec).named_steps["features"]
    fitted_matrix = refit.fit_transform(rows, checked["surface"].astype(str))
    assert (fitted_matrix != encoded).nnz == 0  # training and prediction read the same terms
    summary = text_card.text_summary(pipeline, spec)
    assert summary["vocabulary_size"] == {"description": len(signal)}
    assert summary["options"]["select_terms"] == len(signal)
    counted = summary["terms_counted"]["description"]
    assert counted > len(signal)
    shown = " ".join(card_text({"text_features": summary}, champion=True).split())
    assert (
        f"description vocabulary {len(signal)} terms, those of the {counted} counted that go "
        "most with the class" in shown
    )
    data = serialize.dumps(pipeline)
    loaded = serialize.loads(data, serialize.sha256(data), len(data))
    assert (loaded.predict_proba(rows) == pipeline.predict_proba(rows)).all()
    with pytest.raises(ValueError, match="select_terms"):
        TextOptions(select_terms=0)


def test_select_terms_scores_many_classes_by_slices_of_columns_alike(monkeypatch):
    """chi2 holds classes x columns arrays: with hundreds of classes and a default vocabulary
    they would be gigabytes, so the columns are scored a slice at a time, the same scores."""
    from retrain.training import text

    frame = _articles(2000, 11)
    options = TextOptions(select_terms=40)
    labels = frame["decor_code"].astype(str)  # hundreds of classes
    whole = text.TextTfidf.from_options(options).fit(frame[["description"]], labels)
    monkeypatch.setattr(text, "CHI2_CELLS", 3 * labels.nunique())  # three columns a slice
    sliced = text.TextTfidf.from_options(options).fit(frame[["description"]], labels)
    assert labels.nunique() > 100 and len(whole.kept_) == 40
    assert list(sliced.kept_) == list(whole.kept_)


def test_a_text_model_stored_before_select_terms_reads_every_term():
    pipeline, checked = _fitted(_spec(), _articles(400, 9))
    features = pipeline.named_steps["features"]
    text = next(step for name, step, _ in features.transformers_ if name.startswith("text:"))
    before = features.transform(feature_frame(checked, _spec()))
    del text.kept_, text.select_terms  # as a model stored before the option
    after = features.transform(feature_frame(checked, _spec()))
    assert after.shape == before.shape and (after != before).nnz == 0
    assert len(features.get_feature_names_out()) == before.shape[1]
    assert "TextTfidf(" in repr(pipeline)  # get_params reads every constructor argument
    assert clone(text).get_params()["select_terms"] is None


def test_top_terms_are_text_terms_even_when_fewer_than_the_list_holds():
    options = TextOptions(char_ngrams=None, word_ngrams=(1, 1), select_terms=3)
    spec = _spec(
        lambda: xgboost_hist(n_estimators=10),
        text=("description",),
        numeric=("thickness_mm", "density_kg_m3"),
        categorical=("plant",),
        text_options=options,
    )
    pipeline, _ = _fitted(spec, _articles(1500, 10))
    top = text_card.text_summary(pipeline, spec)["top_terms_by_importance"]
    assert top and all(name.startswith("description:w:") for name, _ in top)
    linear = _spec(
        lambda: LogisticRegression(max_iter=300),
        text=("description",),
        numeric=("thickness_mm",),
        categorical=("glue_system",),
        text_options=options,
    )
    fitted, _ = _fitted(linear, _articles(1500, 10))
    per_class = text_card.text_summary(fitted, linear)["top_terms_per_class"]
    assert all(t.startswith("description:w:") for terms in per_class.values() for t in terms)


def test_the_card_has_vocabulary_size_and_top_terms_per_class():
    spec = _spec(lambda: LogisticRegression(max_iter=300))
    pipeline, checked = _fitted(spec, _articles(800, 6))
    summary = text_card.text_summary(pipeline, spec)
    assert summary is not None
    assert summary["vocabulary_size"]["description"] > 100
    terms = summary["top_terms_per_class"]
    assert set(terms) == set(checked["surface"].astype(str).unique())
    assert any("hpl" in term for term in terms["HPL"][:5])
    json.dumps(summary)  # goes into the card as it is
    xgb = _spec()
    fitted, _ = _fitted(xgb, _articles(800, 6))
    assert text_card.text_summary(fitted, xgb)["top_terms_by_importance"]


# --- profile and drift ------------------------------------------------------------------


def _text_findings(before: pd.DataFrame, after: pd.DataFrame) -> list[dict]:
    spec = _spec()
    champion = json.loads(json.dumps(validate(before, spec).profile))
    found = validate(after, spec, champion).findings
    return [f for f in found if f["rule"] in TEXT_RULES and f["column"] == "description"]


def test_the_profile_counts_missing_and_empty_text_and_lengths():
    frame = pd.DataFrame(
        {"description": ["MDF roh 19mm", "", None, "  ", "Span P2"], "surface": list("abaab")}
    )
    column = profile(frame, _spec())["columns"]["description"]
    assert (column["missing"], column["empty"], column["rows"]) == (1, 2, 5)
    assert column["length"]["mean"] == pytest.approx((12 + 7) / 2)
    assert column["tokens"]["mdf"] == 1 and "19mm" in column["tokens"]


texts = st.lists(
    st.one_of(st.none(), st.sampled_from(["", "MDF roh", "Span P2 18mm"]), st.text(max_size=12)),
    min_size=1,
    max_size=300,
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.integers(-999, 999),
            st.text(alphabet=st.sampled_from("aZ9_ İßé\t\n\u2028\x1f.-,\u00a0"), max_size=15),
            st.text(max_size=15),
        ),
        max_size=60,
    ),
    chunk_chars=st.integers(1, 40),
)
def test_token_counts_are_those_of_a_regex_over_each_lowercased_text(values, chunk_chars):
    """The whitespace-pieces shortcut counts exactly what TextTfidf's token pattern finds in
    each text (any whitespace, punctuation, non-Latin case rules, numbers, chunk borders)."""
    series = pd.Series(values, dtype=object)
    expected: Counter[str] = Counter()
    for text in series.dropna().astype(str):
        expected.update(re.findall(text_stats.TOKEN, text.lower()))
    assert text_stats.token_counts(series, chunk_chars=chunk_chars) == expected


@settings(max_examples=60, derandomize=True, deadline=None)
@given(values=texts, seed=st.integers(0, 2**16))
def test_the_same_texts_in_any_order_give_no_finding(values, seed):
    spec = _spec()
    labels = (["a", "b"] * len(values))[: len(values)]
    before = pd.DataFrame({"description": values, "surface": labels})
    champion = json.loads(json.dumps(profile(before, spec)))
    after = before.sample(frac=1.0, random_state=seed)
    assert drift.compare(after, spec, profile(after, spec), champion) == []


@pytest.mark.parametrize(
    ("rows", "seeds"), [(4000, [(1, 2)]), (300, [(s, s + 50) for s in range(5)])]
)
def test_a_fresh_sample_of_the_same_articles_gives_no_finding(rows, seeds):
    for first, second in seeds:
        assert _text_findings(_articles(rows, first), _articles(rows, second)) == []


def test_new_wording_is_found_as_a_vocabulary_shift():
    before, after = _articles(3000, 1), _articles(3000, 2)
    english = after["description"].str.replace("Spanplatte", "chipboard", regex=False)
    after["description"] = english.str.replace("roh", "raw", regex=False)
    found = _text_findings(before, after)
    assert [f["rule"] for f in found] == ["vocabulary_shift"]
    assert re.search(r"token '(chipboard|roh|raw)' \d+% → \d+% of tokens", found[0]["message"])


def test_texts_going_empty_and_getting_shorter_are_found():
    before, after = _articles(3000, 1), _articles(3000, 2)
    after.loc[after.index[:900], "description"] = ""
    messages = [f["message"] for f in _text_findings(before, after)]
    assert messages == ["description: empty texts 0% → 30% (PSI 2.49)"]
    short = _articles(3000, 3)
    short["description"] = short["description"].str.split().str[:2].str.join(" ")
    messages = [f["message"] for f in _text_findings(before, short)]
    assert any(m.startswith("description length: mean") for m in messages), messages


def test_klasse_roh_with_its_description_reruns_without_a_drift_finding():
    from retrain.classifiers import default_registry

    spec = default_registry().get("KLASSE_ROH")
    assert spec.features.text == ("description",)
    frame = _articles(3000, 7)
    champion = json.loads(json.dumps(validate(frame, spec).profile))
    rules = {f["rule"] for f in validate(frame.copy(), spec, champion).findings}
    assert not rules & {"feature_shift", "vocabulary_shift", "label_shift", "new_categories"}


# --- the ablation (opt-in: TextOptions.ablation) ----------------------------------------


def test_the_ablation_scores_the_same_split_without_the_text_only_when_asked():
    from retrain.service.local_engine import LocalEngine
    from retrain.service.text_ablation import text_ablation
    from retrain.training import validate as validation

    frame = _articles(3000, 5)
    asked = _spec(
        text=("description",),
        categorical=("plant",),
        text_options=TextOptions(min_df=5, max_word_features=200, ablation=True),
    )
    engine = LocalEngine(source=None)  # type: ignore[arg-type]
    data = engine.split(validation.validate(frame, asked), asked)
    metrics = data.evaluate(engine.fit(asked, data))
    ablation = text_ablation(engine, asked, data, metrics)
    assert ablation is not None and ablation["primary_metric"] == asked.primary_metric
    assert ablation["with_text"]["macro_f1"] == metrics["macro_f1"]
    without = dataclasses.replace(asked, features=dataclasses.replace(asked.features, text=()))
    plain = data.evaluate(engine.fit(without, data))  # the same split, without the text
    assert ablation["without_text"] == {m: plain[m] for m in ablation["without_text"]}
    assert ablation["without_text"]["macro_f1"] != metrics["macro_f1"]

    not_asked = dataclasses.replace(
        asked, features=dataclasses.replace(asked.features, text_options=TextOptions(min_df=5))
    )
    assert text_ablation(engine, not_asked, data, metrics) is None  # no second fit
    text_only = dataclasses.replace(
        asked, features=dataclasses.replace(asked.features, categorical=())
    )
    assert text_ablation(engine, text_only, data, metrics) is None  # nothing left to fit


# --- text at the edges ------------------------------------------------------------------


@pytest.mark.parametrize("estimator", [xgboost_hist, lambda: LogisticRegression(max_iter=200)])
def test_a_text_column_empty_in_every_row_trains_as_zeros_and_is_a_finding(estimator):
    from retrain.training import fit

    frame = _articles(1500, 6)
    frame["description"] = np.where(np.arange(len(frame)) % 2, "", None)  # empty or missing
    spec = _spec(estimator, text=("description",), categorical=("plant",))
    checked = validate(frame, spec)
    empty = [f for f in checked.findings if f["rule"] == "text_empty"]
    assert len(empty) == 1 and empty[0]["column"] == "description"
    assert f"empty in all {len(checked.frame)} rows" in empty[0]["message"]
    data = fit.split(checked.frame, spec)
    model = fit.fit(spec, data)
    names = model.named_steps["features"].get_feature_names_out()
    assert "description:empty" in names
    assert len(model.predict(data.X_test)) == len(data.y_test)


def test_a_dense_only_estimator_with_text_is_a_spec_error_naming_the_column():
    from sklearn.ensemble import HistGradientBoostingClassifier

    from retrain.domain.errors import ConfigError

    spec = _spec(HistGradientBoostingClassifier, text=("description",), numeric=("thickness_mm",))
    with pytest.raises(ConfigError, match="HistGradientBoostingClassifier takes no sparse input"):
        build_pipeline(spec)
    with pytest.raises(ConfigError, match="text column 'description'"):
        build_pipeline(spec)


def test_a_huge_text_cell_is_cut_with_a_finding_and_the_model_sees_the_cut_text():
    from retrain.training import fit
    from retrain.training.text import MAX_CHARS

    frame = _articles(1500, 8)
    frame.loc[frame.index[3], "description"] = "Spanplatte roh " * 700_000  # ~10 MB
    spec = _spec(text=("description",), categorical=("plant",))
    checked = validate(frame, spec)
    cut = [f for f in checked.findings if f["rule"] == "text_too_long"]
    assert len(cut) == 1 and "1 texts in 'description'" in cut[0]["message"]
    assert checked.frame["description"].str.len().max() == MAX_CHARS
    model = fit.fit(spec, fit.split(checked.frame, spec))
    huge = frame.iloc[[3]].drop(columns=["surface"])  # a consumer's row: cut the same way
    assert len(model.predict(huge)) == 1
