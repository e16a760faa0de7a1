"""Paired agreement statistics between a judge and a reference (the experts' mean), with bootstrap CIs.

Every statistic takes two aligned 1-D arrays ``x`` (judge) and ``y`` (reference) over the same ``n`` items, with
no missing values (the caller drops unscored items and counts them). CIs are 95% percentile bootstraps over
items, computed for a whole block of resamples at once:

- Spearman: the resampled values ``x[idx]`` of shape ``(B, n)`` are ranked row-wise (``scipy.stats.rankdata``,
  midranks for ties) and correlated row-wise.
- Kendall tau-b: with ``k`` the ``(B, n)`` counts of how often each item was drawn and ``A = sign(x_i - x_j)
  sign(y_i - y_j)``, ``2 (P - Q) = k^T A k`` and ``2 (n0 - n1) = k^T sign(x_i - x_j)^2 k``: two copies of one item
  are a pair tied on both sides, exactly as ``scipy.stats.kendalltau`` counts them on the resampled data.
- Quadratic-weighted kappa, mean bias and ICC have closed forms in means and sums of squares.

Quadratic-weighted kappa is computed on the values themselves: ``1 - mean((x - y)^2) / mean_{i,j}((x_i - y_j)^2)``.
This equals Cohen's kappa with weights ``(v_a - v_b)^2`` (for an equally spaced scale the usual ``(a - b)^2 / (V -
1)^2``, the factor cancels) and stays defined when a judge's aggregated score falls between scale points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StatFn = Callable[[IntArray], FloatArray]

_CHUNK_CELLS = 2_000_000  # resamples x items per block
_KENDALL_MAX_N = 2500  # above this the n x n sign matrix is too big: bootstrap Kendall falls back to a loop
Z95 = 1.959963984540054  # the 97.5% normal quantile, for Bland-Altman limits of agreement


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


# -- bootstrap machinery -------------------------------------------------------------------------------------


def resample_blocks(n: int, n_boot: int, seed: int) -> list[IntArray]:
    """Blocks of bootstrap index rows, ``(b, n)`` each, ``n_boot`` rows in all (same seed, same draws)."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n, 1)))
    return [rng.integers(0, n, size=(min(chunk, n_boot - s), n)) for s in range(0, n_boot, chunk)]


