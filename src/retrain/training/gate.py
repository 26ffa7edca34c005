"""The promotion gate: never replace a good model with a worse or broken one.

Rules, in order:
1. Below the spec's absolute floor of its primary metric (on the candidate's whole test
   part) -> ``rejected``.
2. No champion yet -> ``promoted``.
3. Both models on the candidate's test rows that the champion did not train on either
   (``compare``: by the holdout rule its card records, else its data window, else all rows
   with a caveat), with the paired difference and its bootstrap interval (``paired``):
   ``promotes(RULE, ...)`` false -> ``kept_champion``; otherwise ``promoted``.
4. The champion could not score the holdout (its artifact is unreadable, or the columns it
   needs are gone): the candidate is promoted if it meets the floor, and the reason says the
   champion was unusable. A champion that cannot score today's data cannot serve it either.

Pure: the engines count the predictions (``training.evaluate.triples``), this decides.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse

from retrain.domain.runs import Outcome
from retrain.domain.specs import ModelSpec

RESAMPLES = 1000  # bootstrap draws, fewer (not under 200) past BUDGET draws x cells
BUDGET = 4_000_000
CONFIDENCE = 0.95
MIN_COMPARED = 30  # fewer rows unseen by the champion: compared on all test rows, and said so


@dataclass(frozen=True)
class Comparison:
    """Both models on the same rows, none of which either trained on (unless ``caveat``)."""

    rows: int
    candidate: float
    champion: float
    low: float  # 95 % bootstrap interval of candidate - champion
    high: float
    basis: str  # how the rows are known to be unseen by the champion
    caveat: str | None = None  # set when the champion may have trained on some of them
    resamples: int = RESAMPLES

    @property
    def delta(self) -> float:
        return round(self.candidate - self.champion, 6)

    def describe(self) -> str:
        """ "+0.004, 95 % CI -0.002 to +0.010, 10,788 rows"."""
        return f"{self.delta:+.4f}, 95 % CI {self.low:+.4f} to {self.high:+.4f}, {self.rows:,} rows"


def compare(
    spec: ModelSpec,
    unseen: Counter[tuple[str, str, str]],
    everything: Counter[tuple[str, str, str]],
    basis: str,
    champion_version: int,
) -> Comparison:
    """The comparison on the candidate's test rows the champion did not train on
    (``unseen``, known by ``basis``); on all its test rows (``everything``), with a caveat,
    when the champion's card cannot tell or too few rows are left."""
    left, total = sum(unseen.values()), sum(everything.values())
    use, caveat = unseen, None
    if basis == "unknown":
        use = everything
        caveat = (
            f"champion v{champion_version}'s card records neither a holdout rule nor a data "
            "window: it may have trained on some of these rows"
        )
    elif left < MIN_COMPARED and left < total:  # every test row unseen: no caveat to give
        use = everything
        caveat = (
            f"only {left} test rows are unseen by champion v{champion_version} ({basis}): "
            f"compared on all {total:,} test rows, some of which it may have trained on"
        )
    candidate, champion, low, high, rows, draws = paired(
        use, spec.primary_metric, spec.random_state
    )
    return Comparison(
        rows,
        round(candidate, 6),
        round(champion, 6),
        round(low, 6),
        round(high, 6),
        basis,
        caveat,
        draws,
    )


