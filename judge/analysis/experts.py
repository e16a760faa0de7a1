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
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from judge.analysis.stats.raters import RaterMatch, rater_matches
from judge.data.benchmark import Benchmark
from judge.data.names import normal_name
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
    drop = list(dict.fromkeys(normal_name(n) for n in names))
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


# -- is the judge one of the raters? ---------------------------------------------------------------------------------
#
# One check for every verb that pairs a judge with the experts (agree, leaderboard --judges, calibrate, estimate,
# show, view): a judge named like a rater (its name or its model id), or answering like one (``rater_matches``), may
# be that rater, and would then be paired with itself.


def named_like_raters(names: Iterable[str], raters: Iterable[str]) -> list[str]:
    """The raters whose name equals one of a judge's names (its name, its model id), compared as names are
    (``judge.data.names``: NFC, trimmed) and case aside."""
    mine = {normal_name(n).casefold() for n in names if n}
    return [r for r in raters if normal_name(r).casefold() in mine]


def rater_warning(judge: str, rater: str, criterion: str | None = None, match: RaterMatch | None = None) -> str:
    """The one wording of "this judge may be that rater": by its scores (``match``) or by its name."""
    fix = f"leave the rater out with --exclude-rater {rater}"
    if match is not None:
        return (
            f"{criterion}: judge {judge!r} gives the same score as rater {match.rater!r} on {match.share:.0%} of "
            f"{match.n_shared} shared items: is the judge that rater? Its agreement is then agreement with itself; "
            f"{fix}"
        )
    return (
        f"judge {judge!r} has the name of rater {rater!r}: if it is that rater, it is paired with itself (its "
        f"agreement is agreement with itself); {fix}, or rename the judge"
    )


def same_rater_warnings(
    bench: Benchmark,
    judges: Mapping[str, tuple[Sequence[str], Mapping[str, Mapping[str, float | None]]]],
    criteria: Sequence[str],
) -> list[str]:
    """Both checks for the verbs that pair judges with experts without computing agreement.

    Args:
        judges: judge -> (its other names: run judge name, model id; criterion -> item id -> score).
        criteria: the criteria compared.
    """
    out: list[str] = []
    raters = bench.raters()
    for judge, (names, scores) in judges.items():
        out += [rater_warning(judge, r) for r in named_like_raters([judge, *names], raters)]
        for c in criteria:
            by_item = scores.get(c)
            if not by_item:
                continue
            crit_raters, items, m = expert_matrix(bench, c)
            vec = np.array([np.nan if (v := by_item.get(i)) is None else float(v) for i in items])
            out += [rater_warning(judge, x.rater, c, x) for x in rater_matches(vec, m, crit_raters)]
    return out
