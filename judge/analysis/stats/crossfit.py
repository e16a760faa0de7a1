"""Nested cross-fitting over posts: a choice among candidate fits made on inner folds and scored on outer folds, the
held-out gain with a CI over posts, and the learning curve.

A *candidate* is a way to turn a judge's outputs into a score (a scoring mode, a map onto the experts' scale): a
function that fits on some rows and predicts others. ``nested_cross_fit`` splits the posts into outer folds; for each
outer fold, the candidates are compared on the other posts only, by the Spearman of their out-of-fold predictions
over *inner* folds of those posts; the winner is refitted on all the other posts and predicts the held-out fold. The
pooled held-out predictions were never used to choose or fit anything that scored them, so their agreement with the
experts is an honest estimate of what the chosen configuration does on new posts. The *in-sample* figure (choose
and fit on everything, score on the same items) is reported beside it: the difference is the optimism.

``spearman_gain`` is the gain of held-out predictions over a reference (the raw judge) in Spearman with the experts'
mean, with a percentile CI from the bootstrap over posts (``resample.cluster_weights``: both sides on the same
resamples, so the CI is of the paired difference). ``ridge`` is the closed-form ridge regression on standardised
features used by the covariate maps (checked against scikit-learn in the tests).

Example::

    import numpy as np
    from judge.analysis.stats.crossfit import Candidate, nested_cross_fit
    y = np.arange(40.0); x = y + np.random.default_rng(0).normal(size=40)
    posts = np.repeat(np.arange(10), 4)
    cands = [Candidate("raw", lambda tr, te: x[te]), Candidate("noise", lambda tr, te: -x[te])]
    nested_cross_fit(cands, y, posts, outer_k=5, inner_k=4, seed=0).choices    # ['raw'] * 5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from judge.analysis.stats.correlation import Estimate, Ranker, spearman_point, spearman_weighted
from judge.analysis.stats.resample import (
    FloatArray,
    IntArray,
    assign_folds,
    cluster_weights,
    percentile_ci,
    subsample,
    too_few,
)

FitPredict = Callable[[IntArray, IntArray], FloatArray]  # (training rows, test rows) -> predictions for the test rows


@dataclass(frozen=True)
class Candidate:
    """One configuration to choose among: its name and how it fits on rows and predicts others."""

    name: str
    fit_predict: FitPredict


@dataclass
class NestedResult:
    """The pooled held-out predictions ``(n,)`` (NaN: a row no outer fold predicted), the choice of each outer fold,
    and the rows of each outer fold."""

    held_out: FloatArray
    choices: list[str]
    folds: list[IntArray]
    train_posts: list[int]


def post_folds(posts: IntArray, rows: IntArray, k: int, seed: int) -> list[IntArray]:
    """Folds of whole posts over ``rows`` (``posts``: each row's post code), balanced by ``resample.assign_folds``."""
    names = [str(int(p)) for p in posts[rows]]
    folds = assign_folds(names, k, seed)
    return [rows[np.isin(names, f)] for f in folds]


def out_of_fold(c: Candidate, folds: Sequence[IntArray]) -> FloatArray:
    """Each row's prediction from a fit on the other folds: ``(sum of fold sizes,)`` in the order of the folds."""
    out = []
    for k, test in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != k])
        out.append(np.asarray(c.fit_predict(train, test), dtype=float))
    return np.concatenate(out)


def _rho(pred: FloatArray, y: FloatArray) -> float:
    ok = np.isfinite(pred)
    v = spearman_point(pred[ok], y[ok]).value
    return -2.0 if v is None else v  # undefined (a constant prediction) loses to any defined value


def choose(cands: Sequence[Candidate], y: FloatArray, posts: IntArray, rows: IntArray, k: int, seed: int) -> str:
    """The candidate whose inner out-of-fold predictions over ``rows`` rank like ``y`` best (Spearman; ties: the
    first given). With fewer than 2 posts among ``rows`` there is nothing to cross-fit: the first candidate."""
    if len(np.unique(posts[rows])) < 2:
        return cands[0].name
    folds = post_folds(posts, rows, k, seed)
    order = np.concatenate(folds)
    scores = [_rho(out_of_fold(c, folds), y[order]) for c in cands]
    return cands[int(np.argmax(scores))].name


