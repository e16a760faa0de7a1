"""The alternative annotator test: hand-computed cases, the BY correction, synthetic judges that pass and fail."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from judge.analysis.stats.alttest import AltTestUndefinedError, alt_test, benjamini_yekutieli, one_sided_p


def test_benjamini_yekutieli_hand_computed() -> None:
    # m = 4: c_m = 1 + 1/2 + 1/3 + 1/4 = 25/12; thresholds k/4 * 0.05 / c_m = 0.006, 0.012, 0.018, 0.024.
    assert benjamini_yekutieli([0.01, 0.02, 0.03, 0.5]) == [False] * 4
    assert benjamini_yekutieli([0.5, 0.011, 0.03, 0.001]) == [False, True, False, True]
    assert benjamini_yekutieli([]) == []


def test_one_sided_p() -> None:
    d = np.array([0.0, 0.0, 1.0])
    assert one_sided_p(d, 0.2) == pytest.approx(stats.ttest_1samp(d, 0.2, alternative="less").pvalue)
    assert one_sided_p(np.zeros(5), 0.2) == 0.0  # zero variance, mean 0 < epsilon: certainly within the margin
    assert one_sided_p(np.ones(5), 0.2) == 1.0


def test_hand_computed_two_experts() -> None:
    # a = (1, 2, 3), b = (1, 3, 3), judge = (1, 2, 1); neg_rmse against the one remaining expert.
    # Leave a out (vs b): item1 judge 0 = a 0 (tie), item2 judge -1 = a -1 (tie), item3 judge -2 < a 0.
    #   W^f = 1 1 0 (rho 2/3), d = W^h - W^f = 0 0 1: mean 1/3, sd sqrt(1/3), t = (1/3 - .2) / (sqrt(1/3)/sqrt 3) = 0.4
    # Leave b out (vs a): item1 tie, item2 judge 0 > b -1, item3 judge -2 < b 0.
    #   W^f = 1 1 0 (rho 2/3), d = 0 -1 1.
    experts = {"a": {"1": 1.0, "2": 2.0, "3": 3.0}, "b": {"1": 1.0, "2": 3.0, "3": 3.0}}
    res = alt_test({"1": 1.0, "2": 2.0, "3": 1.0}, experts, scoring="neg_rmse", min_items=1)
    by = {e.rater: e for e in res.experts}
    assert by["a"].rho_judge == pytest.approx(2 / 3) and by["a"].rho_expert == pytest.approx(1.0)
    assert by["a"].p_value == pytest.approx(stats.t.cdf(0.4, df=2))
    assert by["b"].rho_judge == pytest.approx(2 / 3) and by["b"].rho_expert == pytest.approx(2 / 3)
    assert res.advantage_prob == pytest.approx(2 / 3)
    assert res.winning_rate == 0.0 and not res.passed  # three items cannot reject anything


def _panel(seed: int, n: int = 240, noise: int = 1) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """4 experts, each item rated by 2 of them: truth + uniform noise in [-noise, noise], clipped to 1..10."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(2, 10, n)
    experts: dict[str, dict[str, float]] = {r: {} for r in "abcd"}
    for i in range(n):
        for r in rng.choice(list("abcd"), 2, replace=False):
            experts[str(r)][str(i)] = float(np.clip(truth[i] + rng.integers(-noise, noise + 1) * 2, 1, 10))
    return experts, truth


def test_judge_copying_an_expert_with_small_noise_passes() -> None:
    experts, truth = _panel(0)
    rng = np.random.default_rng(1)
    # Copy expert a where a rated, else the truth; then small noise on a third of the items.
    judge = {
        str(i): float(experts["a"].get(str(i), t)) + (rng.integers(-1, 2) if i % 3 == 0 else 0)
        for i, t in enumerate(truth)
    }
    res = alt_test(judge, experts, scoring="neg_rmse")
    assert res.passed and res.winning_rate >= 0.5
    assert res.advantage_prob > 0.6


def test_constant_judge_fails() -> None:
    experts, truth = _panel(0)
    res = alt_test({str(i): 5.0 for i in range(len(truth))}, experts, scoring="neg_rmse")
    assert not res.passed and res.winning_rate == 0.0
    assert all(e.p_value > 0.05 for e in res.experts)


def test_accuracy_scoring_for_nominal() -> None:
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 200)
    experts: dict[str, dict[str, float]] = {"a": {}, "b": {}, "c": {}}
    for i in range(200):
        for r in ("a", "b", "c"):
            experts[r][str(i)] = float(truth[i] if rng.random() < 0.8 else 1 - truth[i])
    good = alt_test({str(i): float(t) for i, t in enumerate(truth)}, experts, scoring="accuracy")
    bad = alt_test({str(i): float(1 - t) for i, t in enumerate(truth)}, experts, scoring="accuracy")
    assert good.passed and not bad.passed
    assert good.advantage_prob > bad.advantage_prob


def test_experts_with_too_few_items_are_excluded_and_named() -> None:
    experts, truth = _panel(0)
    experts["e"] = {"0": 3.0, "1": 4.0}
    res = alt_test({str(i): float(t) for i, t in enumerate(truth)}, experts, scoring="neg_rmse", min_items=10)
    assert [e.rater for e in res.excluded] == ["e"] and "min_items=10" in res.excluded[0].reason
    assert len(res.experts) == 4


def test_fewer_than_two_experts_is_undefined_with_reason() -> None:
    experts = {"a": {str(i): 1.0 for i in range(20)}, "b": {str(i): 2.0 for i in range(5)}}
    with pytest.raises(AltTestUndefinedError, match="at least 2 experts"):
        alt_test({str(i): 1.0 for i in range(20)}, experts, scoring="neg_rmse", min_items=10)


def test_experts_come_out_by_name_whatever_the_order_of_the_matrix() -> None:
    from judge.analysis.stats.alttest import alt_test_matrix

    experts, truth = _panel(3)
    judge = {str(i): float(t) for i, t in enumerate(truth)}
    want = alt_test(judge, experts, scoring="neg_rmse")
    order = ["c", "a", "d", "b"]
    items = sorted({i for r in experts.values() for i in r})
    m = np.array([[experts[r].get(i, np.nan) for i in items] for r in order])
    got = alt_test_matrix(np.array([judge[i] for i in items]), m, order, scoring="neg_rmse")
    assert [e.rater for e in got.experts] == ["a", "b", "c", "d"]
    assert got == want


def test_an_item_no_other_expert_rated_takes_no_part() -> None:
    """The left-out expert's alignment on an item needs another expert's rating of it: without one the item is not
    usable for that expert (the result is the one without the item)."""
    experts, truth = _panel(4, n=60)
    judge = {str(i): float(t) for i, t in enumerate(truth)}
    want = alt_test(judge, experts, scoring="neg_rmse")
    experts["a"]["solo"] = 3.0  # rated by a only, scored by the judge
    got = alt_test({**judge, "solo": 3.0}, experts, scoring="neg_rmse")
    assert got == want
