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
    """Percentile interval of the defined (non-NaN) bootstrap values; None if none is defined.

    This is the one percentile CI of the package: every interval a report shows comes from here (or from
    ``percentile_columns``, the same rule column by column).
    """
    ok = np.asarray(values, dtype=float)
    ok = ok[~np.isnan(ok)]
    if len(ok) == 0:
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(ok, [tail, 100.0 - tail])
    return float(low), float(high)


def stable_percentile_ci(
    values: FloatArray, confidence: float = 0.95, *, min_share: float = 0.9, min_count: int = 20
) -> tuple[float, float] | None:
    """``percentile_ci``, or None when too many resamples are undefined for a trustworthy interval (fewer than
    ``min_share`` of them, or fewer than ``min_count``, are defined): the defined ones are then a biased subset."""
    v = np.asarray(values, dtype=float)
    defined = int(np.isfinite(v).sum())
    if defined < min_share * v.size or defined < min_count:
        return None
    return percentile_ci(v[np.isfinite(v)], confidence)


def percentile_columns(boot: FloatArray, confidence: float = 0.95, *, outward: bool = False) -> FloatArray:
    """The percentile interval of every column of ``boot`` ``(B, S)``, NaN values left out: ``(S, 2)``, a NaN row
    where a column has no defined value. ``outward`` takes the observed values just outside the percentiles
    (numpy's ``lower``/``higher`` methods), so that integer statistics such as ranks keep integer bounds."""
    b = np.asarray(boot, dtype=float)
    out = np.full((b.shape[1], 2), np.nan)
    has = ~np.all(np.isnan(b), axis=0)
    if has.any():
        tail = (1.0 - confidence) / 2.0
        if outward:
            out[has, 0] = np.nanquantile(b[:, has], tail, axis=0, method="lower")
            out[has, 1] = np.nanquantile(b[:, has], 1 - tail, axis=0, method="higher")
        else:
            out[has, 0] = np.nanquantile(b[:, has], tail, axis=0)
            out[has, 1] = np.nanquantile(b[:, has], 1 - tail, axis=0)
    return out


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


def post_counts(n_clusters: int, n_boot: int, seed: int) -> FloatArray:
    """The bootstrap over posts: how often each of ``n_clusters`` posts is drawn in each resample, ``(n_boot, K)``.

    Every post-clustered CI of the package (leaderboards, calibration, probes, the gate, system-level agreement)
    is drawn here; ``cluster_weights`` and ``cluster_bootstrap_means`` give the same draws per unit.
    """
    return cluster_counts(n_clusters, n_boot, np.random.default_rng(seed))


def cluster_bootstrap_means(d: FloatArray, clusters: Sequence[str], n_boot: int, seed: int) -> FloatArray:
    """Bootstrap means of ``d`` (shape (N,)) resampling whole clusters; returns shape (n_boot,).

    Vectorised: per-cluster sums and counts weighted by the clusters' draw counts (``post_counts``).
    """
    keys, of = cluster_index(clusters)
    sums = np.bincount(of, weights=np.asarray(d, dtype=float), minlength=len(keys))
    counts = np.bincount(of, minlength=len(keys)).astype(float)
    drawn = post_counts(len(keys), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((drawn @ sums) / (drawn @ counts))


def cluster_weighted_means(x: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted means of ``x`` ``(n,)`` under unit weights ``(B, n)``: ``(B,)`` (NaN where every weight is 0)."""
    w = np.asarray(weights, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((w @ np.asarray(x, dtype=float)) / w.sum(axis=1))


def assign_folds(post_ids: Sequence[str], k: int, seed: int) -> list[list[str]]:
    """Split posts into ``min(k, n_posts)`` folds of similar item counts, deterministically given ``seed``.

    Args:
        post_ids: the post of each item (one entry per item; repeats are the post's items).
        k: requested number of folds (>= 2).
        seed: shuffles the posts before the greedy balancing.

    Returns:
        The post ids of each fold (sorted); every post is in exactly one fold.

    Raises:
        InputError: ``k < 2``, or fewer than 2 posts.
    """
    from judge.errors import InputError, Problem

    sizes: dict[str, int] = {}
    for p in post_ids:
        sizes[p] = sizes.get(p, 0) + 1
    posts = sorted(sizes)
    if k < 2:
        raise InputError(Problem("--folds", f"must be at least 2, got {k}"))
    if len(posts) < 2:
        raise InputError(Problem("benchmark", f"cross-fitting needs items from at least 2 posts, got {len(posts)}"))
    order = np.random.default_rng(seed).permutation(len(posts))
    folds: list[list[str]] = [[] for _ in range(min(k, len(posts)))]
    load = [0] * len(folds)
    for idx in order:
        # Fill the lightest fold next (first one on ties) so folds hold similar numbers of items.
        f = int(np.argmin(load))
        folds[f].append(posts[idx])
        load[f] += sizes[posts[idx]]
    return [sorted(f) for f in folds]


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


def post_weight_blocks_t(posts: IntArray, n_boot: int, seed: int) -> Iterator[FloatArray]:
    """The bootstrap over posts as item weights, in transposed blocks ``(n, b)`` like ``item_weight_blocks_t``: an
    item's weight is how often its post (``posts``: each item's post code, 0..K-1) was drawn (``post_counts``)."""
    n = len(posts)
    if n_boot <= 0 or n == 0:
        return
    codes = np.asarray(posts, dtype=np.int64)
    counts = post_counts(int(codes.max()) + 1, n_boot, seed)  # (B, K)
    chunk = block_size(n, n_boot)
    for s in range(0, n_boot, chunk):
        yield np.ascontiguousarray(counts[s : s + chunk][:, codes].T)


def subsample(pool: IntArray, k: int, seed: int) -> IntArray:
    """``k`` of ``pool``'s entries drawn without replacement (all of them if ``k`` is not smaller), fixed by ``seed``:
    the learning curve of ``crossfit.nested_cross_fit`` fits on a random subset of the training posts."""
    return np.asarray(np.random.default_rng(seed).permutation(pool)[:k])