def nested_cross_fit(
    cands: Sequence[Candidate],
    y: FloatArray,
    posts: IntArray,
    *,
    outer_k: int,
    inner_k: int,
    seed: int,
    max_posts: int | None = None,
) -> NestedResult:
    """Choose on inner folds, score on outer folds (see the module docstring).

    Args:
        cands: the candidates, in order of preference on ties.
        y: ``(n,)`` the target (the experts' mean per item).
        posts: ``(n,)`` each item's post code; folds never split a post.
        outer_k, inner_k: numbers of outer and inner folds (fewer when there are fewer posts).
        seed: seeds the folds (and the subsample of ``max_posts``).
        max_posts: fit and choose with at most this many of each outer fold's training posts (the learning curve);
            None: all of them.
    """
    by_name = {c.name: c for c in cands}
    rows = np.arange(len(y))
    outer = post_folds(posts, rows, outer_k, seed)
    held = np.full(len(y), np.nan)
    choices, used = [], []
    for k, test in enumerate(outer):
        train = np.concatenate([f for j, f in enumerate(outer) if j != k])
        if max_posts is not None:
            pool = np.unique(posts[train])
            keep = subsample(pool, max_posts, seed + 7 + k)
            train = train[np.isin(posts[train], keep)]
        used.append(len(np.unique(posts[train])))
        name = choose(cands, y, posts, train, inner_k, seed + 1 + k)
        choices.append(name)
        held[test] = by_name[name].fit_predict(train, test)
    return NestedResult(held_out=held, choices=choices, folds=outer, train_posts=used)


def spearman_gain(
    pred: FloatArray, base: FloatArray, y: FloatArray, posts: IntArray, *, n_boot: int, seed: int
) -> Estimate:
    """Spearman(pred, y) - Spearman(base, y) on the rows where both are defined, with a percentile CI over ``n_boot``
    resamples of whole posts (the same resamples for both sides)."""
    ok = np.isfinite(pred) & np.isfinite(base) & np.isfinite(y)
    a, b = spearman_point(pred[ok], y[ok]).value, spearman_point(base[ok], y[ok]).value
    n = int(ok.sum())
    if a is None or b is None:
        return Estimate(value=None, n=n, note="Spearman is undefined on one side (a constant score)")
    est = Estimate(value=a - b, n=n)
    thin = too_few(n, len(np.unique(posts[ok])))
    if thin:
        est.note = thin
        return est
    if n_boot > 0:
        w = cluster_weights([str(int(p)) for p in posts[ok]], n_boot, seed)
        ry = Ranker(y[ok])
        boot = spearman_weighted(Ranker(pred[ok]), ry, w) - spearman_weighted(Ranker(base[ok]), ry, w)
        est.ci = percentile_ci(boot)
    return est


def spearman_ci(pred: FloatArray, y: FloatArray, posts: IntArray, *, n_boot: int, seed: int) -> Estimate:
    """Spearman(pred, y) on the defined rows with a percentile CI over resamples of whole posts."""
    ok = np.isfinite(pred) & np.isfinite(y)
    est = spearman_point(pred[ok], y[ok])
    if est.value is None:
        return est
    thin = too_few(int(ok.sum()), len(np.unique(posts[ok])))
    if thin:
        est.note = thin
    elif n_boot > 0:
        w = cluster_weights([str(int(p)) for p in posts[ok]], n_boot, seed)
        est.ci = percentile_ci(spearman_weighted(Ranker(pred[ok]), Ranker(y[ok]), w))
    return est


@dataclass(frozen=True)
class RidgeFit:
    """``y ~ intercept + coef . (x - mean) / scale``: what a saved map needs to predict."""

    intercept: float
    coef: FloatArray
    mean: FloatArray
    scale: FloatArray

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.intercept + ((x - self.mean) / self.scale) @ self.coef, dtype=float)


def ridge(x: FloatArray, y: FloatArray, alpha: float = 1.0) -> RidgeFit:
    """Ridge regression of ``y`` ``(n,)`` on ``x`` ``(n, p)``, features standardised (a constant feature is left
    centred, unscaled), the intercept unpenalised: ``coef = (Z'Z + alpha I)^-1 Z'(y - mean y)``."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    z = (x - mean) / scale
    yc = y - y.mean()
    coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ yc)
    return RidgeFit(intercept=float(y.mean()), coef=coef, mean=mean, scale=scale)
