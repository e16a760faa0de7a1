"""Systems ranked by their mean score: means, post-clustered bootstrap CIs and rank intervals.

A system leaderboard (``judge.analysis.leaderboard``) ranks systems by their mean score on a criterion. Items of one
post are not independent, so every resample draws posts (``resample.post_counts``) and takes all their items; every
system is evaluated on the same resampled posts, which is what makes the rank intervals meaningful. Ranks are
competition ranks (1 = best; ties share the smaller rank); a rank interval is the 2.5th to 97.5th percentile of the
bootstrap ranks, widened to the observed ranks just outside them so its bounds are ranks.

Example::

    import numpy as np
    from judge.analysis.stats.ranking import system_means
    from judge.analysis.stats.resample import post_counts
    values = np.array([3.0, 4, 5, 2, 4, 4]); systems = np.array([0, 0, 0, 1, 1, 1]); posts = np.array([0, 1, 2] * 2)
    res = system_means(values, systems, posts, 2, post_counts(3, 1000, seed=0), lower_is_better=False)
    res.means, res.ci, res.rank_ci
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from judge.analysis.stats.resample import FloatArray, percentile_columns

CI_LEVEL = 0.95


def competition_ranks(means: FloatArray, lower_is_better: bool) -> FloatArray:
    """Competition ranks (1 = best) along the last axis; NaN means stay NaN and do not push others down.

    Args:
        means: shape (..., n_systems), NaN = system without a score.
    """
    key = -means if lower_is_better else means
    better = key[..., None, :] > key[..., :, None]  # [..., s, j]: system j beats system s
    ranks = 1.0 + better.sum(axis=-1)
    return np.where(np.isnan(means), np.nan, ranks)


@dataclass(frozen=True)
class SystemMeans:
    """One criterion's system means and their bootstrap, NaN where a system has no score.

    Attributes:
        means, ranks: ``(S,)``.
        ci, rank_ci: ``(S, 2)``: the 95% percentile interval of the bootstrap means and ranks.
        boot: ``(B, S)`` the bootstrap means (NaN when none of a system's posts was drawn).
    """

    means: FloatArray
    ranks: FloatArray
    ci: FloatArray
    rank_ci: FloatArray
    boot: FloatArray


def system_means(
    values: FloatArray,
    sys_idx: np.ndarray,
    post_idx: np.ndarray,
    n_sys: int,
    counts: FloatArray,
    lower_is_better: bool,
    confidence: float = CI_LEVEL,
) -> SystemMeans:
    """Observed means and ranks of ``n_sys`` systems, with bootstrap CIs and rank intervals.

    Args:
        values: shape (n_items,), NaN = unscored.
        sys_idx, post_idx: shape (n_items,), the item's system and post.
        counts: shape (n_boot, n_posts), from ``resample.post_counts`` (shared by every criterion).
        lower_is_better: rank 1 is the lowest mean.
    """
    ok = ~np.isnan(values)
    n_posts = counts.shape[1]
    sums = np.zeros((n_sys, n_posts))
    cnt = np.zeros((n_sys, n_posts))
    np.add.at(sums, (sys_idx[ok], post_idx[ok]), values[ok])
    np.add.at(cnt, (sys_idx[ok], post_idx[ok]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums.sum(axis=1) / cnt.sum(axis=1)
        boot = (counts @ sums.T) / (counts @ cnt.T)  # (n_boot, S); NaN when none of a system's posts was drawn
    return SystemMeans(
        means=means,
        ranks=competition_ranks(means, lower_is_better),
        ci=percentile_columns(boot, confidence),
        rank_ci=percentile_columns(competition_ranks(boot, lower_is_better), confidence, outward=True),
        boot=boot,
    )
