"""Notifications to the console (the default when Slack is off)."""

from __future__ import annotations

from loguru import logger

from retrain.domain.runs import RunRecord
from retrain.service.report import batch_line, run_line


class ConsoleNotifier:
    def batch_started(self, batch_id: str, records: list[RunRecord]) -> dict | None:
        logger.info("batch {} started: {}", batch_id, ", ".join(r.model for r in records))
        return None

    def run_finished(self, record: RunRecord, batch: dict | None) -> None:
        logger.info("notify: {}", run_line(record))

    def batch_finished(self, batch_id: str, records: list[RunRecord], batch: dict | None) -> None:
        logger.info("batch {} finished: {}", batch_id, batch_line(records))
