"""Mean differences with CIs over posts: paired shifts (bias probes, the CI gate) and gaps between two groups.

A **paired shift** is the mean of per-item differences ``d`` (a probe: perturbed - original score; the gate:
candidate - baseline score of one input), with a percentile bootstrap CI that resamples whole posts (the items of
one post are not independent; ``resample.cluster_bootstrap_means``). A **group gap** is the mean of ``x`` on one
group of items minus its mean on the others (self-preference: a judge's own model family against the rest), with
the same bootstrap over posts. The gate's **noise floor** is the judge's own re-sampling noise on one input's paired
difference.

Example::

    import numpy as np
    from judge.analysis.stats.shift import paired_shift
    paired_shift(np.array([0.5, 1.0, 0.0, 0.5, 1.5]), ["p1", "p1", "p2", "p3", "p4"], n_boot=2000, seed=0).ci
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.stats.resample import (
    FloatArray,
    cluster_bootstrap_means,
    cluster_weighted_means,
    cluster_weights,
    percentile_ci,
    too_few,
)


class Shift(BaseModel):
    """A mean paired difference with its bootstrap CI over posts (None with a note when the data are too thin)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    ci: tuple[float, float] | None = None
    n: int = Field(description="Items in the difference.")
    posts: int = 0
    note: str | None = None


def cluster_mean_ci(
    d: FloatArray, clusters: Sequence[str], n_boot: int, seed: int, confidence: float = 0.95
) -> tuple[float, tuple[float, float] | None]:
    """The mean of ``d`` and its percentile CI resampling whole clusters (no check of the sample's size)."""
    arr = np.asarray(d, dtype=float)
    return float(arr.mean()), percentile_ci(cluster_bootstrap_means(arr, list(clusters), n_boot, seed), confidence)


def paired_shift(d: FloatArray, posts: Sequence[str], n_boot: int, seed: int) -> Shift:
    """The mean of the paired differences ``d`` ``(n,)`` with a CI over ``posts`` (each item's post); no CI below 5
    items or 3 posts."""
    n, k = len(d), len(set(posts))
    if n == 0:
        return Shift(value=None, n=0, posts=0, note="no item scored both ways")
    value = float(np.mean(d))
    thin = too_few(n, k)
    if thin:
        return Shift(value=value, n=n, posts=k, note=thin)
    if n_boot <= 0:
        return Shift(value=value, n=n, posts=k, note="no CI asked for (n_boot 0)")
    _, ci = cluster_mean_ci(d, posts, n_boot, seed)
    return Shift(value=value, ci=ci, n=n, posts=k)


def group_gap(x: FloatArray, own: np.ndarray, posts: Sequence[str], n_boot: int, seed: int) -> Shift:
    """``mean(x[own]) - mean(x[~own])`` with a CI over posts; no CI when the smaller group has fewer than 5 items
    or there are fewer than 3 posts."""
    n, k = len(x), len(set(posts))
    if own.all() or not own.any():
        return Shift(value=None, n=n, posts=k, note="needs items of the family and of others")
    value = float(x[own].mean() - x[~own].mean())
    thin = too_few(int(min(own.sum(), (~own).sum())), k)
    if thin:
        return Shift(value=value, n=n, posts=k, note=thin)
    w = cluster_weights(list(posts), n_boot, seed)
    boots = cluster_weighted_means(x, w * own) - cluster_weighted_means(x, w * ~own)
    return Shift(value=value, ci=percentile_ci(boots), n=n, posts=k)


def pooled_variance(samples: list[list[float]]) -> tuple[float | None, float]:
    """(mean within-input sample variance over inputs with >= 2 samples or None, mean samples per input)."""
    reps = [s for s in samples if len(s) >= 2]
    m = float(np.mean([len(s) for s in samples])) if samples else 1.0
    if not reps:
        return None, m
    return float(np.mean([np.var(s, ddof=1) for s in reps])), m


def noise_floor(base: list[list[float]], cand: list[list[float]]) -> float | None:
    """SD of one input's paired difference due to the judge's re-sampling noise (None: unmeasured):
    ``sqrt(v_b/m_b + v_c/m_c)`` with ``v`` the pooled within-input variance of repeated samples and ``m`` the mean
    number of samples per input.

    When only one side has repeated samples its variance stands for both (same judge, same rubric).
    """
    vb, mb = pooled_variance(base)
    vc, mc = pooled_variance(cand)
    if vb is None and vc is None:
        return None
    v_base = vb if vb is not None else vc
    v_cand = vc if vc is not None else vb
    return math.sqrt((v_base or 0.0) / mb + (v_cand or 0.0) / mc)
