"""Self-consistency of repeated samples (stats/consistency.py) against the standard library's definitions."""

from __future__ import annotations

import statistics

import pytest

from judge.analysis.stats.consistency import consistency, self_consistency


def test_consistency_is_the_mean_population_sd_and_the_share_of_unanimous_items() -> None:
    lists = [[3.0, 3.0, 3.0], [2.0, 4.0], [1.0, 2.0, 4.0], [5.0]]  # the last has one sample: not counted
    c = consistency(lists)
    assert c is not None and c.items == 3
    want = statistics.fmean(statistics.pstdev(v) for v in lists[:3])  # (0 + 1 + 1.2472) / 3
    assert c.mean_sd == pytest.approx(round(want, 4), abs=1e-12) and c.mean_sd == 0.7491
    assert c.all_agree_rate == pytest.approx(0.3333)
    assert consistency([[1.0], [2.0]]) is None


def test_self_consistency_groups_by_judge_and_criterion() -> None:
    out = self_consistency(
        {
            ("g", "empathy", "i1"): [3.0, 3.0],
            ("g", "empathy", "i2"): [2.0, 4.0],
            ("g", "harm", "i1"): [0.0],
            ("h", "empathy", "i1"): [1.0, 1.0],
        }
    )
    assert set(out) == {"g", "h"} and set(out["g"]) == {"empathy"}  # one sample only: no figure for harm
    assert (out["g"]["empathy"].items, out["g"]["empathy"].mean_sd, out["g"]["empathy"].all_agree_rate) == (2, 0.5, 0.5)
    assert out["h"]["empathy"].all_agree_rate == 1.0 and out["h"]["empathy"].mean_sd == 0.0
