"""Trivial judges as rows beside the real ones: a covariate (the reply's length) put on the experts' scale, the rule
that says when a judge is "not better than length", and agreement with length partialled out.

A covariate such as the number of characters of a reply is not a score on the rubric's scale, so the pairwise
headline cannot use it as is (its values would become the value domain). ``on_scale`` maps it by rank onto the
experts' ratings: the item whose covariate sits at the ``p``-th fraction of the rated items gets the ``p``-quantile of
the experts' pooled ratings (the inverted-CDF quantile, so every mapped value is a rating the experts gave; tied
covariates share one value). Only the marginal distribution of the ratings is used, never which item got which
rating, so the map learns nothing about the agreement it is then scored on. The mapped values give the headline,
bias and the kappas; rank statistics (Spearman, Kendall) are the raw covariate's own (the mapping would tie values).

**Not better than length** (``versus_baseline``): on the judge's own scored and rated items, the baseline's point
estimate of the headline and of Spearman is computed (the better of the length rows, characters or words); the judge
clears length on a statistic when the lower end of its 95% CI lies above that value. A judge that does not clear
length on the headline *or* on Spearman is marked. Without a CI (``--n-boot 0``, fewer than 5 items) nothing can be
cleared and the verdict is None (unknown), never a silent pass. Why a CI against a point, not a paired test: the
length row's own CI is as wide as the judge's, and the question a reader asks is "could this judge's agreement be
what a character count gets on these items?".

**Partial correlation** (``partial_rank``): Spearman's rho of judge and expert mean with the covariate's ranks
regressed out of both (the Pearson partial correlation of the three rank vectors), and Kendall's partial tau
(Kendall 1942: ``(t_xy - t_xz t_yz) / sqrt((1 - t_xz^2)(1 - t_yz^2))``). A judge that only counts words has partial
rho 0 against word count. The partial rho has a bootstrap CI over the same item resamples as the other statistics.

Example::

    import numpy as np
    from judge.analysis.stats.baseline import on_scale, partial_rank
    on_scale(np.array([10, 200, 50, 80.0]), np.array([1, 2, 2, 3, 4, 5.0]))        # -> [1, 4, 2, 3]
    partial_rank(np.array([1, 2, 3, 4, 5.0]), np.array([2, 1, 4, 3, 5.0]), np.array([1, 2, 3, 5, 4.0]))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from judge.analysis.stats.alpha import Level
from judge.analysis.stats.correlation import Estimate, Ranker, constant_note, spearman_point, weighted_pearson
from judge.analysis.stats.pairwise import judge_pairs
from judge.analysis.stats.resample import FloatArray, item_weight_blocks, percentile_ci, too_few


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def on_scale(values: FloatArray, ratings: FloatArray) -> FloatArray:
    """Map ``values`` ``(n,)`` (NaN = none) onto the distribution of ``ratings`` (any shape, NaN ignored) by rank.

    The item at midrank ``r`` of ``k`` values gets the ``(r - 0.5) / k`` inverted-CDF quantile of the sorted ratings;
    NaN stays NaN. With no rating or no value, every entry is NaN.
    """
    v = np.asarray(values, dtype=float)
    pool = np.sort(np.asarray(ratings, dtype=float)[~np.isnan(ratings)])
    out = np.full(v.shape, np.nan)
    has = ~np.isnan(v)
    if not has.any() or len(pool) == 0:
        return out
    ranks = stats.rankdata(v[has], method="average")
    p = (ranks - 0.5) / has.sum()
    idx = np.clip(np.ceil(p * len(pool)).astype(np.int64) - 1, 0, len(pool) - 1)
    out[has] = pool[idx]
    return out


# -- not better than length ----------------------------------------------------------------------------------------


class BaselinePoint(_Model):
    """A baseline's point estimates on one judge's items (the values a judge's CI must clear)."""

    baseline: str = Field(description="The baseline row the values come from.")
    headline: float | None = None
    spearman: float | None = None
    n_items: int = 0


class BaselineVerdict(_Model):
    """Whether a judge's headline and Spearman CIs clear the length rows on the judge's own items."""

    not_better: bool | None = Field(
        description="True: a CI does not clear length; False: both clear; None: no CI to decide with."
    )
    headline: BaselinePoint | None = Field(default=None, description="The best length row's headline on these items.")
    spearman: BaselinePoint | None = Field(default=None, description="The best length row's Spearman on these items.")
    reason: str = ""


def baseline_point(
    name: str,
    base: FloatArray,
    raw: FloatArray,
    judge: FloatArray,
    m: FloatArray,
    level: Level,
    scale: Sequence[float],
) -> BaselinePoint:
    """A baseline's headline (from ``base``, its values on the scale) and Spearman (from ``raw``, the covariate) on
    the items ``judge`` scored and the experts rated; all ``(items,)``, ``m`` ``(raters, items)``."""
    use = ~np.isnan(judge) & ~np.isnan(base) & (~np.isnan(m)).any(axis=0)
    b = np.where(use, base, np.nan)
    kappa = float(judge_pairs(b, m, level, scale).kappa()[0])
    rho = spearman_point(raw[use], np.nanmean(m[:, use], axis=0) if use.any() else np.empty(0)).value
    return BaselinePoint(
        baseline=name, headline=None if math.isnan(kappa) else kappa, spearman=rho, n_items=int(use.sum())
    )


def _best(points: list[BaselinePoint], key: str) -> BaselinePoint | None:
    have = [p for p in points if getattr(p, key) is not None]
    return max(have, key=lambda p: getattr(p, key)) if have else None


def versus_baseline(
    judge_headline: Estimate, judge_spearman: Estimate | None, points: list[BaselinePoint]
) -> BaselineVerdict:
    """The "not better than length" verdict (see the module docstring) from the judge's two estimates with CIs and
    the length rows' point estimates on the judge's items."""
    bh, bs = _best(points, "headline"), _best(points, "spearman")
    failed, unknown = [], []
    for what, est, base in (("headline", judge_headline, bh), ("Spearman", judge_spearman, bs)):
        if base is None:
            continue
        value = getattr(base, "headline" if what == "headline" else "spearman")
        if est is None or est.value is None or est.ci is None:
            unknown.append(what)
        elif est.ci[0] <= value:
            failed.append(f"{what} CI [{est.ci[0]:.2f}, {est.ci[1]:.2f}] does not clear {base.baseline} {value:.2f}")
    if failed:
        return BaselineVerdict(not_better=True, headline=bh, spearman=bs, reason="; ".join(failed))
    if unknown or (bh is None and bs is None):
        why = f"no CI for {', '.join(unknown)}" if unknown else "no length row on these items"
        return BaselineVerdict(not_better=None, headline=bh, spearman=bs, reason=why)
    return BaselineVerdict(not_better=False, headline=bh, spearman=bs, reason="both CIs clear length")


# -- partial correlation -------------------------------------------------------------------------------------------


class PartialRank(_Model):
    """Agreement with the expert mean with a covariate partialled out."""

    covariate: str = ""
    spearman: Estimate = Field(description="Partial Spearman's rho, with a bootstrap CI over items.")
    kendall: Estimate = Field(description="Kendall's partial tau (point estimate).")


def _partial(rxy: FloatArray, rxz: FloatArray, ryz: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.sqrt((1.0 - rxz * rxz) * (1.0 - ryz * ryz))
        out = (rxy - rxz * ryz) / den
    out[~(den > 1e-12)] = np.nan
    return np.asarray(out)


def partial_rank(
    x: FloatArray, y: FloatArray, z: FloatArray, *, covariate: str = "", n_boot: int = 0, seed: int = 0
) -> PartialRank:
    """Partial Spearman and Kendall of ``x`` and ``y`` given ``z`` (all ``(n,)``, no NaN), rho with a percentile CI
    over ``n_boot`` item resamples (``resample.item_weight_blocks``)."""
    n = len(x)
    note = constant_note(x, y, "partial correlation") or constant_note(x, z, "partial correlation")
    note = note or constant_note(y, z, "partial correlation")
    if note:
        empty = Estimate(value=None, n=n, note=note)
        return PartialRank(covariate=covariate, spearman=empty, kendall=empty.model_copy())
    ones = np.ones((1, n))
    rx, ry, rz = Ranker(x), Ranker(y), Ranker(z)
    rho = _partial(*_rank_rs(rx, ry, rz, ones))
    tau = _partial(
        np.array([stats.kendalltau(x, y).statistic]),
        np.array([stats.kendalltau(x, z).statistic]),
        np.array([stats.kendalltau(y, z).statistic]),
    )
    spear = Estimate(value=None if np.isnan(rho[0]) else float(rho[0]), n=n)
    if spear.value is not None:
        thin = too_few(n)
        if thin:
            spear.note = thin
        elif n_boot > 0:
            boot = np.concatenate([_partial(*_rank_rs(rx, ry, rz, w)) for w in item_weight_blocks(n, n_boot, seed)])
            spear.ci = percentile_ci(boot)
    kend = Estimate(value=None if np.isnan(tau[0]) else float(tau[0]), n=n)
    return PartialRank(covariate=covariate, spearman=spear, kendall=kend)


def _rank_rs(rx: Ranker, ry: Ranker, rz: Ranker, w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    a, b, c = rx.ranks(w), ry.ranks(w), rz.ranks(w)
    return weighted_pearson(a, b, w), weighted_pearson(a, c, w), weighted_pearson(b, c, w)
