"""Bradley-Terry strengths: hand-computed 2- and 3-player cases, against choix (the reference implementation of
Luce / Bradley-Terry maximum likelihood) on random and built cases, and the bootstrap over posts."""

from __future__ import annotations

import choix
import numpy as np
import pytest

from judge.analysis.stats.bradley_terry import (
    bradley_terry,
    fit_strengths,
    strength_ranks,
    win_tables,
)
from judge.analysis.stats.resample import cluster_counts


def choix_data(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> list[tuple[int, int]]:
    """Our comparisons as choix's (winner, loser) list: a decided comparison twice, a tie once each way.

    Doubling makes every count whole; the likelihood doubles with it, so choix's ``alpha`` is twice our ridge.
    """
    out: list[tuple[int, int]] = []
    for x, y, v in zip(a.tolist(), b.tolist(), s.tolist(), strict=True):
        if v == 1.0:
            out += [(x, y), (x, y)]
        elif v == 0.0:
            out += [(y, x), (y, x)]
        else:
            out += [(x, y), (y, x)]
    return out


def centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean()


def test_two_players_by_hand() -> None:
    # A beats B 3 times, loses once, 2 ties: A has 3 + 1 = 4 wins, B 1 + 1 = 2. The MLE equates the win
    # probability with the share of wins: sigmoid(tA - tB) = 4 / 6, so tA - tB = log(4 / 2) = log 2.
    s = np.array([1, 1, 1, 0, 0.5, 0.5])
    w = win_tables(np.zeros(6, dtype=np.int64), np.ones(6, dtype=np.int64), s, 2)[0]
    assert w.tolist() == [[0, 4], [2, 0]]
    theta = fit_strengths(w, ridge=0.0)
    assert theta == pytest.approx([np.log(2) / 2, -np.log(2) / 2], abs=1e-9)


def test_three_players_by_hand() -> None:
    # Strengths pi = (4, 2, 1): P(A>B) = 4/6, P(B>C) = 2/3, P(A>C) = 4/5. The data A-B 2:1, B-C 2:1, A-C 4:1 meet
    # the likelihood equations exactly: wins_i = sum_j n_ij pi_i / (pi_i + pi_j):
    # A: 6 = 3 * 4/6 + 5 * 4/5 = 2 + 4; B: 3 = 3 * 2/6 + 3 * 2/3 = 1 + 2; C: 2 = 3 * 1/3 + 5 * 1/5 = 1 + 1.
    # So the MLE is log(4, 2, 1), centred: (log 2, 0, -log 2).
    w = np.array([[0, 2, 4], [1, 0, 2], [1, 1, 0]], dtype=float)
    assert fit_strengths(w, ridge=0.0) == pytest.approx([np.log(2), 0.0, -np.log(2)], abs=1e-9)
    # The ridge pulls towards 0 (a prior of mean 0), never past it, and keeps the order.
    ridged = fit_strengths(w, ridge=1.0)
    assert 0 < ridged[0] < np.log(2) and -np.log(2) < ridged[2] < 0 and ridged[1] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("ridge", [0.005, 0.5])
def test_matches_choix_map_estimate_on_random_comparisons_with_ties(seed: int, ridge: float) -> None:
    rng = np.random.default_rng(seed)
    k, n = 7, 400
    true = rng.normal(scale=1.2, size=k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1 / (1 + np.exp(-(true[a] - true[b])))
    u = rng.random(n)
    s = np.where(u < 0.15, 0.5, (u < 0.15 + 0.85 * p).astype(float))
    mine = fit_strengths(win_tables(a, b, s, k)[0], ridge=ridge)
    ref = choix.opt_pairwise(k, choix_data(a, b, s), alpha=2 * ridge, tol=1e-12)
    assert mine == pytest.approx(centred(ref), abs=1e-7)


def test_matches_choix_mle_without_ridge() -> None:
    rng = np.random.default_rng(5)
    k, n = 5, 300
    true = np.linspace(-1, 1, k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    s = (rng.random(n) < 1 / (1 + np.exp(-(true[a] - true[b])))).astype(float)
    mine = fit_strengths(win_tables(a, b, s, k)[0], ridge=0.0)
    ref = choix.ilsr_pairwise(k, choix_data(a, b, s), alpha=0.0, tol=1e-12)
    assert mine == pytest.approx(centred(ref), abs=1e-6)


def test_unbeaten_player_is_finite_with_the_ridge_and_matches_choix() -> None:
    # Player 0 wins all its meetings: the MLE runs off to infinity, the penalised estimate does not.
    a = np.array([0, 0, 0, 1, 1, 2, 0, 1])
    b = np.array([1, 2, 3, 2, 3, 3, 1, 2])
    s = np.array([1, 1, 1, 1, 0, 0.5, 1, 0])
    mine = fit_strengths(win_tables(a, b, s, 4)[0], ridge=0.01)
    ref = choix.opt_pairwise(4, choix_data(a, b, s), alpha=0.02, tol=1e-12)
    assert np.all(np.isfinite(mine)) and mine[0] == mine.max() and mine[0] > 3
    assert mine == pytest.approx(centred(ref), abs=1e-6)


def test_a_batch_is_fitted_as_its_tables_one_by_one() -> None:
    rng = np.random.default_rng(9)
    tables = rng.poisson(2.0, size=(6, 5, 5)).astype(float)
    tables[:, np.arange(5), np.arange(5)] = 0
    tables[3, 4, :] = 0  # player 4 never wins in table 3
    batch = fit_strengths(tables, ridge=0.01)
    for t, row in zip(tables, batch, strict=True):
        assert row == pytest.approx(fit_strengths(t, ridge=0.01), abs=1e-9)


def test_swapping_the_sides_of_every_comparison_changes_nothing() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 50)
    b = (a + rng.integers(1, 4, 50)) % 4
    s = rng.choice([0.0, 0.5, 1.0], 50)
    assert fit_strengths(win_tables(a, b, s, 4)[0]) == pytest.approx(fit_strengths(win_tables(b, a, 1 - s, 4)[0]))


def test_player_without_meetings_has_no_strength() -> None:
    w = np.zeros((3, 3))
    w[0, 1], w[1, 0] = 2, 1
    theta = fit_strengths(w)
    assert np.isnan(theta[2]) and theta[0] > theta[1]


def test_ranks_share_the_smaller_rank_and_keep_nan() -> None:
    assert strength_ranks(np.array([0.3, 1.0, 0.3, np.nan])).tolist()[:3] == [2.0, 1.0, 2.0]
    assert np.isnan(strength_ranks(np.array([0.3, np.nan]))[1])


def test_bootstrap_resamples_whole_posts_with_the_shared_draws() -> None:
    rng = np.random.default_rng(0)
    systems = ["x", "y", "z"]
    n_posts = 40
    a, b, s, posts = [], [], [], []
    strength = {"x": 1.0, "y": 0.0, "z": -1.0}
    for p in range(n_posts):
        for i in range(3):
            for j in range(i + 1, 3):
                sa, sb = systems[i], systems[j]
                a.append(sa)
                b.append(sb)
                s.append(float(rng.random() < 1 / (1 + np.exp(-(strength[sa] - strength[sb])))))
                posts.append(f"post{p:02d}")
    res = bradley_terry(a, b, np.array(s), posts, n_boot=300, seed=7)
    by = {p.player: p for p in res.players}
    assert res.n_comparisons == 120 and res.n_posts == 40 and res.n_boot == 300
    assert by["x"].rank == 1 and by["z"].rank == 3
    for p in res.players:
        lo, hi = p.strength.ci
        assert lo <= p.strength.value <= hi
        assert p.rank_ci[0] <= p.rank <= p.rank_ci[1]
        assert p.n_comparisons == 80
    # The resamples are exactly the fits of the post draws of resample.cluster_counts (seeded the same way).
    counts = cluster_counts(n_posts, 300, np.random.default_rng(7))
    idx = {n: i for i, n in enumerate(systems)}
    per_post = win_tables(
        np.array([idx[x] for x in a]),
        np.array([idx[x] for x in b]),
        np.array(s),
        3,
        np.array([int(p[4:]) for p in posts]),
        n_posts,
    ).reshape(n_posts, 9)
    boot = fit_strengths((counts @ per_post).reshape(300, 3, 3))
    assert by["y"].strength.ci == pytest.approx(tuple(np.percentile(boot[:, 1], [2.5, 97.5])))
    # Same seed, same result.
    assert bradley_terry(a, b, np.array(s), posts, n_boot=300, seed=7) == res


def test_too_few_posts_gives_no_ci_and_says_why() -> None:
    res = bradley_terry(["a"] * 6, ["b"] * 6, np.array([1, 1, 0, 1, 0.5, 1.0]), ["p1"] * 3 + ["p2"] * 3, n_boot=100)
    assert res.note is not None and "post" in res.note
    assert all(p.strength.ci is None and p.rank_ci is None for p in res.players)
    assert res.players[0].strength.value is not None


def test_unscored_comparisons_are_left_out_and_bad_scores_refused() -> None:
    res = bradley_terry(["a", "a"], ["b", "c"], np.array([1.0, np.nan]), ["p", "q"], n_boot=0)
    by = {p.player: p for p in res.players}
    assert res.n_comparisons == 1 and by["c"].strength.value is None and by["c"].n_comparisons == 0
    with pytest.raises(ValueError, match="score_a must be in"):
        win_tables(np.array([0]), np.array([1]), np.array([2.0]), 2)
    with pytest.raises(ValueError, match="two different players"):
        win_tables(np.array([0]), np.array([0]), np.array([1.0]), 2)
