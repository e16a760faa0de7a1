"""The headline (pairwise kappa): by its definition written out in Python, against Krippendorff's alpha where the two
coincide, chance at zero, and the vectorised resamples and shuffles against the data they stand for."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from judge.analysis.stats.correlation import quadratic_kappa
from judge.analysis.stats.pairwise import (
    expert_pairs,
    headline,
    judge_pairs,
    one_pair_each,
    permuted_kappas,
)
from judge.analysis.stats.resample import block_size

NAN = np.nan


def naive_kappa(pairs: list[tuple[float, float]], level: str) -> float:
    """The definition, pair by pair: 1 - mean delta over the pairs / mean delta over every side-1 x side-2 value."""
    values = [v for p in pairs for v in p]
    freq = {v: values.count(v) for v in set(values)}

    def delta(a: float, b: float) -> float:
        if level == "nominal":
            return float(a != b)
        if level == "interval":
            return (a - b) ** 2
        lo, hi = min(a, b), max(a, b)  # Krippendorff's ordinal distance over the pooled frequencies
        return (sum(f for v, f in freq.items() if lo <= v <= hi) - (freq[a] + freq[b]) / 2) ** 2

    observed = sum(delta(a, b) for a, b in pairs) / len(pairs)
    expected = sum(delta(a, b) for a, _ in pairs for _, b in pairs) / len(pairs) ** 2
    return 1 - observed / expected


def pairs_of(judge: np.ndarray, experts: np.ndarray) -> list[tuple[float, float]]:
    return [
        (float(judge[k]), float(experts[r, k]))
        for k in range(experts.shape[1])
        for r in range(experts.shape[0])
        if not np.isnan(judge[k]) and not np.isnan(experts[r, k])
    ]


def test_hand_computed_ordinal_case() -> None:
    # Judge 1, 2, 2 against experts (1, 2), (2), (3): pairs (1,1) (1,2) (2,2) (2,3).
    # Pooled frequencies: 1 -> 3, 2 -> 4, 3 -> 1 (8 values). Ordinal distances: d(1,2) = (3 + 4 - 3.5)^2 = 12.25,
    # d(2,3) = (4 + 1 - 2.5)^2 = 6.25, d(1,3) = (3 + 4 + 1 - 2)^2 = 36.
    # D_o = (0 + 12.25 + 0 + 6.25) / 4 = 4.625. Side 1 = {1, 1, 2, 2}, side 2 = {1, 2, 2, 3}:
    # sum of d over the 16 cross pairs = 2*(0 + 12.25 + 12.25 + 36) + 2*(12.25 + 0 + 0 + 6.25) = 158, D_e = 9.875.
    # kappa = 1 - 4.625 / 9.875 = 0.53164...
    judge = np.array([1.0, 2.0, 2.0])
    experts = np.array([[1.0, 2.0, NAN], [2.0, NAN, 3.0]])
    got = judge_pairs(judge, experts, "ordinal", [1, 2, 3]).kappa()[0]
    assert got == pytest.approx(1 - 4.625 / 9.875)
    assert got == pytest.approx(naive_kappa(pairs_of(judge, experts), "ordinal"))


@st.composite
def panels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """A judge (some items unscored) and 2-4 experts rating 1-5 with missing ratings."""
    m = draw(st.integers(2, 4))
    n = draw(st.integers(3, 25))
    values = draw(st.lists(st.integers(1, 5), min_size=m * n, max_size=m * n))
    missing = draw(st.lists(st.booleans(), min_size=m * n, max_size=m * n))
    experts = np.array(values, dtype=float).reshape(m, n)
    experts[np.array(missing).reshape(m, n)] = NAN
    judge = np.array(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), dtype=float)
    judge[np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))] = NAN
    return judge, experts


@settings(max_examples=60, deadline=None)
@given(panels(), st.sampled_from(["nominal", "ordinal", "interval"]))
def test_matches_the_definition(panel: tuple[np.ndarray, np.ndarray], level: str) -> None:
    judge, experts = panel
    pairs = pairs_of(judge, experts)
    got = judge_pairs(judge, experts, level, [1, 2, 3, 4, 5]).kappa()[0]  # type: ignore[arg-type]
    if not pairs or len({v for p in pairs for v in p}) < 2:
        assert np.isnan(got)
        return
    assert got == pytest.approx(naive_kappa(pairs, level), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(panels(), st.sampled_from(["nominal", "ordinal", "interval"]))
def test_experts_with_two_ratings_per_item_give_alpha_up_to_n_over_n_minus_1(
    panel: tuple[np.ndarray, np.ndarray], level: str
) -> None:
    _, experts = panel
    pairable = (~np.isnan(experts)).sum(axis=0) == 2
    data = experts[:, pairable]
    values = data[~np.isnan(data)]
    if len(np.unique(values)) < 2:
        return
    alpha = krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5])
    kappa = expert_pairs(data, level, [1, 2, 3, 4, 5]).kappa()[0]  # type: ignore[arg-type]
    n = len(values)
    assert 1 - kappa == pytest.approx((1 - alpha) * n / (n - 1), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(panels(), st.integers(1, 5), st.sampled_from(["nominal", "ordinal", "interval"]))
def test_a_constant_judge_is_exactly_at_chance(panel: tuple[np.ndarray, np.ndarray], c: int, level: str) -> None:
    _, experts = panel
    if len(np.unique(experts[~np.isnan(experts)])) < 2:
        return
    judge = np.full(experts.shape[1], float(c))
    assert judge_pairs(judge, experts, level, [1, 2, 3, 4, 5]).kappa()[0] == pytest.approx(0.0, abs=1e-12)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_weights_stand_for_repeated_items(level: str) -> None:
    rng = np.random.default_rng(5)
    experts = rng.integers(1, 6, size=(4, 40)).astype(float)
    experts[rng.random(experts.shape) < 0.5] = NAN
    judge = rng.integers(1, 6, size=40).astype(float)
    judge[::7] = NAN
    idx = rng.integers(0, 40, size=(3, 40))
    w = np.stack([np.bincount(row, minlength=40) for row in idx]).astype(float)
    table = judge_pairs(judge, experts, level, [1, 2, 3, 4, 5])  # type: ignore[arg-type]
    expert_table = expert_pairs(experts, level, [1, 2, 3, 4, 5])  # type: ignore[arg-type]
    for b in range(3):
        dup = judge_pairs(judge[idx[b]], experts[:, idx[b]], level, [1, 2, 3, 4, 5]).kappa()[0]  # type: ignore[arg-type]
        assert table.kappa(w)[b] == pytest.approx(dup, abs=1e-10)
        dup_e = expert_pairs(experts[:, idx[b]], level, [1, 2, 3, 4, 5]).kappa()[0]  # type: ignore[arg-type]
        assert expert_table.kappa(w)[b] == pytest.approx(dup_e, abs=1e-10)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_shuffles_are_the_judge_shuffled(level: str) -> None:
    rng = np.random.default_rng(2)
    experts = rng.integers(1, 6, size=(3, 30)).astype(float)
    experts[rng.random(experts.shape) < 0.4] = NAN
    judge = np.clip(rng.integers(2, 7, size=30), 1, 5).astype(float)  # leans high: chance is still 0 on average
    got = permuted_kappas(judge, experts, level, [1, 2, 3, 4, 5], n_perm=50, seed=4)  # type: ignore[arg-type]
    use = ~np.isnan(judge) & (~np.isnan(experts)).any(axis=0)
    x, m = judge[use], experts[:, use]
    assert block_size(len(x), 50) == 50  # one block: the shuffles replay with one call
    order = np.random.default_rng(4).permuted(np.tile(np.arange(len(x)), (50, 1)), axis=1)
    for p in range(50):
        ref = judge_pairs(x[order[p]], m, level, [1, 2, 3, 4, 5]).kappa()[0]  # type: ignore[arg-type]
        assert got[p] == pytest.approx(ref, abs=1e-10)
    many = permuted_kappas(judge, experts, level, [1, 2, 3, 4, 5], n_perm=2000, seed=0)  # type: ignore[arg-type]
    assert abs(many.mean()) < 0.02


def test_one_pair_per_item_at_interval_level_is_quadratic_kappa() -> None:
    x, y = np.array([1, 2, 3, 1.0]), np.array([1, 2, 2, 2.0])
    assert one_pair_each(x, y, "interval").kappa()[0] == pytest.approx(quadratic_kappa(x, y, n_boot=0).value)


def test_headline_notes() -> None:
    few = judge_pairs(np.array([1.0, 2, 3]), np.array([[1.0, 2, 2]]), "interval")
    h = headline(few, n_boot=100)
    assert h.value is not None and h.ci is None and "too few" in (h.note or "")
    same = headline(judge_pairs(np.full(6, 2.0), np.full((2, 6), 2.0), "ordinal"), n_boot=10)
    assert same.value is None and "same value" in (same.note or "")
    none = headline(judge_pairs(np.full(6, NAN), np.full((2, 6), 2.0), "ordinal"), n_boot=10)
    assert none.value is None and none.n_pairs == 0 and "no item" in (none.note or "")
    rng = np.random.default_rng(0)
    experts = rng.integers(1, 6, size=(2, 60)).astype(float)
    h = headline(judge_pairs(experts[0], experts[1:], "ordinal"), n_boot=300, seed=1)
    assert h.ci is not None and h.ci[0] < h.value < h.ci[1]  # type: ignore[operator]
    assert h == headline(judge_pairs(experts[0], experts[1:], "ordinal"), n_boot=300, seed=1)


def test_no_resamples_asked_for_gives_the_value_without_a_ci() -> None:
    rng = np.random.default_rng(3)
    experts = rng.integers(1, 6, size=(3, 30)).astype(float)
    h = headline(judge_pairs(experts[0], experts[1:], "ordinal"), n_boot=0)
    assert h.value == pytest.approx(headline(judge_pairs(experts[0], experts[1:], "ordinal"), n_boot=50).value)
    assert h.ci is None and h.note is None


def test_interval_kappa_does_not_move_when_every_score_is_shifted() -> None:
    """Only differences enter interval kappa: adding 10,000 to every score (1,000 items) leaves it as it was, though
    the raw second moments are then 10^8 times the spread."""
    rng = np.random.default_rng(4)
    x = rng.integers(1, 6, 1000).astype(float)
    y = np.clip(x + rng.integers(-1, 2, 1000), 1, 5)
    want = quadratic_kappa(x, y, n_boot=0).value
    assert want is not None and 0.5 < want < 1
    shifted = one_pair_each(x + 1e4, y + 1e4, "interval").kappa()[0]
    assert shifted == pytest.approx(want, abs=1e-6)


def test_no_shuffle_of_fewer_than_two_items() -> None:
    experts = np.array([[1.0, NAN, 3.0], [2.0, NAN, NAN]])
    judge = np.array([NAN, 2.0, 3.0])  # one item both scored and rated
    for level in ("interval", "ordinal"):
        assert len(permuted_kappas(judge, experts, level, [1, 2, 3], n_perm=50)) == 0  # type: ignore[arg-type]
    assert len(permuted_kappas(np.array([1.0, 2.0, 3.0]), experts, "ordinal", n_perm=50)) == 50
