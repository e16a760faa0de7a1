"""Krippendorff's alpha: point estimate, vectorised bootstrap, edge cases."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from judge.analysis.stats.alpha import (
    alpha_from_coincidences,
    bootstrap_alpha,
    bootstrap_alphas,
    unit_coincidences,
    unit_patterns,
    value_domain,
)

NAN = np.nan

# Two raters, four items. Coincidences (each pairable unit adds its ordered pairs / (m_u - 1), m_u = 2):
#   items 1, 2 = (1, 1): o_11 = 2 + 2 = 4;  item 3 = (2, 2): o_22 = 2;  item 4 = (2, 1): o_12 = o_21 = 1.
#   n_1 = 4 + 1 = 5, n_2 = 2 + 1 = 3, n = 8.
#   D_o = (o_12 + o_21) / n = 2/8;  D_e = 2 n_1 n_2 / (n (n - 1)) = 30/56.
#   alpha = 1 - (2/8) / (30/56) = 1 - 112/240 = 8/15 (binary data: nominal, ordinal and interval all agree).
SMALL = np.array([[1, 1, 2, 2], [1, 1, 2, 1]], dtype=float)

# Krippendorff's own example (Krippendorff 2011, "Computing Krippendorff's alpha-reliability"; also the
# krippendorff package's doctest): 3 observers, 15 units, missing data. Published: nominal 0.691, interval 0.811.
TEXTBOOK = np.array(
    [
        [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
        [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
        [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
    ]
)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_hand_computed_binary_case(level: str) -> None:
    res = bootstrap_alpha(SMALL, level, n_boot=0)  # type: ignore[arg-type]
    assert res.alpha == pytest.approx(8 / 15)
    assert res.n_items == 4 and res.n_values == 8


@pytest.mark.parametrize(("level", "published"), [("nominal", 0.691358), ("interval", 0.810845)])
def test_textbook_example(level: str, published: float) -> None:
    res = bootstrap_alpha(TEXTBOOK, level, n_boot=200)  # type: ignore[arg-type]
    assert res.alpha == pytest.approx(published, abs=1e-6)
    # Values per unit: 1,0,2,2,2,3,3,2,2,2,2,2,2,0,2 -> 12 pairable units (all but 1, 2 and 14) holding
    # 10 * 2 + 2 * 3 = 26 pairable values.
    assert res.n_items == 12 and res.n_values == 26
    assert res.ci is not None and res.ci[0] <= res.alpha <= res.ci[1]


def _matrices() -> st.SearchStrategy[np.ndarray]:
    @st.composite
    def build(draw: st.DrawFn) -> np.ndarray:
        m = draw(st.integers(2, 5))
        n = draw(st.integers(2, 30))
        values = draw(st.lists(st.integers(1, 5), min_size=m * n, max_size=m * n))
        missing = draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n))
        arr = np.array(values, dtype=float).reshape(m, n)
        arr[np.array(missing).reshape(m, n)] = np.nan
        return arr

    return build()


@settings(max_examples=60, deadline=None)
@given(_matrices(), st.sampled_from(["nominal", "ordinal", "interval"]))
def test_matches_package_on_random_matrices(data: np.ndarray, level: str) -> None:
    counts = (~np.isnan(data)).sum(axis=0)
    pairable_values = np.unique(data[:, counts >= 2][~np.isnan(data[:, counts >= 2])])
    res = bootstrap_alpha(data, level, scale=[1, 2, 3, 4, 5], n_boot=20)  # type: ignore[arg-type]
    if not (counts >= 2).any() or len(pairable_values) < 2:
        assert res.alpha is None and res.note
        return
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert res.alpha == pytest.approx(expected, abs=1e-9)
    # The coincidence route on the full sample is the statistic the bootstrap resamples: it must equal the package.
    dom = value_domain(data, [1, 2, 3, 4, 5])
    full = alpha_from_coincidences(unit_coincidences(data, dom).sum(axis=0, keepdims=True), dom, level)  # type: ignore[arg-type]
    assert full[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_vectorised_resamples_equal_package_on_resampled_data(level: str) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(1, 6, size=(4, 60)).astype(float)
    data[rng.random(data.shape) < 0.4] = np.nan
    dom = value_domain(data, [1, 2, 3, 4, 5])
    pairable = np.nonzero((~np.isnan(data)).sum(axis=0) >= 2)[0]
    unit_o = unit_coincidences(data, dom)
    vec = bootstrap_alphas(unit_o, dom, level, 15, np.random.default_rng(11))  # type: ignore[arg-type]
    # Replay the same draws (counts per pattern of values), build each resampled data set by repeating one
    # column of each pattern that many times, and ask the package.
    _, freq, first = unit_patterns(unit_o)
    draws = np.random.default_rng(11).multinomial(len(pairable), freq / len(pairable), size=15)
    for b, k in enumerate(draws):
        cols = np.repeat(pairable[first], k)
        expected = krippendorff.alpha(reliability_data=data[:, cols], value_domain=dom, level_of_measurement=level)
        assert vec[b] == pytest.approx(expected, abs=1e-9)


def test_patterns_collapse_identical_units() -> None:
    # Units (1,1), (1,1,nan), (2,1), (1,2): three units share no pattern with (2,2); (2,1) and (1,2) coincide.
    data = np.array([[1, 1, 2, 1, 2], [1, 1, 1, 2, 2], [np.nan, np.nan, np.nan, np.nan, np.nan]])
    patterns, freq, _ = unit_patterns(unit_coincidences(data, np.array([1.0, 2.0])))
    assert sorted(freq.tolist()) == [1.0, 2.0, 2.0] and patterns.shape == (3, 4)


def test_ci_contains_estimate_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, 300)
    data = np.vstack([np.clip(truth + rng.integers(-1, 2, 300), 1, 5) for _ in range(3)]).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    a = bootstrap_alpha(data, "ordinal", n_boot=1000, seed=5)
    b = bootstrap_alpha(data, "ordinal", n_boot=1000, seed=5)
    c = bootstrap_alpha(data, "ordinal", n_boot=1000, seed=6)
    assert a.ci is not None and a.alpha is not None
    assert a.ci[0] < a.alpha < a.ci[1]
    assert a.ci[1] - a.ci[0] < 0.2  # 300 items: the CI is informative
    assert a == b and a.ci != c.ci
    assert a.q_below_tentative is not None and 0.0 <= a.q_below_tentative <= 1.0
    assert a.n_boot == 1000 and a.n_degenerate == 0


def test_q_below_threshold_counts_low_alphas() -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(1, 6, size=(2, 200)).astype(float)  # independent raters: alpha ~ 0
    res = bootstrap_alpha(noise, "interval", n_boot=500)
    assert res.q_below_tentative == 1.0


def test_single_value_gives_none_with_note() -> None:
    res = bootstrap_alpha(np.array([[3, 3, 3], [3, 3, np.nan]]), "ordinal", scale=[1, 2, 3])
    assert res.alpha is None and res.ci is None
    assert "single observed value" in (res.note or "")


def test_no_pairable_item_gives_none_with_note() -> None:
    res = bootstrap_alpha(np.array([[1, np.nan, 3], [np.nan, 2, np.nan]]), "nominal")
    assert res.alpha is None and res.n_items == 0
    assert "two or more raters" in (res.note or "")


def test_off_scale_values_join_the_domain() -> None:
    # A judge's mean of two samples (2.5) is not a scale point; it must still count as a value.
    data = np.array([[1, 2, 3, 4], [1, 2.5, 3, 4]])
    res = bootstrap_alpha(data, "ordinal", scale=[1, 2, 3, 4], n_boot=0)
    assert res.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"))
