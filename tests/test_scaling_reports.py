"""Reports that scale (issue 27, point 8): the judge board's scatters draw one marker per distinct (judge, expert
mean) pair, sized by its count, so the page does not grow with the items; and the grid benchmark runs end to end
on a tiny grid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.perf import grid
from judge.cli import main
from judge.report.density import GRID, MAX_MARKERS, aggregate
from judge.report.html import scatter_svg


def test_aggregate_counts_identical_pairs_and_bins_past_the_cap() -> None:
    points, note = aggregate([1, 1, 2, 1], [1.5, 1.5, 2, 1.5], low=1, high=5)
    assert points == [(1.0, 1.5, 3), (2.0, 2.0, 1)] and note is None
    xs = [1 + k / 1000 for k in range(4000)]  # 4,000 distinct continuous pairs
    points, note = aggregate(xs, xs, low=1, high=5)
    assert len(points) <= (GRID + 1) ** 2 and len(points) <= MAX_MARKERS
    assert sum(n for *_, n in points) == 4000  # no item lost in the binning
    assert note == f"4,000 distinct points binned to a {GRID} x {GRID} grid"
    svg = scatter_svg(xs, xs, low=1, high=5)
    assert f"binned to a {GRID} x {GRID} grid" in svg and "4,000 distinct points" in svg


def test_scatter_draws_each_distinct_pair_once_with_its_count() -> None:
    xs = [float(1 + k % 5) for k in range(10_000)]
    ys = [float(1 + (k // 5) % 9) / 2 + 0.5 for k in range(10_000)]
    svg = scatter_svg(xs, ys, low=1, high=5)
    circles = re.findall(r"<circle [^>]*>", svg)
    assert len(circles) == len(set(zip(xs, ys, strict=True))) == 45
    counts = [int(n) for n in re.findall(r"<title>(\d+) items? at", svg)]
    assert sum(counts) == 10_000
    assert "dot area: number of items" in svg
    assert len(svg) < 20_000
    # one point per pair: unchanged small plots (no legend, one plain dot each)
    single = scatter_svg([1.0, 2.0], [2.0, 3.0], low=1, high=5)
    assert single.count("<circle") == 2 and "dot area" not in single


def test_judge_board_size_does_not_grow_with_the_items(tmp_path: Path) -> None:
    def board(n: int) -> int:
        work = tmp_path / f"n{n}"
        work.mkdir()
        table, rubrics, judges = grid.make_table(work, n, 2)
        base = ["--rubrics", str(rubrics)]
        raters = ",".join([*grid.RATERS, *judges])
        as_judge = [a for j in judges for a in ("--as-judge", j)]
        bench, run = work / "b", work / "r"
        argv = ["import", "table", str(table), "--scores", "{rater}_{criterion}", "--raters", raters, *as_judge]
        assert main([*argv, *base, "--out", str(bench), "--run-out", str(run)]) == 0
        args = ["--benchmark", str(bench), "--run", str(run), *base, "--n-boot", "20", "--format", "html"]
        assert main(["leaderboard", "--judges", *args, "--out", str(work / "o")]) == 0
        return (work / "o" / "judges.html").stat().st_size

    small, large = board(200), board(2000)
    assert large < 1.3 * small, (small, large)  # ten times the items, about the same page


def test_grid_benchmark_runs_on_a_tiny_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert grid.main(["--items", "40", "--judges", "2", "--n-boot", "20", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "grid.json").read_text())
    assert set(result["steps"]) == {"import", "agree", "leaderboard --judges"}
    assert result["data"] == {
        "items": 40, "judges": 2, "criteria": 7, "experts": 4, "ratings_per_item": 2, "judge_scores": 560
    }  # fmt: skip
    assert {"judges.html", "judges.md", "judges.csv", "judges.json"} <= set(result["sizes"]["leaderboard --judges"])
    assert result["within_size_goal"] is True
    assert "Judge board HTML" in (tmp_path / "grid.md").read_text()
