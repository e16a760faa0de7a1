"""Statistics of preferences between two replies: win rates, the length-controlled win rate, position bias, and
agreement of one rater's preferences with another's; every CI resamples posts.

A preference is coded as the score of reply A: ``1`` A is better, ``0.5`` tie, ``0`` B is better, NaN unscored
(missing: it never counts as a tie). A and B are the two replies in their canonical order; a judge asked in both
orders gives one score per order, each already mapped back to the canonical A/B.

The two orders of one pair make:

- the pair's **score** (``pair_score``): the mean of the orders' scores, what win rates and Bradley-Terry count (each
  order is one game, as Arena-Hard counts them: A in one order and a tie in the other is 0.75 for A);
- the pair's **verdict** (``pair_verdict``): the side that score favours, or a tie at 0.5 (A in one order and B in
  the other is a tie: the judge followed the position, not the replies), what agreement with the experts compares.

Agreement of a rater's verdicts with a reference's (a judge with the experts, or one expert with another):

- **accuracy** on the pairs the reference decided: 1 for the same side, 0 for the other side and 0.5 for a tie (a
  tie is a coin flip between the sides, so a judge that ties everything, or guesses, scores 0.5);
- **kappa**, the headline: chance-corrected agreement over the ordered verdicts B < tie < A with linear weights
  (a tie where the reference decided is half as wrong as the reverse verdict; Cohen's weighted kappa,
  ``sklearn.metrics.cohen_kappa_score(weights="linear")``), and **Cohen's kappa** unweighted (the tie a third,
  unordered category; ``kappa_from_totals`` at the nominal level) beside it. Both are computed on the pairs listed
  in both canonical orders (A and B swapped, each verdict with it), so they do not depend on which reply is called A:
  which reply comes first in a pair is arbitrary, and a judge must not earn agreement by a habit of saying "A".

Position bias of a judge asked in both orders: the share of "first shown" among its decided verdicts (0.5 = no
preference for a position) and position consistency, the share of pairs whose two orders gave the same verdict.

The length-controlled win rate follows AlpacaEval 2 (Dubois et al. 2024, ``length_controlled_v1``): a logistic model
of the judge's preference for the system over the baseline, ``logit P = theta + beta * tanh(d / sd(d))`` with ``d``
the system's length minus the baseline's (``sd`` over the system's pairs, ddof 1, not centred), fitted with ties as
half a preference each way; the length-controlled win rate is the prediction at ``d = 0``, ``sigmoid(theta)``.
AlpacaEval also adds an instruction-difficulty term and regularises towards gamed baselines, both fitted on its own
805 instructions; neither exists here, so the model keeps the two terms that carry the length correction.

Resamples: ``PostDraws`` draws whole posts once (``resample.cluster_counts``, seeded); every statistic of a
criterion then takes the same draws, whatever units it counts (pairs, judgments, pair x expert), so its CIs are
joint with the others'.

Example::

    import numpy as np
    from judge.analysis.stats.preference import PostDraws, accuracy, preference_kappa
    judge, experts = np.array([1, 0, 0.5, 1, 0]), np.array([1, 0, 1, 1, 1])
    draws = PostDraws.make(["p1", "p1", "p2", "p3", "p4"], n_boot=1000, seed=0)
    accuracy(judge, experts, draws).value, preference_kappa(judge, experts, draws).value
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field
from scipy.special import expit, log_expit

from judge.analysis.stats.correlation import Estimate
from judge.analysis.stats.pairwise import kappa_from_totals
from judge.analysis.stats.resample import FloatArray, IntArray, cluster_counts, percentile_ci, too_few

#: The codes of a verdict: the score of reply A.
VERDICT_SCORE: dict[str, float] = {"A": 1.0, "tie": 0.5, "B": 0.0}
_DOMAIN = np.array([0.0, 0.5, 1.0])  # B, tie, A
_LINEAR = np.abs(np.subtract.outer(np.arange(3), np.arange(3))) / 2.0

Weighting = Literal["linear", "none"]


class PostEstimate(Estimate):
    """An estimate over units clustered in posts (``n`` units counted, from ``n_posts`` posts)."""

    n_posts: int = Field(default=0, description="Posts the counted units come from.")


@dataclass(frozen=True)
class PostDraws:
    """Bootstrap draws of whole posts, shared by every statistic of one analysis.

    Attributes:
        keys: the posts drawn from (sorted).
        of: ``(n,)`` each unit's post, as an index into ``keys``.
        counts: ``(B, P)`` how often each post is drawn in each resample (``B`` may be 0).
    """

    keys: tuple[str, ...]
    of: IntArray
    counts: FloatArray

    @classmethod
    def make(cls, posts: Sequence[str], n_boot: int, seed: int, *, universe: Sequence[str] | None = None) -> PostDraws:
        """Draws for units in ``posts``; the same ``universe`` (default: the distinct ``posts``) and ``seed`` give
        the same draws, so statistics over other units of the same posts resample the same posts."""
        keys = tuple(sorted({str(p) for p in (universe if universe is not None else posts)}))
        index = {k: i for i, k in enumerate(keys)}
        missing = sorted({str(p) for p in posts} - index.keys())
        if missing:
            raise ValueError(f"posts not in the universe of the draws: {missing[:5]}")
        of = np.array([index[str(p)] for p in posts], dtype=np.int64)
        counts = (
            cluster_counts(len(keys), n_boot, np.random.default_rng(seed)) if n_boot > 0 and keys else np.empty((0, 0))
        )
        return cls(keys, of, counts)

    def for_units(self, posts: Sequence[str]) -> PostDraws:
        """The same draws for other units of the same posts (e.g. pair x expert rows)."""
        index = {k: i for i, k in enumerate(self.keys)}
        missing = sorted({str(p) for p in posts} - index.keys())
        if missing:
            raise ValueError(f"posts not in the universe of the draws: {missing[:5]}")
        return PostDraws(self.keys, np.array([index[str(p)] for p in posts], dtype=np.int64), self.counts)

    @property
    def n_boot(self) -> int:
        return int(self.counts.shape[0])

    def by_post(self, values: npt.ArrayLike) -> FloatArray:
        """Per-post sums ``(P, F)`` of unit values ``(n,)`` or ``(n, F)``."""
        v = np.asarray(values, dtype=float)
        v2 = v[:, np.newaxis] if v.ndim == 1 else v
        out = np.zeros((len(self.keys), v2.shape[1]))
        np.add.at(out, self.of, v2)
        return out

    def sums(self, values: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """The sample's sums ``(F,)`` of unit values and each resample's ``(B, F)``."""
        per_post = self.by_post(values)
        return per_post.sum(axis=0), (self.counts @ per_post if self.n_boot else np.empty((0, per_post.shape[1])))

    def posts_with(self, mask: npt.ArrayLike) -> int:
        """How many posts have at least one unit where ``mask`` holds."""
        return len(set(self.of[np.asarray(mask, dtype=bool)].tolist()))


def _estimate(
    value: float, boot: FloatArray, n: int, n_posts: int, confidence: float, *, what: str = "pair"
) -> PostEstimate:
    if n == 0 or np.isnan(value):
        return PostEstimate(value=None, n=n, n_posts=n_posts, note=f"no {what} to count")
    thin = too_few(n, n_posts, what=what)
    ci = None if thin or len(boot) == 0 else percentile_ci(boot, confidence)
    return PostEstimate(value=float(value), ci=ci, n=n, n_posts=n_posts, note=thin)


def ratio(
    num: npt.ArrayLike, den: npt.ArrayLike, draws: PostDraws, *, confidence: float = 0.95, what: str = "pair"
) -> PostEstimate:
    """``sum(num) / sum(den)`` over the units, with its percentile CI over posts (``n``: units with ``den > 0``)."""
    d = np.asarray(den, dtype=float)
    point, boot = draws.sums(np.column_stack([np.asarray(num, dtype=float), d]))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = point[0] / point[1] if point[1] > 0 else np.nan
        reps = boot[:, 0] / boot[:, 1] if len(boot) else np.empty(0)
    return _estimate(value, reps, int((d > 0).sum()), draws.posts_with(d > 0), confidence, what=what)


# -- the two orders of a pair -------------------------------------------------------------------------------------


def pair_score(score_ab: npt.ArrayLike, score_ba: npt.ArrayLike) -> FloatArray:
    """The pair's score for A: the mean of its orders' scores (one order if the other is unscored; NaN if both)."""
    s = np.column_stack([np.asarray(score_ab, dtype=float), np.asarray(score_ba, dtype=float)])
    n = (~np.isnan(s)).sum(axis=1)
    with np.errstate(invalid="ignore"):
        out = np.nansum(s, axis=1) / n
    out[n == 0] = np.nan
    return out


def pair_verdict(score_ab: npt.ArrayLike, score_ba: npt.ArrayLike) -> FloatArray:
    """The pair's verdict: 1 (A) or 0 (B) for the side its score favours, 0.5 at exactly 0.5, NaN if unscored."""
    s = pair_score(score_ab, score_ba)
    return np.where(np.isnan(s), np.nan, np.sign(np.round(s - 0.5, 12)) * 0.5 + 0.5)


