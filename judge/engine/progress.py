"""The progress of a long run, on stderr: a live line on a terminal, a plain line every ``interval_s`` otherwise.

What a line says: judgments done of those this invocation records (and how many came from the cache), the rate
and an ETA over the judgments that needed a call (cache hits are instant and would flatter both), unscored
judgments by reason, retries, and the cost so far. The ETA appears only once enough calls have finished to mean
something (``eta_after`` calls): the first few calls of a run include connection set-up and the model's warm-up.
It is computed from the recent throughput (the last ``RECENT_CALLS`` calls, up to now), not the average since the
start: a slow start (warm-up, a rate limit that has lifted) would otherwise inflate every early ETA, and a run that
slows down now should show it now.

On a terminal the live line is redrawn in place, so it must never wrap (a wrapped line cannot be redrawn, and every
update would stack a new row): it is laid out for the terminal's width, dropping its least useful parts first (the
retries while there are none, the cost, the rate) and cutting what still does not fit.

A CI log is not a terminal: there the line is printed as a plain line every 30 s or so, plus one at the end, so a
long job is never silent. ``note`` prints a one-off line (e.g. while the provider layer loads).
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from typing import Literal

from judge import terminal
from judge.engine.store import cost_text
from judge.engine.task import TaskRecord

Mode = Literal["live", "plain", "off"]
RECENT_CALLS = 50  # the ETA's window: enough calls to smooth bursts of concurrent answers


def progress_mode(enabled: bool | None) -> Mode:
    """``True``: the live line; ``False``: nothing; ``None``: the live line on a terminal, plain lines otherwise."""
    if enabled is False:
        return "off"
    if enabled is True:
        return "live"
    return "live" if sys.stderr.isatty() else "plain"


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """Counts judgments as they are recorded and shows them (see the module docstring).

    Args:
        total: judgments this invocation will record.
        enabled: see ``progress_mode``.
        interval_s: seconds between plain lines (not on a terminal).
        eta_after: calls that must have finished before an ETA is shown.
        local: every judge is the embedded model (the cost reads "free (local)").
    """

    def __init__(
        self,
        total: int,
        enabled: bool | None,
        *,
        interval_s: float = 30.0,
        eta_after: int = 10,
        local: bool = False,
    ) -> None:
        self.total = total
        self.mode = progress_mode(enabled)
        self.interval_s = interval_s
        self.eta_after = max(1, eta_after)
        self.local = local
        self.done = 0
        self.cached = 0
        self.calls_done = 0
        self.retries = 0
        self.cost = 0.0
        self.unpriced = 0
        self.unscored: Counter[str] = Counter()
        self.t0 = time.monotonic()
        self.t_calls: float | None = None  # when the first call was started (pass 2)
        self._last = self.t0
        self._live_shown = False
        self._recent: deque[float] = deque(maxlen=RECENT_CALLS + 1)  # when the last calls finished

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def start_calls(self) -> None:
        """The calls begin now (after the cache pass and loading the provider layer): the rate counts from here,
        and the first plain line comes ``interval_s`` later."""
        if self.t_calls is None:
            self.t_calls = self._last = time.monotonic()
            cached = f" ({self.done} served from the cache)" if self.done else ""
            self.note(f"{self.total - self.done} judgments to ask the model for{cached}")

    def update(self, j: TaskRecord) -> None:
        self.done += 1
        if j.cache_hit:
            self.cached += 1
        else:
            self.calls_done += 1
            self.retries += max(j.attempts - 1, 0)
            self._recent.append(time.monotonic())
        if j.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost += j.cost_usd
        if not j.scored:
            self.unscored[j.unscored_reason or "unknown"] += 1
        now = time.monotonic()
        if self.mode == "live" and (now - self._last > 0.25 or self.done == self.total):
            self._last = now
            self._live(self.line(now, width=terminal.width(sys.stderr) - 3))
        elif self.mode == "plain" and now - self._last >= self.interval_s:
            self._last = now
            self._plain(self.line(now))

    def line(self, now: float | None = None, width: int | None = None) -> str:
        """The progress as one line of text; with ``width``, at most that many columns (parts that matter least are
        left out first, then the line is cut)."""
        now = time.monotonic() if now is None else now
        # (text, drop order: higher goes first when the line is too wide; 0 never goes)
        parts = [(f"{self.done}/{self.total} judgments" + (f" ({self.cached} cached)" if self.cached else ""), 0)]
        if self.calls_done and self.t_calls is not None:
            elapsed = max(now - self.t_calls, 1e-9)
            rate = self.calls_done / elapsed
            parts.append((f"{rate:.2f} calls/s" if rate < 10 else f"{rate:.0f} calls/s", 3))
            if self.calls_done >= self.eta_after and self.done < self.total:
                parts.append((f"ETA {_duration((self.total - self.done) / self.recent_rate(now, rate))}", 0))
        n_unscored = sum(self.unscored.values())
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.unscored.items()))
        if reasons:
            parts.append((f"unscored {n_unscored} ({reasons})", 0))
        else:
            parts.append((f"unscored {n_unscored}", 2))
        parts.append((f"retries {self.retries}", 1 if self.retries else 5))
        parts.append((f"cost {self.cost_text()}", 4))
        text = ", ".join(t for t, _ in parts)
        if width is None:
            return text
        for drop in (5, 4, 3, 2, 1):
            if terminal.text_width(text) <= width:
                break
            parts = [(t, d) for t, d in parts if d != drop]
            text = ", ".join(t for t, _ in parts)
        return terminal.fit(text, width)

    def recent_rate(self, now: float, overall: float) -> float:
        """Calls per second over the last ``RECENT_CALLS`` calls, measured up to ``now`` (a stall counts), or the
        ``overall`` rate until the window holds two calls."""
        if len(self._recent) < 2:
            return overall
        span = max(now - self._recent[0], 1e-9)
        return (len(self._recent) - 1) / span

    def cost_text(self) -> str:
        return cost_text(self.cost, self.unpriced, local=self.local)

    def status(self, text: str) -> None:
        """A status that replaces the previous one (e.g. a batch's state while it is polled): the live line on a
        terminal, a plain line at most every ``interval_s`` otherwise."""
        now = time.monotonic()
        if self.mode == "live":
            self._live(terminal.fit(text, terminal.width(sys.stderr) - 3))
        elif self.mode == "plain" and now - self._last >= self.interval_s:
            self._last = now
            self._plain(text)

    def _live(self, text: str) -> None:
        """Redraw the live line: back to the line's start, the text (which fits the terminal), erase the rest."""
        out = terminal.raw(sys.stderr)
        out.write("\r  " + terminal.visible(text) + "\x1b[K")
        out.flush()
        self._live_shown = True

    def note(self, message: str) -> None:
        """A one-off line (e.g. 'loading the provider layer'), on its own line in every mode but 'off'."""
        if self.mode == "off":
            return
        if self._live_shown:
            terminal.raw(sys.stderr).write("\n")
            self._live_shown = False
        self._plain(message)

    def _plain(self, text: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {text}"
        cols = terminal.output_width(sys.stderr)
        if terminal.text_width(line) > cols:  # a long note wraps under its text, never past the terminal's edge
            import textwrap

            line = "\n".join(textwrap.wrap(line, cols, subsequent_indent=" " * 11, break_long_words=False))
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.mode == "live" and self._live_shown:
            terminal.raw(sys.stderr).write("\n")
        elif self.mode == "plain" and self.total:
            self._plain(self.line())
