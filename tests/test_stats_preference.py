"""Preference statistics: agreement (accuracy, weighted and unweighted kappa against scikit-learn's Cohen's kappa),
the shuffled chance row, position bias, win rates, and the length-controlled win rate (the logistic fit against
scikit-learn's, and hand cases), each with CIs over posts from one set of post draws."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score

from judge.analysis.stats.pairwise import kappa_from_totals
from judge.analysis.stats.preference import (
    PostDraws,
    accuracy,
    first_share,
    fit_logistic,
    kappa_from_tables,
    length_controlled_win_rate,
    length_feature,
    pair_score,
    pair_verdict,
    position_consistency,
    preference_kappa,
    ratio,
    shuffled_chance,
    verdict_tables,
    win_rates,
)
from judge.analysis.stats.resample import cluster_counts

NAN = np.nan
LABELS = np.array(["B", "tie", "A"])


def labels(v: np.ndarray) -> np.ndarray:
    return LABELS[(v * 2).astype(int)]


def both_orders(v: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs listed with A and B swapped as well (what the symmetric kappa is defined on)."""
    return np.concatenate([v, 1 - v]), np.concatenate([r, 1 - r])


def random_verdicts(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    ref = rng.choice([0.0, 0.5, 1.0], n, p=[0.45, 0.15, 0.4])
    v = np.where(rng.random(n) < 0.55, ref, rng.choice([0.0, 0.5, 1.0], n))
    return v, ref, [f"p{i // 3:03d}" for i in range(n)]


# -- the orders of a pair ------------------------------------------------------------------------------------------


def test_pair_score_and_verdict_of_the_two_orders() -> None:
    ab = np.array([1, 1, 1, 0.5, NAN, NAN, 0, 0.5])
    ba = np.array([1, 0, 0.5, 0.5, 0, NAN, 0.5, 0])
    assert pair_score(ab, ba).tolist()[:5] == [1.0, 0.5, 0.75, 0.5, 0.0]
    assert np.isnan(pair_score(ab, ba)[5])
    v = pair_verdict(ab, ba)
    # A in one order and B in the other is a tie (the judge followed the position); A and a tie lean to A.
    assert v[[0, 1, 2, 3, 4, 6, 7]].tolist() == [1.0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0]
    assert np.isnan(v[5])


def test_position_bias_counts_first_shown_among_decided_judgments() -> None:
    # Order AB shows A first, order BA shows B first (score 0 = B).
    ab = np.array([1, 1, 0, 0.5, 1, NAN])
    ba = np.array([0, 1, 0, 0.5, 0, 1])
    draws = PostDraws.make(["p1", "p2", "p3", "p4", "p5", "p6"], n_boot=200, seed=0)
    fs = first_share(ab, ba, draws)
    # Decided judgments: pair1 2 (both first), pair2 2 (first, second), pair3 2 (second, first), pair4 0,
    # pair5 2 (both first), pair6 1 (second) -> 9 decided, first: 2 + 1 + 1 + 2 + 0 = 6.
    assert fs.value == pytest.approx(6 / 9) and fs.n == 9
    pc = position_consistency(ab, ba, draws)
    # Both orders scored: pairs 1-5; same verdict: pair2 (A, A), pair3 (B, B), pair4 (tie, tie) -> 3 / 5.
    assert pc.value == pytest.approx(3 / 5) and pc.n == 5 and pc.n_posts == 5


def test_a_judge_that_always_says_first_in_both_orders() -> None:
    n = 20
    ab, ba = np.ones(n), np.zeros(n)
    draws = PostDraws.make([f"p{i}" for i in range(n)], n_boot=100, seed=0)
    assert first_share(ab, ba, draws).value == 1.0
    assert position_consistency(ab, ba, draws).value == 0.0
    assert np.all(pair_verdict(ab, ba) == 0.5)


# -- agreement -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappas_match_scikit_learn_on_the_pairs_in_both_orders(seed: int) -> None:
    v, r, posts = random_verdicts(seed)
    draws = PostDraws.make(posts, n_boot=0, seed=0)
    vv, rr = both_orders(v, r)
    linear = cohen_kappa_score(labels(vv), labels(rr), labels=LABELS, weights="linear")
    plain = cohen_kappa_score(labels(vv), labels(rr), labels=LABELS)
    assert preference_kappa(v, r, draws).value == pytest.approx(linear, abs=1e-12)
    assert preference_kappa(v, r, draws, weighting="none").value == pytest.approx(plain, abs=1e-12)


def test_unweighted_kappa_is_the_headline_statistic_at_the_nominal_level() -> None:
    v, r, _ = random_verdicts(4)
    t = verdict_tables(v, r).sum(axis=0)[np.newaxis]
    assert kappa_from_tables(t, "none")[0] == kappa_from_totals(t, "nominal", np.array([0, 0.5, 1]))[0]


def test_kappa_does_not_depend_on_which_reply_is_called_a() -> None:
    v, r, posts = random_verdicts(5)
    flip = np.random.default_rng(0).random(len(v)) < 0.5
    v2, r2 = np.where(flip, 1 - v, v), np.where(flip, 1 - r, r)
    draws = PostDraws.make(posts, n_boot=300, seed=1)
    for weighting in ("linear", "none"):
        a = preference_kappa(v, r, draws, weighting=weighting)
        b = preference_kappa(v2, r2, draws, weighting=weighting)
        assert a.value == pytest.approx(b.value) and a.ci == pytest.approx(b.ci)
    assert accuracy(v, r, draws).value == pytest.approx(accuracy(v2, r2, draws).value)


def test_accuracy_by_hand_ties_count_half() -> None:
    v = np.array([1, 0, 0.5, 1, NAN, 1, 0])
    r = np.array([1, 1, 1, 0.5, 1, 0, 0])
    draws = PostDraws.make(list("abcdefg"), n_boot=0, seed=0)
    # Counted: reference decided and verdict scored: pairs 1, 2, 3, 6, 7 -> credits 1, 0, 0.5, 0, 1 = 2.5 / 5.
    acc = accuracy(v, r, draws)
    assert acc.value == pytest.approx(0.5) and acc.n == 5


def test_hand_computed_linear_kappa() -> None:
    # Verdicts (judge, reference): (A, A), (B, A), (tie, B). In both orders the table adds (B, B), (A, B), (tie, A).
    # Six pairs; linear distances A-B 1, tie-x 0.5. Observed: (0 + 1 + 0.5) * 2 / 6 = 0.5.
    # Judge marginals: A 2, B 2, tie 2; reference: A 3, B 3. Expected: sum over judge x reference values / 36:
    # judge A (2) vs ref A (3): 0, vs B (3): 1 -> 6; judge B the same -> 6; judge tie (2) vs 6 refs at 0.5 -> 6.
    # Expected = 18 / 36 = 0.5; kappa = 1 - 0.5 / 0.5 = 0.
    draws = PostDraws.make(["p", "q", "r"], n_boot=0, seed=0)
    got = preference_kappa(np.array([1, 0, 0.5]), np.array([1, 1, 0.0]), draws)
    assert got.value == 0.0
    # (A, A), (B, B), (tie, A): in both orders judge A meets ref A twice, B meets B twice, the ties meet A and B.
    # Observed: 2 ties x 0.5 / 6 = 1/6; the marginals are as above, expected 0.5: kappa = 1 - (1/6) / 0.5 = 2/3.
    got = preference_kappa(np.array([1, 0, 0.5]), np.array([1, 0, 1.0]), draws)
    assert got.value == pytest.approx(2 / 3)


def test_perfect_agreement_and_the_undefined_case() -> None:
    draws = PostDraws.make([f"p{i}" for i in range(8)], n_boot=100, seed=0)
    r = np.array([1, 0, 0.5, 1, 0, 1, 0, 0.5])
    assert preference_kappa(r, r, draws).value == 1.0
    ties = np.full(8, 0.5)
    undefined = preference_kappa(ties, ties, draws)
    assert undefined.value is None and "tie" in (undefined.note or "")
    assert preference_kappa(ties, r, draws).value == 0.0  # a judge that always ties is at chance


def test_bootstrap_ci_is_over_the_shared_post_draws() -> None:
    v, r, posts = random_verdicts(6)
    draws = PostDraws.make(posts, n_boot=200, seed=3)
    got = preference_kappa(v, r, draws)
    counts = cluster_counts(len(set(posts)), 200, np.random.default_rng(3))
    of = np.array([int(p[1:]) for p in posts])
    boot = []
    for row in counts:
        w = row[of]
        keep = np.repeat(np.arange(len(v)), w.astype(int))
        vv, rr = both_orders(v[keep], r[keep])
        boot.append(cohen_kappa_score(labels(vv), labels(rr), labels=LABELS, weights="linear"))
    assert got.ci == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])))
    assert got.n == 300 and got.n_posts == 100


