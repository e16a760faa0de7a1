"""One held-out effect (issue 27, point 7): ``judge calibrate`` measures the held-out change of the kappa at the
criterion's level, and the judge board quotes that same number, named, instead of a second definition."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from judge.analysis.calibration import cross_fit, paired
from judge.analysis.stats.heldout import HELD_OUT_EFFECT
from judge.cli import main
from tests.test_agreement import _pairwise_kappa
from tests.test_calibration import make_rubric, synthetic


def _within_folds(
    bench_ratings: dict[str, list[float]],
    scores: list[float],
    items: list[str],
    posts: list[str],
    folds: list[list[str]],
) -> float:
    """The headline by its definition: per fold, the plain pairwise kappa (ordinal) of (score, rating) pairs;
    the folds' values averaged by their item counts."""
    total, weight = 0.0, 0
    for fold in folds:
        inside = [k for k, p in enumerate(posts) if p in set(fold)]
        pairs = [(scores[k], r) for k in inside for r in bench_ratings[items[k]]]
        total += _pairwise_kappa(pairs, "ordinal") * len(inside)
        weight += len(inside)
    return total / weight


def test_calibrate_measures_the_held_out_kappa_at_the_criterions_level() -> None:
    bench, scores, _ = synthetic(n_posts=15, per_post=4)
    report, _ = cross_fit(bench, scores, make_rubric(level="ordinal"), n_boot=50, k=5)
    assert report.agreement_level == "ordinal"
    pairs = paired(bench, scores, "empathy")
    ratings: dict[str, list[float]] = {}
    for r in bench.ratings:
        ratings.setdefault(r.item_id, []).append(r.value)
    held = report.held_out
    assert held is not None
    raw = [float(scores[i]) for i in pairs.item_ids]  # type: ignore[arg-type]
    before = _within_folds(ratings, raw, pairs.item_ids, pairs.post_ids, report.folds)
    after = _within_folds(ratings, held.calibrated, pairs.item_ids, pairs.post_ids, report.folds)
    assert report.before.headline is not None and report.after.headline is not None
    assert report.before.headline.value == pytest.approx(before, abs=1e-3)
    assert report.after.headline.value == pytest.approx(after, abs=1e-3)  # held-out values are kept to 4 decimals
    change = report.change.headline
    assert change is not None and change.value == pytest.approx(after - before, abs=2e-3)
    # the interval distance (the old definition) gives another number on the same data: the level matters here
    interval, _ = cross_fit(bench, scores, make_rubric(level="interval"), n_boot=50, k=5)
    assert interval.before.headline is not None
    assert abs(interval.before.headline.value - before) > 0.01  # type: ignore[operator]


def test_the_judge_board_quotes_calibrates_held_out_effect(
    resort_bench: Path, gpt4_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--benchmark", str(resort_bench), "--run", str(gpt4_run)]
    cal = tmp_path / "cal.json"
    crit = ["--criteria", "empathy", "alignment_with_standards"]
    assert main(["calibrate", *base, *crit, "--out", str(cal), "--n-boot", "200", "--json"]) == 0
    calibrated = json.loads(capsys.readouterr().out)
    fit = calibrated["fit"] if "fit" in calibrated else json.loads(cal.read_text())["fit"]
    assert fit["empathy"]["agreement_level"] == "ordinal"
    assert fit["alignment_with_standards"]["agreement_level"] == "interval"
    board_args = ["leaderboard", "--judges", *base, *crit, "--calibrator", str(cal), "--n-boot", "100"]
    assert main([*board_args, "--out", str(tmp_path / "b"), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["leaderboard"]["notes"]
    assert any(n.startswith(HELD_OUT_EFFECT) for n in notes)
    for c in ("empathy", "alignment_with_standards"):
        b, a = fit[c]["before"]["headline"]["value"], fit[c]["after"]["headline"]["value"]
        said = [n for n in notes if f", {c}: held-out effect kappa" in n]
        assert len(said) == 1, notes
        assert f"kappa {round(b, 2) + 0.0:.2f} -> {round(a, 2) + 0.0:.2f}" in said[0]
        assert f"({fit[c]['agreement_level']};" in said[0] and "refit" not in said[0]
    # every format carries the notes: the markdown board names the definition
    assert HELD_OUT_EFFECT in (tmp_path / "b" / "judges.md").read_text()


def test_a_calibrator_measured_with_another_distance_is_named_as_such(
    resort_bench: Path, gpt4_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A calibrator written before this change (interval distance on an ordinal criterion) is quoted with a warning,
    not silently mixed with the criterion's level."""
    base = ["--benchmark", str(resort_bench), "--run", str(gpt4_run)]
    cal = tmp_path / "cal.json"
    assert main(["calibrate", *base, "--criteria", "empathy", "--out", str(cal), "--n-boot", "50"]) == 0
    data = json.loads(cal.read_text())
    data["fit"]["empathy"]["agreement_level"] = "interval"
    cal.write_text(json.dumps(data))
    capsys.readouterr()
    args = ["leaderboard", "--judges", *base, "--criteria", "empathy", "--calibrator", str(cal), "--n-boot", "50"]
    assert main([*args, "--out", str(tmp_path / "b"), "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["leaderboard"]["notes"]
    assert any("measured at the interval level, not ordinal; refit with 'judge calibrate'" in n for n in notes)
    assert np.isfinite(data["fit"]["empathy"]["before"]["headline"]["value"])
