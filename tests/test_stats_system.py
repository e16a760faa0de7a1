"""System-level agreement (ICC(C,1), ICC(A,1), Spearman, Kendall of system means) and the shared resampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from judge.analysis.stats.correlation import icc_c1, icc_rows
from judge.analysis.stats.resample import (
    Groups,
    cluster_bootstrap_means,
    cluster_counts,
    cluster_weights,
    draw_counts,
    draw_counts_t,
    resample_blocks,
    too_few,
)
from judge.analysis.stats.system import system_agreement


def _panel(n_sys: int = 7, per: int = 6, shift: float = 1.0, seed: int = 0):  # type: ignore[no-untyped-def]
    """Systems of increasing quality; the judge sees the same order, shifted up by ``shift``, with noise."""
    rng = np.random.default_rng(seed)
    systems, posts, x, y = [], [], [], []
    for s in range(n_sys):
        for k in range(per):
            systems.append(f"s{s}")
            posts.append(f"p{k}")
            quality = 1 + s * 0.5
            y.append(quality + rng.normal(0, 0.3))
            x.append(quality + shift + rng.normal(0, 0.3))
    return np.array(x), np.array(y), systems, posts


def test_point_estimates_are_the_statistics_of_the_system_means() -> None:
    x, y, systems, posts = _panel()
    res = system_agreement(x, y, systems, posts, n_boot=300)
    jm = np.array([x[[s == f"s{k}" for s in systems]].mean() for k in range(7)])
    em = np.array([y[[s == f"s{k}" for s in systems]].mean() for k in range(7)])
    assert res.n_systems == 7 and res.n_posts == 6 and res.n_left_out == 0
    assert res.spearman.value == pytest.approx(stats.spearmanr(jm, em).statistic)
    assert res.kendall.value == pytest.approx(stats.kendalltau(jm, em).statistic)
    both = np.column_stack([jm, em])[np.newaxis]
    assert res.icc_c1.value == pytest.approx(icc_rows(both, "C,1")[0])
    assert res.icc_a1.value == pytest.approx(icc_rows(both, "A,1")[0])
    # a judge shifted one point up ranks and spaces the systems like the experts (high consistency) but does not
    # read as the experts' means (absolute agreement is lower)
    assert res.icc_c1.value > 0.9 and res.icc_a1.value < res.icc_c1.value - 0.2  # type: ignore[operator]
    for est in (res.icc_c1, res.icc_a1, res.spearman, res.kendall):
        assert est.ci is not None and est.ci[0] <= est.value + 1e-12 and est.value <= est.ci[1] + 1e-12  # type: ignore[operator]


def test_thin_systems_are_left_out_and_few_systems_get_no_interval() -> None:
    x, y, systems, posts = _panel(n_sys=4)
    res = system_agreement(x[:-2], y[:-2], systems[:-2], posts[:-2], n_boot=100)  # s3 keeps 4 items: left out
    assert res.n_systems == 3 and res.n_left_out == 1
    assert res.spearman.value is not None and res.spearman.ci is None
    assert res.spearman.note == "too few: 3 system(s), a CI needs at least 5"
    res = system_agreement(x[:12], y[:12], systems[:12], posts[:12], n_boot=100)
    assert res.spearman.value is None and "at least 3 systems" in (res.note or "")


def test_icc_consistency_shrout_fleiss() -> None:
    # Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; published ICC(3,1) = ICC(C,1) = 0.71.
    m = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
    res = icc_c1(m, n_boot=200)
    assert res.form == "C,1" and res.value == pytest.approx(0.7148, abs=5e-4)


def test_cluster_draws_are_shared() -> None:
    # The calibration bootstrap drew one row of posts per resample in a loop; one (B, K) draw is the same stream.
    post_ids = ["b", "a", "a", "c", "b", "c", "c"]
    rng = np.random.default_rng(3)
    keys = sorted(set(post_ids))
    members = {k: [i for i, p in enumerate(post_ids) if p == k] for k in keys}
    loop = []
    for _ in range(20):
        drawn = rng.integers(0, len(keys), size=len(keys))
        idx = [i for d in drawn for i in members[keys[d]]]
        loop.append(np.bincount(idx, minlength=len(post_ids)))
    assert np.array_equal(cluster_weights(post_ids, 20, 3), np.array(loop, dtype=float))
    assert cluster_weights(post_ids, 20, 3, with_original=True)[0].tolist() == [1.0] * 7
    # the gate's cluster means and the leaderboard's cluster counts draw the same resamples
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    counts = cluster_counts(3, 50, np.random.default_rng(9))
    ids = np.array([keys.index(p) for p in post_ids])
    sums = np.bincount(ids, weights=d, minlength=3)
    sizes = np.bincount(ids, minlength=3)
    assert cluster_bootstrap_means(d, post_ids, 50, 9) == pytest.approx((counts @ sums) / (counts @ sizes))


def test_groups_and_too_few() -> None:
    g = Groups([2, 0, 2, 1])
    w = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 1.0]])
    assert g.sum(w).tolist() == [[2.0, 4.0, 4.0], [1.0, 1.0, 0.0]] and g.group.tolist() == [2, 0, 2, 1]
    assert g.sum_t(np.ascontiguousarray(w.T)).tolist() == g.sum(w).tolist() and g.first.tolist() == [1, 3, 0]
    idx = resample_blocks(7, 30, 2)[0]
    assert np.array_equal(draw_counts_t(idx, 7), draw_counts(idx, 7).T)
    assert too_few(4) and too_few(5, 2) and too_few(5, 3) is None


def test_system_means_that_differ_by_rounding_only_have_no_icc_and_say_so() -> None:
    """Means 10^-9 apart rank (so the rank correlations stand), but leave no variance for ICC(C,1)."""
    systems = np.repeat(np.arange(4), 5)
    posts = np.tile(np.arange(5), 4)
    x = 3.0 + 1e-9 * systems
    y = 2.0 + 1e-9 * systems[::-1]
    res = system_agreement(x, y, systems, posts, n_boot=0)
    assert res.spearman.value == pytest.approx(-1.0)
    assert res.icc_c1.value is None and res.icc_c1.note == "undefined: no spread in the system means"
