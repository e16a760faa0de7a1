"""Pairwise agreement (kappa over rater pairs): the headline, computed the same way for a judge and for the experts.

A judge is compared with the experts over **judge-expert pairs only**: on every item the judge scored, one pair
``(judge score, rating)`` per expert rating of the item. The experts' own figure, their ceiling, uses the pairs of
two different experts' ratings of one item (both orders, so neither expert of a pair is "first"). Both are::

    kappa = 1 - D_o / D_e
    D_o   = mean over the pairs of delta(a, b)                             disagreement seen on the same item
    D_e   = mean over every value a of side 1 and b of side 2 of delta(a, b)  disagreement of two values drawn
                                                                               independently, each from its side

with the distance ``delta`` of the level of measurement: nominal ``1[a != b]`` (Cohen's kappa), ordinal
Krippendorff's ordinal distance over the pooled values of the pairs, interval ``(a - b)^2`` (quadratic-weighted
kappa). On one pair per item and the interval level this is the quadratic-weighted kappa of
``judge.analysis.stats.correlation.quadratic_kappa``.

How to read it: 1 is perfect agreement; 0 is what a judge that ignores the item reaches (a constant judge scores
exactly 0 whatever its constant, a judge whose scores are shuffled across items scores 0 on average, whatever its
scale use); below 0 is systematic disagreement. A shift of the judge's scale (bias) is not forgiven: it adds to
``D_o``. For the experts, with the same two sides, ``D_e`` is Krippendorff's expected disagreement without the
small-sample correction: ``1 - kappa = (1 - alpha) * n / (n - 1)`` when every item has two ratings (``n`` values).

Why not "alpha with the judge as one more rater": that statistic keeps the expert-expert pairs, so on RESORT a
constant judge scored 0.23 against the experts' 0.49 and looked half as good as an expert.

Each unit (item) contributes a row of sufficient statistics (a table of value pairs over the value domain, or, for
the interval level, six moments); a bootstrap resample is a weight per unit, so a whole block of resamples is one
matrix product (``judge.analysis.stats.resample``).

Example::

    import numpy as np
    from judge.analysis.stats.pairwise import judge_pairs, expert_pairs
    experts = np.array([[1, 2, 3, np.nan], [2, 2, np.nan, 4]])   # raters x items
    judge = np.array([1, 3, 3, 4.0])
    judge_pairs(judge, experts, "ordinal").kappa()[0], expert_pairs(experts, "ordinal").kappa()[0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import Field

from judge.analysis.stats.alpha import Level, level_distances, value_domain
from judge.analysis.stats.correlation import Estimate
from judge.analysis.stats.resample import (
    FloatArray,
    Groups,
    block_size,
    item_weight_blocks,
    percentile_ci,
    too_few,
    unique_rows,
)

MOMENTS = ("n", "sx", "sxx", "sy", "syy", "sxy")


class Headline(Estimate):
    """The headline: pairwise kappa with its 95% CI (``value`` None when undefined, with a ``note``)."""

    n_pairs: int = Field(default=0, description="Rating pairs the statistic was computed on.")


@dataclass(frozen=True)
class PairTable:
    """Per-unit sufficient statistics of rating pairs, collapsed into the distinct patterns that occur.

    ``patterns`` is ``(P, F)``: for nominal and ordinal data the flattened ``V x V`` table of value pairs (side 1
    value, side 2 value) over ``domain``; for interval data the moments ``n, sum x, sum x^2, sum y, sum y^2,
    sum xy`` of the pairs. ``unit_pattern`` gives each unit's row; weighting units (a bootstrap resample) and
    summing gives the table or moments of the resampled data. ``freq`` is how many items each unit stands for in
    the sample itself (1 unless the units are already patterns of items).
    """

    level: Level
    domain: FloatArray
    patterns: FloatArray
    units: Groups  # each unit's pattern
    freq: FloatArray

    @property
    def n_units(self) -> int:
        return len(self.units.group)

    @property
    def n_pairs(self) -> int:
        return round(float(self.totals()[0].sum() if self.level != "interval" else self.totals()[0, 0]))

    @property
    def n_items(self) -> int:
        """Items with at least one pair."""
        size = self.patterns.sum(axis=1) if self.level != "interval" else self.patterns[:, 0]
        return round(float(self.freq[size[self.units.group] > 0].sum()))

    def totals(self, weights: FloatArray | None = None, *, weights_t: FloatArray | None = None) -> FloatArray:
        """Summed rows ``(B, F)`` for unit weights ``(B, n)``, or transposed ``(n, B)`` (None: the sample itself)."""
        if weights_t is not None:
            counts = self.units.sum_t(weights_t)
        elif weights is not None:
            counts = self.units.sum(weights)
        else:
            sample = np.bincount(self.units.group, weights=self.freq, minlength=len(self.patterns))
            counts = np.asarray(sample, dtype=float)[np.newaxis, :]
        return counts @ self.patterns

    def kappa(self, weights: FloatArray | None = None, *, weights_t: FloatArray | None = None) -> FloatArray:
        """Pairwise kappa for each row of unit weights (NaN where undefined: no pairs, or no spread at all)."""
        return kappa_from_totals(self.totals(weights, weights_t=weights_t), self.level, self.domain)


def kappa_from_totals(totals: FloatArray, level: Level, domain: FloatArray) -> FloatArray:
    """Pairwise kappa from summed pair tables ``(B, V*V)`` or interval moments ``(B, 6)``; NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if level == "interval":
            n, sx, sxx, sy, syy, sxy = totals.T
            observed = (sxx - 2.0 * sxy + syy) / n
            expected = sxx / n + syy / n - 2.0 * (sx / n) * (sy / n)
            # Without any spread the moments cancel only up to rounding: a tiny expected value is zero.
            floor = 1e-12 * (sxx / n + syy / n)
        else:
            v = len(domain)
            if v == 0:  # no value at all: no pair
                return np.full(totals.shape[0], np.nan)
            t = totals.reshape(-1, v, v)
            rows, cols = t.sum(axis=2), t.sum(axis=1)
            n = rows.sum(axis=1)
            d = level_distances(domain, level, rows + cols)
            observed = np.einsum("bij,bij->b", t, d) / n
            expected = np.einsum("bi,bij,bj->b", rows, d, cols) / (n * n)
            floor = np.zeros_like(expected)
        out = 1.0 - observed / expected
    out[~(expected > floor) | ~(n > 0)] = np.nan
    # A constant judge is exactly at chance (observed = expected); do not report the rounding as a value.
    out[np.abs(out) < 1e-12] = 0.0
    return np.asarray(out, dtype=float)


