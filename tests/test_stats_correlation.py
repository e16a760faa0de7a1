"""Paired statistics against scipy and hand-computed cases; their vectorised bootstraps against per-resample loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from judge.analysis.stats.correlation import (
    Z95,
    icc_a1,
    icc_c1,
    kendall_tau_b,
    mean_bias,
    quadratic_kappa,
    spearman,
    system_spearman,
)
from judge.analysis.stats.resample import resample_blocks

scores = st.lists(st.integers(1, 5), min_size=4, max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_point_estimates_match_scipy(data: st.DataObject) -> None:
    x = np.array(data.draw(scores), float)
    y = np.array(data.draw(st.lists(st.integers(1, 5), min_size=len(x), max_size=len(x))), float)
    rho, tau = spearman(x, y, n_boot=10), kendall_tau_b(x, y, n_boot=10)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        assert rho.value is None and tau.value is None and rho.note and tau.note
        return
    assert rho.value == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert tau.value == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def _replay(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int, fn) -> np.ndarray:  # type: ignore[no-untyped-def]
    idx = np.concatenate(resample_blocks(len(x), n_boot, seed))
    return np.array([fn(x[row], y[row]).statistic for row in idx])


def test_bootstraps_equal_scipy_on_the_same_resamples() -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(1, 6, 40).astype(float)
    y = np.clip(x + rng.integers(-1, 2, 40), 1, 5).astype(float)
    for fn, ours in ((stats.spearmanr, spearman), (stats.kendalltau, kendall_tau_b)):
        loop = _replay(x, y, 200, 9, fn)
        low, high = np.percentile(loop, [2.5, 97.5])
        est = ours(x, y, n_boot=200, seed=9)
        assert est.ci == pytest.approx((low, high), abs=1e-12)
        assert est.ci[0] <= est.value <= est.ci[1]  # type: ignore[index,operator]


def test_quadratic_kappa_hand_computed() -> None:
    # x = 1 2 3 1, y = 1 2 2 2: mean (x-y)^2 = (0 + 0 + 1 + 1) / 4 = 0.5.
    # Chance: E[x^2] + E[y^2] - 2 E[x] E[y] = 15/4 + 13/4 - 2 * 7/4 * 7/4 = 7 - 49/8 = 7/8.
    # kappa = 1 - 0.5 / (7/8) = 3/7.
    x, y = np.array([1, 2, 3, 1.0]), np.array([1, 2, 2, 2.0])
    assert quadratic_kappa(x, y, n_boot=0).value == pytest.approx(3 / 7)
    # Same via Cohen's confusion-matrix formula with weights (i - j)^2 / (V - 1)^2 over categories 1..3.
    cats = [1.0, 2.0, 3.0]
    o = np.zeros((3, 3))
    for a, b in zip(x, y, strict=True):
        o[cats.index(a), cats.index(b)] += 1
    o /= o.sum()
    e = np.outer(o.sum(axis=1), o.sum(axis=0))
    w = (np.subtract.outer(np.arange(3), np.arange(3)) ** 2) / 4.0
    assert quadratic_kappa(x, y, n_boot=0).value == pytest.approx(1 - (w * o).sum() / (w * e).sum())


def test_kappa_undefined_and_perfect() -> None:
    assert quadratic_kappa(np.array([2.0, 2.0]), np.array([2.0, 2.0])).value is None
    assert quadratic_kappa(np.array([1.0, 2, 3]), np.array([1.0, 2, 3]), n_boot=50).value == pytest.approx(1.0)


def test_icc_shrout_fleiss_table() -> None:
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; published ICC(2,1) = 0.29.
    m = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
    res = icc_a1(m, n_boot=300)
    assert res.value == pytest.approx(0.2898, abs=5e-4)
    assert res.ci is not None and res.ci[0] <= res.value <= res.ci[1]  # type: ignore[operator]


def test_icc_perfect_agreement_is_one() -> None:
    m = np.array([[1, 1], [2, 2], [4, 4.0]])
    assert icc_a1(m, n_boot=0).value == pytest.approx(1.0)


def test_bias_and_limits_of_agreement_hand_computed() -> None:
    # d = x - y = 1, -1, 2, 0: bias 0.5; deviations .5 -1.5 1.5 -.5, squares sum 5, var 5/3, sd 1.2910.
    x, y = np.array([3, 2, 5, 4.0]), np.array([2, 3, 3, 4.0])
    res = mean_bias(x, y, n_boot=500)
    sd = np.sqrt(5 / 3)
    assert res.value == pytest.approx(0.5) and res.sd == pytest.approx(sd)
    assert res.loa == pytest.approx((0.5 - Z95 * sd, 0.5 + Z95 * sd))
    assert res.ci is not None and -1.0 <= res.ci[0] <= 0.5 <= res.ci[1] <= 2.0


def test_constant_judge_has_no_rank_correlation() -> None:
    x, y = np.full(10, 3.0), np.arange(10.0)
    res = spearman(x, y)
    assert res.value is None and "same score" in (res.note or "")


def test_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        spearman(np.array([1.0, np.nan, 2]), np.array([1.0, 2, 3]))


def test_system_spearman() -> None:
    res = system_spearman({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 1.5, "b": 1.0, "c": 4.0})
    assert res.value == pytest.approx(0.5) and res.n == 3  # ranks (1,2,3) vs (2,1,3): 1 - 6*2/(3*8) = 0.5
    assert system_spearman({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}).value is None


def test_one_item_has_a_bias_but_no_limits_and_says_so() -> None:
    res = mean_bias(np.array([3.0]), np.array([1.0]))
    assert res.value == pytest.approx(2.0) and res.sd is None and res.loa is None
    assert res.note == "one item only: no spread, no limits of agreement"


@pytest.mark.parametrize("form", ["A,1", "C,1"])
def test_icc_of_one_item_is_undefined_and_keeps_its_form(form: str) -> None:
    res = (icc_a1 if form == "A,1" else icc_c1)(np.array([[1.0, 2.0]]))
    assert (res.value, res.form, res.n) == (None, form, 1)
    assert res.note == "ICC needs at least 2 items, got 1"


@pytest.mark.parametrize("c", [0.1, 0.7, 1.1, 2.9])
@pytest.mark.parametrize("n", [3, 7, 10])
def test_icc_of_one_same_rating_everywhere_is_undefined_not_one(c: float, n: int) -> None:
    """Every rating the same leaves only rounding in the sums of squares (here it is positive): no ICC."""
    m = np.full((n, 2), c)
    for res in (icc_a1(m, n_boot=0), icc_c1(m, n_boot=0)):
        assert res.value is None and res.note == "ICC is undefined: every rating is the same"


def test_bootstraps_with_more_distinct_values_than_the_grid_holds_equal_scipy() -> None:
    """Over 1,000 distinct values a side (more than a million grid cells): ranks and one scipy call per resample."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=1100)
    y = x + rng.normal(size=1100)
    for fn, ours in ((stats.spearmanr, spearman), (stats.kendalltau, kendall_tau_b)):
        loop = _replay(x, y, 40, 3, fn)
        est = ours(x, y, n_boot=40, seed=3)
        assert est.value == pytest.approx(fn(x, y).statistic, abs=1e-12)
        assert est.ci == pytest.approx(tuple(np.percentile(loop, [2.5, 97.5])), abs=1e-12)


def test_resamples_with_one_side_constant_are_left_out_silently() -> None:
    """Five items, four with the same judge score: many resamples draw that score only (tau 0 / 0), no warning."""
    import warnings

    x, y = np.array([1.0, 1.0, 1.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tau, rho = kendall_tau_b(x, y, n_boot=300, seed=1), spearman(x, y, n_boot=300, seed=1)
    idx = np.concatenate(resample_blocks(5, 300, 1))
    defined = [row for row in idx if np.ptp(x[row]) > 0 and np.ptp(y[row]) > 0]
    assert 0 < len(defined) < 300  # some resamples are undefined, and left out of the CI
    want = np.percentile([stats.kendalltau(x[r], y[r]).statistic for r in defined], [2.5, 97.5])
    assert tau.ci == pytest.approx(tuple(want), abs=1e-12)
    want = np.percentile([stats.spearmanr(x[r], y[r]).statistic for r in defined], [2.5, 97.5])
    assert rho.ci == pytest.approx(tuple(want), abs=1e-12)
