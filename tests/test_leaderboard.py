"""System leaderboard: hand-computed means, the post-clustered bootstrap against a plain loop, ranks, missing data,
renderers, the CLI, and the RESORT per-condition means recomputed from the raw release."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml

from judge.analysis.leaderboard import system_leaderboard
from judge.cli import main
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, save_benchmark
from judge.data.rubric import Rubric, ScalePoint
from judge.errors import InputError, UsageError
from judge.report import build_report, parse_formats, write_report
from judge.report.csv import render_csv
from judge.report.html import nice_ticks, scatter_svg
from judge.report.markdown import render_markdown
from tests.conftest import RESORT

ANNOTATIONS = RESORT / "eval-human/human_eval_annotations_cleaned.json"
CRITERIA = ("alignment_with_standards", "empathy", "harmfulness", "factuality")


def rubric(name: str, values: list[float], title: str | None = None) -> Rubric:
    return Rubric(
        direction="lower" if name == "harmfulness" else "higher",
        name=name,
        version="1.0",
        title=title or name.title(),
        question=f"How {name}?",
        level="ordinal",
        scale=[ScalePoint(value=v, label=f"p{v:g}", anchor=f"anchor {v:g}") for v in values],
    )


RUBRICS = {
    "empathy": rubric("empathy", [1, 2, 3, 4, 5], "Empathy"),
    "harmfulness": rubric("harmfulness", [0, 1], "Harmfulness"),
}


def item(item_id: str, post: str, model: str) -> Item:
    return Item(item_id=item_id, post_id=post, post="p", response="r", system={"model": model, "method": ""})


def bench_of(items: list[Item], ratings: Sequence[tuple[str, str, str, float]]) -> Benchmark:
    return Benchmark(
        manifest=BenchmarkManifest(name="tiny"),
        items={it.item_id: it for it in items},
        ratings=[ExpertRating(item_id=i, rater=r, criterion=c, value=v) for i, r, c, v in ratings],
    )


def tiny() -> Benchmark:
    """System A: 3 items over posts p1, p1, p2; system B: 2 items over p1, p2."""
    items = [
        item("a1", "p1", "A"),
        item("a2", "p1", "A"),
        item("a3", "p2", "A"),
        item("b1", "p1", "B"),
        item("b2", "p2", "B"),
    ]
    ratings = [
        ("a1", "x", "empathy", 4),
        ("a1", "y", "empathy", 5),  # a1: (4 + 5) / 2 = 4.5
        ("a2", "x", "empathy", 3),  # a2: one expert, 3
        ("a3", "x", "empathy", 2),
        ("a3", "y", "empathy", 2),  # a3: 2
        ("b1", "x", "empathy", 1),
        ("b1", "y", "empathy", 2),  # b1: 1.5
        ("b2", "y", "empathy", 2),  # b2: 2
        ("a1", "x", "harmfulness", 0),
        ("b1", "x", "harmfulness", 1),
    ]
    return bench_of(items, ratings)


# -- computation -----------------------------------------------------------------------------------------------


def test_expert_means_counts_and_order_hand_computed() -> None:
    lb = system_leaderboard(tiny(), RUBRICS, n_boot=200, seed=1)
    a, b = lb.rows  # A is best on empathy (the first criterion) so it comes first
    assert a.system == {"model": "A", "method": ""} and a.name == "A"
    # A: (4.5 + 3 + 2) / 3 = 9.5 / 3 = 3.1667 ; B: (1.5 + 2) / 2 = 1.75
    assert a.scores["empathy"].mean == pytest.approx(9.5 / 3)
    assert b.scores["empathy"].mean == pytest.approx(1.75)
    assert (a.scores["empathy"].n, a.scores["empathy"].unscored) == (3, 0)
    # harmfulness was rated on a1 only (A) and b1 only (B): the other items are counted as not rated (never scored
    # at all, so not "unscored"), and never as 0
    h = a.scores["harmfulness"]
    assert (h.n, h.unscored, h.not_judged) == (1, 0, 2)
    assert a.scores["harmfulness"].mean == 0.0 and b.scores["harmfulness"].mean == 1.0
    # lower is better on harmfulness: A (0) ranks 1, B (1) ranks 2
    assert (a.scores["harmfulness"].rank, b.scores["harmfulness"].rank) == (1, 2)
    assert (a.scores["empathy"].rank, b.scores["empathy"].rank) == (1, 2)
    assert lb.bootstrap.cluster == "post" and lb.bootstrap.n_clusters == 2
    # empathy histogram bins every 0.5 from 1 to 5; A's item scores 4.5, 3, 2 fall in bins 7, 4, 2
    assert lb.criterion("empathy").bins == [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]
    assert a.scores["empathy"].hist == [0, 0, 1, 0, 1, 0, 0, 1, 0]


def _loop_bootstrap(
    item_post: list[int], item_sys: list[int], vals: list[float], n_posts: int, n_sys: int, n_boot: int, seed: int
) -> np.ndarray:
    """Reference: resample posts with the same generator calls, then average each system's items in plain Python."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_posts, size=(n_boot, n_posts))
    out = np.full((n_boot, n_sys), np.nan)
    for b in range(n_boot):
        for s in range(n_sys):
            picked = [vals[i] for p in draws[b] for i in range(len(vals)) if item_post[i] == p and item_sys[i] == s]
            if picked:
                out[b, s] = sum(picked) / len(picked)
    return out


