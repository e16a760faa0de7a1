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
