"""Notifications to the console (the default when Slack is off)."""

from __future__ import annotations

from loguru import logger

from retrain.domain.decay import DecayResult
from retrain.domain.runs import RunRecord
from retrain.service.report import batch_line, decay_counts, decay_line, run_line, skipped_text


class ConsoleNotifier:
    def batch_started(self, batch_id: str, records: list[RunRecord]) -> dict | None:
        logger.info("batch {} started: {}", batch_id, ", ".join(r.model for r in records))
        return None

    def run_finished(self, record: RunRecord, batch: dict | None) -> dict | None:
        logger.info("notify: {}", run_line(record))
        return None

    def approval_decided(self, record: RunRecord) -> None:
        decided = record.summary.get("approval") or {}
        logger.info(
            "notify: {} v{} {} by {}",
            record.model,
            record.version,
            decided.get("decision"),
            decided.get("actor"),
        )

    def batch_finished(self, batch_id: str, records: list[RunRecord], batch: dict | None) -> None:
        logger.info("batch {} finished: {}{}", batch_id, batch_line(records), skipped_text(batch))

    def decay_checked(self, results: list[DecayResult]) -> None:
        alarms = [r for r in results if r.status.told]
        if not alarms:
            logger.info("decay check: {}", decay_counts(results))
            return
        for result in alarms:
            logger.warning("notify: champion decay: {}", decay_line(result))