def five_posts() -> tuple[Benchmark, list[int], list[int], list[float]]:
    """Systems A (6 items) and B (5 items) over posts p0..p4, with the posts, systems and values in item order."""
    spec = [("A", 0, 4), ("A", 0, 5), ("A", 1, 3), ("A", 2, 2), ("A", 3, 4), ("A", 4, 1)]
    spec += [("B", 0, 2), ("B", 1, 1), ("B", 2, 3), ("B", 3, 2), ("B", 4, 5)]
    items = [item(f"{m}{k}", f"p{p}", m) for k, (m, p, _) in enumerate(spec)]
    ratings = [(f"{m}{k}", "x", "empathy", float(v)) for k, (m, _, v) in enumerate(spec)]
    return bench_of(items, ratings), [p for _, p, _ in spec], [m == "B" for m, _, _ in spec], [v for *_, v in spec]


def test_clustered_bootstrap_matches_a_plain_loop() -> None:
    bench, posts, systems, values = five_posts()
    lb = system_leaderboard(bench, {"empathy": RUBRICS["empathy"]}, n_boot=300, seed=7)
    boot = _loop_bootstrap(posts, [int(s) for s in systems], values, 5, 2, 300, 7)
    for row in lb.rows:
        s = 0 if row.name == "A" else 1
        lo, hi = np.nanquantile(boot[:, s], [0.025, 0.975])
        assert row.scores["empathy"].ci == pytest.approx((lo, hi))


def test_items_of_one_post_move_together() -> None:
    # Three posts, each holding a 1 and a 5: every post's mean is 3, so a bootstrap that redraws whole posts can
    # only give 3. An item-level bootstrap would give a wide interval for these spread scores.
    items = [item(f"i{k}", f"p{k // 2}", "A") for k in range(6)]
    ratings = [(f"i{k}", "x", "empathy", v) for k, v in enumerate([1, 5, 1, 5, 5, 1])]
    lb = system_leaderboard(bench_of(items, ratings), RUBRICS, n_boot=100)
    cell = lb.rows[0].scores["empathy"]
    assert cell.mean == pytest.approx(3.0)  # (1+5+1+5+5+1) / 6 = 18 / 6
    assert cell.ci == pytest.approx((3.0, 3.0)) and cell.too_few is None


def test_thin_data_gets_no_interval() -> None:
    # One post (however many items) or fewer than 5 items: no CI and no rank interval, and the report says why,
    # instead of a CI such as [4.71, 4.71] that only shows the resampling could not move.
    one_post = [item(f"i{k}", "p", "A") for k in range(6)] + [item(f"j{k}", f"q{k}", "B") for k in range(6)]
    ratings = [(it.item_id, "x", "empathy", 1.0 + k % 5) for k, it in enumerate(one_post)]
    lb = system_leaderboard(bench_of(one_post, ratings), RUBRICS, n_boot=100)
    a = next(r for r in lb.rows if r.name == "A").scores["empathy"]
    b = next(r for r in lb.rows if r.name == "B").scores["empathy"]
    assert a.ci is None and a.rank_ci is None and "1 post" in (a.too_few or "")
    assert b.ci is not None and b.rank_ci is not None and b.too_few is None
    assert a.rank is not None and b.tied_with == []
    tiny_lb = system_leaderboard(tiny(), RUBRICS, n_boot=50)
    cell = tiny_lb.rows[0].scores["empathy"]
    assert cell.ci is None and "3 item(s)" in (cell.too_few or "")
    md = render_markdown(build_report(tiny_lb))
    assert "| 3.17 [too few] | too few |" in md and "too few: fewer than 5 items or 3 posts" in md


