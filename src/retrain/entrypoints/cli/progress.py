"""Progress on a terminal: one live line under the log lines, redrawn a few times a second.

``KLASSE_ROH  fitting: round 120/400  ≤28.0s left  · 3.1s`` — the model, its stage and what
is known about the stage's progress (rows loaded, boosting rounds with the time the rounds
left would take: at most that, since early stopping usually ends a fit after a fraction of
its rounds) and the time the stage has run so far, so nothing is silent while a step works
(an estimator without rounds to report, such as HistGradientBoosting, shows its elapsed
time ticking). Log lines pass through ``write``: the live line is cleared before them and
drawn again after, so the two never mix. Used only when stderr is a terminal."""

from __future__ import annotations

import shutil
import threading
import time
from typing import Any, TextIO

from retrain.entrypoints.cli.tables import duration

TICK_S = 0.25
WHAT = {
    "load": "loading rows",
    "validate": "validating rows",
    "split": "splitting holdout",
    "fit": "fitting",
    "evaluate": "evaluating candidate and champion on the holdout",
    "publish": "publishing version",
    "promote": "moving champion",
}


class TerminalProgress:
    def __init__(self, stream: TextIO, clock: Any = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.lock = threading.RLock()
        self.model: str | None = None
        self.current = ""
        self.detail = ""
        self.stage_started = 0.0
        self.first_round: tuple[int, float] | None = None
        self.shown = False
        self.drawn_at = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # the Progress port -------------------------------------------------------------------
    def stage(self, model: str, stage: str) -> None:
        with self.lock:
            self.model, self.current, self.detail = model, stage, WHAT.get(stage, stage)
            self.stage_started = self.clock()
            self.first_round = None
            self._draw()

    def rows(self, model: str, count: int) -> None:
        with self.lock:
            self.detail = f"{count:,} rows loaded"
            self._draw()

    def rounds(self, model: str, done: int, total: int) -> None:
        now = self.clock()
        with self.lock:
            if self.first_round is None:
                self.first_round = (done, now)
            eta = ""
            start_done, start_at = self.first_round
            if done > start_done and total > done:
                per_round = (now - start_at) / (done - start_done)
                eta = f"  ≤{duration(per_round * (total - done))} left"
            self.detail = f"fitting: round {done}/{total}{eta}"
            # drawn by the ticker (a round can take microseconds), and here when the ticker
            # has not drawn for a tick: on a loaded machine its thread may wait its turn
            if now - self.drawn_at >= TICK_S:
                self._draw()

    # what the CLI calls ----------------------------------------------------------------
    def note(self, model: str, text: str) -> None:
        """A step outside a run (demo data): shown like a stage."""
        self.stage(model, "")
        with self.lock:
            self.detail = text
            self._draw()

    def done(self) -> None:
        """The current work ended: remove the live line."""
        with self.lock:
            self._clear()
            self.model = None

    def write(self, text: str) -> None:
        """A log line: printed above the live line."""
        with self.lock:
            self._clear()
            self.stream.write(text)
            self.stream.flush()
            self._draw()

    def isatty(self) -> bool:
        return True

    def flush(self) -> None:
        self.stream.flush()

    def __enter__(self) -> TerminalProgress:
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        self.done()

    # drawing ---------------------------------------------------------------------------
    def line(self) -> str:
        if self.model is None:
            return ""
        elapsed = duration(self.clock() - self.stage_started)
        return f"{self.model}  {self.detail}  · {elapsed}"

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            with self.lock:
                self._draw()

    def _draw(self) -> None:
        text = self.line()
        if not text:
            return
        columns = shutil.get_terminal_size((100, 24)).columns
        if len(text) >= columns:
            text = text[: columns - 2] + "…"
        self.stream.write("\r\x1b[2K" + text)
        self.stream.flush()
        self.shown = True
        self.drawn_at = self.clock()

    def _clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False