def _table(rows: FloatArray, level: Level, domain: FloatArray, freq: npt.ArrayLike | None = None) -> PairTable:
    patterns, unit_pattern = unique_rows(rows)
    f = np.ones(len(unit_pattern)) if freq is None else np.asarray(freq, dtype=float)
    return PairTable(level, domain, patterns, Groups(unit_pattern), f)


def _counts(m: FloatArray, domain: FloatArray) -> FloatArray:
    """``(n, V)``: how many ratings of each unit take each value of ``domain``."""
    return (m.T[..., np.newaxis] == domain[np.newaxis, np.newaxis, :]).sum(axis=1).astype(float)


def _domain(level: Level, values: FloatArray, scale: Sequence[float] | None) -> FloatArray:
    if level == "interval":
        return np.empty(0)
    return value_domain(values, scale)


def judge_pairs(
    judge: npt.ArrayLike,
    experts: npt.ArrayLike,
    level: Level,
    scale: Sequence[float] | None = None,
    freq: npt.ArrayLike | None = None,
) -> PairTable:
    """The judge-expert pairs of each unit.

    Args:
        judge: ``(n,)`` the judge's score per unit, NaN = not scored (the unit gives no pair).
        experts: ``(M, n)`` raters x units, NaN = not rated.
        level: level of measurement (picks the distance).
        scale: the rubric's scale points (the value domain; observed values are added).
        freq: ``(n,)`` how many items each unit stands for (default 1 each).
    """
    x = np.asarray(judge, dtype=float)
    m = np.asarray(experts, dtype=float)
    if m.ndim != 2 or x.shape != (m.shape[1],):
        raise ValueError(f"judge must be (n,) and experts (raters, n); got {x.shape} and {m.shape}")
    m = np.where(np.isnan(x)[np.newaxis, :], np.nan, m)  # an unscored unit gives no pair
    present = ~np.isnan(m)
    k = present.sum(axis=0).astype(float)  # pairs per unit
    xs = np.where(k > 0, np.nan_to_num(x), 0.0)
    if level == "interval":
        vals = np.where(present, m, 0.0)
        sy, syy = vals.sum(axis=0), (vals * vals).sum(axis=0)
        rows = np.column_stack([k, k * xs, k * xs * xs, sy, syy, xs * sy])
        return _table(rows, level, np.empty(0), freq)
    domain = _domain(level, np.concatenate([m[present], x[k > 0]]), scale)
    cnt = _counts(m, domain)  # (n, V)
    onehot = (x[:, np.newaxis] == domain[np.newaxis, :]).astype(float)  # (n, V); all zero where x is NaN
    rows = (onehot[:, :, np.newaxis] * cnt[:, np.newaxis, :]).reshape(len(x), -1)
    return _table(rows, level, domain, freq)


