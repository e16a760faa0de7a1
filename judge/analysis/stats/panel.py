"""A judge against a panel of experts: every item-level statistic of ``judge agree``, on shared resamples.

For one criterion, the rated items are resampled once (``resample.item_weight_blocks_t``) and every statistic of
every judge, and the pairwise kappa of the experts and of the chance rows, is computed on the same draws: the
headline (``pairwise``), Spearman and Kendall tau-b against the expert mean (``correlation.PairGrid``), the mean bias,
the item-level ICC(A,1) and the quadratic-weighted kappa against each expert (closed forms in summed moments).

Items that agree on the judge's score and every expert's rating are interchangeable for every bootstrapped
statistic, so a judge's items are collapsed into patterns first: a resample's item weights become pattern weights
with one sparse product, and each statistic is then a small product over patterns.

Example::

    import numpy as np
    from judge.analysis.stats.panel import judge_panel, resample_panels, panel_statistics
    m = np.array([[1, 2, 3, 4, 5, 3.0], [2, 2, 3, 5, 4, np.nan]])     # raters x items
    p = judge_panel("j", np.array([1, 3, 3, 4, 4, 2.0]), m, ["a", "b"], "interval", [1, 2, 3, 4, 5])
    resample_panels([p], {}, 6, n_boot=500, seed=0, level="interval")
    panel_statistics(p, m, ["a", "b"], "interval")["spearman"].ci
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from judge.analysis.stats.alpha import Level
from judge.analysis.stats.correlation import (
    Estimate,
    IccEstimate,
    PairGrid,
    attach_ci,
    bias_from_moments,
    bias_point,
    constant_note,
    icc_from_moments,
    icc_point,
    kappa_from_moments,
    kendall_point,
    moments,
    quadratic_kappa_point,
    spearman_point,
)
from judge.analysis.stats.pairwise import PairTable, headline, judge_pairs
from judge.analysis.stats.resample import Groups, item_weight_blocks_t, post_weight_blocks_t, unique_rows

NOMINAL_KAPPA_NOTE = "weighted kappa is not computed for nominal criteria"


@dataclass
class JudgePanel:
    """One judge's data on one criterion, collapsed for the shared resamples, and the resampled values."""

    name: str
    vec: np.ndarray  # (items,) NaN = no score
    x: np.ndarray  # scored and rated items: judge score
    y: np.ndarray  # ... and the experts' mean
    patterns: Groups  # each item's pattern
    pairs: PairTable  # over patterns
    use: np.ndarray  # (patterns,) scored and rated
    grid: PairGrid | None  # (judge, expert mean) over the used patterns, None when a side is constant
    moments: np.ndarray  # (patterns, 6 * (1 + raters)): judge vs expert mean, then judge vs each expert
    raters: list[str]
    boot: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, key: str, values: np.ndarray) -> None:
        self.boot.setdefault(key, []).append(values)

    def resampled(self, key: str) -> np.ndarray:
        """The resampled values of one statistic (``headline``, ``spearman``, ``kendall``, ``bias``, ``icc``,
        ``kappa:<rater>``); empty when it was not resampled."""
        return np.concatenate(self.boot[key]) if key in self.boot else np.empty(0)


def judge_panel(
    name: str, vec: np.ndarray, m: np.ndarray, raters: list[str], level: Level, scale: Sequence[float]
) -> JudgePanel:
    """Collapse a judge's scores ``vec`` ``(items,)`` (NaN = none) and the ratings ``m`` ``(raters, items)``."""
    scored = ~np.isnan(vec)
    rated = (~np.isnan(m)).any(axis=0)
    use_items = scored & rated
    # Collapse items into patterns of (judge score, each expert's rating); unscored items share one empty pattern.
    key = np.column_stack([vec, m.T])
    key[~scored] = np.nan
    key = np.where(np.isnan(key), -np.inf, key)
    patterns, inverse = unique_rows(key)
    patterns = np.where(np.isinf(patterns), np.nan, patterns)
    xp, mp = patterns[:, 0], patterns[:, 1:].T
    use = ~np.isnan(xp) & (~np.isnan(mp)).any(axis=0)
    yp = np.full(len(xp), np.nan)
    if use.any():
        yp[use] = np.nanmean(mp[:, use], axis=0)
    blocks = [moments(np.where(use, xp, 0.0), np.where(use, yp, 0.0)) * use[:, None]]
    for r in range(len(raters)):
        both = ~np.isnan(xp) & ~np.isnan(mp[r])
        blocks.append(moments(np.where(both, xp, 0.0), np.where(both, mp[r], 0.0)) * both[:, None])
    x, y = vec[use_items], (np.nanmean(m[:, use_items], axis=0) if use_items.any() else np.empty(0))
    return JudgePanel(
        name=name,
        vec=vec,
        x=x,
        y=y,
        patterns=Groups(inverse),
        pairs=judge_pairs(xp, mp, level, scale, freq=np.bincount(inverse, minlength=len(xp))),
        use=use,
        grid=PairGrid(xp[use], yp[use]) if constant_note(x, y, "") is None else None,
        moments=np.hstack(blocks),
        raters=raters,
    )


