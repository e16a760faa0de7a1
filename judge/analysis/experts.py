"""The expert ratings as the analyses use them: the rater x item matrix, the mean per item, raters left out.

Every analysis (agreement, calibration, leaderboards, estimates, judge boards) reads the experts through here, so
"the experts' mean of an item" and "leave rater R out" mean the same thing everywhere.

Example::

    from judge.analysis.experts import expert_matrix, expert_means, exclude_raters
    bench = exclude_raters(bench, ["resort:11"])
    raters, items, m = expert_matrix(bench, "empathy")     # m: (raters, items), NaN = not rated
    expert_means(bench)["empathy"]["resort:0"]             # mean of the item's experts
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from judge.data.benchmark import Benchmark
from judge.errors import UsageError


def expert_matrix(
    bench: Benchmark, criterion: str, items: Sequence[str] | None = None
) -> tuple[list[str], list[str], np.ndarray]:
    """Raters, items and the ``(raters, items)`` rating matrix of one criterion (NaN = not rated).

    Args:
        items: the columns, in this order (default: the items rated on ``criterion``, in benchmark order).
    """
    ratings = [r for r in bench.ratings if r.criterion == criterion]
    raters = sorted({r.rater for r in ratings})
    cols = list(items) if items is not None else bench.rated_item_ids(criterion)
    row = {r: i for i, r in enumerate(raters)}
    col = {it: j for j, it in enumerate(cols)}
    m = np.full((len(raters), len(cols)), np.nan)
    for r in ratings:
        j = col.get(r.item_id)
        if j is not None:
            m[row[r.rater], j] = r.value
    return raters, cols, m


def expert_means(bench: Benchmark) -> dict[str, dict[str, float]]:
    """Per criterion, each rated item's mean over its experts: criterion -> item_id -> mean."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in bench.ratings:
        acc[r.criterion][r.item_id].append(r.value)
    return {c: {i: float(np.mean(v)) for i, v in by_item.items()} for c, by_item in acc.items()}


def exclude_raters(bench: Benchmark, names: Iterable[str]) -> Benchmark:
    """The benchmark without the ratings of these raters (``--exclude-rater``); an unknown name is a usage error."""
    drop = list(dict.fromkeys(names))
    if not drop:
        return bench
    known = bench.raters()
    unknown = [n for n in drop if n not in known]
    if unknown:
        raise UsageError(
            f"--exclude-rater {unknown}: no such rater in benchmark {bench.name!r}; expected one of {known}"
        )
    gone = set(drop)
    kept = [r for r in bench.ratings if r.rater not in gone]
    return bench.model_copy(update={"ratings": kept})


def most_common_rating(m: np.ndarray) -> float | None:
    """The experts' most common rating (the smallest on ties): the constant the chance judge answers."""
    values = m[~np.isnan(m)]
    if values.size == 0:
        return None
    uniq, counts = np.unique(values, return_counts=True)
    return float(uniq[int(np.argmax(counts))])