def first_share(
    score_ab: npt.ArrayLike, score_ba: npt.ArrayLike, draws: PostDraws, *, confidence: float = 0.95
) -> PostEstimate:
    """Share of the judge's decided verdicts (not ties) that chose the reply shown first; ``n`` counts judgments.

    In order AB the first shown is A (score 1); in order BA it is B (score 0).
    """
    ab, ba = np.asarray(score_ab, dtype=float), np.asarray(score_ba, dtype=float)
    first = (ab == 1.0).astype(float) + (ba == 0.0).astype(float)
    decided = np.isin(ab, (0.0, 1.0)).astype(float) + np.isin(ba, (0.0, 1.0)).astype(float)
    est = ratio(first, decided, draws, confidence=confidence, what="pair")
    return est.model_copy(update={"n": int(decided.sum())})


def position_consistency(
    score_ab: npt.ArrayLike, score_ba: npt.ArrayLike, draws: PostDraws, *, confidence: float = 0.95
) -> PostEstimate:
    """Share of the pairs scored in both orders whose two verdicts are the same (ties included)."""
    ab, ba = np.asarray(score_ab, dtype=float), np.asarray(score_ba, dtype=float)
    both = ~np.isnan(ab) & ~np.isnan(ba)
    return ratio((both & (ab == ba)).astype(float), both.astype(float), draws, confidence=confidence)


