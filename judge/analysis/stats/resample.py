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


class Groups:
    """Units that share a group (a tie, a grid cell, a pattern of values): sums a resample's weights per group.

    Built once per statistic; ``sum`` turns item weights ``(b, n)`` into group weights ``(b, G)`` with one sparse
    product (no copy of the weights). ``sum_t`` takes the weights transposed, ``(n, b)`` C-ordered, the cheapest
    layout for the product; ``item_weight_blocks_t`` draws them that way.

    Attributes:
        group: ``(n,)`` each unit's group, numbered by sorted key.
        n_groups: ``G``.
        first: ``(G,)`` the first unit of each group (in key order).
    """

    def __init__(self, keys: npt.ArrayLike) -> None:
        from scipy import sparse

        k = np.asarray(keys)
        uniq, first, group = np.unique(k, return_index=True, return_inverse=True)
        self.group = np.asarray(group, dtype=np.int64).ravel()
        self.n_groups = len(uniq)
        self.first = np.asarray(first, dtype=np.int64)
        n = len(self.group)
        # (G, n): row g marks the units of group g
        self._indicator = sparse.csr_matrix((np.ones(n), (self.group, np.arange(n))), shape=(self.n_groups, n))

    def sum(self, weights: FloatArray) -> FloatArray:
        """``(b, n)`` unit weights -> ``(b, G)`` group weights."""
        return self.sum_t(np.ascontiguousarray(np.asarray(weights, dtype=float).T))

    def sum_t(self, weights_t: FloatArray) -> FloatArray:
        """``(n, b)`` unit weights (transposed) -> ``(b, G)`` group weights."""
        return np.asarray(self._indicator @ weights_t).T


def unique_rows(rows: FloatArray) -> tuple[FloatArray, IntArray]:
    """The distinct rows of ``(n, F)`` (in sorted order) and each row's index among them, like
    ``np.unique(rows, axis=0, return_inverse=True)`` but through one integer key per row: sorting rows as
    byte strings is slow, and these tables have ten thousands of rows and few distinct values per column."""
    r = np.asarray(rows)
    if r.ndim != 2 or r.shape[0] == 0 or r.shape[1] == 0:
        uniq, inverse = np.unique(r, axis=0, return_inverse=True)
        return uniq, np.asarray(inverse, dtype=np.int64).ravel()
    key = np.zeros(r.shape[0], dtype=np.int64)
    radix = 1
    for col in range(r.shape[1]):
        values, codes = np.unique(r[:, col], return_inverse=True)
        radix *= len(values)
        if radix >= 2**62:  # too many combinations for one integer key: fall back to numpy's row sort
            uniq, inverse = np.unique(r, axis=0, return_inverse=True)
            return uniq, np.asarray(inverse, dtype=np.int64).ravel()
        key = key * len(values) + np.asarray(codes, dtype=np.int64).ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return r[first], np.asarray(inverse, dtype=np.int64).ravel()


def draw_counts_t(idx: IntArray, n: int) -> FloatArray:
    """``draw_counts`` transposed: ``(n, B)``, C-ordered (the layout ``Groups.sum_t`` multiplies fastest)."""
    b = idx.shape[0]
    flat = (idx * b + np.arange(b)[:, np.newaxis]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(n, b).astype(float)


def item_weight_blocks_t(n: int, n_boot: int, seed: int) -> Iterator[FloatArray]:
    """The item bootstrap of ``item_weight_blocks`` (same draws), each block transposed: ``(n, b)``."""
    if n_boot <= 0 or n == 0:
        return
    for idx in resample_blocks(n, n_boot, seed):
        yield draw_counts_t(idx, n)
