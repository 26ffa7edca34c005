"""The promotion gate: never replace a good model with a worse or broken one.

Rules, in order:
1. Below the spec's absolute floor of its primary metric -> ``rejected``.
2. No champion yet -> ``promoted``.
3. Champion scored on the candidate's own holdout: candidate worse than the champion by
   more than ``tolerance`` -> ``kept_champion``; otherwise ``promoted``.
4. The champion could not score the holdout (its artifact is unreadable, or the columns it
   needs are gone): the candidate is promoted if it meets the floor, and the reason says the
   champion was unusable. A champion that cannot score today's data cannot serve it either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from retrain.domain.runs import Outcome
from retrain.domain.specs import ModelSpec


@dataclass(frozen=True)
class GateDecision:
    outcome: Outcome
    reason: str
    metric: str
    candidate: float
    champion: float | None
    champion_version: int | None
    floor: float
    tolerance: float

    @property
    def promote(self) -> bool:
        return self.outcome is Outcome.PROMOTED

    @property
    def delta(self) -> float | None:
        return None if self.champion is None else round(self.candidate - self.champion, 6)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["outcome"] = str(self.outcome)
        data["delta"] = self.delta
        return data


def decide(
    spec: ModelSpec,
    candidate: float,
    champion: float | None,
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
            champion,
            champion_version,
            spec.metric_floor,
            spec.tolerance,
        )

    if candidate < spec.metric_floor:
        return result(
            Outcome.REJECTED, f"{metric} {candidate:.4f} is below the floor {spec.metric_floor:.4f}"
        )
    if champion_version is None:
        return result(Outcome.PROMOTED, f"first version; {metric} {candidate:.4f} meets the floor")
    if champion is None:
        return result(
            Outcome.PROMOTED,
            f"champion v{champion_version} could not score the holdout "
            f"({champion_problem}); candidate meets the floor",
        )
    if candidate < champion - spec.tolerance:
        return result(
            Outcome.KEPT_CHAMPION,
            f"{metric} {candidate:.4f} is worse than champion v{champion_version} "
            f"({champion:.4f}) by more than {spec.tolerance:.4f}",
        )
    return result(
        Outcome.PROMOTED,
        f"{metric} {candidate:.4f} vs champion v{champion_version} {champion:.4f} "
        f"(tolerance {spec.tolerance:.4f})",
    )