def expert_pairs(experts: npt.ArrayLike, level: Level, scale: Sequence[float] | None = None) -> PairTable:
    """The pairs of two different experts' ratings of each unit, both orders.

    Args:
        experts: ``(M, n)`` raters x units, NaN = not rated.
    """
    m = np.asarray(experts, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"experts must be raters x units (2-D), got shape {m.shape}")
    present = ~np.isnan(m)
    k = present.sum(axis=0).astype(float)
    pairable = k >= 2
    if level == "interval":
        vals = np.where(present & pairable[np.newaxis, :], m, 0.0)
        s, s2 = vals.sum(axis=0), (vals * vals).sum(axis=0)
        kk = np.where(pairable, k, 0.0)
        rows = np.column_stack([kk * (kk - 1), (kk - 1) * s, (kk - 1) * s2, (kk - 1) * s, (kk - 1) * s2, s * s - s2])
        rows[~pairable] = 0.0
        return _table(rows, level, np.empty(0))
    domain = _domain(level, m[present], scale)
    cnt = _counts(m, domain) * pairable[:, np.newaxis]
    v = len(domain)
    outer = cnt[:, :, np.newaxis] * cnt[:, np.newaxis, :]
    outer[:, np.arange(v), np.arange(v)] -= cnt
    return _table(outer.reshape(m.shape[1], v * v), level, domain)


def one_pair_each(x: npt.ArrayLike, y: npt.ArrayLike, level: Level, scale: Sequence[float] | None = None) -> PairTable:
    """One pair ``(x_i, y_i)`` per unit (NaN on either side: no pair), e.g. a judge against one expert."""
    return judge_pairs(x, np.asarray(y, dtype=float)[np.newaxis, :], level, scale)


# -- estimates ----------------------------------------------------------------------------------------------------