def test_rank_intervals_and_ties() -> None:
    # Posts p0..p9, three systems per post: A always 5, B always 5 (tied with A), C always 1.
    items, ratings = [], []
    for p in range(10):
        for model, v in (("A", 5), ("B", 5), ("C", 1)):
            iid = f"{model}{p}"
            items.append(item(iid, f"p{p}", model))
            ratings.append((iid, "x", "empathy", v))
    lb = system_leaderboard(bench_of(items, ratings), RUBRICS, n_boot=200)
    cells = {r.name: r.scores["empathy"] for r in lb.rows}
    assert (cells["A"].rank, cells["B"].rank, cells["C"].rank) == (1, 1, 3)  # competition ranking: ties share 1
    assert cells["A"].rank_ci == (1, 1) and cells["C"].rank_ci == (3, 3)
    assert cells["A"].tied_with == ["B"] and cells["B"].tied_with == ["A"] and cells["C"].tied_with == []


def test_a_rank_interval_spans_the_ranks_the_resampling_gives() -> None:
    """A swings between 1 and 5 around B's steady 3 (equal means): resampled posts put either first, so both rank
    intervals are 1-2, each holding its rank; C, always 1, is 3-3. (A rank interval read from one end alone would
    give 2-2: the rank itself outside its interval.)"""
    items, ratings = [], []
    for p in range(10):
        for model, v in (("A", 5 if p % 2 else 1), ("B", 3), ("C", 1)):
            items.append(item(f"{model}{p}", f"p{p}", model))
            ratings.append((f"{model}{p}", "x", "empathy", v))
    lb = system_leaderboard(bench_of(items, ratings), RUBRICS, n_boot=200, seed=0)
    cells = {r.name: r.scores["empathy"] for r in lb.rows}
    assert cells["A"].rank_ci == cells["B"].rank_ci == (1, 2) and cells["C"].rank_ci == (3, 3)
    for cell in cells.values():
        assert cell.rank is not None and cell.rank_ci is not None
        assert cell.rank_ci[0] <= cell.rank <= cell.rank_ci[1]


def test_judge_scores_unscored_are_missing_not_zero() -> None:
    scores = {"empathy": {"a1": 5.0, "a2": None, "a3": 3.0, "b1": 2.0, "b2": None}}
    lb = system_leaderboard(tiny(), RUBRICS, scores, n_boot=50, judge="j1")
    a = next(r for r in lb.rows if r.name == "A").scores["empathy"]
    b = next(r for r in lb.rows if r.name == "B").scores["empathy"]
    assert (a.mean, a.n, a.unscored) == (4.0, 2, 1)  # (5 + 3) / 2, the None is not a 0
    assert (b.mean, b.n, b.unscored) == (2.0, 1, 1)
    assert lb.source == "judge" and lb.provenance.judges == ["j1"]
    assert [c.name for c in lb.criteria] == ["empathy"]  # no harmfulness scores: not a column, but noted
    assert any("harmfulness" in n for n in lb.notes)


def test_bad_inputs_raise_input_error_naming_the_problem() -> None:
    with pytest.raises(InputError, match="'zz'"):
        system_leaderboard(tiny(), RUBRICS, {"empathy": {"zz": 1.0}})
    with pytest.raises(InputError, match="no judge scores"):
        system_leaderboard(tiny(), RUBRICS, {"empathy": {"a1": None}})
    with pytest.raises(InputError, match="n_boot"):
        system_leaderboard(tiny(), RUBRICS, n_boot=0)