def test_other_units_of_the_same_posts_share_the_draws() -> None:
    draws = PostDraws.make(["a", "b", "c", "a"], n_boot=50, seed=2)
    other = draws.for_units(["c", "c", "b"])
    assert np.array_equal(other.counts, draws.counts) and other.of.tolist() == [2, 2, 1]
    with pytest.raises(ValueError, match="not in the universe"):
        draws.for_units(["zzz"])


def test_shuffled_rater_is_at_chance() -> None:
    v, r, _ = random_verdicts(7, n=400)
    got = shuffled_chance(v, r, n_perm=1000, seed=0)
    assert got["kappa"].value == pytest.approx(0.0, abs=0.02)
    assert got["cohen_kappa"].value == pytest.approx(0.0, abs=0.02)
    # A shuffled verdict lands on a random side: on a decided pair it is right half the time, and a tie earns 0.5.
    assert got["accuracy"].value == pytest.approx(0.5, abs=0.01)
    assert got["kappa"].ci[0] < 0 < got["kappa"].ci[1] and "1000 shuffles" in (got["kappa"].note or "")
    assert shuffled_chance(v[:1], r[:1])["kappa"].value is None


def test_shuffled_rater_does_not_keep_what_the_canonical_order_knows() -> None:
    # A is usually the better reply (say the benchmark lists better replies first), and the judge says A most of the
    # time too. Shuffled without a random side, such a judge would keep a kappa of 0.31 (0.25 unweighted): the cells
    # of the table in both orders exceed their expected counts by (p_i - p_swapped(i)) (q_j - q_swapped(j)).
    rng = np.random.default_rng(1)
    n = 500
    r = rng.choice([0.0, 0.5, 1.0], n, p=[0.15, 0.15, 0.7])
    v = rng.choice([0.0, 0.5, 1.0], n, p=[0.15, 0.15, 0.7])
    got = shuffled_chance(v, r, n_perm=1000, seed=0)
    assert got["kappa"].value == pytest.approx(0.0, abs=0.02)
    assert got["accuracy"].value == pytest.approx(0.5, abs=0.02)