def draw_counts(idx: IntArray, n: int) -> FloatArray:
    """How many times each item was drawn in each resample: ``(B, n)`` from index rows ``(B, n)``."""
    b = idx.shape[0]
    flat = (idx + n * np.arange(b)[:, np.newaxis]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def percentile_ci(values: FloatArray, confidence: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of the defined (non-NaN) bootstrap values; None if none is defined."""
    ok = values[~np.isnan(values)]
    if len(ok) == 0:
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(ok, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap(stat: StatFn, n: int, n_boot: int, seed: int) -> FloatArray:
    """Apply a vectorised statistic (index rows ``(b, n)`` -> ``(b,)``) to ``n_boot`` resamples."""
    if n_boot <= 0 or n == 0:
        return np.empty(0)
    return np.concatenate([stat(idx) for idx in resample_blocks(n, n_boot, seed)])


def _rowwise_pearson(a: FloatArray, b: FloatArray) -> FloatArray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (a * b).sum(axis=1) / den
    r[~(den > 0)] = np.nan
    return r


def _check_pair(x: FloatArray, y: FloatArray) -> None:
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("x and y must not contain NaN: drop unscored items (and count them) before calling")


def _constant_note(x: FloatArray, y: FloatArray, what: str) -> str | None:
    if len(x) < 3:
        return f"{what} needs at least 3 items, got {len(x)}"
    if np.ptp(x) == 0:
        return f"{what} is undefined: the judge gave every item the same score ({x[0]:g})"
    if np.ptp(y) == 0:
        return f"{what} is undefined: the reference is the same ({y[0]:g}) on every item"
    return None


# -- statistics ----------------------------------------------------------------------------------------------


def spearman(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Spearman's rho (``scipy.stats.spearmanr``) with a bootstrap CI."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    note = _constant_note(x, y, "Spearman's rho")
    if note:
        return Estimate(value=None, n=len(x), note=note)
    value = float(stats.spearmanr(x, y).statistic)

    def stat(idx: IntArray) -> FloatArray:
        return _rowwise_pearson(stats.rankdata(x[idx], axis=1), stats.rankdata(y[idx], axis=1))

    return Estimate(value=value, ci=percentile_ci(bootstrap(stat, len(x), n_boot, seed)), n=len(x))


def kendall_tau_b(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Kendall's tau-b (``scipy.stats.kendalltau``) with a bootstrap CI (vectorised up to 2,500 items)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    note = _constant_note(x, y, "Kendall's tau-b")
    if note:
        return Estimate(value=None, n=len(x), note=note)
    value = float(stats.kendalltau(x, y).statistic)
    n = len(x)
    if n <= _KENDALL_MAX_N:
        sx = np.sign(x[:, np.newaxis] - x[np.newaxis, :])
        sy = np.sign(y[:, np.newaxis] - y[np.newaxis, :])
        concord, tx, ty = sx * sy, sx * sx, sy * sy

        def stat(idx: IntArray) -> FloatArray:
            k = draw_counts(idx, n)
            num = np.einsum("bi,bi->b", k @ concord, k)
            den = np.sqrt(np.einsum("bi,bi->b", k @ tx, k) * np.einsum("bi,bi->b", k @ ty, k))
            with np.errstate(divide="ignore", invalid="ignore"):
                tau = num / den
            tau[~(den > 0)] = np.nan
            return tau

    else:  # the sign matrices would not fit in memory: one scipy call per resample

        def stat(idx: IntArray) -> FloatArray:
            return np.array([stats.kendalltau(x[row], y[row]).statistic for row in idx], dtype=float)

    return Estimate(value=value, ci=percentile_ci(bootstrap(stat, n, n_boot, seed)), n=n)


def mean_bias(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> BiasResult:
    """Mean of ``x - y`` with a bootstrap CI, and Bland-Altman 95% limits of agreement ``bias -/+ 1.96 sd``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    n = len(x)
    if n == 0:
        return BiasResult(value=None, n=0, note="no item has both a judge score and an expert rating")
    diff = x - y
    bias = float(diff.mean())
    if n < 2:
        return BiasResult(value=bias, n=n, note="one item only: no spread, no limits of agreement")
    sd = float(diff.std(ddof=1))
    ci = percentile_ci(bootstrap(lambda idx: diff[idx].mean(axis=1), n, n_boot, seed))
    return BiasResult(value=bias, ci=ci, n=n, sd=sd, loa=(bias - Z95 * sd, bias + Z95 * sd))


def _kappa_rows(a: FloatArray, b: FloatArray) -> FloatArray:
    observed = ((a - b) ** 2).mean(axis=-1)
    expected = (a * a).mean(axis=-1) + (b * b).mean(axis=-1) - 2.0 * a.mean(axis=-1) * b.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 1.0 - observed / expected
    return np.where(expected > 1e-12, k, np.nan)


def quadratic_kappa(x: FloatArray, y: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """Quadratic-weighted Cohen's kappa between two raters on the same items, with a bootstrap CI.

    ``kappa = 1 - sum_i (x_i - y_i)^2 / ((1/n) sum_i sum_j (x_i - y_j)^2)``, i.e. ``1 - sum w O / sum w E`` with
    ``w_ab = (v_a - v_b)^2``, ``O`` the observed and ``E`` the chance (product of margins) joint distribution.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check_pair(x, y)
    n = len(x)
    if n < 2:
        return Estimate(value=None, n=n, note=f"weighted kappa needs at least 2 shared items, got {n}")
    value = float(_kappa_rows(x, y))
    if np.isnan(value):
        return Estimate(value=None, n=n, note="weighted kappa is undefined: both raters gave one same score")
    ci = percentile_ci(bootstrap(lambda idx: _kappa_rows(x[idx], y[idx]), n, n_boot, seed))
    return Estimate(value=value, ci=ci, n=n)


def _icc_a1_rows(m: FloatArray) -> FloatArray:
    """ICC(A,1) for a stack of complete matrices ``(B, n, k)`` (items x raters)."""
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
    den = ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = (ms_rows - ms_err) / den
    return np.where(np.abs(den) > 1e-12, icc, np.nan)


def icc_a1(matrix: FloatArray, *, n_boot: int = 2000, seed: int = 0) -> Estimate:
    """ICC(2,1) (Shrout & Fleiss 1979; McGraw & Wong's ICC(A,1)): two-way random, absolute agreement, single rater.

    Args:
        matrix: ``(n, k)`` items x raters, complete (no NaN).
    """
    m = np.asarray(matrix, float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"ICC needs an items x raters matrix with at least 2 raters, got shape {m.shape}")
    if np.isnan(m).any():
        raise ValueError("ICC needs a complete matrix: drop items with a missing rating first")
    n = m.shape[0]
    if n < 2:
        return Estimate(value=None, n=n, note=f"ICC needs at least 2 items, got {n}")
    value = float(_icc_a1_rows(m[np.newaxis])[0])
    if np.isnan(value):
        return Estimate(value=None, n=n, note="ICC is undefined: every rating is the same")
    ci = percentile_ci(bootstrap(lambda idx: _icc_a1_rows(m[idx]), n, n_boot, seed))
    return Estimate(value=value, ci=ci, n=n)


def system_spearman(judge_means: dict[str, float], expert_means: dict[str, float]) -> Estimate:
    """Spearman's rho between systems' mean judge scores and mean expert ratings (no CI: few systems)."""
    names = sorted(set(judge_means) & set(expert_means))
    x = np.array([judge_means[s] for s in names], float)
    y = np.array([expert_means[s] for s in names], float)
    note = _constant_note(x, y, "system-level Spearman") if len(names) >= 3 else None
    if len(names) < 3:
        note = f"system-level Spearman needs at least 3 systems with scores, got {len(names)}"
    if note:
        return Estimate(value=None, n=len(names), note=note)
    return Estimate(value=float(stats.spearmanr(x, y).statistic), n=len(names))