def test_same_seed_same_leaderboard_and_json_shape() -> None:
    one = system_leaderboard(tiny(), RUBRICS, n_boot=100, seed=3)
    two = system_leaderboard(tiny(), RUBRICS, n_boot=100, seed=3)
    assert one.model_dump(exclude={"provenance"}) == two.model_dump(exclude={"provenance"})
    data = json.loads(one.model_dump_json())
    row = data["rows"][0]
    assert row["system"] == {"model": "A", "method": ""}
    assert set(row["scores"]["empathy"]) >= {"mean", "ci", "n", "rank", "rank_ci", "unscored", "tied_with"}
    prov = data["provenance"]
    assert prov["rubrics"]["empathy"] == RUBRICS["empathy"].ref and prov["tool_version"]
    assert prov["created_at"].endswith("+00:00")


# -- renderers -------------------------------------------------------------------------------------------------


def hostile_bench() -> Benchmark:
    """A hostile system name (markup, a pipe) and an ordinary one, one item each on posts p0..p4."""
    items, ratings = [], []
    for p, (h, o) in enumerate([(5, 2), (4, 3), (5, 2), (4, 3), (5, 3)]):
        items += [item(f"h{p}", f"p{p}", "<script>alert(1)</script> | x"), item(f"o{p}", f"p{p}", "ok")]
        ratings += [(f"h{p}", "x", "empathy", h), (f"o{p}", "x", "empathy", o)]
    ratings.append(("h0", "x", "harmfulness", 1))
    return bench_of(items, ratings)


def test_markdown_rank_interval_and_escaping() -> None:
    md = render_markdown(build_report(system_leaderboard(hostile_bench(), RUBRICS, n_boot=200)))
    assert "\\| x" in md  # a pipe in a system name does not break the table
    head = next(line for line in md.splitlines() if line.startswith("| model"))
    assert "Empathy ↑ mean [95% CI]" in head and "Harmfulness ↓ rank" in head
    # hostile: (5+4+5+4+5)/5 = 4.6, ok: (2+3+2+3+3)/5 = 2.6. Each post holds one item of each system and the
    # hostile one is higher on every post, so it wins every resample: rank interval "1", the other "2". A resample
    # of posts keeps each mean between its system's lowest and highest item: [4, 5] and [2, 3].
    rows = [line for line in md.splitlines() if line.startswith("| <script>") or line.startswith("| ok")]
    assert "| 4.60 [4." in rows[0] and "] | 1 |" in rows[0]
    assert "| 2.60 [2." in rows[1] and "] | 2 |" in rows[1]


def test_csv_one_row_per_system_and_criterion() -> None:
    lb = system_leaderboard(tiny(), RUBRICS, n_boot=100)
    report = build_report(lb)
    assert report.long_table is not None
    rows = list(csv.DictReader(io.StringIO(render_csv(report.long_table))))
    assert len(rows) == 2 * 2  # 2 systems x 2 criteria
    a_emp = next(r for r in rows if r["system"] == "A" and r["criterion"] == "empathy")
    assert float(a_emp["mean"]) == pytest.approx(9.5 / 3) and a_emp["n"] == "3" and a_emp["unscored"] == "0"
    assert a_emp["model"] == "A" and a_emp["rubric"] == RUBRICS["empathy"].ref


def test_write_report_writes_every_format(tmp_path: Path) -> None:
    lb = system_leaderboard(hostile_bench(), RUBRICS, n_boot=100)
    paths = write_report(lb, tmp_path / "out")
    assert sorted(paths) == ["csv", "html", "json", "md"]
    assert json.loads(paths["json"].read_text())["rows"][0]["name"] == "<script>alert(1)</script> | x"
    html = paths["html"].read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not list((tmp_path / "out").glob(".*.tmp"))  # atomic writes leave no temporaries
    with pytest.raises(UsageError, match="pdf"):
        parse_formats("md,pdf")


def test_scatter_svg_and_ticks() -> None:
    svg = scatter_svg([1, 2, 3], [1.5, 2, 2.5], curve=[(3, 2.8), (1, 1.2)], low=1, high=5, x_label="expert <b>")
    assert svg.count("<circle") == 3 and 'class="curve"' in svg and "expert &lt;b&gt;" in svg
    with pytest.raises(ValueError, match="same length"):
        scatter_svg([1, 2], [1])
    assert nice_ticks(1, 10) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert nice_ticks(0, 1, 6) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


# -- CLI -------------------------------------------------------------------------------------------------------


def write_rubrics(root: Path) -> Path:
    root.mkdir()
    for r in RUBRICS.values():
        (root / f"{r.name}.yaml").write_text(yaml.safe_dump(r.model_dump(mode="json", exclude_defaults=True)))
    return root


