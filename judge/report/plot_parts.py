"""What the HTML report's plots share: colours, escaping, number and tick formats, and the panels' data.

Kept apart from ``html`` (the wide, side-by-side plots) so that ``plots_narrow`` (the same panels stacked for a
phone) draws from the same parts without importing the page renderer that uses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

ACCENT = "#2563eb"
MUTED = "#64748b"
GRID = "#e2e8f0"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.3g}"


def nice_ticks(low: float, high: float, max_ticks: int = 11) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / (max_ticks - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)
    first = math.ceil(low / step - 1e-9) * step
    n = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + k * step, 10) for k in range(n)]


@dataclass(frozen=True)
class Panel:
    """One panel of a dot-and-whisker plot: a criterion's mean and CI per row, on the axis ``low``-``high``."""

    title: str
    means: Sequence[float | None]
    cis: Sequence[tuple[float, float] | None]
    low: float
    high: float
    tooltips: Sequence[str] | None = None


@dataclass(frozen=True)
class RankPanel:
    """One criterion's ranks: each row's rank and its 95% interval across bootstrap resamples (1 = best).

    ``n`` is the number of ranked rows: the axis runs from 1 to ``n``. ``notes`` (optional, one per row) replaces a
    row's mark by a short text, e.g. ``"too few"`` where the data are too thin for a rank interval; the full reason
    can follow after ``": "`` and is shown on hover.
    """

    title: str
    ranks: Sequence[int | None]
    intervals: Sequence[tuple[int, int] | None]
    n: int
    notes: Sequence[str | None] = ()


@dataclass(frozen=True)
class AgreementRow:
    """One row of an agreement plot: a judge, a chance baseline (``chance:constant``, ``chance:permuted``) or the
    experts' agreement with each other (drawn as the ceiling band, not as a row)."""

    label: str
    value: float | None
    ci: tuple[float, float] | None = None
    kind: str = "judge"  # judge | baseline (length, a named item field) | chance | experts


@dataclass(frozen=True)
class AgreementPanel:
    """One criterion: its rows (any order; the experts row becomes the band)."""

    title: str
    rows: Sequence[AgreementRow]