def paired(
    triples: Counter[tuple[str, str, str]],
    metric: str,
    seed: int,
    resamples: int = RESAMPLES,
) -> tuple[float, float, float, float, int, int]:
    """(candidate, champion, low, high, rows, resamples) on rows counted as (true label,
    candidate's prediction, champion's prediction) -> rows: both models' ``metric`` and the
    percentile bootstrap interval of their difference, resampling rows with replacement
    (paired: one draw scores both). A resample is one multinomial draw over the distinct
    triples, so the cost does not grow with the rows; with very many distinct triples (many
    classes, scattered errors) fewer resamples keep it under a second."""
    triples = _reduce(triples, metric)
    keys = [k for k, n in triples.items() if n]
    resamples = min(resamples, max(200, BUDGET // max(len(keys), 1)))
    counts = np.array([triples[k] for k in keys], dtype=np.int64)
    rows = int(counts.sum())
    labels = sorted({str(x) for k in keys for x in k})
    code = {label: i for i, label in enumerate(labels)}
    t, c, h = (np.array([code[str(k[i])] for k in keys], dtype=np.int64) for i in range(3))
    rng = np.random.default_rng(seed)
    drawn = rng.multinomial(rows, counts / rows, size=resamples) if rows else counts[None, :0]
    table = np.vstack([counts[None, :], drawn]).astype(np.float64)
    scores = [table_scores(table, t, p, len(labels), metric) for p in (c, h)]
    diffs = scores[0][1:] - scores[1][1:]
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(scores[0][0]), float(scores[1][0]), float(low), float(high), rows, resamples


WRONG = "\x00wrong"  # any wrong prediction, where the metric does not ask which


def _reduce(triples: Counter[tuple[str, str, str]], metric: str) -> Counter[tuple[str, str, str]]:
    """The same rows in fewer distinct triples where ``metric`` allows: accuracy needs only
    whether each model was right, balanced accuracy also the true class (it never counts a
    class by its predictions); macro-F1 needs every predicted label."""
    if metric == "macro_f1":
        return triples
    out: Counter[tuple[str, str, str]] = Counter()
    for (t, c, h), n in triples.items():
        key = str(t) if metric == "balanced_accuracy" else ""
        out[key, key if c == t else WRONG, key if h == t else WRONG] += n
    return out


def table_scores(
    table: np.ndarray, t: np.ndarray, p: np.ndarray, n: int, metric: str
) -> np.ndarray:
    """``metric`` of each row of ``table`` (rows counted by kind: column k holds the rows
    whose true label code is ``t[k]`` and predicted code ``p[k]``, of ``n`` codes), as
    scikit-learn computes it from the same rows (labels: those in the true labels or the
    predictions)."""

    def per_class(classes: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        ones = np.ones(len(classes)) if where is None else where.astype(np.float64)
        indicator = sparse.csr_matrix((ones, (np.arange(len(classes)), classes)), (len(classes), n))
        return np.asarray(indicator.T.dot(table.T).T)

    true, hit = per_class(t), per_class(t, t == p)
    if metric == "accuracy":
        return hit.sum(axis=1) / np.maximum(table.sum(axis=1), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "balanced_accuracy":
            return np.nanmean(np.where(true > 0, hit / true, np.nan), axis=1)
        both = true + per_class(p)
        return np.nanmean(np.where(both > 0, 2 * hit / both, np.nan), axis=1)


def promotes(rule: str, delta: float, low: float, high: float, tolerance: float) -> bool:
    """Whether a candidate that meets its floor replaces the champion, by each rule the
    simulation in benchmarks/gate_sim.py compared (docs/quality.md); RULE is the one used.

    - point: the observed difference is no worse than -tolerance (the interval unused)
    - confident: the whole interval is above -tolerance (not worse, with 95 % confidence)
    - doubt: kept only when the whole interval is below -tolerance (worse, with confidence)
    """
    if rule == "point":
        return delta >= -tolerance
    if rule == "confident":
        return low >= -tolerance
    if rule == "doubt":
        return high >= -tolerance
    raise ValueError(f"unknown gate rule {rule!r}")


RULE = "point"


@dataclass(frozen=True)
class GateDecision:
    outcome: Outcome
    reason: str
    metric: str
    candidate: float  # on the candidate's whole test part (what the floor judges)
    champion: float | None  # on the compared rows
    champion_version: int | None
    floor: float
    tolerance: float
    comparison: Comparison | None = None
    rule: str = RULE

    @property
    def promote(self) -> bool:
        return self.outcome is Outcome.PROMOTED

    @property
    def delta(self) -> float | None:
        """Candidate minus champion on the same rows."""
        return None if self.comparison is None else self.comparison.delta

    def to_dict(self) -> dict:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["delta"] = self.delta
        if self.comparison is not None:
            data["comparison"] = {**asdict(self.comparison), "delta": self.comparison.delta}
        return data


def decide(
    spec: ModelSpec,
    candidate: float,
    comparison: Comparison | None,
    champion_version: int | None,
    champion_problem: str | None = None,
) -> GateDecision:
    metric = spec.primary_metric

    def result(outcome: Outcome, reason: str) -> GateDecision:
        return GateDecision(
            outcome,
            reason,
            metric,
            candidate,
            None if comparison is None else comparison.champion,
            champion_version,
            spec.metric_floor,
            spec.tolerance,
            comparison,
        )

    if candidate < spec.metric_floor:
        return result(
            Outcome.REJECTED, f"{metric} {candidate:.4f} is below the floor {spec.metric_floor:.4f}"
        )
    if champion_version is None:
        return result(Outcome.PROMOTED, f"first version; {metric} {candidate:.4f} meets the floor")
    if comparison is None:
        return result(
            Outcome.PROMOTED,
            f"champion v{champion_version} could not score the holdout "
            f"({champion_problem}); candidate meets the floor",
        )
    c = comparison
    scores = (
        f"{metric} {c.candidate:.4f} vs champion v{champion_version} {c.champion:.4f} "
        f"({c.describe()}; tolerance {spec.tolerance:.4f})"
    )
    caveat = f"; {c.caveat}" if c.caveat else ""
    if not promotes(RULE, c.delta, c.low, c.high, spec.tolerance):
        return result(
            Outcome.KEPT_CHAMPION,
            f"worse than the champion by more than the tolerance: {scores}{caveat}",
        )
    return result(Outcome.PROMOTED, f"{scores}{caveat}")
