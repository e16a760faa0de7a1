"""Resampling: the one place bootstrap draws are made, and the rule for when a sample is too thin for a CI.

Every bootstrap in the package is a matrix of weights ``W`` of shape ``(B, n)``: how many times each of ``n`` units
(items) is drawn in each of ``B`` resamples. A statistic then only has to be a vectorised function of ``W`` (a
weighted sum, a weighted rank, a table of weighted counts), and every statistic of one criterion can share the same
draws. Two kinds of draws exist:

- over units: ``resample_blocks`` draws index rows ``(b, n)`` with ``rng.integers`` in blocks, ``draw_counts`` turns
  them into weights;
- over clusters (posts: items of one post are not independent): ``cluster_draws`` draws ``(B, K)`` cluster indices,
  ``cluster_counts`` counts them, and a unit's weight is the count of its cluster.

The same seed always gives the same draws, whoever asks.

Example::

    import numpy as np
    from judge.analysis.stats.resample import item_weight_blocks, percentile_ci
    x = np.array([3.0, 4.0, 5.0, 4.0, 2.0, 5.0])
    boots = np.concatenate([(w @ x) / w.sum(axis=1) for w in item_weight_blocks(len(x), 1000, seed=0)])
    percentile_ci(boots)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StatFn = Callable[[IntArray], FloatArray]

#: Below these a percentile CI or a rank interval says more about the resampling than about the data.
MIN_ITEMS = 5
MIN_CLUSTERS = 3

_CHUNK_CELLS = 2_000_000  # resamples x units per block: bounds a block of weights to ~16 MB


def too_few(n_items: int, n_clusters: int | None = None, *, what: str = "item") -> str | None:
    """Why a CI over this sample would mislead (fewer than 5 items, or fewer than 3 clusters), else None."""
    if n_items < MIN_ITEMS:
        return f"too few: {n_items} {what}(s), a CI needs at least {MIN_ITEMS}"
    if n_clusters is not None and n_clusters < MIN_CLUSTERS:
        return f"too few: {n_clusters} post(s), a CI needs at least {MIN_CLUSTERS}"
    return None


def block_size(n: int, n_boot: int, cells: int = _CHUNK_CELLS) -> int:
    """Resamples per block so that a block of ``(b, n)`` weights holds at most ``cells`` numbers."""
    return max(1, min(n_boot, cells // max(n, 1)))


def resample_blocks(n: int, n_boot: int, seed: int) -> list[IntArray]:
    """Blocks of bootstrap index rows, ``(b, n)`` each, ``n_boot`` rows in all (same seed, same draws)."""
    rng = np.random.default_rng(seed)
    chunk = block_size(n, n_boot)
    return [rng.integers(0, n, size=(min(chunk, n_boot - s), n)) for s in range(0, n_boot, chunk)]


def draw_counts(idx: IntArray, n: int) -> FloatArray:
    """How many times each item was drawn in each resample: ``(B, n)`` from index rows ``(B, n)``."""
    b = idx.shape[0]
    flat = (idx + n * np.arange(b)[:, np.newaxis]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)


def item_weight_blocks(n: int, n_boot: int, seed: int) -> Iterator[FloatArray]:
    """The item bootstrap as blocks of weights ``(b, n)``: the draws of ``resample_blocks``, counted."""
    if n_boot <= 0 or n == 0:
        return
    for idx in resample_blocks(n, n_boot, seed):
        yield draw_counts(idx, n)


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


def bootstrap_weighted(stat: Callable[[FloatArray], FloatArray], n: int, n_boot: int, seed: int) -> FloatArray:
    """Apply a statistic of item weights (``(b, n)`` -> ``(b,)``) to the ``n_boot`` resamples of ``resample_blocks``."""
    if n_boot <= 0 or n == 0:
        return np.empty(0)
    return np.concatenate([stat(w) for w in item_weight_blocks(n, n_boot, seed)])


# -- clusters -----------------------------------------------------------------------------------------------------


def cluster_draws(n_clusters: int, n_boot: int, rng: np.random.Generator) -> IntArray:
    """Which clusters each resample draws (with replacement): ``(n_boot, n_clusters)`` indices."""
    return rng.integers(0, n_clusters, size=(n_boot, n_clusters))


def cluster_counts(n_clusters: int, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """How often each cluster is drawn in each resample, shape ``(n_boot, n_clusters)``."""
    draws = cluster_draws(n_clusters, n_boot, rng)
    flat = draws + (np.arange(n_boot) * n_clusters)[:, None]
    return np.bincount(flat.ravel(), minlength=n_boot * n_clusters).reshape(n_boot, n_clusters).astype(float)


def cluster_index(clusters: Sequence[str]) -> tuple[list[str], IntArray]:
    """The distinct clusters (sorted) and each unit's position among them."""
    keys, inverse = np.unique(np.array([str(c) for c in clusters]), return_inverse=True)
    return [str(k) for k in keys], inverse.astype(np.int64)


def cluster_weights(clusters: Sequence[str], n_boot: int, seed: int, *, with_original: bool = False) -> FloatArray:
    """Unit weights of a bootstrap that resamples whole clusters: ``(n_boot, n)`` (row 0 all ones if asked).

    A unit's weight is the number of times its cluster was drawn. Clusters are numbered in sorted order.
    """
    keys, of = cluster_index(clusters)
    counts = cluster_counts(len(keys), n_boot, np.random.default_rng(seed))
    weights = counts[:, of]
    if with_original:
        weights = np.vstack([np.ones(len(of)), weights])
    return weights


def cluster_bootstrap_means(d: FloatArray, clusters: Sequence[str], n_boot: int, seed: int) -> FloatArray:
    """Bootstrap means of ``d`` (shape (N,)) resampling whole clusters; returns shape (n_boot,).

    Vectorised: per-cluster sums and counts are drawn with replacement as (n_boot, K) index arrays.
    """
    keys = sorted(set(clusters))
    index = {k: i for i, k in enumerate(keys)}
    ids = np.array([index[c] for c in clusters])
    sums = np.bincount(ids, weights=d, minlength=len(keys))
    counts = np.bincount(ids, minlength=len(keys)).astype(float)
    draw = cluster_draws(len(keys), n_boot, np.random.default_rng(seed))
    return np.asarray(sums[draw].sum(axis=1) / counts[draw].sum(axis=1))


# -- grouping units -----------------------------------------------------------------------------------------------


def group_weights(weights: FloatArray, order: IntArray, starts: IntArray) -> FloatArray:
    """Sum the weight columns of units that share a group: ``(b, n)`` -> ``(b, G)``.

    Args:
        weights: ``(b, n)`` unit weights.
        order: the units sorted by group (``np.argsort`` of the group ids, stable).
        starts: where each group begins in ``order``.
    """
    if weights.shape[1] == 0:
        return np.zeros((weights.shape[0], len(starts)))
    return np.add.reduceat(weights[:, order], starts, axis=1)


def groups_of(keys: npt.ArrayLike) -> tuple[IntArray, IntArray, IntArray]:
    """Sort units by ``keys`` (1-D): ``(order, starts, group of each unit)`` for ``group_weights``."""
    k = np.asarray(keys)
    order = np.argsort(k, kind="stable")
    s = k[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.empty(0, dtype=np.int64)
    group_sorted = np.cumsum(np.r_[0, (s[1:] != s[:-1]).astype(np.int64)]) if len(s) else np.empty(0, np.int64)
    group = np.empty(len(k), dtype=np.int64)
    group[order] = group_sorted
    return order.astype(np.int64), starts.astype(np.int64), group
