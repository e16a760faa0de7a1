"""System-level agreement: do the judge's means per system agree with the experts' means per system?

Published judge studies report this alongside item-level agreement, because a leaderboard only needs systems in the
right order at the right distances. Over the systems' mean scores (judge) and mean expert ratings (experts) on the
same items:

- ``ICC(C,1)``: consistency of the two columns of system means (a constant offset of the judge does not count);
- ``ICC(A,1)``: absolute agreement (the offset counts: would the judge's means read as the experts' means?);
- Spearman's rho and Kendall's tau-b of the system rankings.

CIs resample posts (the items of one post move together, as in the system leaderboard) and recompute every
system mean in each resample. Only systems with at least ``MIN_ITEMS`` items take part (a mean of one or two items
would rank noise); the number left out is reported.

Example::

    from judge.analysis.stats.system import system_agreement
    res = system_agreement(judge_scores, expert_means, systems, posts, n_boot=2000)
    res.icc_a1.value, res.spearman.ci
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from judge.analysis.stats.correlation import Estimate, IccEstimate, constant_note, icc_rows
from judge.analysis.stats.resample import MIN_ITEMS, FloatArray, cluster_counts, percentile_ci, too_few

_MIN_SYSTEMS = 3


class SystemAgreement(BaseModel):
    """Agreement of system means (judge vs experts), with CIs over posts."""

    model_config = ConfigDict(extra="forbid")

    n_systems: int = Field(description="Systems with at least 5 items scored by the judge and rated by experts.")
    n_left_out: int = Field(default=0, description="Systems left out for having fewer items.")
    n_posts: int
    icc_c1: IccEstimate
    icc_a1: IccEstimate
    spearman: Estimate
    kendall: Estimate
    note: str | None = None


def _rank_rows(a: FloatArray) -> FloatArray:
    return np.asarray(stats.rankdata(a, axis=1), dtype=float)


def _pearson_rows(a: FloatArray, b: FloatArray) -> FloatArray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (a * b).sum(axis=1) / den
    r[~(den > 0)] = np.nan
    return r


def _kendall_rows(a: FloatArray, b: FloatArray) -> FloatArray:
    sa = np.sign(a[:, :, None] - a[:, None, :])
    sb = np.sign(b[:, :, None] - b[:, None, :])
    num = (sa * sb).sum(axis=(1, 2))
    den = np.sqrt((sa * sa).sum(axis=(1, 2)) * (sb * sb).sum(axis=(1, 2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num / den
    t[~(den > 0)] = np.nan
    return t


def _four(jm: FloatArray, em: FloatArray) -> FloatArray:
    """ICC(C,1), ICC(A,1), Spearman, Kendall for rows of system means ``(B, S)`` -> ``(B, 4)``."""
    stack = np.stack([jm, em], axis=2)
    return np.column_stack(
        [
            icc_rows(stack, "C,1"),
            icc_rows(stack, "A,1"),
            _pearson_rows(_rank_rows(jm), _rank_rows(em)),
            _kendall_rows(jm, em),
        ]
    )


def system_agreement(
    judge: npt.ArrayLike,
    experts: npt.ArrayLike,
    systems: npt.ArrayLike,
    posts: npt.ArrayLike,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> SystemAgreement:
    """System-level ICC(C,1), ICC(A,1), Spearman and Kendall with post-clustered bootstrap CIs.

    Args:
        judge: ``(n,)`` the judge's score per item (items it scored and experts rated).
        experts: ``(n,)`` the experts' mean rating per item.
        systems, posts: ``(n,)`` each item's system and post (names or integer codes).
        n_boot, seed: resamples of posts.
    """
    x, y = np.asarray(judge, dtype=float), np.asarray(experts, dtype=float)
    _, sys_of = np.unique(np.asarray(systems), return_inverse=True)
    sys_of = np.asarray(sys_of).ravel()
    sizes = np.bincount(sys_of)
    keep = sizes >= MIN_ITEMS
    left_out = int((~keep).sum())
    item_ok = keep[sys_of] if len(sys_of) else np.zeros(0, dtype=bool)
    x, y = x[item_ok], y[item_ok]
    _, post_of = np.unique(np.asarray(posts)[item_ok], return_inverse=True)
    post_of = np.asarray(post_of).ravel()
    col = np.cumsum(keep) - 1  # system code -> column among the kept systems
    s_idx = col[sys_of[item_ok]]
    n_sys, n_posts = int(keep.sum()), int(post_of.max() + 1) if len(post_of) else 0

    def empty(note: str) -> SystemAgreement:
        return SystemAgreement(
            n_systems=n_sys,
            n_left_out=left_out,
            n_posts=n_posts,
            icc_c1=IccEstimate(form="C,1", value=None, n=n_sys, note=note),
            icc_a1=IccEstimate(form="A,1", value=None, n=n_sys, note=note),
            spearman=Estimate(value=None, n=n_sys, note=note),
            kendall=Estimate(value=None, n=n_sys, note=note),
            note=note,
        )

    if n_sys < _MIN_SYSTEMS:
        return empty(f"needs at least {_MIN_SYSTEMS} systems with >= {MIN_ITEMS} items each, got {n_sys}")
    cell = post_of * n_sys + s_idx
    sx = np.bincount(cell, weights=x, minlength=n_posts * n_sys).reshape(n_posts, n_sys)
    sy = np.bincount(cell, weights=y, minlength=n_posts * n_sys).reshape(n_posts, n_sys)
    cnt = np.bincount(cell, minlength=n_posts * n_sys).reshape(n_posts, n_sys).astype(float)
    jm, em = sx.sum(axis=0) / cnt.sum(axis=0), sy.sum(axis=0) / cnt.sum(axis=0)
    point = _four(jm[None, :], em[None, :])[0]
    rank_note = constant_note(jm, em, "rank correlation of systems")
    thin = too_few(n_sys, n_posts, what="system")
    boot = np.empty((0, 4))
    if thin is None and n_boot > 0:
        counts = cluster_counts(n_posts, n_boot, np.random.default_rng(seed))
        with np.errstate(invalid="ignore", divide="ignore"):
            bj = (counts @ sx) / (counts @ cnt)
            be = (counts @ sy) / (counts @ cnt)
        boot = np.full((n_boot, 4), np.nan)
        full = ~np.isnan(bj).any(axis=1)
        boot[full] = _four(bj[full], be[full])
        for b in np.flatnonzero(~full):  # a system none of whose posts was drawn: rank the ones that were
            ok = ~np.isnan(bj[b])
            if ok.sum() >= _MIN_SYSTEMS:
                boot[b] = _four(bj[b, ok][None, :], be[b, ok][None, :])[0]

    def est(k: int) -> tuple[float | None, tuple[float, float] | None, str | None]:
        value = None if np.isnan(point[k]) else float(point[k])
        if value is None:
            return None, None, rank_note or "undefined: no spread in the system means"
        if thin:
            return value, None, thin
        return value, percentile_ci(boot[:, k]) if len(boot) else None, None

    fields = [est(k) for k in range(4)]
    (c1, c1_ci, c1_note), (a1, a1_ci, a1_note), (rho, rho_ci, rho_note), (tau, tau_ci, tau_note) = fields
    return SystemAgreement(
        n_systems=n_sys,
        n_left_out=left_out,
        n_posts=n_posts,
        icc_c1=IccEstimate(form="C,1", value=c1, ci=c1_ci, n=n_sys, note=c1_note),
        icc_a1=IccEstimate(form="A,1", value=a1, ci=a1_ci, n=n_sys, note=a1_note),
        spearman=Estimate(value=rho, ci=rho_ci, n=n_sys, note=rho_note),
        kendall=Estimate(value=tau, ci=tau_ci, n=n_sys, note=tau_note),
    )