def test_cli_writes_files_and_prints_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench_dir = save_benchmark(tiny(), tmp_path / "bench")
    rub = write_rubrics(tmp_path / "rubrics")
    out = tmp_path / "reports" / "tiny"
    code = main(
        [
            "leaderboard",
            "--benchmark",
            str(bench_dir),
            "--rubrics",
            str(rub),
            "--out",
            str(out),
            "--n-boot",
            "100",
            "--format",
            "md,csv",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    # a table laid out for the terminal (no markdown there: that is the .md file's)
    assert re.search(r"^A\s", printed, re.M) and "| A |" not in printed and "wrote" in printed
    assert "| A |" in (out / "leaderboard.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.csv", "leaderboard.md"]
    code = main(
        [
            "leaderboard",
            "--benchmark",
            str(bench_dir),
            "--rubrics",
            str(rub),
            "--out",
            str(out),
            "--n-boot",
            "100",
            "--criteria",
            "empathy",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data["leaderboard"]["criteria"]] == ["empathy"]
    assert data["leaderboard"]["rows"][0]["scores"]["empathy"]["mean"] == pytest.approx(9.5 / 3)


def test_cli_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench_dir = save_benchmark(tiny(), tmp_path / "bench")
    rub = write_rubrics(tmp_path / "rubrics")
    base = ["leaderboard", "--benchmark", str(bench_dir), "--rubrics", str(rub), "--out", str(tmp_path / "o")]
    assert main([*base, "--format", "md,pdf"]) == 2
    assert main([*base, "--criteria", "nope"]) == 2
    assert main([*base, "--judge", "x"]) == 2
    err = capsys.readouterr().err
    assert "pdf" in err and "nope" in err and "--judge and --calibrator need --run" in err


# -- RESORT expert study ---------------------------------------------------------------------------------------


def resort_bench_from_json() -> Benchmark:
    """The 227 rated responses, built directly from the release (independent of the importer)."""
    rows = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))
    items, ratings = [], []
    for i, row in enumerate(rows):
        iid = f"resort:{i}"
        items.append(
            Item(
                item_id=iid,
                post_id=row["Reddit ID"],
                post=row["Reddit Post"],
                response=row["reappraisal_response"],
                system={k: row[k] for k in ("model", "pipeline", "method")},
            )
        )
        for slot in ("human_eval_annotation_1", "human_eval_annotation_2"):
            ann = row[slot]
            for c in CRITERIA:
                if ann.get(c) is not None:
                    ratings.append(
                        ExpertRating(item_id=iid, rater=str(ann["annotator"]), criterion=c, value=float(ann[c]))
                    )
    return Benchmark(manifest=BenchmarkManifest(name="resort"), items={it.item_id: it for it in items}, ratings=ratings)


def resort_rubrics() -> dict[str, Rubric]:
    return {
        "alignment_with_standards": rubric("alignment_with_standards", list(range(1, 11))),
        "empathy": rubric("empathy", [1, 2, 3, 4, 5]),
        "harmfulness": rubric("harmfulness", [0, 1]),
        "factuality": rubric("factuality", [0, 0.5, 1]),
    }


def raw_condition_mean(model: str, pipeline: str, method: str, criterion: str) -> float:
    """Plain Python over the raw JSON: the mean over items of the mean of the item's two ratings."""
    rows = json.loads(ANNOTATIONS.read_text(encoding="utf-8"))
    per_item = [
        (r["human_eval_annotation_1"][criterion] + r["human_eval_annotation_2"][criterion]) / 2
        for r in rows
        if (r["model"], r["pipeline"], r["method"]) == (model, pipeline, method)
    ]
    return sum(per_item) / len(per_item)


@pytest.mark.skipif(not ANNOTATIONS.exists(), reason=f"RESORT release not found at {RESORT}")
def test_resort_per_condition_means_match_the_raw_release() -> None:
    lb = system_leaderboard(resort_bench_from_json(), resort_rubrics(), n_boot=200)
    assert len(lb.rows) == 26  # 3 models x 8 pipeline/method conditions + oracle + top Reddit comment
    assert sum(r.n_items for r in lb.rows) == 227 and lb.bootstrap.n_clusters == 29
    means = {(tuple(r.system.values()), c): s.mean for r in lb.rows for c, s in r.scores.items()}
    # gpt-4-turbo / iterative / +appr +cons, alignment: item means (10+9)/2, (8+9)/2, (7+10)/2, (8+8)/2,
    # (9+7)/2, (9+6)/2, (7+9)/2, (10+7)/2 = 9.5, 8.5, 8.5, 8, 8, 7.5, 8, 8.5 -> 66.5 / 8 = 8.3125
    assert means[
        (("gpt-4-turbo", "iterative_guided_refinement", "+appr +cons"), "alignment_with_standards")
    ] == pytest.approx(8.3125)
    # top Reddit comment, harmfulness: 22 items, rating sum 17 over 44 ratings -> 17 / 44 = 0.38636
    assert means[(("top_reddit_comment", "", ""), "harmfulness")] == pytest.approx(17 / 44)
    # Mistral vanilla, empathy: (8+7+3+5+6+5+6) / 2 / 7 = 40 / 14 = 2.857
    assert means[(("Mistral-7B-Instruct-v0.1", "vanilla", "vanilla"), "empathy")] == pytest.approx(40 / 14)
    for cond in [
        ("gpt-4-turbo", "vanilla", "vanilla"),
        ("oracle_response", "", ""),
        ("Llama-2-13b-chat-hf", "self-refine", "self-refine"),
    ]:
        for c in CRITERIA:
            assert means[(cond, c)] == pytest.approx(raw_condition_mean(*cond, c)), (cond, c)
    # the expert study's headline: the top Reddit comment is last on alignment and empathy
    by_align = [r.name for r in lb.rows]
    assert by_align[-2:] in (
        ["top_reddit_comment", "gpt-4-turbo / self-refine / self-refine"],
        ["gpt-4-turbo / self-refine / self-refine", "top_reddit_comment"],
    )


@pytest.mark.skipif(not ANNOTATIONS.exists(), reason=f"RESORT release not found at {RESORT}")
def test_resort_importer_gives_the_same_leaderboard() -> None:
    from judge.data.importers.resort import import_resort

    imported = import_resort(RESORT)
    ours = system_leaderboard(resort_bench_from_json(), resort_rubrics(), n_boot=100)
    theirs = system_leaderboard(imported, resort_rubrics(), n_boot=100)
    assert [r.system for r in theirs.rows] == [r.system for r in ours.rows]
    for a, b in zip(ours.rows, theirs.rows, strict=True):
        for c in CRITERIA:
            assert b.scores[c].mean == pytest.approx(a.scores[c].mean) and b.scores[c].n == a.scores[c].n
    assert any("not part of the leaderboard" in n for n in theirs.notes)  # the unrated outputs are counted


def write_run(run_dir: Path, records: list[tuple[str, str, str, float | None]], rubric_refs: dict[str, str]) -> Path:
    """A run directory as the run store writes it: run.json and judgments.jsonl (judge, item, criterion, score)."""
    from judge.engine.judgment import Judgment
    from judge.engine.store import RunManifest

    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(RunManifest(rubrics=rubric_refs).model_dump_json())
    lines = [
        Judgment(judge=j, item_id=i, criterion=c, score=s, unscored_reason=None if s is not None else "parse_failure")
        for j, i, c, s in records
    ]
    (run_dir / "judgments.jsonl").write_text("".join(x.model_dump_json() + "\n" for x in lines))
    return run_dir


def test_cli_scores_from_a_judge_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench_dir = save_benchmark(tiny(), tmp_path / "bench")
    rub = write_rubrics(tmp_path / "rubrics")
    refs = {c: r.ref for c, r in RUBRICS.items()}
    recs: list[tuple[str, str, str, float | None]] = [
        ("j1", "a1", "empathy", 5.0),
        ("j1", "a2", "empathy", None),
        ("j1", "a3", "empathy", 4.0),
        ("j1", "b1", "empathy", 1.0),
        ("j2", "a1", "empathy", 2.0),
    ]
    run = write_run(tmp_path / "run", recs, refs)
    base = ["leaderboard", "--benchmark", str(bench_dir), "--rubrics", str(rub), "--run", str(run), "--n-boot", "50"]
    assert main([*base, "--out", str(tmp_path / "o"), "--json"]) == 2  # two judges: which one?
    assert "--judge NAME" in capsys.readouterr().err
    assert main([*base, "--judge", "j1", "--out", str(tmp_path / "o"), "--json"]) == 0
    board = json.loads(capsys.readouterr().out)["leaderboard"]
    a = next(r for r in board["rows"] if r["name"] == "A")["scores"]["empathy"]
    assert (a["mean"], a["n"], a["unscored"], a["not_judged"]) == (4.5, 2, 1, 0)  # (5 + 4) / 2; a2 unscored
    b = next(r for r in board["rows"] if r["name"] == "B")["scores"]["empathy"]
    assert (b["n"], b["unscored"], b["not_judged"]) == (1, 0, 0)
    assert any(n.startswith("1 of the benchmark's 5 items") for n in board["notes"])  # b2: never judged at all
    assert board["source"] == "judge" and board["provenance"]["judges"] == ["j1"]
    stale = write_run(tmp_path / "stale", recs[:1], {"empathy": "empathy@0.9#0000"})
    assert main([*base[:-4], "--run", str(stale), "--n-boot", "50", "--out", str(tmp_path / "o")]) == 2
    assert "other rubric versions" in capsys.readouterr().err


def test_cli_leaves_a_rater_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench_dir = save_benchmark(tiny(), tmp_path / "bench")
    rub = write_rubrics(tmp_path / "rubrics")
    base = ["leaderboard", "--benchmark", str(bench_dir), "--rubrics", str(rub), "--n-boot", "50", "--json"]
    assert main([*base, "--out", str(tmp_path / "o"), "--exclude-rater", "y", "--criteria", "empathy"]) == 0
    rows = {r["name"]: r["scores"]["empathy"] for r in json.loads(capsys.readouterr().out)["leaderboard"]["rows"]}
    # without rater y: A's items a1 4, a2 3, a3 2 -> 3.0; B keeps b1 (x rated 1); b2 was rated by y only
    assert rows["A"]["mean"] == pytest.approx(3.0) and rows["B"]["mean"] == pytest.approx(1.0)
    assert main([*base, "--out", str(tmp_path / "o"), "--exclude-rater", "nobody"]) == 2
    assert "'nobody'" in capsys.readouterr().err


# -- what mutation testing found untested (reports/quality/mutation.md) ------------------------------------------------


def test_a_system_is_the_same_whatever_the_order_of_its_fields() -> None:
    items = [
        Item(item_id="a1", post_id="p1", post="p", response="r", system={"model": "A", "method": "m"}),
        Item(item_id="a2", post_id="p2", post="p", response="r", system={"method": "m", "model": "A"}),
    ]
    board = system_leaderboard(bench_of(items, [("a1", "x", "empathy", 4), ("a2", "x", "empathy", 2)]), RUBRICS,
                               n_boot=20)  # fmt: skip
    assert len(board.rows) == 1 and board.rows[0].scores["empathy"].n == 2


def test_left_out_items_and_missing_sources_are_said_in_words() -> None:
    lb = system_leaderboard(tiny(), RUBRICS, {"empathy": {"a1": 5.0, "b1": 2.0}}, n_boot=20)
    assert "3 of the benchmark's 5 items have no judge score on any shown criterion" in " ".join(lb.notes)
    rated = bench_of([item("a1", "p1", "A"), item("z1", "p9", "Z")], [("a1", "x", "empathy", 4)])
    lb = system_leaderboard(rated, RUBRICS, n_boot=20)
    assert "1 of the benchmark's 2 items have no expert rating on any shown criterion" in " ".join(lb.notes)
    with pytest.raises(InputError, match="no expert ratings on any of the criteria"):
        system_leaderboard(bench_of([item("a1", "p1", "A")], []), RUBRICS, n_boot=20)


def test_unknown_item_ids_are_listed_five_at_most() -> None:
    six = {f"zz{k}": 1.0 for k in range(6)}
    with pytest.raises(InputError) as exc:
        system_leaderboard(tiny(), RUBRICS, {"empathy": six})
    assert "6 scored item id(s)" in str(exc.value) and "'zz4' ..." in str(exc.value) and "'zz5'" not in str(exc.value)
    with pytest.raises(InputError) as exc:
        system_leaderboard(tiny(), RUBRICS, {"empathy": {f"zz{k}": 1.0 for k in range(5)}})
    assert "'zz4';" in str(exc.value) and "..." not in str(exc.value)
