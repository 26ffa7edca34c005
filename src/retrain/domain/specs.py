"""What a classifier is (ModelSpec) and where classifiers are looked up (Registry)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from retrain.domain.errors import UnknownModelError

MODEL_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,62}$")
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")  # formatted into SQL: checked
BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")  # a bound parameter, as SQLAlchemy's text() sees it
METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
DEFAULT_WINDOW_MONTHS = 36
APPROVALS = ("none", "required")


@dataclass(frozen=True)
class TextOptions:
    """How a text column becomes features: TF-IDF over word n-grams and over character
    n-grams inside word boundaries (``char_wb``), the two blocks side by side.

    Defaults suit short master-data texts ("Spanplatte P2 E1 18mm 2800x2070 Dekor U708"):
    words and word pairs catch tokens, character 3-5-grams catch abbreviations, typos and
    glued units ("18mm" ~ "18 mm"). ``min_df`` drops terms seen in fewer rows (noise, ids);
    ``max_*_features`` cap each block by term frequency, which bounds memory and the model's
    size. ``sublinear_tf`` damps repeats; ``lowercase`` folds case. Set ``char_ngrams`` (or
    ``word_ngrams``) to None to drop that block: with XGBoost, do drop the character block,
    its many entries per row make boosting slow (docs/text.md)."""

    word_ngrams: tuple[int, int] | None = (1, 2)
    char_ngrams: tuple[int, int] | None = (3, 5)
    min_df: int = 2
    max_word_features: int | None = 20_000
    max_char_features: int | None = 50_000
    sublinear_tf: bool = True
    lowercase: bool = True
    # keep only this many terms, those most associated with the target (chi-squared over
    # the training rows' TF-IDF values), after the caps above; None keeps them all
    select_terms: int | None = None
    # also fit the spec without its text columns on the same split, and record both scores
    # in the card (``text_ablation``): one more fit, without the text, each run
    ablation: bool = False

    def __post_init__(self) -> None:
        problems = []
        for knob in ("word_ngrams", "char_ngrams"):
            value = getattr(self, knob)
            if value is not None and not (len(value) == 2 and 1 <= value[0] <= value[1] <= 10):
                problems.append(f"{knob} must be (low, high) with 1 <= low <= high <= 10, or None")
        if self.word_ngrams is None and self.char_ngrams is None:
            problems.append("word_ngrams and char_ngrams are both None: no text features left")
        if self.min_df < 1:
            problems.append("min_df must be at least 1 (rows a term must appear in)")
        for knob in ("max_word_features", "max_char_features"):
            value = getattr(self, knob)
            if value is not None and value < 1:
                problems.append(f"{knob} must be at least 1, or None for no cap")
        if self.select_terms is not None and self.select_terms < 1:
            problems.append("select_terms must be at least 1, or None to keep every term")
        if problems:
            raise ValueError("invalid TextOptions: " + "; ".join(problems))


@dataclass(frozen=True)
class Features:
    """Feature columns by kind. Numeric and boolean go in as numbers, categorical as codes,
    text as TF-IDF terms (``text_options``); with text the matrix is sparse (docs/text.md)."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    boolean: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    text_options: TextOptions = field(default_factory=TextOptions)

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(col for cols in self.by_kind().values() for col in cols)

    def by_kind(self) -> dict[str, tuple[str, ...]]:
        """Columns per kind, in a fixed order: what validation and profiles iterate over."""
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "boolean": self.boolean,
            "text": self.text,
        }


