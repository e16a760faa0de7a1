"""The statistics moved into stats/ (ranking, shifts, held-out metrics, the one percentile CI and bootstrap over posts)
against references: scipy, numpy applied one resample at a time, and cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from judge.analysis.stats.heldout import compare_held_out, held_out_statistics, within_folds
from judge.analysis.stats.ranking import competition_ranks, system_means
from judge.analysis.stats.resample import (
    assign_folds,
    cluster_bootstrap_means,
    cluster_weights,
    percentile_ci,
    percentile_columns,
    post_counts,
    stable_percentile_ci,
)
from judge.analysis.stats.shift import cluster_mean_ci, group_gap, paired_shift


def test_percentile_ci_is_numpys_percentile_of_the_defined_values() -> None:
    v = np.array([3.0, np.nan, 1.0, 2.0, 5.0, 4.0])
    assert percentile_ci(v) == pytest.approx(tuple(np.percentile([1, 2, 3, 4, 5.0], [2.5, 97.5])))
    assert percentile_ci(v, 0.5) == pytest.approx((2.0, 4.0))
    assert percentile_ci(np.array([np.nan])) is None


def test_stable_percentile_ci_needs_most_resamples_defined() -> None:
    ok = np.arange(100.0)
    assert stable_percentile_ci(ok) == percentile_ci(ok)
    holes = ok.copy()
    holes[:11] = np.nan  # 89% defined: below the 90% rule
    assert stable_percentile_ci(holes) is None
    assert stable_percentile_ci(ok[:19]) is None and stable_percentile_ci(ok[:20]) is not None


def test_percentile_columns_per_column_and_outward_for_ranks() -> None:
    rng = np.random.default_rng(1)
    b = rng.normal(size=(200, 3))
    b[:50, 1] = np.nan
    b[:, 2] = np.nan
    out = percentile_columns(b)
    for s in range(2):
        col = b[:, s][~np.isnan(b[:, s])]
        assert out[s] == pytest.approx(np.percentile(col, [2.5, 97.5]))
    assert np.isnan(out[2]).all()
    ranks = np.tile(np.array([1.0, 2.0, 3.0]), (34, 1)).T.ravel()[:, None]  # 34 x each rank
    lo, hi = percentile_columns(ranks, outward=True)[0]
    assert (lo, hi) == (1.0, 3.0)


def test_bootstrap_over_posts_is_one_draw_for_everyone() -> None:
    d = np.array([1.0, 3.0, -2.0, 0.5, 4.0])
    posts = ["b", "b", "a", "c", "c"]
    counts = post_counts(3, 300, seed=4)  # posts in sorted order: a, b, c
    sums, sizes = np.array([-2.0, 4.0, 4.5]), np.array([1.0, 2.0, 2.0])
    want = (counts @ sums) / (counts @ sizes)
    assert cluster_bootstrap_means(d, posts, 300, 4) == pytest.approx(want)
    w = cluster_weights(posts, 300, 4)  # the same draws per unit
    assert (w @ d) / w.sum(axis=1) == pytest.approx(want)
    assert cluster_weights(posts, 3, 4, with_original=True)[0].tolist() == [1.0] * 5


def test_assign_folds_balances_items_and_covers_every_post() -> None:
    posts = ["p1"] * 5 + ["p2"] * 3 + ["p3"] * 3 + ["p4"] * 2 + ["p5"]
    folds = assign_folds(posts, 3, seed=0)
    assert sorted(p for f in folds for p in f) == ["p1", "p2", "p3", "p4", "p5"] and len(folds) == 3
    load = sorted(sum(posts.count(p) for p in f) for f in folds)
    assert load[-1] - load[0] <= 5 and sum(load) == 14
    assert assign_folds(posts, 3, seed=0) == folds
    assert len(assign_folds(["a", "b"], 5, seed=0)) == 2


def test_competition_ranks_are_scipys_min_ranks() -> None:
    means = np.array([3.0, 5.0, 3.0, np.nan, 1.0])
    got = competition_ranks(means, lower_is_better=False)
    ok = ~np.isnan(means)
    assert got[ok].tolist() == stats.rankdata(-means[ok], method="min").tolist() and np.isnan(got[3])
    assert (
        competition_ranks(means, lower_is_better=True)[ok].tolist() == stats.rankdata(means[ok], method="min").tolist()
    )


def test_system_means_against_one_resample_at_a_time() -> None:
    rng = np.random.default_rng(3)
    n, n_sys, n_posts = 60, 3, 12
    values = rng.normal(size=n) + np.repeat([0.0, 1.0, 2.0], 20)
    values[5] = np.nan
    sys_idx, post_idx = np.repeat(np.arange(n_sys), 20), np.tile(np.arange(n_posts), 5)
    counts = post_counts(n_posts, 400, seed=2)
    res = system_means(values, sys_idx, post_idx, n_sys, counts, lower_is_better=False)
    for s in range(n_sys):
        mine = (sys_idx == s) & ~np.isnan(values)
        assert res.means[s] == pytest.approx(values[mine].mean())

    def mean_of(s: int, c: np.ndarray) -> float:
        mine = (sys_idx == s) & ~np.isnan(values)
        return float(np.average(values[mine], weights=c[post_idx[mine]]))

    boot = np.array([[mean_of(s, c) for s in range(n_sys)] for c in counts])
    assert res.boot == pytest.approx(boot)
    assert res.ci == pytest.approx(np.percentile(boot, [2.5, 97.5], axis=0).T)
    ranks = np.array([stats.rankdata(-row, method="min") for row in boot])
    want = np.column_stack(
        [np.quantile(ranks, 0.025, axis=0, method="lower"), np.quantile(ranks, 0.975, axis=0, method="higher")]
    )
    assert res.rank_ci.tolist() == want.tolist() and res.ranks.tolist() == [3.0, 2.0, 1.0]


def test_paired_shift_and_its_thin_data_rules() -> None:
    d = np.array([0.5, 1.0, 0.0, 0.5, 1.5, -0.5])
    posts = ["p1", "p1", "p2", "p3", "p4", "p5"]
    s = paired_shift(d, posts, 500, 0)
    assert s.value == pytest.approx(0.5) and (s.n, s.posts) == (6, 5)
    assert s.ci == pytest.approx(percentile_ci(cluster_bootstrap_means(d, posts, 500, 0)))
    assert cluster_mean_ci(d, posts, 500, 0) == (pytest.approx(0.5), s.ci)
    assert "too few" in (paired_shift(d[:4], posts[:4], 500, 0).note or "")
    assert paired_shift(np.array([]), [], 500, 0).value is None
    assert paired_shift(d, posts, 0, 0).ci is None


def test_group_gap_is_a_difference_of_means_with_a_cluster_ci() -> None:
    x = np.array([5.0, 4.0, 5.0, 3.0, 2.0, 3.0, 4.0, 2.0, 3.0, 2.0, 1.0, 2.0])
    own = np.array([True] * 6 + [False] * 6)
    posts = [f"p{k % 6}" for k in range(12)]
    g = group_gap(x, own, posts, 400, 1)
    assert g.value == pytest.approx(x[:6].mean() - x[6:].mean())
    w = cluster_weights(posts, 400, 1)
    boots = [np.average(x[own], weights=r[own]) - np.average(x[~own], weights=r[~own]) for r in w]
    assert g.ci == pytest.approx(percentile_ci(np.array(boots)))
    assert group_gap(x, np.ones(12, bool), posts, 10, 1).value is None


def test_held_out_statistics_against_plain_formulas() -> None:
    rng = np.random.default_rng(0)
    n = 30
    experts = rng.integers(1, 6, size=(2, n)).astype(float)
    target = experts.mean(axis=0)
    judge = np.clip(target + rng.normal(0.5, 1.0, n), 1, 5)
    fold = np.repeat([0, 1, 2], 10)
    w = np.vstack([np.ones(n), rng.integers(0, 3, size=(4, n)).astype(float)])
    out = held_out_statistics(experts, judge, target, fold, w)
    for b, row in enumerate(w):
        assert out["bias"][b] == pytest.approx(np.average(judge - target, weights=row))
        assert out["mae"][b] == pytest.approx(np.average(np.abs(judge - target), weights=row))
    # row 0 (the sample): Spearman within folds, weighted by fold size
    rho = [stats.spearmanr(judge[fold == f], target[fold == f]).statistic for f in range(3)]
    assert out["spearman"][0] == pytest.approx(np.mean(rho))
    assert within_folds(
        [np.array([1.0, np.nan]), np.array([3.0, 2.0])], [np.array([1.0, 1.0]), np.array([3.0, 1.0])]
    ) == (pytest.approx([2.5, 2.0]))
    res = compare_held_out(experts, judge, target, target, fold, [f"p{k}" for k in range(n)], n_boot=200, seed=0)
    assert res.after["bias"][0] == pytest.approx(0.0) and res.after["mae"][0] == pytest.approx(0.0)
    assert res.change["abs_bias"][0] == pytest.approx(-abs(res.before["bias"][0]))  # type: ignore[arg-type]
    assert res.before["bias"][1] is not None and res.change["mae"][1] is not None


# -- what mutation testing found untested (reports/quality/mutation.md) ------------------------------------------------


def test_default_seed_is_zero_and_every_ci_reproducible() -> None:
    from judge.analysis.stats.correlation import icc_a1, icc_c1, kendall_tau_b, mean_bias, quadratic_kappa, spearman

    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, 40).astype(float)
    y = np.clip(x + rng.integers(-1, 2, 40), 1, 5).astype(float)
    m = np.column_stack([x, y])
    for fn in (spearman, kendall_tau_b, mean_bias, quadratic_kappa):
        assert fn(x, y, n_boot=200) == fn(x, y, n_boot=200, seed=0), fn.__name__
        assert fn(x, y, n_boot=200, seed=5).ci == fn(x, y, n_boot=200, seed=5).ci, fn.__name__
    for icc in (icc_a1, icc_c1):
        assert icc(m, n_boot=200) == icc(m, n_boot=200, seed=0)
        assert icc(m, n_boot=200, seed=3) == icc(m, n_boot=200, seed=3)
        assert icc(m, n_boot=200, seed=3).ci != icc(m, n_boot=200, seed=4).ci


def test_undefined_resamples_are_nan_without_runtime_warnings() -> None:
    """Resamples that draw no item of a group (0 / 0) are NaN, silently: a user sees no numpy warning."""
    import warnings

    from judge.analysis.stats.correlation import bias_from_moments, icc_from_moments, kappa_from_moments
    from judge.analysis.stats.resample import cluster_weighted_means

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
        out = cluster_weighted_means(np.array([1.0, 4.0, 7.0]), w)
        assert out[0] == pytest.approx(3.0) and np.isnan(out[1])
        zero = np.zeros((1, 6))
        assert np.isnan(bias_from_moments(zero)[0]) and np.isnan(kappa_from_moments(zero)[0])
        assert np.isnan(icc_from_moments(zero, "A,1")[0])
        x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        gap = group_gap(x, np.array([True, True, True, False, False, False]), list("aabbcc"), 300, 0)
        assert gap.value == pytest.approx(-3.0)


def test_group_gap_needs_three_posts_and_keeps_its_value_when_thin() -> None:
    x = np.arange(12.0)
    own = np.arange(12) % 2 == 0
    g = group_gap(x, own, ["p1"] * 6 + ["p2"] * 6, 200, 0)  # 6 items a side, but 2 posts
    assert g.value == pytest.approx(-1.0) and g.ci is None and g.note == "too few: 2 post(s), a CI needs at least 3"
    assert (g.n, g.posts) == (12, 2)
    thin = group_gap(x, np.arange(12) < 2, [f"p{k}" for k in range(12)], 200, 0)  # 2 items of the family
    assert thin.value is not None and thin.ci is None and "2 item(s)" in (thin.note or "")


def test_paired_shift_says_why_it_has_no_value() -> None:
    empty = paired_shift(np.array([]), [], 100, 0)
    assert (empty.value, empty.n, empty.posts, empty.note) == (None, 0, 0, "no item scored both ways")
    assert paired_shift(np.arange(6.0), list("abcdef"), 0, 0).note == "no CI asked for (n_boot 0)"


def test_system_agreement_ci_against_one_resample_at_a_time() -> None:
    from judge.analysis.stats.resample import cluster_counts
    from judge.analysis.stats.system import system_agreement

    rng = np.random.default_rng(11)
    n_sys, per = 6, 12
    systems = np.repeat(np.arange(n_sys), per)
    posts = np.tile(np.arange(per), n_sys)
    y = rng.normal(size=n_sys * per) + systems * 0.3
    x = y + rng.normal(scale=0.8, size=n_sys * per)
    res = system_agreement(x, y, systems, posts, n_boot=300, seed=2)
    counts = cluster_counts(per, 300, np.random.default_rng(2))
    rho, tau = [], []
    for c in counts:
        w = c[posts]
        jm = np.array([np.average(x[systems == s], weights=w[systems == s]) for s in range(n_sys)])
        em = np.array([np.average(y[systems == s], weights=w[systems == s]) for s in range(n_sys)])
        rho.append(stats.spearmanr(jm, em).statistic)
        tau.append(stats.kendalltau(jm, em).statistic)
    assert res.spearman.ci == pytest.approx(tuple(np.percentile(rho, [2.5, 97.5])))
    assert res.kendall.ci == pytest.approx(tuple(np.percentile(tau, [2.5, 97.5])))


def test_system_agreement_with_too_few_systems_says_so_in_every_field() -> None:
    from judge.analysis.stats.system import system_agreement

    x = np.arange(14.0)
    systems = np.array([0] * 6 + [1] * 6 + [2] * 2)  # the third system has too few items
    res = system_agreement(x, x, systems, np.arange(14), n_boot=50)
    assert (res.n_systems, res.n_left_out) == (2, 1)
    notes = {res.note, res.icc_c1.note, res.icc_a1.note, res.spearman.note, res.kendall.note}
    assert notes == {"needs at least 3 systems with >= 5 items each, got 2"}
    assert res.spearman.value is None and res.kendall.value is None


def test_held_out_cis_are_the_percentiles_of_the_resampled_statistics() -> None:
    rng = np.random.default_rng(4)
    n = 40
    experts = rng.integers(1, 6, size=(2, n)).astype(float)
    target = experts.mean(axis=0)
    raw = np.clip(target + rng.normal(1.0, 1.0, n), 1, 5)
    cal = np.clip(raw - 1.0, 1, 5)
    fold = np.repeat(np.arange(4), 10)
    posts = [f"p{k // 2}" for k in range(n)]
    res = compare_held_out(experts, raw, cal, target, fold, posts, n_boot=300, seed=6)
    w = cluster_weights(posts, 300, 6)  # the same draws, without the sample's row
    for name in ("bias", "mae"):
        boot = held_out_statistics(experts, raw, target, fold, w)[name]
        assert res.before[name][1] == pytest.approx(np.percentile(boot, [2.5, 97.5]))
    assert compare_held_out(experts, raw, cal, target, fold, posts, n_boot=300, seed=6) == res


def test_weighted_kappa_says_why_it_is_undefined() -> None:
    from judge.analysis.stats.correlation import quadratic_kappa_point

    one = quadratic_kappa_point(np.array([3.0]), np.array([3.0]))
    assert (one.value, one.n, one.note) == (None, 1, "weighted kappa needs at least 2 shared items, got 1")
    same = quadratic_kappa_point(np.array([2.0, 2.0]), np.array([2.0, 2.0]))
    assert same.value is None and same.note == "weighted kappa is undefined: one same score on both"


def test_judge_board_costs_and_times_per_100_judgments(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from judge.analysis.judge_board import _per_100
    from judge.analysis.scores import JudgeScores
    from judge.engine.store import RunManifest

    def js(summary: dict | None, source: str = "live") -> JudgeScores:  # type: ignore[type-arg]
        manifest = RunManifest(judges={"j": {"name": "j", "model": "m"}}, source=source)
        return JudgeScores.from_run("j", tmp_path, manifest, {}, summary)

    live = {"per_judge": {"j": {"judgments": 3, "cache_hits": 0, "latency_s_total": 1.2345, "cost_usd": 1.234567e-4}}}
    assert _per_100(js(live)) == (3, round(100 * 1.234567e-4 / 3, 6), None, 41.15)
    assert _per_100(js({})) == (None, None, "no run summary", None)
    assert _per_100(js(None)) == (None, None, "no run summary", None)
    imported = (3, None, "none (imported): no call was made, so no cost or time was measured", None)
    assert _per_100(js(live, source="imported")) == imported  # the one wording of #29 point 4


def test_calibration_metrics_print_with_two_decimals() -> None:
    from judge.analysis.calibration import Metric, fmt_metric

    assert fmt_metric(Metric(value=0.123)) == "0.12" and fmt_metric(Metric(value=-0.001)) == "0.00"
    assert fmt_metric(None) == "n/a" and fmt_metric(Metric(value=None)) == "n/a"


def test_unique_rows_is_numpys_unique_rows() -> None:
    """Whatever the shape, including more columns than one integer key can hold (70 two-valued columns)."""
    from judge.analysis.stats.resample import unique_rows

    rng = np.random.default_rng(6)
    wide = rng.integers(0, 2, size=(40, 70)).astype(float)
    wide[1] = wide[0]
    wide[1, 0] = 1 - wide[0, 0]  # differs from row 0 in the first column only
    cases = [
        rng.integers(0, 3, size=(50, 4)).astype(float),
        wide,
        rng.integers(0, 2, size=(12, 2, 2)).astype(float),
        np.zeros((0, 3)),
        np.zeros((4, 0)),
        np.array([3.0, 1.0, 3.0]),
    ]
    for rows in cases:
        uniq, inverse = unique_rows(rows)
        want_uniq, want_inverse = np.unique(rows, axis=0, return_inverse=True)
        assert np.array_equal(uniq, want_uniq) and np.array_equal(inverse, np.ravel(want_inverse))
        assert np.array_equal(uniq[inverse], rows)


def test_a_judge_equal_to_a_rater_on_exactly_95_percent_is_that_rater() -> None:
    from judge.analysis.stats.raters import SAME_SHARE, rater_matches

    rater = np.tile(np.arange(1.0, 6.0), 4)  # 20 items, 1..5 each four times
    judge = rater.copy()
    judge[0] = 2.0  # 19 of 20 equal
    match = rater_matches(judge, rater[np.newaxis, :], ["a"])
    # chance = sum over values of P(judge = v) P(rater = v) = (3*4*4 + 3*4 + 5*4) / 400 = 0.2
    assert SAME_SHARE == 0.95 and len(match) == 1
    assert (match[0].share, match[0].n_shared) == (0.95, 20)
    assert match[0].kappa == pytest.approx(1 - 0.05 / 0.8)
    judge[1] = 1.0  # 18 of 20: not the rater
    assert rater_matches(judge, rater[np.newaxis, :], ["a"]) == []


def test_the_stats_face_names_every_statistic_lazily() -> None:
    import judge.analysis.stats as face
    from judge.analysis.stats import correlation, pairwise, resample

    assert face.spearman is correlation.spearman and face.headline is pairwise.headline
    assert face.percentile_ci is resample.percentile_ci
    with pytest.raises(AttributeError, match=r"module 'judge\.analysis\.stats' has no attribute 'median'"):
        face.median  # noqa: B018


def test_panel_cis_are_the_statistics_of_each_resample_of_the_items() -> None:
    """A judge against two experts on 30 items, one of them scored but rated by nobody (it takes no part): the
    headline and bias CIs of the shared resamples are the percentiles of the same statistics computed on each
    resample's items (the headline by the pairwise kappa of those items, the bias by numpy)."""
    from judge.analysis.stats.pairwise import judge_pairs
    from judge.analysis.stats.panel import judge_panel, panel_statistics, resample_panels
    from judge.analysis.stats.resample import resample_blocks

    rng = np.random.default_rng(8)
    n, scale = 30, [1.0, 2.0, 3.0, 4.0, 5.0]
    m = rng.integers(1, 6, size=(2, n)).astype(float)
    m[1, ::3] = np.nan
    x = np.clip(m[0] + rng.integers(-1, 2, n), 1, 5)
    m[:, 7] = np.nan  # rated by nobody
    x[4] = np.nan  # not scored
    p = judge_panel("j", x, m, ["a", "b"], "interval", scale)
    resample_panels([p], {}, n, n_boot=200, seed=4, level="interval")
    got = panel_statistics(p, m, ["a", "b"], "interval")
    kappas, biases = [], []
    for row in np.concatenate(resample_blocks(n, 200, 4)):
        xs, ms = x[row], m[:, row]
        kappas.append(judge_pairs(xs, ms, "interval", scale).kappa()[0])
        use = ~np.isnan(xs) & ~np.isnan(ms).all(axis=0)
        biases.append(np.mean(xs[use] - np.nanmean(ms[:, use], axis=0)))
    assert got["n_items"] == n - 2
    assert got["headline"].ci == pytest.approx(tuple(np.percentile(kappas, [2.5, 97.5])), abs=1e-12)
    assert got["bias"].ci == pytest.approx(tuple(np.percentile(biases, [2.5, 97.5])), abs=1e-12)
