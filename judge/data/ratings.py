"""Expert ratings against their rubric's scale: the one check every way in shares.

``rating_problems`` says why a number cannot be a rating on a criterion (the importers use it on every cell; the
benchmark loader can use it on every line of ``ratings.jsonl``); ``parse_rating`` reads a table cell (a number,
numeric text, or one of the scale's labels or aliases) into a rating.

Example::

    from judge.data.ratings import parse_rating, rating_problems
    rating_problems(7.0, rubrics["empathy"])       # "7 is not a point of the empathy scale (1, 2, 3, 4, 5)"
    parse_rating("Not harmful", rubrics["harmfulness"])   # (0.0, None)
"""

from __future__ import annotations

import math
from typing import Any

from judge.data.rubric import Rubric

# Cells that mean "not rated": raters rate subsets, so an empty cell is missing data, never a score.
MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "none", "null", "-", "missing"})


def _g(v: float) -> str:
    return f"{v:g}"


def scale_text(rubric: Rubric) -> str:
    """The allowed ratings of a criterion, for messages: ``1, 2, 3, 4, 5`` or ``0 (Not harmful), 1 (Harmful)``."""
    labels_differ = any(p.label != _g(p.value) for p in rubric.scale)
    return ", ".join(f"{_g(p.value)} ({p.label})" if labels_differ else _g(p.value) for p in rubric.scale)


def rating_problems(value: float, rubric: Rubric) -> str | None:
    """Why ``value`` cannot be a rating on ``rubric``'s scale, or None if it can.

    Nominal and ordinal ratings must be points of the scale. Interval ratings may fall between points (a rater's
    7.5 on a 1-10 scale) but not outside the scale.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if rubric.level == "interval":
        if rubric.low <= value <= rubric.high:
            return None
        return f"{_g(value)} is outside the {rubric.name} scale ({_g(rubric.low)} to {_g(rubric.high)})"
    if any(math.isclose(value, p, abs_tol=1e-9) for p in rubric.points_values()):
        return None
    return f"{_g(value)} is not a point of the {rubric.name} scale ({scale_text(rubric)})"


def parse_rating(cell: Any, rubric: Rubric) -> tuple[float | None, str | None]:
    """Read one table cell as a rating on ``rubric``.

    Returns:
        ``(value, None)`` for a rating; ``(None, None)`` for an empty or NA cell (not rated); ``(None, why)`` when
        the cell is not a rating (the reason names the value and the scale).
    """
    if cell is None:
        return None, None
    if isinstance(cell, bool):
        return None, f"{cell!r} is not a rating (expected {scale_text(rubric)})"
    if isinstance(cell, int | float):
        value = float(cell)
    else:
        text = str(cell).strip()
        if text.lower() in MISSING_CELLS:
            return None, None
        try:
            value = float(text)
        except ValueError:
            point = next(
                (p for p in rubric.scale for s in [p.label, *p.aliases] if s.strip().lower() == text.lower()), None
            )
            if point is None:
                return None, f"{text!r} is not a rating (expected a number or a label: {scale_text(rubric)})"
            return point.value, None
    why = rating_problems(value, rubric)
    return (None, why) if why else (value, None)


def off_scale_number(cell: Any, rubric: Rubric) -> float | None:
    """The number a cell holds when it is a finite number off ``rubric``'s scale (a 0 or a 6 on a 1-5 scale), else
    None: what ``--off-scale missing`` may read as "not rated". Words and empty cells are never off-scale numbers."""
    if isinstance(cell, bool) or cell is None:
        return None
    try:
        value = float(cell) if isinstance(cell, int | float) else float(str(cell).strip())
    except ValueError:
        return None
    if not math.isfinite(value) or rating_problems(value, rubric) is None:
        return None
    return value
