"""Bradley-Terry strengths from pairwise comparisons, with CIs and rank intervals from a bootstrap over posts.

The model: player ``i`` beats player ``j`` with probability ``sigmoid(theta_i - theta_j)``. Strengths ``theta`` are
on the logit scale and centred (mean 0): a difference of 1 means the stronger player wins 73% of their meetings.

The fit maximises the penalised log-likelihood::

    sum_ij W_ij * log sigmoid(theta_i - theta_j)  -  ridge * sum_i theta_i^2

where ``W_ij`` is the (weighted) number of times ``i`` beat ``j``. The small ridge (a Gaussian prior of variance
``1 / (2 ridge)`` on each strength) keeps strengths finite when a player won, or lost, every meeting (the plain MLE
then does not exist) and pins the shift the likelihood leaves free; with the default 0.01 it moves a strength
learnt from a handful of meetings by a few hundredths. ``ridge * sum theta^2`` is ``choix.opt_pairwise``'s
``alpha * sum theta^2`` when each comparison is given once; the tests check the fit against it.

Ties count as half a win each way (``W_ij += 0.5``, ``W_ji += 0.5``), as Chatbot Arena and Arena-Hard count them,
rather than through Davidson's extra tie parameter: a tie then says exactly "these two are as good as each other",
every strength keeps one meaning (the log-odds of winning), the fit stays the plain BT likelihood that references
implement, and a judge that calls many ties pulls strengths together instead of changing a nuisance parameter.

Resamples: comparisons are clustered by post (the replies to one post are judged against each other); each
bootstrap resample draws whole posts (``resample.cluster_counts``), and the win tables of all resamples are one
matrix product of draw counts and per-post win tables. All resamples are then fitted at once: damped Newton steps on
``(B, K)`` strengths, with the ``(B, K, K)`` Hessians solved as one batch.

Example::

    import numpy as np
    from judge.analysis.stats.bradley_terry import bradley_terry
    res = bradley_terry(["a", "a", "b"], ["b", "c", "c"], np.array([1.0, 0.5, 1.0]), ["p1", "p2", "p3"], n_boot=0)
    {p.player: p.strength.value for p in res.players}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse
from scipy.special import expit, log_expit

from judge.analysis.stats.correlation import Estimate
from judge.analysis.stats.ranking import competition_ranks
from judge.analysis.stats.resample import (
    FloatArray,
    IntArray,
    cluster_counts,
    cluster_index,
    percentile_ci,
    percentile_columns,
    too_few,
)

#: The default ridge: small enough to leave a strength learnt from dozens of meetings where the MLE puts it,
#: large enough to keep an unbeaten player's strength finite.
DEFAULT_RIDGE = 0.01

_MAX_STEP = 2.0  # largest change of any strength in one Newton step (logits): damps the first steps
_MAX_ITER = 200
_TOL = 1e-10


def win_tables(
    player_a: IntArray,
    player_b: IntArray,
    score_a: FloatArray,
    n_players: int,
    units: IntArray | None = None,
    n_units: int | None = None,
) -> FloatArray:
    """Win tables ``W[u, i, j]``: how much ``i`` beat ``j`` in the comparisons of each unit (e.g. each post).

    Args:
        player_a, player_b: ``(n,)`` the two players of each comparison (indices below ``n_players``).
        score_a: ``(n,)`` the outcome for ``player_a``: 1 won, 0.5 tie, 0 lost; NaN = no outcome (left out).
        units: ``(n,)`` the unit of each comparison (default: all in one unit).
        n_units: number of units (default ``units.max() + 1``).

    Returns:
        ``(U, K, K)`` weighted wins, row player over column player.
    """
    a = np.asarray(player_a, dtype=np.int64)
    b = np.asarray(player_b, dtype=np.int64)
    s = np.asarray(score_a, dtype=float)
    if not (a.shape == b.shape == s.shape) or a.ndim != 1:
        raise ValueError(f"player_a, player_b and score_a must be (n,) each; got {a.shape}, {b.shape}, {s.shape}")
    u = np.zeros(len(a), dtype=np.int64) if units is None else np.asarray(units, dtype=np.int64)
    n_u = int(n_units if n_units is not None else (u.max() + 1 if len(u) else 1))
    ok = ~np.isnan(s)
    if np.any((s[ok] < 0) | (s[ok] > 1)):
        raise ValueError("score_a must be in [0, 1] (1 won, 0.5 tie, 0 lost) or NaN")
    if np.any(a[ok] == b[ok]):
        raise ValueError("a comparison needs two different players")
    a, b, s, u = a[ok], b[ok], s[ok], u[ok]
    k = n_players
    rows = np.concatenate([u, u])
    cols = np.concatenate([a * k + b, b * k + a])
    vals = np.concatenate([s, 1.0 - s])
    table = sparse.coo_matrix((vals, (rows, cols)), shape=(n_u, k * k)).toarray()
    return table.reshape(n_u, k, k)


def _objective(theta: FloatArray, wins: FloatArray, ridge: float) -> FloatArray:
    """Negative penalised log-likelihood per row: ``(B, K)`` strengths, ``(B, K, K)`` wins -> ``(B,)``."""
    d = theta[:, :, np.newaxis] - theta[:, np.newaxis, :]
    return np.asarray(-(wins * log_expit(d)).sum(axis=(1, 2)) + ridge * (theta * theta).sum(axis=1))


def fit_strengths(wins: npt.ArrayLike, ridge: float = DEFAULT_RIDGE) -> FloatArray:
    """Bradley-Terry strengths (logits, mean 0) maximising the penalised likelihood of each win table.

    Args:
        wins: ``(K, K)`` or ``(B, K, K)``: ``wins[..., i, j]`` how much ``i`` beat ``j`` (ties as 0.5 each way).
        ridge: the penalty ``ridge * sum theta^2`` (>= 0; with 0 the MLE must exist: every player in one connected
            set of meetings, none unbeaten or winless).

    Returns:
        ``(K,)`` or ``(B, K)`` strengths; NaN for a player without a meeting in that table.
    """
    w = np.asarray(wins, dtype=float)
    single = w.ndim == 2
    if single:
        w = w[np.newaxis]
    if w.ndim != 3 or w.shape[1] != w.shape[2]:
        raise ValueError(f"wins must be (K, K) or (B, K, K); got shape {np.shape(wins)}")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    n_b, k, _ = w.shape
    n = w + w.transpose(0, 2, 1)  # meetings
    won = w.sum(axis=2)
    theta = np.zeros((n_b, k))
    # The likelihood is unchanged by a common shift; adding the all-ones direction makes the system solvable and
    # keeps every step centred (the gradient and the optimum are centred).
    shift = np.ones((k, k)) / k
    eye = np.eye(k)
    jitter = 1e-12 if ridge == 0 else 0.0
    active = np.ones(n_b, dtype=bool)
    for _ in range(_MAX_ITER):
        th = theta[active]
        nn = n[active]
        p = expit(th[:, :, np.newaxis] - th[:, np.newaxis, :])
        grad = won[active] - (nn * p).sum(axis=2) - 2.0 * ridge * th
        h = nn * p * (1.0 - p)
        neg_hess = (h.sum(axis=2)[:, :, np.newaxis] * eye) - h + (2.0 * ridge + jitter) * eye + shift
        step = np.linalg.solve(neg_hess, grad[:, :, np.newaxis])[:, :, 0]
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(size, 1e-300))[:, np.newaxis]
        # Backtrack rows whose objective would rise (rare: the penalised likelihood is concave, the cap damps)
        before = _objective(th, w[active], ridge)
        t = np.ones(len(th))
        for _ in range(30):
            worse = _objective(th + t[:, np.newaxis] * step, w[active], ridge) > before + 1e-12 * np.abs(before)
            if not worse.any():
                break
            t[worse] *= 0.5
        theta[active] = th + t[:, np.newaxis] * step
        done = size * t < _TOL
        idx = np.flatnonzero(active)
        active[idx[done]] = False
        if not active.any():
            break
    theta -= theta.mean(axis=1, keepdims=True)
    theta[n.sum(axis=2) == 0] = np.nan
    return theta[0] if single else theta


def strength_ranks(strengths: FloatArray) -> FloatArray:
    """Ranks along the last axis (1 = strongest; equal strengths share the smaller rank); NaN stays NaN."""
    # Strengths equal up to rounding (two players with the same record) must share a rank.
    return competition_ranks(np.round(np.asarray(strengths, dtype=float), 9), lower_is_better=False)


class PlayerStrength(BaseModel):
    """One player's Bradley-Terry strength (logits, mean 0 over the players), rank and rank interval."""

    model_config = ConfigDict(extra="forbid")

    player: str
    strength: Estimate = Field(description="Strength on the logit scale, with its percentile CI over posts.")
    rank: int | None = Field(default=None, description="1 = strongest; equal strengths share the smaller rank.")
    rank_ci: tuple[int, int] | None = Field(default=None, description="2.5/97.5 percentiles of the bootstrap rank.")
    n_comparisons: int = Field(description="Comparisons the player took part in (with an outcome).")