# -- agreement of two raters' verdicts ----------------------------------------------------------------------------


def accuracy(
    verdict: npt.ArrayLike, reference: npt.ArrayLike, draws: PostDraws, *, confidence: float = 0.95
) -> PostEstimate:
    """Agreement with the reference on the pairs it decided: 1 same side, 0.5 tie, 0 other side (NaN: not counted).

    Args:
        verdict, reference: ``(n,)`` verdict codes (1 A, 0.5 tie, 0 B, NaN unscored).
    """
    v, r = np.asarray(verdict, dtype=float), np.asarray(reference, dtype=float)
    counted = ~np.isnan(v) & np.isin(r, (0.0, 1.0))
    credit = np.where(counted, 1.0 - np.abs(np.nan_to_num(v) - np.nan_to_num(r)), 0.0)
    return ratio(credit, counted.astype(float), draws, confidence=confidence)


def _codes(v: FloatArray) -> IntArray:
    """Verdict codes 0 (B), 1 (tie), 2 (A) of scored verdicts."""
    bad = ~np.isin(v, _DOMAIN)
    if bad.any():
        raise ValueError(f"a verdict must be 1 (A), 0.5 (tie), 0 (B) or NaN (unscored); got {v[bad][:5].tolist()}")
    return np.searchsorted(_DOMAIN, v).astype(np.int64)


def verdict_tables(verdict: npt.ArrayLike, reference: npt.ArrayLike) -> FloatArray:
    """Per unit, the ``3 x 3`` table (verdict x reference over B, tie, A) of the pair in both canonical orders,
    flattened: ``(n, 9)``; all zeros where either side is unscored."""
    v, r = np.asarray(verdict, dtype=float), np.asarray(reference, dtype=float)
    both = ~np.isnan(v) & ~np.isnan(r)
    out = np.zeros((len(v), 9))
    cv, cr = _codes(np.where(both, v, 0.5)), _codes(np.where(both, r, 0.5))
    rows = np.arange(len(v))
    np.add.at(out, (rows, cv * 3 + cr), both.astype(float))
    np.add.at(out, (rows, (2 - cv) * 3 + (2 - cr)), both.astype(float))  # A and B swapped
    return out