def test_unscored_verdicts_are_not_counted_and_bad_codes_refused() -> None:
    draws = PostDraws.make(list("abcdef"), n_boot=0, seed=0)
    v = np.array([1, NAN, 0, 1, 0.5, 0])
    r = np.array([1, 1, 0, NAN, 0, 1])
    assert preference_kappa(v, r, draws).n == 4
    with pytest.raises(ValueError, match="verdict must be"):
        verdict_tables(np.array([0.75]), np.array([1.0]))


# -- win rates and the length-controlled win rate ------------------------------------------------------------------


def test_win_rates_by_hand() -> None:
    # Systems 0, 1, 2: 0 beats 1, 0 ties 2, 1 beats 2 twice, an unscored pair 0-1.
    a = np.array([0, 0, 1, 2, 0])
    b = np.array([1, 2, 2, 1, 1])
    s = np.array([1, 0.5, 1, 0, NAN])
    draws = PostDraws.make(list("vwxyz"), n_boot=0, seed=0)
    got = win_rates(a, b, s, 3, draws)
    assert [g.value for g in got] == pytest.approx([1.5 / 2, 2 / 3, 0.5 / 3])
    assert [g.n for g in got] == [2, 3, 3]


def test_ratio_needs_enough_posts_for_a_ci() -> None:
    draws = PostDraws.make(["p1"] * 5 + ["p2"] * 5, n_boot=100, seed=0)
    got = ratio(np.ones(10), np.ones(10), draws)
    assert got.value == 1.0 and got.ci is None and "post" in (got.note or "")