def resample_panels(
    panels: Sequence[JudgePanel],
    tables: Mapping[str, PairTable],
    n_items: int,
    n_boot: int,
    seed: int,
    level: Level,
    posts: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every statistic of every judge (kept in each panel), and the kappas of ``tables`` (experts, chance), on the
    same ``n_boot`` resamples of the criterion's ``n_items`` rated items (or of their posts: ``posts``, each item's
    post code, resamples whole posts). Returns the tables' resampled kappas."""
    boot: dict[str, list[np.ndarray]] = {k: [] for k in tables}
    blocks = item_weight_blocks_t(n_items, n_boot, seed) if posts is None else post_weight_blocks_t(posts, n_boot, seed)
    for wt in blocks:  # (items, b): how often each item is drawn
        for k, table in tables.items():
            boot[k].append(table.kappa(weights_t=wt))
        for j in panels:
            wp = j.patterns.sum_t(wt)  # (b, patterns)
            j.add("headline", j.pairs.kappa(wp))
            sums = wp @ j.moments  # judge vs expert mean, then judge vs each expert
            j.add("bias", bias_from_moments(sums[:, :6]))
            if level == "interval":
                j.add("icc", icc_from_moments(sums[:, :6], "A,1"))
            if level != "nominal":
                for r, rater in enumerate(j.raters):
                    j.add(f"kappa:{rater}", kappa_from_moments(sums[:, 6 * (r + 1) : 6 * (r + 2)]))
            if j.grid is not None:
                rho, tau = j.grid.both(wp[:, j.use])
                j.add("spearman", rho)
                j.add("kendall", tau)
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in boot.items()}


def expert_kappas(j: JudgePanel, m: np.ndarray, raters: Sequence[str]) -> dict[str, Estimate]:
    """Quadratic-weighted kappa of the judge against each expert on the items both scored, with CIs."""
    out = {}
    for r, rater in enumerate(raters):
        both = ~np.isnan(j.vec) & ~np.isnan(m[r])
        est = quadratic_kappa_point(j.vec[both], m[r, both])
        out[rater] = attach_ci(est, j.resampled(f"kappa:{rater}"), est.n)
    return out


def panel_statistics(j: JudgePanel, m: np.ndarray, raters: Sequence[str], level: Level) -> dict[str, Any]:
    """The item-level statistics of one judge after ``resample_panels``: ``n_items``, ``headline``, ``spearman``,
    ``kendall``, ``bias`` (with limits of agreement), ``kappa`` per expert or ``kappa_note`` (nominal), and ``icc``
    (ICC(A,1) against the expert mean; interval criteria with at least 2 items)."""
    n = len(j.x)
    out: dict[str, Any] = {"n_items": n}
    out["headline"] = headline(j.pairs, boot=j.resampled("headline"))
    out["spearman"] = attach_ci(spearman_point(j.x, j.y), j.resampled("spearman"), n)
    out["kendall"] = attach_ci(kendall_point(j.x, j.y), j.resampled("kendall"), n)
    out["bias"] = attach_ci(bias_point(j.x - j.y), j.resampled("bias"), n)
    if level == "nominal":
        out["kappa_note"] = NOMINAL_KAPPA_NOTE
    else:
        out["kappa"] = expert_kappas(j, m, raters)
    if level == "interval" and n >= 2:
        icc: IccEstimate = icc_point(j.x, j.y, "A,1")
        out["icc"] = attach_ci(icc, j.resampled("icc"), n)
    return out