def kappa_from_tables(tables: npt.ArrayLike, weighting: Weighting = "linear") -> FloatArray:
    """Kappa of summed verdict tables ``(B, 9)`` (NaN where undefined: no pair, or one verdict on both sides)."""
    t = np.asarray(tables, dtype=float)
    if weighting == "none":
        return kappa_from_totals(t, "nominal", _DOMAIN)
    t3 = t.reshape(-1, 3, 3)
    n = t3.sum(axis=(1, 2))
    rows, cols = t3.sum(axis=2), t3.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.einsum("bij,ij->b", t3, _LINEAR) / n
        expected = np.einsum("bi,ij,bj->b", rows, _LINEAR, cols) / (n * n)
        out = 1.0 - observed / expected
    out[~(expected > 0) | ~(n > 0)] = np.nan
    out[np.abs(out) < 1e-12] = 0.0
    return np.asarray(out, dtype=float)


def preference_kappa(
    verdict: npt.ArrayLike,
    reference: npt.ArrayLike,
    draws: PostDraws,
    *,
    weighting: Weighting = "linear",
    confidence: float = 0.95,
) -> PostEstimate:
    """Chance-corrected agreement of the verdicts with the reference's over B < tie < A (see the module doc)."""
    tables = verdict_tables(verdict, reference)
    point, boot = draws.sums(tables)
    value = float(kappa_from_tables(point[np.newaxis, :], weighting)[0])
    reps = kappa_from_tables(boot, weighting) if len(boot) else np.empty(0)
    both = tables.sum(axis=1) > 0
    n, n_posts = int(both.sum()), draws.posts_with(both)
    if n > 0 and np.isnan(value):
        note = "undefined: both sides call every pair a tie, there is no disagreement to expect"
        return PostEstimate(value=None, n=n, n_posts=n_posts, note=note)
    return _estimate(value, reps, n, n_posts, confidence)


def coin_orders(n: int, seed: int) -> npt.NDArray[np.bool_]:
    """One fair coin per pair (True: the canonical order A-B is the one shown), the same for the same seed: the order
    in which a chance judge that always answers "the first shown" sees each pair."""
    return np.random.default_rng(seed).random(n) < 0.5


def shuffled_values(
    verdict: npt.ArrayLike, reference: npt.ArrayLike, *, n_perm: int = 2000, seed: int = 0
) -> dict[str, FloatArray]:
    """Accuracy, kappa and Cohen's kappa of the rater's own verdicts shuffled across the pairs both sides scored,
    ``n_perm`` times: ``{"accuracy": (n_perm,), "kappa": ..., "cohen_kappa": ...}`` (empty with fewer than 2 pairs).

    The shuffled rater keeps its share of decided verdicts and ties and ignores the pair: its figures are what that
    verdict distribution earns by chance. Each shuffled verdict also lands on a side drawn at random (A and B
    exchanged with probability 1/2): when the canonical order carries information (A is the reply listed first, and
    the listing favours better replies), a rater that says A more often than B would otherwise keep that knowledge
    through the shuffle and score above 0. The shuffles are one ``rng.permuted`` of ``(n_perm, n)`` codes and one
    bincount.
    """
    v, r = np.asarray(verdict, dtype=float), np.asarray(reference, dtype=float)
    both = ~np.isnan(v) & ~np.isnan(r)
    v, r = v[both], r[both]
    n = len(v)
    if n < 2 or n_perm <= 0:
        return {k: np.empty(0) for k in _CHANCE_STATS}
    rng = np.random.default_rng(seed)
    perm = rng.permuted(np.tile(_codes(v), (n_perm, 1)), axis=1)  # (n_perm, n) verdict codes
    perm = np.where(rng.random(perm.shape) < 0.5, 2 - perm, perm)  # a random side for each
    keys = perm * 3 + _codes(r)[np.newaxis, :] + (np.arange(n_perm) * 9)[:, np.newaxis]
    t = np.bincount(keys.ravel(), minlength=n_perm * 9).reshape(n_perm, 9).astype(float)
    t = t + t.reshape(n_perm, 3, 3)[:, ::-1, ::-1].reshape(n_perm, 9)  # both canonical orders
    decided = np.isin(r, (0.0, 1.0))
    credit = 1.0 - np.abs(_DOMAIN[perm][:, decided] - r[decided][np.newaxis, :])
    return {
        "accuracy": credit.mean(axis=1) if decided.any() else np.full(n_perm, np.nan),
        "kappa": kappa_from_tables(t, "linear"),
        "cohen_kappa": kappa_from_tables(t, "none"),
    }


