"""Krippendorff's alpha with a vectorised bootstrap over items.

The point estimate comes from the ``krippendorff`` package. The bootstrap rebuilds alpha from per-unit
coincidence matrices: each unit (item) ``u`` with ``m_u >= 2`` pairable values contributes
``O_u = (c_u c_u^T - diag(c_u)) / (m_u - 1)`` where ``c_u`` counts its values over the value domain
(Krippendorff 2011, "Computing Krippendorff's alpha-reliability", section C). A resample of units is a count
vector ``k`` (how often each unit was drawn), so the resampled coincidence matrix is ``sum_u k_u O_u``: one
matrix product for a whole block of resamples, no Python loop per resample. Units with the same multiset of
values share one ``O_u``, so they are collapsed into patterns first and the pattern counts are drawn directly.
The expected coincidences and (for ordinal data) the distances are recomputed from each resample's margins,
exactly as the package does.

Only pairable units (rated by at least two raters) are resampled: the others contribute nothing to alpha, and
drawing them would only add noise to the number of pairable units.

Shapes follow the ``krippendorff`` package: ``data`` is ``(M, N)`` = raters x units, NaN = missing.

Example::

    import numpy as np
    from judge.analysis.stats.alpha import bootstrap_alpha
    data = np.array([[1, 2, 3, np.nan], [1, 2, 4, 4], [np.nan, 3, 3, 4]])
    res = bootstrap_alpha(data, "interval", n_boot=1000, seed=0)
    res.alpha, res.ci
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import krippendorff
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.stats.resample import percentile_ci

Level = Literal["nominal", "ordinal", "interval"]
FloatArray = npt.NDArray[np.float64]

#: Krippendorff's lowest acceptable reliability for tentative conclusions.
TENTATIVE_ALPHA = 0.667
_CHUNK_CELLS = 4_000_000  # resamples x units per block: bounds the count matrix to ~32 MB


class AlphaUndefinedError(ValueError):
    """Alpha cannot be computed for these data (the message says why)."""


class AlphaResult(BaseModel):
    """Alpha, its bootstrap CI and how the data supported it. ``alpha`` is None when undefined (see ``note``)."""

    model_config = ConfigDict(extra="forbid")

    level: Level
    alpha: float | None = Field(description="Point estimate (krippendorff package); None if undefined.")
    ci: tuple[float, float] | None = Field(default=None, description="95% percentile bootstrap CI over items.")
    q_below_tentative: float | None = Field(
        default=None, description="Share of bootstrap alphas below 0.667 (Krippendorff's tentative threshold)."
    )
    n_items: int = Field(description="Pairable items: rated by at least two raters.")
    n_values: int = Field(default=0, description="Pairable values (ratings on pairable items).")
    n_boot: int = 0
    n_degenerate: int = Field(default=0, description="Resamples where alpha was undefined (one value only).")
    note: str | None = None


def value_domain(data: FloatArray, scale: Sequence[float] | None = None) -> FloatArray:
    """The sorted values alpha is computed over: the scale's points plus any other value observed.

    Judge scores aggregated over samples (a mean or a median of an even number) can fall between scale points,
    so observed values are always added. Values that never occur do not change alpha at any level.
    """
    observed = np.unique(data[~np.isnan(data)])
    if scale is None:
        return observed
    return np.union1d(np.asarray(scale, dtype=float), observed)


def package_alpha(data: FloatArray, level: Level, domain: FloatArray | None = None) -> float:
    """Alpha from the ``krippendorff`` package; ``AlphaUndefinedError`` with a readable reason if undefined."""
    check_alpha_defined(data)
    return float(krippendorff.alpha(reliability_data=data, value_domain=domain, level_of_measurement=level))


def check_alpha_defined(data: FloatArray) -> None:
    """Raise ``AlphaUndefinedError`` unless some unit has two ratings and the ratings take two values."""
    if data.ndim != 2:
        raise AlphaUndefinedError(f"reliability data must be raters x items (2-D), got shape {data.shape}")
    per_unit = (~np.isnan(data)).sum(axis=0)
    pairable = per_unit >= 2
    if not pairable.any():
        raise AlphaUndefinedError("no item is rated by two or more raters, so there is nothing to agree on")
    values = np.unique(data[:, pairable][~np.isnan(data[:, pairable])])
    if len(values) < 2:
        raise AlphaUndefinedError(
            f"every rating on the shared items is {values[0]:g}: alpha is undefined with a single observed value"
        )


def unit_coincidences(data: FloatArray, domain: FloatArray) -> FloatArray:
    """Per-unit coincidence matrices of the pairable units, flattened.

    Args:
        data: ``(M, N)`` raters x units, NaN = missing.
        domain: ``(V,)`` sorted values.

    Returns:
        ``(N_pairable, V * V)``: row ``u`` is ``(c_u c_u^T - diag(c_u)) / (m_u - 1)``.
    """
    counts = (data.T[..., np.newaxis] == domain[np.newaxis, np.newaxis, :]).sum(axis=1).astype(float)  # (N, V)
    m = counts.sum(axis=1)
    counts = counts[m >= 2]
    m = m[m >= 2]
    outer = counts[:, :, np.newaxis] * counts[:, np.newaxis, :]
    v = len(domain)
    outer[:, np.arange(v), np.arange(v)] -= counts
    return (outer / (m - 1)[:, np.newaxis, np.newaxis]).reshape(len(m), v * v)


def level_distances(domain: FloatArray, level: Level, n_v: FloatArray) -> FloatArray:
    """Krippendorff's distance matrices ``(B, V, V)`` over ``domain`` (ordinal depends on each resample's pooled
    value frequencies ``n_v``: ``(B, V)``)."""
    v = len(domain)
    if level == "nominal":
        d = 1.0 - np.eye(v)
        return np.broadcast_to(d, (n_v.shape[0], v, v))
    if level == "interval":
        d = (domain[:, np.newaxis] - domain[np.newaxis, :]) ** 2
        return np.broadcast_to(d, (n_v.shape[0], v, v))
    # Ordinal: d_gh = (sum_{k=g..h} n_k - (n_g + n_h) / 2)^2, with the sum from cumulative margins.
    idx = np.arange(v)
    lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
    cum = np.cumsum(n_v, axis=1)
    between = cum[:, hi] - cum[:, lo] + n_v[:, lo]
    return (between - (n_v[:, lo] + n_v[:, hi]) / 2.0) ** 2


def alpha_from_coincidences(o_flat: FloatArray, domain: FloatArray, level: Level) -> FloatArray:
    """Alpha for each of ``B`` coincidence matrices ``o_flat`` ``(B, V*V)``; NaN where undefined.

    ``alpha = 1 - sum(o * d) / sum(e * d)`` with ``e = (n n^T - diag(n)) / (n.. - 1)``; since ``d`` has a zero
    diagonal, ``sum(e * d) = n^T d n / (n.. - 1)``.
    """
    v = len(domain)
    o = o_flat.reshape(-1, v, v)
    n_v = o.sum(axis=1)
    total = n_v.sum(axis=1)
    d = level_distances(domain, level, n_v)
    observed = np.einsum("bij,bij->b", o, d)
    expected = np.einsum("bi,bij,bj->b", n_v, d, n_v) / (total - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - observed / expected
    out[~(expected > 0)] = np.nan
    return out


def unit_patterns(unit_o: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """Collapse units with identical coincidence matrices (same multiset of values).

    Returns:
        ``(patterns (P, V*V), frequencies (P,), first unit index of each pattern (P,))``. On a rating scale ``P``
        is small (tens to hundreds) whatever the number of items.
    """
    patterns, first, counts = np.unique(unit_o, axis=0, return_index=True, return_counts=True)
    return patterns, counts.astype(float), first


def bootstrap_alphas(
    unit_o: FloatArray, domain: FloatArray, level: Level, n_boot: int, rng: np.random.Generator
) -> FloatArray:
    """``n_boot`` bootstrap alphas resampling the rows (units) of ``unit_o``, in blocks of resamples.

    Drawing ``N`` units with replacement and counting how many fall in each pattern is the same as drawing the
    pattern counts from a multinomial with probabilities ``frequency / N`` (multinomial aggregation), so a
    resample costs ``O(P)`` draws rather than ``O(N)``.
    """
    n = unit_o.shape[0]
    patterns, freq, _ = unit_patterns(unit_o)
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(len(freq), 1)))
    p = freq / n
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.multinomial(n, p, size=size).astype(float)  # (size, P): units drawn from each pattern
        out[start : start + size] = alpha_from_coincidences(draws @ patterns, domain, level)
    return out


def bootstrap_alpha(
    data: npt.ArrayLike,
    level: Level,
    *,
    scale: Sequence[float] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> AlphaResult:
    """Krippendorff's alpha with a percentile bootstrap CI over items.

    Args:
        data: ``(M, N)`` raters x items, NaN = missing.
        level: ``nominal``, ``ordinal`` or ``interval`` (the rubric's level of measurement).
        scale: the rubric's scale points (value domain; observed off-scale values are added).
        n_boot: number of resamples (0 skips the CI).
        seed: seed of the resampling.
        confidence: coverage of the CI.

    Returns:
        An ``AlphaResult``; ``alpha`` is None with a ``note`` when alpha is undefined (no item with two ratings,
        or a single observed value), rather than an exception.
    """
    arr = np.asarray(data, dtype=float)
    n_items = int(((~np.isnan(arr)).sum(axis=0) >= 2).sum()) if arr.ndim == 2 else 0
    try:
        check_alpha_defined(arr)
    except AlphaUndefinedError as exc:
        return AlphaResult(level=level, alpha=None, n_items=n_items, note=str(exc))
    domain = value_domain(arr, scale)
    point = package_alpha(arr, level, domain)
    unit_o = unit_coincidences(arr, domain)
    full = float(alpha_from_coincidences(unit_o.sum(axis=0, keepdims=True), domain, level)[0])
    if not np.isclose(full, point, rtol=1e-9, atol=1e-9):  # the bootstrap must resample the same statistic
        raise RuntimeError(f"bootstrap alpha on the full sample {full!r} differs from the package's {point!r}")
    res = AlphaResult(level=level, alpha=point, n_items=n_items, n_values=round(float(unit_o.sum())))
    if n_boot <= 0:
        return res
    alphas = bootstrap_alphas(unit_o, domain, level, n_boot, np.random.default_rng(seed))
    ok = alphas[~np.isnan(alphas)]
    res.n_boot = n_boot
    res.n_degenerate = int(n_boot - len(ok))
    if len(ok):
        res.ci = percentile_ci(ok, confidence)
        res.q_below_tentative = float(np.mean(ok < TENTATIVE_ALPHA))
    return res