class BradleyTerry(BaseModel):
    """Bradley-Terry strengths of every player, with CIs over posts."""

    model_config = ConfigDict(extra="forbid")

    players: list[PlayerStrength]
    n_comparisons: int
    n_posts: int
    ridge: float
    n_boot: int
    note: str | None = None


def bradley_terry(
    player_a: Sequence[str],
    player_b: Sequence[str],
    score_a: npt.ArrayLike,
    posts: Sequence[str],
    *,
    ridge: float = DEFAULT_RIDGE,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> BradleyTerry:
    """Strengths of the players from their comparisons, with percentile CIs and rank intervals over posts.

    Args:
        player_a, player_b: ``(n,)`` the two players (e.g. systems) of each comparison.
        score_a: ``(n,)`` the outcome for ``player_a``: 1 won, 0.5 tie, 0 lost, NaN none (left out).
        posts: ``(n,)`` each comparison's post; bootstrap resamples draw whole posts.
        ridge: see ``fit_strengths``.
        n_boot, seed: resamples of posts (``resample.cluster_counts`` with ``default_rng(seed)``); 0 = no CIs.
        confidence: coverage of the CIs and rank intervals.
    """
    s = np.asarray(score_a, dtype=float)
    if not (len(player_a) == len(player_b) == len(s) == len(posts)):
        raise ValueError("player_a, player_b, score_a and posts must have one entry per comparison")
    names, idx = cluster_index([*player_a, *player_b])
    a, b = idx[: len(s)], idx[len(s) :]
    ok = ~np.isnan(s)
    post_keys, post_of = cluster_index(posts)
    n_players = len(names)
    per_post = win_tables(a, b, s, n_players, post_of, max(len(post_keys), 1))
    k2 = n_players * n_players
    flat = per_post.reshape(len(per_post), k2)
    point = fit_strengths(flat.sum(axis=0).reshape(n_players, n_players), ridge)
    meetings = np.bincount(np.concatenate([a[ok], b[ok]]), minlength=n_players)
    used_posts = len(set(post_of[ok].tolist()))
    thin = too_few(int(ok.sum()), used_posts, what="comparison")
    boot = np.empty((0, n_players))
    if n_boot > 0 and not thin:
        counts = cluster_counts(len(flat), n_boot, np.random.default_rng(seed))
        boot = fit_strengths((counts @ flat).reshape(n_boot, n_players, n_players), ridge)
    ranks = strength_ranks(point)
    rank_bounds = percentile_columns(strength_ranks(boot), confidence, outward=True) if len(boot) else None
    out = []
    for i, name in enumerate(names):
        value = None if np.isnan(point[i]) else float(point[i])
        ci = percentile_ci(boot[:, i], confidence) if len(boot) and value is not None else None
        rank_ci = None
        if value is not None and rank_bounds is not None and not np.isnan(rank_bounds[i, 0]):
            rank_ci = (int(rank_bounds[i, 0]), int(rank_bounds[i, 1]))
        note = thin if value is not None else "no comparison with an outcome"
        out.append(
            PlayerStrength(
                player=name,
                strength=Estimate(value=value, ci=ci, n=int(meetings[i]), note=note),
                rank=None if np.isnan(ranks[i]) else int(ranks[i]),
                rank_ci=rank_ci,
                n_comparisons=int(meetings[i]),
            )
        )
    return BradleyTerry(
        players=out,
        n_comparisons=int(ok.sum()),
        n_posts=used_posts,
        ridge=ridge,
        n_boot=len(boot),
        note=thin,
    )
