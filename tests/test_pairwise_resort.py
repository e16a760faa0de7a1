"""Pairwise validity on the real RESORT release (skipped without it at ../shared/data/resort): the experts' decided
pairs per margin, their pairwise ceiling, GPT-4's released scores turned into preferences against the experts'
preferences, the validity pairs, and the model-free benchmark script, all from the release imported by the CLI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from judge.analysis.inputs import load_inputs
from judge.analysis.pairwise import (
    expert_preferences,
    pairwise_agreement,
    pairwise_rankings,
    preferences_from_scores,
    validity_pairs,
)
from judge.analysis.pairwise.agreement import CHANCE_COIN, CHANCE_FIRST, CHANCE_SHUFFLED
from judge.analysis.scores import read_judges

MARGINS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
# Decided pairs at each margin: by the experts' means, and by single experts who rated both replies (1111 of them).
DECIDED = {
    "alignment_with_standards": ([879, 772, 673, 587, 508, 367], [964, 964, 727, 727, 569, 425]),
    "empathy": ([808, 554, 359, 188, 97, 26], [798, 798, 401, 401, 158, 38]),
}
# Pairwise kappa (linear) of the ceiling and of GPT-4's scores as preferences, at margin 0, and GPT-4's scored pairs.
CEILING = {"alignment_with_standards": 0.37210, "empathy": 0.42175}
GPT4 = {"alignment_with_standards": (362, 0.42099, 0.72121), "empathy": (726, 0.27860, 0.64553)}


@pytest.fixture(scope="module")
def gpt4_run(resort_bench: Path, resort_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from judge.cli import main

    out = tmp_path_factory.mktemp("gpt4") / "run"
    src = resort_dir / "derived" / "gpt4_judgments_on_rated_items.jsonl"
    assert main(["import", "judgments", str(src), "--benchmark", str(resort_bench), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("criterion", ["alignment_with_standards", "empathy"])
def test_experts_decided_pairs_per_margin(resort_bench: Path, criterion: str) -> None:
    bench = load_inputs(resort_bench).bench
    prefs = expert_preferences(bench, criterion)
    # 30 (post, dimension) groups were rated; 7 have one reply: 13 groups of 10 and 10 of 9 give 13*45 + 10*36 pairs.
    assert len(prefs.pairs) == 945 and prefs.n_groups == 23 and prefs.n_posts == 22
    assert [m.margin for m in prefs.by_margin] == MARGINS
    assert [m.n_decided for m in prefs.by_margin] == DECIDED[criterion][0]
    assert [m.n_rater_decided for m in prefs.by_margin] == DECIDED[criterion][1]
    assert {m.n_rater_pairs for m in prefs.by_margin} == {1111}
    assert Counter(len(p.raters) for p in prefs.pairs) == {2: 356, 1: 399, 0: 190}


@pytest.mark.parametrize("criterion", ["alignment_with_standards", "empathy"])
def test_gpt4_scores_as_preferences_against_the_experts(resort_bench: Path, gpt4_run: Path, criterion: str) -> None:
    inp = load_inputs(resort_bench)
    gpt4 = read_judges(gpt4_run, inp.rubrics, bench=inp.bench)[0]
    experts = expert_preferences(inp.bench, criterion)
    prefs = preferences_from_scores(
        inp.bench,
        gpt4.scores[criterion],
        criterion,
        judge=gpt4.name,
        pairs=[(p.item_a, p.item_b) for p in experts.pairs],
    )
    crit = pairwise_agreement(experts, prefs, n_boot=300, seed=0).criteria[0]
    assert crit.ceiling.n_pairs == 356
    assert crit.ceiling.kappa.value == pytest.approx(CEILING[criterion], abs=5e-5)
    row = crit.rows[0]
    n_scored, kappa, acc = GPT4[criterion]
    assert row.name == gpt4.name and row.n_pairs - row.n_unscored == n_scored
    assert row.kappa.value == pytest.approx(kappa, abs=5e-5) and row.accuracy.value == pytest.approx(acc, abs=5e-5)
    # Scores have no order: consistent and unbiased by position, by construction.
    assert row.consistency.value == 1.0 and row.first_share.value == 0.5
    by = {r.name: r for r in crit.rows}
    assert by[CHANCE_FIRST].kappa.value == 0.0 and by[CHANCE_FIRST].accuracy.value == 0.5
    for name in (CHANCE_COIN, CHANCE_SHUFFLED):
        lo, hi = by[name].kappa.ci
        assert abs(by[name].kappa.value) < 0.02 and lo < 0 < hi
    for est in (crit.ceiling.kappa, row.kappa):
        assert est.ci is not None and est.ci[0] < est.value < est.ci[1]


def test_validity_pairs_on_resort(resort_bench: Path) -> None:
    bench = load_inputs(resort_bench).bench
    pairs = validity_pairs(bench, per_group=3, seed=0)
    assert Counter(v.criterion for v in pairs) == {"alignment_with_standards": 69, "empathy": 69}
    assert len({v.group for v in pairs}) == 23
    assert sum(v.two_experts for v in pairs) == 128
    assert pairs == validity_pairs(bench, per_group=3, seed=0)


def test_expert_rankings_on_resort(resort_bench: Path) -> None:
    bench = load_inputs(resort_bench).bench
    prefs = expert_preferences(bench, "empathy").as_preferences()
    res = pairwise_rankings(prefs, baseline="oracle_response", n_boot=100)
    r = res.rankings[0]
    assert r.n_pairs == 945 and len(r.systems) == 26 and r.systems[0].rank == 1
    assert all(s.rank_ci is not None for s in r.systems)


def test_the_model_free_benchmark_script(resort_bench: Path, gpt4_run: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.validity.pairwise_experts import main

    out = tmp_path / "pairwise.json"
    assert (
        main(
            ["--benchmark", str(resort_bench), "--reference-run", str(gpt4_run), "--n-boot", "100", "--json", str(out)]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "## alignment_with_standards" in text and "| 0 | 945 | 879 | 1111 | 964 |" in text
    assert "### validity pairs: 69 pairs" in text and "### pairs gpt-4-1106-preview scored: 362 pairs" in text
    assert out.exists()