@dataclass(frozen=True)
class ModelSpec:
    """Everything the runner needs to train one classifier.

    ``query`` is SQL returning the feature columns and the target column. Without a
    ``time_column`` it trains on every row it returns. With one, the query filters on the
    bound parameter ``:since`` (the start of a window of ``window_months`` months, 36 unless
    set) and returns that column too. ``order_by`` names the column whose largest values
    ``TRAINING_MAX_ROWS`` keeps (default: the time column, i.e. the newest rows).
    ``estimator`` builds a fresh, unfitted scikit-learn compatible classifier that takes
    the encoded feature matrix (numbers, categories as integer codes, NaN for missing; with
    ``features.text`` a scipy CSR matrix: XGBoost, logistic regression and SGD take it).
    """

    name: str
    description: str
    query: str
    target: str
    features: Features
    estimator: Callable[[], Any]
    min_rows: int = 500
    primary_metric: str = "balanced_accuracy"
    metric_floor: float = 0.5
    tolerance: float = 0.01
    time_column: str | None = None  # None: train on every row the query returns
    window_months: int | None = None  # with a time_column: months of data (default 36)
    order_by: str | None = None  # TRAINING_MAX_ROWS keeps its largest values (default time_column)
    test_size: float = 0.2
    min_class_rows: int = 10
    max_null_rate: float = 0.6
    random_state: int = 42
    tags: dict[str, str] = field(default_factory=dict)
    # A unique row key the query returns: a row's holdout part is a hash of it (without one,
    # of the row's feature values); the Dask engine partitions by it
    key_column: str | None = None
    # Out-of-time holdout: the newest test_months calendar months are the test part (needs
    # a time_column; test_size then does not apply). None: test_size of rows by hash.
    test_months: int | None = None
    holdout_salt: str = ""  # another salt draws another (fixed) hash holdout
    # Champion decay (service/decay.py): the champion is scored on the rows that arrived
    # since it was trained; it decays when that score falls more than decay_tolerance
    # (None: ``tolerance``) below its card's. retrain_on_decay starts a run when it does.
    decay_tolerance: float | None = None
    retrain_on_decay: bool = False
    # Corrections people sent (POST /api/models/{name}/feedback, domain/feedback.py):
    # "ignore" them, "override" the label of the row with the same key_column value, or
    # "append" them as extra rows. The same validation applies to them as to the rows.
    corrections: str = "ignore"
    # Human approval (service/approval.py): "required" stores a candidate the gate would
    # promote as ``awaiting_approval``; a person approves it (Slack, CLI, console) within
    # approval_expires_days, or it never serves. "none": the gate alone promotes.
    approval: str = "none"
    approval_expires_days: int = 7

    def __post_init__(self) -> None:
        problems = []
        if not MODEL_NAME.match(self.name):
            problems.append(f"name {self.name!r} must match {MODEL_NAME.pattern}")
        if self.primary_metric not in METRICS:
            problems.append(f"primary_metric must be one of {', '.join(METRICS)}")
        problems += self._window_problems()
        if not self.features.all:
            problems.append("at least one feature column is required")
        if self.target in self.features.all:
            problems.append(f"target {self.target!r} is also listed as a feature")
        if len(set(self.features.all)) != len(self.features.all):
            problems.append("a feature column is listed twice")
        if not 0 < self.test_size < 1:
            problems.append("test_size must be between 0 and 1")
        if self.min_class_rows < 2:
            problems.append("min_class_rows must be at least 2 (stratified split)")
        if self.key_column is not None and (
            not COLUMN_NAME.match(self.key_column) or self.key_column in self.columns
        ):
            problems.append(
                f"key_column {self.key_column!r} must be a plain column name "
                "that is neither a feature nor the target"
            )
        if self.min_rows < 1:
            problems.append("min_rows must be at least 1")
        if not 0 <= self.max_null_rate <= 1:
            problems.append("max_null_rate must be between 0 and 1 (a share of rows)")
        if self.decay_tolerance is not None and not (
            isinstance(self.decay_tolerance, int | float)
            and not isinstance(self.decay_tolerance, bool)
            and 0 <= self.decay_tolerance < 1
        ):
            problems.append(
                "decay_tolerance must be a number from 0 to below 1 (how far the score may "
                "fall below the card's), or None for tolerance"
            )
        if not isinstance(self.retrain_on_decay, bool):
            problems.append("retrain_on_decay must be True or False")
        if self.corrections not in ("ignore", "override", "append"):
            problems.append("corrections must be 'ignore', 'override' or 'append'")
        elif self.corrections == "override" and self.key_column is None:
            problems.append(
                "corrections='override' needs a key_column (a correction replaces the label "
                "of the row with its key)"
            )
        if self.approval not in APPROVALS:
            problems.append(f"approval must be one of {', '.join(APPROVALS)}")
        if not (
            isinstance(self.approval_expires_days, int)
            and not isinstance(self.approval_expires_days, bool)
            and 1 <= self.approval_expires_days <= 365
        ):
            problems.append("approval_expires_days must be a whole number of days from 1 to 365")
        if problems:
            raise ValueError(f"invalid ModelSpec {self.name!r}: " + "; ".join(problems))

    def _window_problems(self) -> list[str]:
        problems = []
        for knob in ("time_column", "order_by"):
            value = getattr(self, knob)
            if value is not None and not COLUMN_NAME.match(value):
                problems.append(
                    f"{knob} {value!r} must be a plain column name of the query's result "
                    "(letters, digits, underscores)"
                )
        params = set(BIND.findall(self.query))
        uses_since = "since" in params
        if params - {"since"}:
            unknown = ", ".join(f":{p}" for p in sorted(params - {"since"}))
            problems.append(
                f"query uses the bound parameter(s) {unknown}; only :since is bound "
                "(write a literal colon as \\:)"
            )
        if self.time_column and not uses_since:
            problems.append(
                f"time_column {self.time_column!r} needs a window filter in the query "
                f"(WHERE {self.time_column} >= :since); or set time_column=None to train "
                "on all rows"
            )
        if not self.time_column and uses_since:
            problems.append(
                "query filters on :since but no time_column is set: set time_column to the "
                "column the filter uses, or drop the :since filter to train on all rows"
            )
        if self.window_months is not None and not self.time_column:
            problems.append("window_months needs a time_column to count months on")
        if self.window_months is not None and self.window_months < 1:
            problems.append("window_months must be at least 1")
        if self.test_months is not None:
            if not self.time_column:
                problems.append("test_months needs a time_column (the newest months are tested)")
            elif not 1 <= self.test_months < (self.window_months or DEFAULT_WINDOW_MONTHS):
                problems.append(
                    "test_months must be at least 1 and fewer than the window's months "
                    "(the rest is trained on)"
                )
        if self.time_column in (*self.features.categorical, *self.features.text):
            # read as timestamps, it trained and then could not be stored (pandas.Timestamp
            # is not a trusted type) after the whole fit
            problems.append(
                f"time_column {self.time_column!r} is also a categorical or text feature: "
                "return what the model should read of it (month, weekday) as a column of its own"
            )
        return problems

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.features.all, self.target)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Every column the query must return: features, target, time and order columns."""
        extra = (c for c in (self.time_column, self.order_by) if c and c not in self.columns)
        return (*self.columns, *dict.fromkeys(extra))

    @property
    def months(self) -> int | None:
        """The data window in months, or None when the spec trains on all rows."""
        return (self.window_months or DEFAULT_WINDOW_MONTHS) if self.time_column else None

    @property
    def decay_limit(self) -> float:
        """How far below its card's score the champion's score on new rows may fall."""
        return self.tolerance if self.decay_tolerance is None else self.decay_tolerance

    @property
    def approval_required(self) -> bool:
        return self.approval == "required"

    @property
    def newest_by(self) -> str | None:
        """The column TRAINING_MAX_ROWS keeps the largest values of, if any."""
        return self.order_by or self.time_column


class Registry:
    """Registered classifiers by name."""

    def __init__(self, specs: list[ModelSpec] | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: ModelSpec) -> ModelSpec:
        if spec.name in self._specs:
            raise ValueError(f"model {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(name, self._specs) from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs[name] for name in self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._specs
