"""Paired agreement statistics between a judge and a reference (the experts' mean), with bootstrap CIs.

Every statistic takes two aligned 1-D arrays ``x`` (judge) and ``y`` (reference) over the same ``n`` items, with
no missing values (the caller drops unscored items and counts them). CIs are 95% percentile bootstraps over items.

Each statistic also has a form that takes a block of resample weights ``W`` ``(B, n)`` (how many times each item was
drawn; ``judge.analysis.stats.resample``) and returns ``(B,)`` values, so that every statistic of a criterion can be
computed on the same resamples without a Python loop per resample:

- Spearman and Kendall tau-b: items are counted in the cells of a (judge value x reference value) grid (``PairGrid``).
  Midranks of a resample with repeated items are weighted counts (a value's rank is the weight of the values below
  it plus half the weight of its ties, plus 1/2), so rho is a weighted Pearson correlation of the rows' and columns'
  midranks; concordant and discordant pairs are products of a cell's weight with suffix sums of the grid, and two
  copies of one item are a pair tied on both sides, exactly as ``scipy.stats.kendalltau`` counts them on the
  resampled data. Judges and expert means take few distinct values, so the grid is small whatever the items.
- Quadratic-weighted kappa, mean bias and the ICCs have closed forms in weighted sums and sums of squares.

Quadratic-weighted kappa is computed on the values themselves: ``1 - mean((x - y)^2) / mean_{i,j}((x_i - y_j)^2)``.
This equals Cohen's kappa with weights ``(v_a - v_b)^2`` (for an equally spaced scale the usual ``(a - b)^2 / (V -
1)^2``, the factor cancels) and stays defined when a judge's aggregated score falls between scale points.

ICC forms (McGraw & Wong 1996; two-way model, single rater): ``ICC(C,1)`` is consistency (a constant offset between
raters does not count against it; Shrout & Fleiss's ICC(3,1)), ``ICC(A,1)`` is absolute agreement (an offset counts;
Shrout & Fleiss's ICC(2,1)). See docs/agreement.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from judge.analysis.stats.resample import FloatArray, Groups, bootstrap_weighted, percentile_ci, too_few

IccForm = Literal["C,1", "A,1"]
Z95 = 1.959963984540054  # the 97.5% normal quantile, for Bland-Altman limits of agreement
_GRID_CELLS = 4_000_000  # resamples x grid cells per Kendall block
_GRID_MAX = 1_000_000  # grid cells above which Kendall's bootstrap falls back to one scipy call per resample


class Estimate(BaseModel):
    """A statistic with its 95% bootstrap CI. ``value`` is None when undefined (see ``note``)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    ci: tuple[float, float] | None = None
    n: int = Field(description="Items (or systems) the statistic was computed on.")
    note: str | None = None


class BiasResult(Estimate):
    """Mean difference judge - reference, with Bland-Altman 95% limits of agreement."""

    sd: float | None = Field(default=None, description="Standard deviation of the differences (ddof=1).")
    loa: tuple[float, float] | None = Field(default=None, description="bias -/+ 1.96 sd: 95% of differences.")


class IccEstimate(Estimate):
    """An intraclass correlation, named by its form (McGraw & Wong): ``C,1`` consistency, ``A,1`` agreement."""

    form: IccForm


# -- weighted building blocks --------------------------------------------------------------------------------------


class Ranker:
    """Midranks of a fixed vector under any resample weights (ties share their average rank, as scipy's)."""

    def __init__(self, values: npt.ArrayLike) -> None:
        self.groups = Groups(np.asarray(values, dtype=float))

    def ranks(self, weights: FloatArray) -> FloatArray:
        """``(B, n)`` 1-based midranks of each item within each resample ``weights`` ``(B, n)``."""
        gw = self.groups.sum(weights)
        below = np.cumsum(gw, axis=1) - gw
        mid = below + (gw + 1.0) / 2.0
        return mid[:, self.groups.group]


def weighted_pearson(a: FloatArray, b: FloatArray, weights: FloatArray) -> FloatArray:
    """Pearson's r of rows ``a``, ``b`` ``(B, n)`` with item weights ``(B, n)``; NaN where a side has no spread."""
    tot = weights.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        da = a - (weights * a).sum(axis=1, keepdims=True) / tot
        db = b - (weights * b).sum(axis=1, keepdims=True) / tot
        num = (weights * da * db).sum(axis=1)
        den = np.sqrt((weights * da * da).sum(axis=1) * (weights * db * db).sum(axis=1))
        r = num / den
    r[~(den > 1e-12 * np.maximum(np.abs(num), 1.0))] = np.nan
    return np.asarray(r)


