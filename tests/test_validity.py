"""The validity benchmark's building blocks (benchmarks/validity): a stratified item set and an honest,
cross-fitted choice among candidate scorings. The full benchmark runs the real embedded judge (minutes): it is
run by hand and its report committed under reports/validity/."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.validity import cross_fitted_choice, histogram, post_folds, select_items, spearman
from judge.data import Benchmark, load_benchmark, load_rubric_set
from judge.data.benchmark import BenchmarkManifest, ExpertRating, Item
from judge.data.rubric import default_rubrics_dir


def _bench(posts: int = 20, per_post: int = 4, seed: int = 0) -> tuple[Benchmark, dict[str, float]]:
    rng = random.Random(seed)
    items, ratings, truth = {}, [], {}
    for p in range(posts):
        for k in range(per_post):
            iid = f"p{p}-{k}"
            items[iid] = Item(item_id=iid, post_id=f"p{p}", post="post", response="r", dimension_id=k % 2 + 1)
            value = rng.randint(1, 5)
            truth[iid] = float(value)
            ratings.append(ExpertRating(item_id=iid, criterion="empathy", rater="a", value=value))
    return Benchmark(manifest=BenchmarkManifest(name="t"), items=items, ratings=ratings), truth


def test_selection_covers_every_post_and_dimension_before_repeating_one() -> None:
    bench, _ = _bench()
    ids = select_items(bench, ["empathy"], 40)
    strata = {(bench.items[i].post_id, bench.items[i].dimension_id) for i in ids}
    assert len(ids) == 40 and len(strata) == 40  # 20 posts x 2 dimensions, one item each
    assert select_items(bench, ["empathy"], 40) == ids  # fixed
    assert len(select_items(bench, ["empathy"], None)) == 80


def test_folds_keep_posts_whole() -> None:
    bench, _ = _bench()
    folds = post_folds(bench, list(bench.items), 5)
    posts = [{bench.items[i].post_id for i in f} for f in folds]
    assert sum(len(f) for f in folds) == 80
    assert all(not (a & b) for n, a in enumerate(posts) for b in posts[n + 1 :])


def test_cross_fitted_choice_picks_the_informative_candidate_and_reports_held_out_figures() -> None:
    bench, truth = _bench(posts=30)
    rng = random.Random(1)
    good = {i: v + rng.gauss(0, 0.7) for i, v in truth.items()}
    noise = {i: rng.gauss(0, 1) for i in truth}
    out = cross_fitted_choice(bench, {"good": good, "noise": noise}, truth, list(truth), k=5)
    assert out["chosen_counts"] == {"good": 5}
    assert out["held_out_spearman"] == pytest.approx(spearman([good[i] for i in truth], list(truth.values())))
    # With only noise to choose from, the held-out figure stays near chance (no optimism carried over).
    noises = {f"n{k}": {i: rng.gauss(0, 1) for i in truth} for k in range(8)}
    out = cross_fitted_choice(bench, noises, truth, list(truth), k=5)
    assert abs(out["held_out_spearman"]) < 0.25
    assert out["in_sample_best"]["spearman"] > out["held_out_spearman"]


def test_histogram_rounds_to_scale_points() -> None:
    assert histogram([1.2, 4.6, 5.0], [1, 2, 3, 4, 5]) == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 2}


def test_selection_on_the_resort_release(resort_bench: Path) -> None:
    """On the real rated set: 60 items reach every (post, dimension) pair of the expert study."""
    rubrics = load_rubric_set(default_rubrics_dir())
    bench = load_benchmark(resort_bench, known_criteria=rubrics)
    ids = select_items(bench, ["alignment_with_standards", "empathy"], 60)
    pairs = {(bench.items[i].post_id, bench.items[i].dimension_id) for i in bench.rated_item_ids()}
    assert len(ids) == 60 and {(bench.items[i].post_id, bench.items[i].dimension_id) for i in ids} == pairs


def test_report_on_a_tiny_input_compares_rows_on_the_same_items(tmp_path: Path) -> None:
    """The whole benchmark without a model (``--judge none``) on the bundled support-chats example: every item set is
    reported, the reference's items separately where it lacks some, with the length rows and CIs over posts."""
    import json

    from benchmarks.validity.__main__ import main as validity_main
    from judge.cli import main

    data = Path(__file__).resolve().parents[1] / "datasets" / "support-chats"
    rub = str(data / "rubrics")
    bench, run = tmp_path / "bench", tmp_path / "run"
    items = ["--items", str(data / "conversations.csv"), "--judged-role", "supporter", "--rubrics", rub]
    ratings = sorted(str(p) for p in (data / "ratings").glob("*.csv"))
    assert main(["import", "table", *ratings, *items, "--out", str(bench)]) == 0
    scores = ["--scores", "{rater}_{criterion}", "--benchmark", str(bench), "--run-out", str(run)]
    judges = [a for j in ("human", "judge-a", "judge-b", "judge-c", "judge-d") for a in ("--as-judge", j)]
    assert main(["import", "table", str(data / "judge-scores.csv"), *scores, *judges, "--rubrics", rub]) == 0
    out = tmp_path / "report"
    argv = ["--benchmark", str(bench), "--rubrics", rub, "--criteria", "warmth,helpfulness", "--judge", "none",
            "--reference-run", str(run), "--items", "8", "--n-boot", "200", "--out", str(out)]  # fmt: skip
    assert validity_main(argv) == 0
    res = json.loads((out / "validity.json").read_text())
    assert res["subset"]["items"] == 8 and sum(res["subset"]["strata"].values()) == 8
    for c in ("warmth", "helpfulness"):
        sets = res["results"][c]
        assert "all rated items" in sets and "fixed subset (8 items)" in sets
        for s in sets.values():
            rows = s["rows"]
            assert {"experts (ceiling)", "baseline:length (characters)", "chance:constant"} <= set(rows)
            ref = next(r for n, r in rows.items() if n.startswith("reference:"))
            assert ref["n_items"] <= s["items"] and ref["not_better_than_length"] in (True, False, None)
    md = (out / "validity.md").read_text()
    assert "CIs resample whole posts" in md and "### all rated items" in md and "vs length" in md


def test_alignment_report_on_a_tiny_input(tmp_path: Path) -> None:
    """benchmarks/validity/alignment.py on the bundled example: every row on the same items, raw and aligned held
    out beside length, chance and the ceiling, the learning curve and the search time."""
    import json

    from benchmarks.validity.alignment import main as alignment_main

    out = tmp_path / "al"
    assert alignment_main(["--support-chats", "--n-boot", "100", "--out", str(out)]) == 0
    res = json.loads((out / "alignment.json").read_text())
    warmth = res["sets"]["support-chats"]["warmth"]
    rows = warmth["rows"]
    assert {"experts (ceiling)", "chance:permuted", "length (characters), raw"} <= set(rows)
    assert "length (characters), ridge map, held out" in rows
    for j in ("judge-a", "judge-b", "judge-c", "judge-d"):
        aligned = rows[f"{j}, aligned (held out)"]
        assert aligned["spearman"]["value"] is not None and aligned["search_seconds"] >= 0
        assert aligned["learning_curve"][0]["posts"] == 5 and rows[f"{j}, raw"]["spearman"]["n"] == warmth["items"]
    # judge-d ranks backwards: a fitted map turns it around, held out
    assert rows["judge-d, raw"]["spearman"]["value"] < 0 < rows["judge-d, aligned (held out)"]["spearman"]["value"]
    md = (out / "alignment.md").read_text()
    assert "## support-chats: warmth" in md and "in-sample" in md