_CHANCE_STATS = ("accuracy", "kappa", "cohen_kappa")


def chance_summary(values: FloatArray, n: int, n_posts: int, confidence: float = 0.95) -> PostEstimate:
    """A shuffled rater's row: the mean over the shuffles and their central ``confidence`` range."""
    ok = np.asarray(values, dtype=float)
    ok = ok[~np.isnan(ok)]
    if len(ok) == 0:
        return PostEstimate(value=None, n=n, n_posts=n_posts, note="undefined on every shuffle")
    note = f"mean of {len(ok)} shuffles; the interval is their central {confidence:.0%}"
    return PostEstimate(value=float(ok.mean()), ci=percentile_ci(ok, confidence), n=n, n_posts=n_posts, note=note)


def shuffled_chance(
    verdict: npt.ArrayLike,
    reference: npt.ArrayLike,
    *,
    n_perm: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, PostEstimate]:
    """``shuffled_values`` summed up: each statistic's mean over the shuffles and their central range."""
    v, r = np.asarray(verdict, dtype=float), np.asarray(reference, dtype=float)
    n = int((~np.isnan(v) & ~np.isnan(r)).sum())
    values = shuffled_values(v, r, n_perm=n_perm, seed=seed)
    return {k: chance_summary(values[k], n, 0, confidence) for k in _CHANCE_STATS}


# -- win rates ----------------------------------------------------------------------------------------------------


def win_rates(
    system_a: IntArray,
    system_b: IntArray,
    score_a: npt.ArrayLike,
    n_systems: int,
    draws: PostDraws,
    *,
    confidence: float = 0.95,
) -> list[PostEstimate]:
    """Each system's win rate over the pairs it took part in (ties half a win), with CIs over posts.

    Args:
        system_a, system_b: ``(n,)`` the systems of replies A and B (indices below ``n_systems``).
        score_a: ``(n,)`` the pair's score for A (``pair_score``), NaN = unscored.
    """
    s = np.asarray(score_a, dtype=float)
    a, b = np.asarray(system_a, dtype=np.int64), np.asarray(system_b, dtype=np.int64)
    ok = ~np.isnan(s)
    won = np.zeros((len(s), n_systems))
    met = np.zeros((len(s), n_systems))
    rows = np.flatnonzero(ok)
    np.add.at(won, (rows, a[ok]), s[ok])
    np.add.at(won, (rows, b[ok]), 1.0 - s[ok])
    np.add.at(met, (rows, a[ok]), 1.0)
    np.add.at(met, (rows, b[ok]), 1.0)
    point_w, boot_w = draws.sums(won)
    point_m, boot_m = draws.sums(met)
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(n_systems):
            value = point_w[k] / point_m[k] if point_m[k] > 0 else np.nan
            reps = boot_w[:, k] / boot_m[:, k] if len(boot_w) else np.empty(0)
            out.append(_estimate(value, reps, int(met[:, k].sum()), draws.posts_with(met[:, k] > 0), confidence))
    return out