def spearman_weighted(rx: Ranker, ry: Ranker, weights: FloatArray) -> FloatArray:
    """Spearman's rho for each row of item weights ``(B, n)``."""
    return weighted_pearson(rx.ranks(weights), ry.ranks(weights), weights)


class PairGrid:
    """Spearman's rho and Kendall's tau-b of ``(x, y)`` under resample weights, from weighted counts on the grid of
    distinct values (ranks, concordance and ties only depend on which cell a unit falls in)."""

    def __init__(self, x: npt.ArrayLike, y: npt.ArrayLike) -> None:
        xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self.x, self.y = xa, ya
        ux, ix = np.unique(xa, return_inverse=True)
        uy, iy = np.unique(ya, return_inverse=True)
        self.shape = (len(ux), len(uy))
        cell = ix.ravel() * len(uy) + iy.ravel()
        self.groups = Groups(cell)
        self.cells = cell[self.groups.first]  # the grid cell of each group
        self.fits = self.shape[0] * self.shape[1] <= _GRID_MAX
        self._ranks = None if self.fits else (Ranker(xa), Ranker(ya))

    def _grids(self, weights: FloatArray) -> Iterator[tuple[slice, FloatArray]]:
        vx, vy = self.shape
        chunk = max(1, _GRID_CELLS // (vx * vy))
        for s in range(0, weights.shape[0], chunk):
            gw = self.groups.sum(weights[s : s + chunk])
            grid = np.zeros((gw.shape[0], vx * vy))
            grid[:, self.cells] = gw
            yield slice(s, s + gw.shape[0]), grid.reshape(-1, vx, vy)

    def both(self, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(rho, tau)``, each ``(B,)``, for unit weights ``(B, n)``."""
        if not self.fits:
            assert self._ranks is not None
            return spearman_weighted(self._ranks[0], self._ranks[1], weights), self._loop(weights)
        rho, tau = np.empty(weights.shape[0]), np.empty(weights.shape[0])
        for sl, grid in self._grids(weights):
            rho[sl] = _rho_grid(grid)
            tau[sl] = _tau_b_grid(grid)
        return rho, tau

    def tau(self, weights: FloatArray) -> FloatArray:
        """``(B,)`` tau-b for unit weights ``(B, n)``."""
        if not self.fits:
            return self._loop(weights)
        out = np.empty(weights.shape[0])
        for sl, grid in self._grids(weights):
            out[sl] = _tau_b_grid(grid)
        return out

    def _loop(self, weights: FloatArray) -> FloatArray:
        reps = weights.astype(np.int64)
        return np.array(
            [stats.kendalltau(np.repeat(self.x, r), np.repeat(self.y, r)).statistic for r in reps], dtype=float
        )


def _rho_grid(t: FloatArray) -> FloatArray:
    """Spearman's rho from weighted counts ``t`` ``(B, Vx, Vy)``: midranks of the rows and columns, then Pearson."""
    rx, ry = t.sum(axis=2), t.sum(axis=1)
    mid_x = np.cumsum(rx, axis=1) - rx + (rx + 1.0) / 2.0
    mid_y = np.cumsum(ry, axis=1) - ry + (ry + 1.0) / 2.0
    n = rx.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = mid_x - (rx * mid_x).sum(axis=1, keepdims=True) / n
        dy = mid_y - (ry * mid_y).sum(axis=1, keepdims=True) / n
        sxx = (rx * dx * dx).sum(axis=1)
        syy = (ry * dy * dy).sum(axis=1)
        sxy = np.einsum("bij,bi,bj->b", t, dx, dy)
        den = np.sqrt(sxx * syy)
        r = sxy / den
    r[~(den > 1e-12 * np.maximum(np.abs(sxy), 1.0))] = np.nan
    return np.asarray(r)


def _tau_b_grid(t: FloatArray) -> FloatArray:
    """tau-b from weighted counts ``t`` ``(B, Vx, Vy)`` (x and y values in increasing order)."""
    # suffix[a, b] = weight with x > a and y > b; prefix_hi[a, b] = weight with x > a and y < b
    above = np.cumsum(t[:, ::-1, :], axis=1)[:, ::-1, :]  # x >= a
    above = np.concatenate([above[:, 1:, :], np.zeros_like(above[:, :1, :])], axis=1)  # x > a
    gt = np.cumsum(above[:, :, ::-1], axis=2)[:, :, ::-1]  # y >= b
    gt = np.concatenate([gt[:, :, 1:], np.zeros_like(gt[:, :, :1])], axis=2)  # y > b
    lt = np.cumsum(above, axis=2)  # y <= b
    lt = np.concatenate([np.zeros_like(lt[:, :, :1]), lt[:, :, :-1]], axis=2)  # y < b
    concordant = np.einsum("bij,bij->b", t, gt)
    discordant = np.einsum("bij,bij->b", t, lt)
    n = t.sum(axis=(1, 2))
    rx, ry = t.sum(axis=2), t.sum(axis=1)
    n0 = n * (n - 1) / 2.0
    n1 = (rx * (rx - 1) / 2.0).sum(axis=1)
    n2 = (ry * (ry - 1) / 2.0).sum(axis=1)
    den = np.sqrt((n0 - n1) * (n0 - n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = (concordant - discordant) / den
    tau[~(den > 0)] = np.nan
    return np.asarray(tau)


def moments(x: FloatArray, y: FloatArray) -> FloatArray:
    """Per-item rows ``1, x, x^2, y, y^2, xy`` ``(n, 6)``: weighted sums of them give every closed form below."""
    return np.column_stack([np.ones_like(x), x, x * x, y, y * y, x * y])


def kappa_from_moments(s: FloatArray) -> FloatArray:
    """Quadratic-weighted kappa from summed moments ``(B, 6)``; NaN where both sides are constant and equal."""
    n, sx, sxx, sy, syy, sxy = s.T
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = (sxx - 2.0 * sxy + syy) / n
        expected = sxx / n + syy / n - 2.0 * (sx / n) * (sy / n)
        k = 1.0 - observed / expected
        return np.where(expected > 1e-12 * (sxx / n + syy / n), k, np.nan)


def icc_from_moments(s: FloatArray, form: IccForm) -> FloatArray:
    """ICC of two raters (``x``, ``y``) from summed moments ``(B, 6)`` (``n`` = resampled items)."""
    n, sx, sxx, sy, syy, sxy = s.T
    with np.errstate(divide="ignore", invalid="ignore"):
        grand = (sx + sy) / (2.0 * n)
        ss_total = sxx + syy - 2.0 * n * grand**2
        ss_rows = (sxx + 2.0 * sxy + syy) / 2.0 - 2.0 * n * grand**2
        ss_cols = n * ((sx / n - grand) ** 2 + (sy / n - grand) ** 2)
        ms_rows = ss_rows / (n - 1.0)
        ms_cols = ss_cols
        ms_err = (ss_total - ss_rows - ss_cols) / (n - 1.0)
        den = ms_rows + ms_err
        if form == "A,1":
            den = den + 2.0 * (ms_cols - ms_err) / n
        icc = (ms_rows - ms_err) / den
        # No spread at all (every rating the same) leaves only rounding in the sums of squares: undefined.
        spread = ss_total > 1e-12 * (sxx + syy)
    return np.where(spread & (np.abs(den) > 0), icc, np.nan)


def icc_rows(m: FloatArray, form: IccForm) -> FloatArray:
    """ICC for a stack of complete matrices ``(B, n, k)`` (items x raters)."""
    _, n, k = m.shape
    grand = m.mean(axis=(1, 2))
    row = m.mean(axis=2)
    col = m.mean(axis=1)
    ss_total = ((m - grand[:, None, None]) ** 2).sum(axis=(1, 2))
    ss_rows = k * ((row - grand[:, None]) ** 2).sum(axis=1)
    ss_cols = n * ((col - grand[:, None]) ** 2).sum(axis=1)
    ms_rows = ss_rows / (n - 1)
    ms_cols = ss_cols / (k - 1)
    ms_err = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    den = ms_rows + (k - 1) * ms_err
    if form == "A,1":
        den = den + k * (ms_cols - ms_err) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = (ms_rows - ms_err) / den
    return np.where(np.abs(den) > 1e-12, icc, np.nan)


# -- checks --------------------------------------------------------------------------------------------------------


def _check_pair(x: FloatArray, y: FloatArray) -> None:
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("x and y must not contain NaN: drop unscored items (and count them) before calling")


def constant_note(x: FloatArray, y: FloatArray, what: str) -> str | None:
    """Why a rank correlation is undefined on these data (fewer than 3 items, or one side constant), else None."""
    if len(x) < 3:
        return f"{what} needs at least 3 items, got {len(x)}"
    if np.ptp(x) == 0:
        return f"{what} is undefined: the judge gave every item the same score ({x[0]:g})"
    if np.ptp(y) == 0:
        return f"{what} is undefined: the reference is the same ({y[0]:g}) on every item"
    return None


# -- point estimates (the resampled forms are above: PairGrid, *_from_moments) ------------------------------------

E = TypeVar("E", bound=Estimate)


def attach_ci(est: E, boot: FloatArray, n: int) -> E:
    """Attach the 95% percentile CI of resampled values ``boot`` to a point estimate over ``n`` items, or say why
    there is none (undefined value: left as is; fewer than 5 items: a "too few" note instead of a CI)."""
    if est.value is None:
        return est
    thin = too_few(n)
    if thin:
        est.ci, est.note = None, thin
        return est
    est.ci = percentile_ci(boot) if len(boot) else None
    return est


def spearman_point(x: FloatArray, y: FloatArray) -> Estimate:
    """Spearman's rho (``scipy.stats.spearmanr``) without a CI; undefined (None, with a note) below 3 items or when
    a side is constant."""
    note = constant_note(x, y, "Spearman's rho")
    if note:
        return Estimate(value=None, n=len(x), note=note)
    return Estimate(value=float(stats.spearmanr(x, y).statistic), n=len(x))


def kendall_point(x: FloatArray, y: FloatArray) -> Estimate:
    """Kendall's tau-b (``scipy.stats.kendalltau``) without a CI; undefined as ``spearman_point``."""
    note = constant_note(x, y, "Kendall's tau-b")
    if note:
        return Estimate(value=None, n=len(x), note=note)
    return Estimate(value=float(stats.kendalltau(x, y).statistic), n=len(x))


def quadratic_kappa_point(x: FloatArray, y: FloatArray) -> Estimate:
    """Quadratic-weighted kappa of two raters on the same items, without a CI (see ``quadratic_kappa``)."""
    n = len(x)
    if n < 2:
        return Estimate(value=None, n=n, note=f"weighted kappa needs at least 2 shared items, got {n}")
    value = float(kappa_from_moments(moments(x, y).sum(axis=0, keepdims=True))[0])
    if np.isnan(value):
        return Estimate(value=None, n=n, note="weighted kappa is undefined: one same score on both")
    return Estimate(value=value, n=n)


def icc_point(x: FloatArray, y: FloatArray, form: IccForm) -> IccEstimate:
    """ICC of two raters ``x``, ``y`` over the same items, without a CI (see ``icc``)."""
    n = len(x)
    if n < 2:
        return IccEstimate(form=form, value=None, n=n, note=f"ICC needs at least 2 items, got {n}")
    value = float(icc_from_moments(moments(x, y).sum(axis=0, keepdims=True), form)[0])
    if np.isnan(value):
        return IccEstimate(form=form, value=None, n=n, note="ICC is undefined: every rating is the same")
    return IccEstimate(form=form, value=value, n=n)


def bias_from_moments(s: FloatArray) -> FloatArray:
    """Mean bias ``x - y`` from summed moments ``(B, 6)`` (``moments``); NaN where no item is drawn."""
    n, sx, _, sy = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((sx - sy) / n)


# -- statistics with their CIs -------------------------------------------------------------------------------------


def spearman(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Spearman's rho (``scipy.stats.spearmanr``) with a bootstrap CI."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    est = spearman_point(x, y)
    if est.value is None:
        return est
    grid = PairGrid(x, y)
    est.ci = percentile_ci(bootstrap_weighted(lambda w: grid.both(w)[0], len(x), n_boot, seed))
    return est


def kendall_tau_b(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Kendall's tau-b (``scipy.stats.kendalltau``) with a bootstrap CI."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    est = kendall_point(x, y)
    if est.value is None:
        return est
    grid = PairGrid(x, y)
    est.ci = percentile_ci(bootstrap_weighted(grid.tau, len(x), n_boot, seed))
    return est


def bias_point(diff: FloatArray) -> BiasResult:
    """Mean of ``diff`` with Bland-Altman limits, no CI (``mean_bias`` and the agreement report add it)."""
    n = len(diff)
    if n == 0:
        return BiasResult(value=None, n=0, note="no item has both a judge score and an expert rating")
    bias = float(diff.mean())
    if n < 2:
        return BiasResult(value=bias, n=n, note="one item only: no spread, no limits of agreement")
    sd = float(diff.std(ddof=1))
    return BiasResult(value=bias, n=n, sd=sd, loa=(bias - Z95 * sd, bias + Z95 * sd))


def mean_bias(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> BiasResult:
    """Mean of ``x - y`` with a bootstrap CI, and Bland-Altman 95% limits of agreement ``bias -/+ 1.96 sd``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    rows = moments(x, y)
    res = bias_point(x - y)
    if res.sd is None:
        return res
    res.ci = percentile_ci(bootstrap_weighted(lambda w: bias_from_moments(w @ rows), len(x), n_boot, seed))
    return res


def quadratic_kappa(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Quadratic-weighted Cohen's kappa between two raters on the same items, with a bootstrap CI.

    ``kappa = 1 - sum_i (x_i - y_i)^2 / ((1/n) sum_i sum_j (x_i - y_j)^2)``, i.e. ``1 - sum w O / sum w E`` with
    ``w_ab = (v_a - v_b)^2``, ``O`` the observed and ``E`` the chance (product of margins) joint distribution.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    est = quadratic_kappa_point(x, y)
    if est.value is None:
        return est
    rows = moments(x, y)
    est.ci = percentile_ci(bootstrap_weighted(lambda w: kappa_from_moments(w @ rows), len(x), n_boot, seed))
    return est


def icc(matrix: FloatArray, form: IccForm, *, n_boot: int = 2000, seed: int = 0) -> IccEstimate:
    """ICC(C,1) or ICC(A,1) (McGraw & Wong 1996): two-way model, single rater, with a bootstrap CI over items.

    Args:
        matrix: ``(n, k)`` items x raters, complete (no NaN).
        form: ``"C,1"`` consistency (Shrout & Fleiss ICC(3,1)) or ``"A,1"`` absolute agreement (ICC(2,1)).
    """
    m = np.asarray(matrix, float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"ICC needs an items x raters matrix with at least 2 raters, got shape {m.shape}")
    if np.isnan(m).any():
        raise ValueError("ICC needs a complete matrix: drop items with a missing rating first")
    n = m.shape[0]
    if m.shape[1] == 2:
        est = icc_point(m[:, 0], m[:, 1], form)
    elif n < 2:
        est = IccEstimate(form=form, value=None, n=n, note=f"ICC needs at least 2 items, got {n}")
    else:
        value = float(icc_rows(m[np.newaxis], form)[0])
        est = IccEstimate(form=form, value=None if np.isnan(value) else value, n=n)
        if est.value is None:
            est.note = "ICC is undefined: every rating is the same"
    if est.value is None:
        return est
    est.ci = percentile_ci(bootstrap_weighted(lambda w: _icc_weighted(m, w, form), n, n_boot, seed))
    return est


def _icc_weighted(m: FloatArray, weights: FloatArray, form: IccForm) -> FloatArray:
    """ICC of an ``(n, k)`` matrix under item weights ``(B, n)``, by expanding each resample (k raters)."""
    if m.shape[1] == 2:
        return icc_from_moments(weights @ moments(m[:, 0], m[:, 1]), form)
    idx = [np.repeat(np.arange(m.shape[0]), w.astype(np.int64)) for w in weights]
    return icc_rows(np.stack([m[i] for i in idx]), form)


def icc_a1(matrix: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> IccEstimate:
    """ICC(A,1): two-way, absolute agreement, single rater (Shrout & Fleiss's ICC(2,1)); see ``icc``."""
    return icc(matrix, "A,1", n_boot=n_boot, seed=seed)


def icc_c1(matrix: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> IccEstimate:
    """ICC(C,1): two-way, consistency, single rater (Shrout & Fleiss's ICC(3,1)); see ``icc``."""
    return icc(matrix, "C,1", n_boot=n_boot, seed=seed)


def system_spearman(judge_means: dict[str, float], expert_means: dict[str, float]) -> Estimate:
    """Spearman's rho between systems' mean judge scores and mean expert ratings (no CI; see the agreement report
    for system-level agreement with CIs over posts)."""
    names = sorted(set(judge_means) & set(expert_means))
    x = np.array([judge_means[s] for s in names], float)
    y = np.array([expert_means[s] for s in names], float)
    note = constant_note(x, y, "system-level Spearman") if len(names) >= 3 else None
    if len(names) < 3:
        note = f"system-level Spearman needs at least 3 systems with scores, got {len(names)}"
    if note:
        return Estimate(value=None, n=len(names), note=note)
    return Estimate(value=float(stats.spearmanr(x, y).statistic), n=len(names))


__all__ = [
    "BiasResult",
    "Estimate",
    "IccEstimate",
    "IccForm",
    "PairGrid",
    "Ranker",
    "attach_ci",
    "bias_from_moments",
    "icc",
    "icc_a1",
    "icc_c1",
    "icc_point",
    "kendall_point",
    "kendall_tau_b",
    "mean_bias",
    "quadratic_kappa",
    "quadratic_kappa_point",
    "spearman",
    "spearman_point",
    "system_spearman",
]
