"""Prediction-powered mean: the formula by hand, and coverage by simulation where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from judge.analysis.ppi import ppi_mean, tuned_lambda
from judge.errors import InputError

Z = 1.959963984540054  # norm.ppf(0.975)


def test_formula_by_hand() -> None:
    # y = [3, 4, 5], yhat_l = [4, 5, 6]: the rectifier yhat_l - y is [1, 1, 1] (mean 1, variance 0).
    # yhat_u = [5, 6, 4, 5]: mean 5, deviations 0, 1, -1, 0 -> sample variance 2/3.
    # theta = 5 - 1 = 4; se = sqrt((2/3)/4 + 0/3) = sqrt(1/6) = 0.408248.
    # Classical: mean 4, sd 1, se = 1/sqrt(3) = 0.577350; width ratio = sqrt(1/6) * sqrt(3) = sqrt(1/2).
    est = ppi_mean([3, 4, 5], [4, 5, 6], [5, 6, 4, 5])
    se = np.sqrt(1 / 6)
    assert est.mean == pytest.approx(4.0)
    assert est.ci == pytest.approx((4 - Z * se, 4 + Z * se))
    assert est.classical_mean == pytest.approx(4.0)
    assert est.classical_ci == pytest.approx((4 - Z / np.sqrt(3), 4 + Z / np.sqrt(3)))
    assert est.width_ratio == pytest.approx(np.sqrt(0.5))
    assert (est.n_labeled, est.n_unlabeled, est.lam, est.confidence) == (3, 4, 1.0, 0.95)


def test_both_variances_enter_the_interval() -> None:
    # y = [1, 2, 4], yhat_l = [2, 2, 2]: rectifier y - yhat_l = [-1, 0, 2], mean 1/3, sample variance
    # ((-4/3)^2 + (-1/3)^2 + (5/3)^2) / 2 = (16 + 1 + 25) / 18 = 7/3.
    # yhat_u = [1, 3]: mean 2, sample variance 2. theta = 2 + 1/3; se^2 = 2/2 + (7/3)/3 = 1 + 7/9 = 16/9.
    est = ppi_mean([1, 2, 4], [2, 2, 2], [1, 3], alpha=0.1)
    z90 = stats.norm.ppf(0.95)
    assert est.mean == pytest.approx(7 / 3)
    assert est.ci == pytest.approx((7 / 3 - z90 * 4 / 3, 7 / 3 + z90 * 4 / 3))
    assert est.confidence == pytest.approx(0.9)


def test_tuned_lambda_by_hand() -> None:
    # y = [1, 2, 3], yhat_l = [1, 3, 2], yhat_u = [2, 2, 2]: Cov(y, yhat_l) = (-1*-1 + 0*1 + 1*0)/2 = 1/2.
    # Pooled yhat [1, 3, 2, 2, 2, 2]: mean 2, variance (1 + 1)/5 = 2/5. n/N = 1.
    # lam = (1/2) / ((1 + 1) * 2/5) = 5/8.
    y, fl, fu = np.array([1.0, 2, 3]), np.array([1.0, 3, 2]), np.array([2.0, 2, 2])
    assert tuned_lambda(y, fl, fu) == pytest.approx(5 / 8)
    est = ppi_mean(y, fl, fu, power_tuned=True)
    # theta = lam * mean(yhat_u) + mean(y - lam yhat_l) = 5/8 * 2 + (2 - 5/8 * 2) = 2.
    assert est.lam == pytest.approx(5 / 8) and est.mean == pytest.approx(2.0)


def _simulate(rng: np.random.Generator, n: int, big_n: int, bias: float, noise: float) -> tuple[np.ndarray, ...]:
    """Truth mean 3.0; the judge is biased and noisy: yhat = 0.7 y + 1.0 + bias + noise."""
    y_all = rng.normal(3.0, 1.0, size=n + big_n)
    yhat_all = 0.7 * y_all + 1.0 + bias + rng.normal(0, noise, size=n + big_n)
    return y_all[:n], yhat_all[:n], yhat_all[n:]


@pytest.mark.parametrize("power_tuned", [False, True], ids=["ppi", "ppi++"])
def test_coverage_near_nominal_on_synthetic_data(power_tuned: bool) -> None:
    rng = np.random.default_rng(2024)
    reps, covered, naive_covered, ratios = 1000, 0, 0, []
    for _ in range(reps):
        y, fl, fu = _simulate(rng, n=40, big_n=400, bias=1.5, noise=0.4)
        est = ppi_mean(y, fl, fu, power_tuned=power_tuned)
        covered += est.ci[0] <= 3.0 <= est.ci[1]
        ratios.append(est.width_ratio)
        # The judge alone (no rectifier) has mean 0.7 * 3 + 1.0 + 1.5 = 4.6, 1.6 too high: its interval never covers.
        half = Z * fu.std(ddof=1) / np.sqrt(fu.size)
        naive_covered += fu.mean() - half <= 3.0 <= fu.mean() + half
    # Binomial sd of the coverage over 1000 reps is sqrt(.95 * .05 / 1000) = 0.0069; +-3 sd is [0.929, 0.971].
    assert 0.929 <= covered / reps <= 0.971
    assert naive_covered / reps < 0.05
    # A good judge (R^2 of y on yhat about 0.75) narrows the interval noticeably compared with experts alone.
    assert np.median(ratios) < 0.75


def test_useless_judge_power_tuning_falls_back_to_classical() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(3, 1, 50)
    fl, fu = rng.normal(0, 3, 50), rng.normal(0, 3, 500)  # independent of y
    plain = ppi_mean(y, fl, fu)
    tuned = ppi_mean(y, fl, fu, power_tuned=True)
    assert plain.width_ratio > 1.5  # plain PPI pays for a noisy, useless judge
    assert tuned.lam < 0.2 and tuned.width_ratio < 1.05


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0], [1.0], [1.0, 2.0]), "y_labeled: needs at least 2 values, got 1"),
        (([1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0]), "one value per labeled item \\(2\\), got 3"),
        (([1.0, 2.0], [1.0, np.nan], [1.0, 2.0]), "yhat_labeled: must hold finite numbers"),
    ],
    ids=["too-few", "length-mismatch", "nan"],
)
def test_bad_input_names_the_argument(args: tuple, message: str) -> None:
    with pytest.raises(InputError, match=message):
        ppi_mean(*args)
    with pytest.raises(InputError, match="alpha: must be in"):
        ppi_mean([1, 2], [1, 2], [1, 2], alpha=1.5)
