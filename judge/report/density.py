"""Scatter points at any size: identical (or, past a cap, nearby) pairs drawn once and sized by their count.

A judge board of 10,000 items drew a circle per item per judge per criterion: on a 1-5 scale the points of a 5 x 9
grid fell on each other, so the plot showed nothing but the grid, and the page weighed 20 MB. Each distinct pair is
now one marker whose area is its number of items; when there are more than ``MAX_MARKERS`` distinct pairs (a
continuous score), the pairs are binned to a ``GRID`` x ``GRID`` grid over the axis range first, and the plot says
so.

Example::

    points, note = aggregate([1, 1, 2], [1.5, 1.5, 2], low=1, high=5)   # [(1.0, 1.5, 2), (2.0, 2.0, 1)], None
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

MAX_MARKERS = 300
GRID = 16


def aggregate(
    x: Sequence[float], y: Sequence[float], *, low: float, high: float, max_markers: int = MAX_MARKERS
) -> tuple[list[tuple[float, float, int]], str | None]:
    """Distinct ``(x, y, count)`` in x, y order, and a note when the pairs were binned to a grid (else None)."""
    counts = Counter(zip(map(float, x), map(float, y), strict=True))
    if len(counts) <= max_markers:
        return [(a, b, n) for (a, b), n in sorted(counts.items())], None
    step = (high - low) / GRID if high > low else 1.0

    def snap(v: float) -> float:
        return low + round((v - low) / step) * step

    binned: Counter[tuple[float, float]] = Counter()
    for (a, b), n in counts.items():
        binned[(snap(a), snap(b))] += n
    note = f"{len(counts):,} distinct points binned to a {GRID} x {GRID} grid"
    return [(a, b, n) for (a, b), n in sorted(binned.items())], note