def headline(
    table: PairTable,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    boot: FloatArray | None = None,
    confidence: float = 0.95,
) -> Headline:
    """The point estimate and a percentile bootstrap CI over units.

    Args:
        table: the pairs.
        n_boot, seed: resamples of units (``resample.item_weight_blocks``), unless ``boot`` is given.
        boot: kappas already computed on shared resamples (see ``judge.analysis.agreement``).
        confidence: coverage of the CI.
    """
    value = float(table.kappa()[0])
    n, pairs = table.n_items, table.n_pairs
    if np.isnan(value):
        note = (
            "no item has a rating pair"
            if pairs == 0
            else "undefined: every rating in the pairs is the same value, there is no disagreement to expect"
        )
        return Headline(value=None, n=n, n_pairs=pairs, note=note)
    thin = too_few(n)
    if thin:
        return Headline(value=value, n=n, n_pairs=pairs, note=thin)
    if boot is None:
        boot = (
            np.concatenate([table.kappa(w) for w in item_weight_blocks(table.n_units, n_boot, seed)])
            if n_boot > 0
            else np.empty(0)
        )
    ci = percentile_ci(boot, confidence) if len(boot) else None
    return Headline(value=value, ci=ci, n=n, n_pairs=pairs)


def permuted_kappas(
    judge: npt.ArrayLike,
    experts: npt.ArrayLike,
    level: Level,
    scale: Sequence[float] | None = None,
    *,
    n_perm: int = 2000,
    seed: int = 0,
) -> FloatArray:
    """Pairwise kappa of the judge's own scores shuffled across the items it scored, ``n_perm`` times.

    Only items with at least one expert rating take part (the others give no pair). The shuffles are vectorised:
    for interval data only three sums depend on the order; for the other levels one bincount per block of shuffles
    counts the judge values each pattern of expert values receives.
    """
    x = np.asarray(judge, dtype=float)
    m = np.asarray(experts, dtype=float)
    use = ~np.isnan(x) & (~np.isnan(m)).any(axis=0)
    x, m = x[use], m[:, use]
    n = len(x)
    if n < 2 or n_perm <= 0:
        return np.empty(0)
    rng = np.random.default_rng(seed)
    present = ~np.isnan(m)
    k = present.sum(axis=0).astype(float)
    out = np.empty(n_perm)
    chunk = block_size(n, n_perm)
    if level == "interval":
        vals = np.where(present, m, 0.0)
        sy, syy = vals.sum(axis=0), (vals * vals).sum(axis=0)
        for start in range(0, n_perm, chunk):
            size = min(chunk, n_perm - start)
            xp = rng.permuted(np.tile(x, (size, 1)), axis=1)  # each row: the judge's scores, shuffled
            totals = np.column_stack(
                [
                    np.full(size, k.sum()),
                    xp @ k,
                    (xp * xp) @ k,
                    np.full(size, sy.sum()),
                    np.full(size, syy.sum()),
                    xp @ sy,
                ]
            )
            out[start : start + size] = kappa_from_totals(totals, level, np.empty(0))
        return out
    domain = _domain(level, np.concatenate([m[present], x]), scale)
    v = len(domain)
    # Items with the same expert values are interchangeable targets: a shuffle only decides how many items of each
    # expert pattern receive each judge value, counted with one bincount over (judge value, pattern) codes.
    patterns, pattern_of = unique_rows(_counts(m, domain))
    k = len(patterns)
    code = np.searchsorted(domain, x)
    for start in range(0, n_perm, chunk):
        size = min(chunk, n_perm - start)
        xp = rng.permuted(np.tile(code, (size, 1)), axis=1)
        keys = (xp * k + pattern_of[np.newaxis, :]) + (np.arange(size) * v * k)[:, np.newaxis]
        q = np.bincount(keys.ravel(), minlength=size * v * k).reshape(size, v, k).astype(float)
        t = q @ patterns  # (size, V, V): judge value x expert value
        out[start : start + size] = kappa_from_totals(t.reshape(size, v * v), level, domain)
    return out


def chance_permuted(kappas: FloatArray, n_items: int, n_pairs: int, confidence: float = 0.95) -> Headline:
    """The permuted judge's row: the mean kappa over the shuffles and the central ``confidence`` range of them."""
    ok = kappas[~np.isnan(kappas)]
    if len(ok) == 0:
        return Headline(value=None, n=n_items, n_pairs=n_pairs, note="undefined on every shuffle")
    return Headline(value=float(ok.mean()), ci=percentile_ci(ok, confidence), n=n_items, n_pairs=n_pairs)
