"""The progress line of a long run (judging, generation)."""

from __future__ import annotations

import sys
import time

from judge.engine.judgment import Judgment


class Progress:
    """A one-line progress display on stderr (done, rate, ETA, cost, unscored); silent when not a terminal."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.done = 0
        self.cost = 0.0
        self.unscored = 0
        self.t0 = time.monotonic()
        self._last = 0.0

    def update(self, j: Judgment) -> None:
        self.done += 1
        self.cost += j.cost_usd
        self.unscored += j.score is None
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.25 or self.done == self.total):
            self._last = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            sys.stderr.write(
                f"\r  {self.done}/{self.total} judgments  {rate:6.1f}/s  ETA {eta:6.0f}s  "
                f"cost ${self.cost:.4f}  unscored {self.unscored}   "
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.total:
            sys.stderr.write("\n")