def fit_logistic(
    x: npt.ArrayLike, y: npt.ArrayLike, weights: npt.ArrayLike | None = None, *, ridge: float = 0.0
) -> FloatArray:
    """Logistic regression with soft labels, for many weightings at once (no intercept unless ``x`` has one).

    Maximises ``sum_i w_i [y_i log p_i + (1 - y_i) log(1 - p_i)] - ridge * |coef|^2`` with ``p = sigmoid(x @ coef)``
    (``y = 0.5`` is a tie: half a preference each way, as AlpacaEval fits them).

    Args:
        x: ``(n, F)`` features.
        y: ``(n,)`` labels in [0, 1].
        weights: ``(B, n)`` one weighting of the rows per fit (default: one fit, weights 1).
        ridge: L2 penalty (0: the plain MLE, which must exist: no separation).

    Returns:
        ``(B, F)`` coefficients (``(F,)`` without ``weights``).
    """
    xx = np.asarray(x, dtype=float)
    yy = np.asarray(y, dtype=float)
    single = weights is None
    w = np.ones((1, len(yy))) if weights is None else np.asarray(weights, dtype=float)
    n_b, f = w.shape[0], xx.shape[1]
    coef = np.zeros((n_b, f))
    eye = np.eye(f)

    def objective(c: FloatArray, ww: FloatArray) -> FloatArray:
        z = c @ xx.T
        ll = yy * log_expit(z) + (1.0 - yy) * log_expit(-z)
        return np.asarray(-(ww * ll).sum(axis=1) + ridge * (c * c).sum(axis=1))

    active = np.ones(n_b, dtype=bool)
    for _ in range(200):
        c, ww = coef[active], w[active]
        p = expit(c @ xx.T)  # (b, n)
        grad = (ww * (yy - p)) @ xx - 2.0 * ridge * c
        h = np.einsum("bn,nf,ng->bfg", ww * p * (1.0 - p), xx, xx) + (2.0 * ridge + 1e-12) * eye
        step = np.linalg.solve(h, grad[:, :, np.newaxis])[:, :, 0]
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, 2.0 / np.maximum(size, 1e-300))[:, np.newaxis]
        before = objective(c, ww)
        t = np.ones(len(c))
        for _ in range(30):
            worse = objective(c + t[:, np.newaxis] * step, ww) > before + 1e-12 * np.abs(before)
            if not worse.any():
                break
            t[worse] *= 0.5
        coef[active] = c + t[:, np.newaxis] * step
        idx = np.flatnonzero(active)
        active[idx[size * t < 1e-10]] = False
        if not active.any():
            break
    return coef[0] if single else coef


def length_feature(delta_len: npt.ArrayLike) -> FloatArray:
    """AlpacaEval's length term: ``tanh(d / sd(d))`` (``sd`` with ddof 1, not centred); 0 where ``sd`` is 0."""
    d = np.asarray(delta_len, dtype=float)
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else 0.0
    if not sd > 0:
        return np.zeros(len(d))
    return np.tanh(d / sd)


#: Fewer pairs with the baseline than this give no length-controlled win rate: a two-parameter logistic fit needs
#: about ten outcomes per parameter before its intercept says more about the system than about the fit.
MIN_LC_PAIRS = 20


class LengthControlled(PostEstimate):
    """A length-controlled win rate and the fitted length slope (per unit of ``tanh(d / sd(d))``)."""

    length_slope: float | None = None
    raw: PostEstimate | None = Field(default=None, description="The plain win rate over the same pairs.")


def length_controlled_win_rate(
    score: npt.ArrayLike,
    delta_len: npt.ArrayLike,
    draws: PostDraws,
    *,
    ridge: float = 1e-3,
    confidence: float = 0.95,
) -> LengthControlled:
    """The system's win rate against the baseline had their replies been equally long (module doc).

    Args:
        score: ``(n,)`` the system's score in each of its pairs with the baseline (1 won, 0.5 tie, 0 lost, NaN
            unscored).
        delta_len: ``(n,)`` the system's reply length minus the baseline's.
        draws: post draws of the ``n`` pairs.
        ridge: a small penalty on both coefficients, so that a system that always wins gets a finite fit (its
            length-controlled rate is then close to 1).
    """
    s = np.asarray(score, dtype=float)
    d = np.asarray(delta_len, dtype=float)
    ok = ~np.isnan(s) & ~np.isnan(d)
    raw = ratio(np.where(ok, s, 0.0), ok.astype(float), draws, confidence=confidence)
    n, n_posts = int(ok.sum()), draws.posts_with(ok)
    if n < MIN_LC_PAIRS:
        note = f"too few: {n} scored pair(s) with the baseline, the length-controlled fit needs at least {MIN_LC_PAIRS}"
        return LengthControlled(value=None, n=n, n_posts=n_posts, note=note, raw=raw)
    x = np.column_stack([np.ones(n), length_feature(d[ok])])
    y = s[ok]
    coef = fit_logistic(x, y, ridge=ridge)
    value = float(expit(coef[0]))
    reps = np.empty(0)
    if draws.n_boot and not too_few(n, n_posts):
        weights = draws.counts[:, draws.of[ok]]
        reps = expit(fit_logistic(x, y, weights, ridge=ridge)[:, 0])
    est = _estimate(value, reps, n, n_posts, confidence)
    return LengthControlled(**est.model_dump(), length_slope=float(coef[1]), raw=raw)
