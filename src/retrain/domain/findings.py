"""Names of the drift rules (training/drift.py writes findings with them): Slack shows these
findings apart from the data checks. Here, not in training/drift.py, so that a notifier can
tell them apart without importing pandas."""

from __future__ import annotations

DRIFT_RULES = frozenset(
    {
        "label_shift",
        "new_classes",
        "feature_shift",
        "new_categories",
        "vanished_categories",
        "vocabulary_shift",
    }
)