def soft_sklearn(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None, c: float = np.inf) -> np.ndarray:
    """AlpacaEval's way to fit soft labels with scikit-learn: every row twice, labelled 1 and 0, weighted y, 1-y."""
    n = len(y)
    w = np.ones(n) if weights is None else weights
    model = LogisticRegression(C=c, fit_intercept=False, tol=1e-12, max_iter=10_000)
    model.fit(np.vstack([x, x]), np.r_[np.ones(n), np.zeros(n)], sample_weight=np.r_[w * y, w * (1 - y)])
    return np.asarray(model.coef_[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_logistic_fit_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 150
    d = rng.normal(scale=300, size=n)
    x = np.column_stack([np.ones(n), length_feature(d)])
    y = np.clip(np.round((0.5 + 0.3 * x[:, 1] + rng.normal(scale=0.5, size=n)) * 2) / 2, 0, 1)
    assert fit_logistic(x, y) == pytest.approx(soft_sklearn(x, y), abs=1e-5)
    # A ridge r is scikit-learn's C = 1 / (2 r) (its penalty is |coef|^2 / 2 against C times the loss).
    assert fit_logistic(x, y, ridge=0.7) == pytest.approx(soft_sklearn(x, y, c=1 / 1.4), abs=1e-5)
    # Several weightings at once, each as its own fit.
    w = rng.integers(0, 3, size=(3, n)).astype(float)
    batch = fit_logistic(x, y, w)
    for row, coef in zip(w, batch, strict=True):
        assert coef == pytest.approx(soft_sklearn(x, y, row), abs=1e-5)


def test_length_feature_is_alpacaeval_tanh_of_the_standardised_difference() -> None:
    d = np.array([100.0, -50.0, 25.0, 0.0])
    sd = np.std(d, ddof=1)
    assert length_feature(d) == pytest.approx(np.tanh(d / sd))
    assert length_feature(np.array([5.0, 5.0])).tolist() == [0.0, 0.0]


def test_length_controlled_win_rate_by_hand() -> None:
    # Without a length difference the model is logit P = theta: the fit is the plain win rate.
    draws = PostDraws.make([f"p{i}" for i in range(24)], n_boot=0, seed=0)
    s = np.tile([1, 1, 1, 0, 1, 0.5, 1, 0], 3)
    got = length_controlled_win_rate(s, np.zeros(24), draws, ridge=0.0)
    assert got.value == pytest.approx(5.5 / 8) and got.raw.value == pytest.approx(5.5 / 8)
    assert got.length_slope == 0.0


def test_length_controlled_win_rate_needs_enough_pairs() -> None:
    draws = PostDraws.make([f"p{i}" for i in range(19)], n_boot=10, seed=0)
    got = length_controlled_win_rate(np.ones(19), np.arange(19.0), draws)
    assert got.value is None and "at least 20" in (got.note or "") and got.raw.value == 1.0 and got.n == 19


def test_length_controlled_win_rate_removes_a_pure_length_preference() -> None:
    # A judge that prefers the longer reply and nothing else: the system wins when it is longer, loses when shorter.
    # Its raw win rate follows how often it is longer (here 75%); at equal length the model says 50%.
    rng = np.random.default_rng(0)
    n = 400
    d = np.where(rng.random(n) < 0.75, 1.0, -1.0) * rng.uniform(50, 400, n)
    p = 1 / (1 + np.exp(-3 * np.tanh(d / np.std(d, ddof=1))))
    s = (rng.random(n) < p).astype(float)
    draws = PostDraws.make([f"p{i // 2}" for i in range(n)], n_boot=300, seed=0)
    got = length_controlled_win_rate(s, d, draws)
    assert got.raw.value > 0.65
    assert got.value == pytest.approx(0.5, abs=0.08)
    assert got.ci[0] < 0.5 < got.ci[1] and got.length_slope > 2
    # The same against scikit-learn's fit (the ridge 1e-3 is negligible at 400 pairs).
    x = np.column_stack([np.ones(n), length_feature(d)])
    ref = soft_sklearn(x, s, c=1 / 2e-3)
    assert got.value == pytest.approx(1 / (1 + np.exp(-ref[0])), abs=1e-5)


def test_a_system_that_always_wins_gets_a_finite_rate_near_one() -> None:
    draws = PostDraws.make([f"p{i}" for i in range(30)], n_boot=50, seed=0)
    got = length_controlled_win_rate(np.ones(30), np.arange(30.0) - 15, draws)
    assert 0.99 < got.value <= 1.0 and got.ci is not None


def test_no_units_give_no_value_and_say_why() -> None:
    draws = PostDraws.make(["p1", "p2"], n_boot=20, seed=0).for_units([])
    empty = np.empty(0)
    for est in (
        accuracy(empty, empty, draws),
        preference_kappa(empty, empty, draws),
        first_share(empty, empty, draws),
        position_consistency(empty, empty, draws),
    ):
        assert est.value is None and est.n == 0 and "no pair" in (est.note or "")


def test_post_draws_are_the_draws_bradley_terry_makes() -> None:
    # pairwise_rankings relies on this: the win rates, strengths and length-controlled rates of one judge and
    # criterion resample the same posts.
    from judge.analysis.stats.resample import cluster_index

    posts = ["p10", "p2", "p2", "p7", "p1", "p10"]
    keys, _ = cluster_index(posts)
    draws = PostDraws.make(posts, n_boot=40, seed=5)
    assert list(draws.keys) == keys
    assert np.array_equal(draws.counts, cluster_counts(len(keys), 40, np.random.default_rng(5)))
