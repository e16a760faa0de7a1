"""Held-out agreement before and after calibration: bias, MAE, Spearman and the headline, with post-clustered CIs.

``judge calibrate`` cross-fits a map (``judge.analysis.calibration``) and compares, on the held-out predictions,
the judge's raw scores and its calibrated scores with the experts. Every statistic is computed for the full sample
and for each bootstrap resample of posts (``resample.cluster_weights``: row 0 is the sample itself), on the same
draws for "before" and "after", so the change has a paired CI.

- bias: ``mean(judge - expert mean)``; MAE: ``mean |judge - expert mean|`` (pooled over items);
- Spearman and the headline (pairwise kappa with the experts at the criterion's level of measurement:
  ``pairwise.judge_pairs``) compare items with each other, so they are computed within each fold, where one map was
  applied, and averaged by fold size: pooling items calibrated by different fold maps would count the maps'
  differences as disagreement, which the one deployed map does not have.

The **held-out effect** of a calibrator on a criterion is the change of that headline, calibrated minus raw
(``HELD_OUT_EFFECT`` names it): the one definition ``judge calibrate`` reports and the judge board quotes.

A CI is given only when at least 90% (and at least 20) of the resamples define the statistic
(``resample.stable_percentile_ci``).

Example::

    from judge.analysis.stats.heldout import compare_held_out
    res = compare_held_out(experts, raw, calibrated, target, fold_of, post_ids, n_boot=1000, seed=0)
    res.before["bias"], res.change["abs_bias"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from judge.analysis.stats.alpha import Level
from judge.analysis.stats.correlation import Ranker, spearman_weighted
from judge.analysis.stats.pairwise import judge_pairs
from judge.analysis.stats.resample import FloatArray, cluster_weights, stable_percentile_ci

STATISTICS = ("bias", "mae", "spearman", "headline")
HELD_OUT_EFFECT = (
    "held-out effect: the change of the pairwise kappa with the experts at the criterion's level of measurement, "
    "calibrated minus raw, on posts held out of the map's fitting, within folds (averaged by fold size), CI over posts"
)
CHANGES = ("abs_bias", "mae", "spearman", "headline")

Interval = tuple[float | None, tuple[float, float] | None]
"""A point estimate (None: undefined) and its CI (None: undefined, or too many undefined resamples)."""


@dataclass(frozen=True)
class HeldOutComparison:
    """Each statistic before and after, and the change ``after - before`` (for bias: of ``|bias|``)."""

    before: dict[str, Interval]
    after: dict[str, Interval]
    change: dict[str, Interval]


def within_folds(per_fold: list[FloatArray], sizes: list[FloatArray]) -> FloatArray:
    """Size-weighted mean over folds of a per-fold statistic ``(B,)``, skipping folds where it is undefined."""
    vals, w = np.vstack(per_fold), np.vstack(sizes)
    w = np.where(np.isfinite(vals), w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.nansum(np.where(w > 0, vals, 0.0) * w, axis=0) / w.sum(axis=0))


def held_out_statistics(
    experts: FloatArray,
    judge: FloatArray,
    target: FloatArray,
    fold: FloatArray,
    w: FloatArray,
    level: Level = "interval",
) -> dict[str, FloatArray]:
    """Bias, |bias|, MAE, Spearman and the headline for every row of unit weights ``w`` ``(B, n)``.

    Args:
        experts: ``(raters, n)`` ratings, NaN = not rated.
        judge: ``(n,)`` the scores compared (raw or calibrated).
        target: ``(n,)`` the experts' mean per item.
        fold: ``(n,)`` each item's cross-fitting fold.
        w: ``(B, n)`` how often each item is drawn in each resample.
        level: the criterion's level of measurement: the headline's distance.
    """
    err = judge - target
    tot = w.sum(axis=1)
    bias = (w @ err) / tot
    pairs = judge_pairs(judge, experts, level)
    rho, kappa, sizes = [], [], []
    for f in np.unique(fold):
        inside = fold == f
        wf = w[:, inside]
        r = spearman_weighted(Ranker(judge[inside]), Ranker(target[inside]), wf)
        r[wf.sum(axis=1) < 3] = np.nan  # Spearman needs three items
        rho.append(r)
        kappa.append(pairs.kappa(w * inside))
        sizes.append(wf.sum(axis=1))
    return {
        "bias": bias,
        "abs_bias": np.abs(bias),
        "mae": (w @ np.abs(err)) / tot,
        "spearman": within_folds(rho, sizes),
        "headline": within_folds(kappa, sizes),
    }


def sample_and_ci(values: FloatArray, confidence: float = 0.95) -> Interval:
    """Row 0 of ``values`` is the statistic on the sample, the rest its resamples: the value and its CI."""
    point = values[0]
    if not np.isfinite(point):
        return None, None
    return float(point), stable_percentile_ci(values[1:], confidence)


def compare_held_out(
    experts: FloatArray,
    raw: FloatArray,
    calibrated: FloatArray,
    target: FloatArray,
    fold: FloatArray,
    post_ids: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    confidence: float = 0.95,
    level: Level = "interval",
) -> HeldOutComparison:
    """The held-out statistics of the raw and the calibrated scores on the same resamples of posts, and their
    change, each with its CI (see the module docstring)."""
    weights = cluster_weights(post_ids, n_boot, seed, with_original=True)
    before = held_out_statistics(experts, raw, target, fold, weights, level)
    after = held_out_statistics(experts, calibrated, target, fold, weights, level)
    return HeldOutComparison(
        before={n: sample_and_ci(before[n], confidence) for n in STATISTICS},
        after={n: sample_and_ci(after[n], confidence) for n in STATISTICS},
        change={n: sample_and_ci(after[n] - before[n], confidence) for n in CHANGES},
    )
