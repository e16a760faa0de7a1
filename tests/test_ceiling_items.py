"""The experts' ceiling on the items a judge judged (issue 27, point 5): each judge row carries the experts' kappa on
its own items, the chance rows use the items of the judge they shuffle, and every format says which items each row
uses."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from judge.analysis.agreement import agreement_report
from judge.cli import main
from judge.data.benchmark import Benchmark, save_benchmark
from tests.test_agreement import RUBRICS, _bench, _pairwise_kappa, _write_rubrics


def _expert_pairs_on(bench: Benchmark, criterion: str, items: set[str]) -> list[tuple[float, float]]:
    """Every ordered pair of two different experts' ratings of one item, on ``items`` only (written out)."""
    by_item: dict[str, list[float]] = {}
    for r in bench.ratings:
        if r.criterion == criterion and r.item_id in items:
            by_item.setdefault(r.item_id, []).append(r.value)
    return [(a, b) for vs in by_item.values() for i, a in enumerate(vs) for j, b in enumerate(vs) if i != j]


def _subset_judge(truth: np.ndarray) -> dict[str, float]:
    """A judge that scored only the items whose true value is 3 or more (a subset the experts agree on differently)."""
    return {f"i{k}": float(t) for k, t in enumerate(truth) if t >= 3}


def test_each_judge_row_carries_the_experts_ceiling_on_its_own_items() -> None:
    bench, truth = _bench()
    part = _subset_judge(truth)
    full = {f"i{k}": float(t) for k, t in enumerate(truth)}
    emp = agreement_report(bench, RUBRICS, {"part": {"empathy": part}, "full": {"empathy": full}}, n_boot=200)
    c = emp.criteria["empathy"]
    everything = set(bench.items)
    # the experts' row: every rated item, as before
    assert c.experts.headline.value == pytest.approx(
        _pairwise_kappa(_expert_pairs_on(bench, "empathy", everything), "ordinal")
    )
    assert c.experts.items == "every rated item"
    # each judge's ceiling: the same statistic on the items it scored, with its own interval
    want = _pairwise_kappa(_expert_pairs_on(bench, "empathy", set(part)), "ordinal")
    ceiling = c.judges["part"].ceiling
    assert ceiling is not None and ceiling.value == pytest.approx(want)
    assert ceiling.n == len(part) < 120 and ceiling.ci is not None
    assert abs(want - c.experts.headline.value) > 0.02  # the subset matters on this data
    assert c.judges["part"].items == "the items part scored"
    full_ceiling = c.judges["full"].ceiling
    assert full_ceiling is not None and full_ceiling.value == pytest.approx(c.experts.headline.value)


def test_chance_rows_use_the_items_of_the_judge_they_shuffle() -> None:
    bench, truth = _bench()
    part = _subset_judge(truth)
    c = agreement_report(bench, RUBRICS, {"part": {"empathy": part}}, n_boot=200).criteria["empathy"]
    for name in ("chance:constant", "chance:permuted"):
        row = c.judges[name]
        assert row.n_items == len(part), name
        assert row.items == "the items part scored"
        assert row.ceiling is not None and row.ceiling.value == c.judges["part"].ceiling.value  # type: ignore[union-attr]
    const = c.judges["chance:constant"]
    assert const.headline.value == pytest.approx(0.0) and "the items part scored" in (const.description or "")
    # the constant is the experts' most common rating on those items, not on all of them
    values = [r.value for r in bench.ratings if r.criterion == "empathy" and r.item_id in part]
    top = max(set(values), key=lambda v: (values.count(v), -v))
    assert f"answers {top:g} " in (const.description or "")
    # without a judge, the chance rows stay on every rated item
    alone = agreement_report(bench, RUBRICS, {}, n_boot=50).criteria["empathy"]
    assert (
        alone.judges["chance:constant"].n_items == 120 and alone.judges["chance:constant"].items == "every rated item"
    )


def test_every_format_says_which_items_each_row_uses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench, truth = _bench()
    save_benchmark(bench, tmp_path / "b")
    rubrics = _write_rubrics(tmp_path / "r", RUBRICS)
    part = _subset_judge(truth)
    run = tmp_path / "run.jsonl"
    run.write_text(
        "".join(
            json.dumps({"item_id": i, "criterion": "empathy", "judge": "part", "raw_output": f"{v:g}"}) + "\n"
            for i, v in part.items()
        )
    )
    base = ["--benchmark", str(tmp_path / "b"), "--rubrics", str(rubrics)]
    assert main(["import", "judgments", str(run), *base, "--out", str(tmp_path / "run")]) == 0
    args = ["--run", str(tmp_path / "run"), "--n-boot", "100", "--criteria", "empathy"]
    assert main(["agree", *base, *args, "--out", str(tmp_path / "rep")]) == 0
    capsys.readouterr()
    n = len(part)
    md = (tmp_path / "rep" / "agreement.md").read_text()
    csv = (tmp_path / "rep" / "agreement.csv").read_text()
    html = unescape((tmp_path / "rep" / "agreement.html").read_text())
    for text in (md, html):
        assert "experts on its items" in text
        assert "Items: the experts' row: every rated item (120)" in text
        assert f"the chance rows: the items part scored ({n})" in text
    import csv as csv_module

    long = {r["row"]: r for r in csv_module.DictReader(csv.splitlines())}
    assert long["experts"]["items"] == "every rated item" and long["part"]["items"] == "the items part scored"
    assert long["chance:constant"]["items"] == "the items part scored"
    assert float(long["part"]["ceiling"]) != float(long["experts"]["ceiling"]) == float(long["experts"]["headline"])
    assert main(["agree", *base, *args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    row = report["criteria"]["empathy"]["judges"]["part"]
    assert row["items"] == "the items part scored" and row["ceiling"]["n"] == n
    # the judge board: the ceiling on each judge's items beside its kappa, and the caption says which items
    assert main(["leaderboard", "--judges", *base, *args, "--out", str(tmp_path / "board")]) == 0
    board_md = (tmp_path / "board" / "judges.md").read_text()
    assert "experts on its items" in board_md and "the chance rows: the items part scored" in board_md
