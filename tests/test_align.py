"""``judge align``: nested cross-fitting over posts (the choice held out, the optimism visible), the ridge map against
scikit-learn, the aligned-judge file refusing the posts it saw, and the verb on the bundled support-chats example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import Ridge

from judge.analysis.align import AlignedJudge, Features, align_judge, run_features
from judge.analysis.stats.crossfit import Candidate, nested_cross_fit, ridge, spearman_gain
from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.rubric import load_rubric_set
from judge.errors import InputError, StaleArtifact

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "datasets" / "support-chats"


def test_nested_choice_is_held_out_and_in_sample_is_optimistic() -> None:
    rng = np.random.default_rng(0)
    n = 120
    y = rng.normal(size=n)
    posts = np.repeat(np.arange(40), 3)
    good = y + rng.normal(scale=0.8, size=n)
    cands = [Candidate("noise", lambda tr, te: rng.normal(size=len(te))), Candidate("good", lambda tr, te: good[te])]
    res = nested_cross_fit(cands, y, posts, outer_k=5, inner_k=4, seed=0)
    assert res.choices == ["good"] * 5 and np.isfinite(res.held_out).all()
    # among 20 noise candidates, the best in-sample looks good; held out, the choice is at chance
    noises = [rng.normal(size=n) for _ in range(20)]
    pure = [Candidate(f"n{k}", lambda tr, te, v=v: v[te]) for k, v in enumerate(noises)]
    best_in_sample = max(stats.spearmanr(v, y).statistic for v in noises)
    held = nested_cross_fit(pure, y, posts, outer_k=5, inner_k=4, seed=0).held_out
    assert best_in_sample > 0.15 and abs(stats.spearmanr(held, y).statistic) < best_in_sample
    # folds keep posts whole
    fold_posts = [set(posts[f]) for f in res.folds]
    assert all(not (a & b) for k, a in enumerate(fold_posts) for b in fold_posts[k + 1 :])


def test_learning_curve_limits_the_training_posts() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=90)
    posts = np.repeat(np.arange(30), 3)
    cands = [Candidate("raw", lambda tr, te: y[te] + 0.1)]
    res = nested_cross_fit(cands, y, posts, outer_k=5, inner_k=3, seed=0, max_posts=5)
    assert res.train_posts == [5] * 5


def test_ridge_matches_scikit_learn_on_standardised_features() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 3)) * [1.0, 10.0, 0.1]
    y = x @ [1.0, 0.2, 5.0] + rng.normal(size=50)
    fit = ridge(x, y, alpha=2.0)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    ref = Ridge(alpha=2.0).fit(z, y)
    assert fit.coef == pytest.approx(ref.coef_, abs=1e-10) and fit.intercept == pytest.approx(ref.intercept_)
    assert fit.predict(x[:5]) == pytest.approx(ref.predict(z[:5]))


def test_spearman_gain_is_the_paired_difference_with_a_ci_over_posts() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=60)
    posts = np.repeat(np.arange(20), 3)
    a, b = y + rng.normal(scale=0.5, size=60), y + rng.normal(scale=2.0, size=60)
    g = spearman_gain(a, b, y, posts, n_boot=500, seed=0)
    want = stats.spearmanr(a, y).statistic - stats.spearmanr(b, y).statistic
    assert g.value == pytest.approx(want) and g.ci is not None and g.ci[0] < want < g.ci[1]


# -- on the bundled example, through the CLI --------------------------------------------------------------------


@pytest.fixture
def chats(tmp_path: Path) -> tuple[Path, Path, str]:
    rub = str(DATA / "rubrics")
    bench, run = tmp_path / "bench", tmp_path / "run"
    items = ["--items", str(DATA / "conversations.csv"), "--judged-role", "supporter", "--rubrics", rub]
    ratings = sorted(str(p) for p in (DATA / "ratings").glob("*.csv"))
    assert main(["import", "table", *ratings, *items, "--out", str(bench)]) == 0
    judges = [a for j in ("human", "judge-a", "judge-b", "judge-c", "judge-d") for a in ("--as-judge", j)]
    scores = ["--scores", "{rater}_{criterion}", "--benchmark", str(bench), "--run-out", str(run)]
    assert main(["import", "table", str(DATA / "judge-scores.csv"), *scores, *judges, "--rubrics", rub]) == 0
    return bench, run, rub


def test_align_verb_on_support_chats(
    chats: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench, run, rub = chats
    out = tmp_path / "aligned.json"
    argv = ["align", "--benchmark", str(bench), "--rubrics", rub, "--run", str(run), "--judge", "judge-a"]
    capsys.readouterr()
    assert main([*argv, "--folds", "4", "--inner-folds", "3", "--n-boot", "300", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "aligned, held out" in text and "in-sample best" in text and "length alone" in text
    aligned = AlignedJudge.load(out)
    assert (
        aligned.judge == "judge-a"
        and len(aligned.posts_seen) == 12
        and set(aligned.criteria)
        == {
            "warmth",
            "helpfulness",
        }
    )
    for ca in aligned.criteria.values():
        assert ca.chosen.candidate in ca.candidates and len(ca.outer_choices) == 4
        assert ca.held_out.value is not None and ca.gain.value is not None and ca.length_only.value is not None
        assert ca.learning_curve[0].posts == 5 and ca.learning_curve[-1].posts > 5
    assert aligned.rubrics["warmth"].startswith("warmth@") and aligned.prompt_hash is not None
    # the file refuses the items of the posts it was fitted on
    b = load_benchmark(bench)
    rubrics = load_rubric_set(rub)
    f = run_features(run, "judge-a", "warmth", rubrics["warmth"], b)
    with pytest.raises(StaleArtifact, match="in-sample"):
        aligned.apply(b, "warmth", f)
    # a file that is not an aligned judge: exit 2 naming it
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "calibrator"}))
    with pytest.raises(InputError, match="not an aligned-judge file"):
        AlignedJudge.load(bad)


def test_aligned_judge_scores_unseen_posts(chats: tuple[Path, Path, str]) -> None:
    bench_dir, run, rub = chats
    full = load_benchmark(bench_dir)
    rubrics = load_rubric_set(rub)
    posts = sorted({it.post_id for it in full.items.values()})
    seen = set(posts[:8])
    fit_on = full.model_copy(update={"ratings": [r for r in full.ratings if full.items[r.item_id].post_id in seen]})
    aligned = align_judge(fit_on, rubrics, run, judge="judge-b", outer_k=4, inner_k=3, n_boot=0)
    assert set(aligned.posts_seen) == seen
    f = run_features(run, "judge-b", "warmth", rubrics["warmth"], full)
    rows = [k for k, i in enumerate(f.item_ids) if full.items[i].post_id not in seen]
    new = Features(
        [f.item_ids[k] for k in rows], f.answer[rows], f.expected[rows], f.dist[rows], np.expm1(f.log_length[rows])
    )
    scores = aligned.apply(full, "warmth", new)
    assert len(scores) == len(rows) and all(1 <= v <= 5 for v in scores.values())


def test_agree_refuses_an_aligned_judge_on_the_posts_it_saw(
    chats: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from judge.analysis.align import judges_with_aligned
    from judge.analysis.scores import read_judges

    bench_dir, run, rub = chats
    out = tmp_path / "aligned.json"
    base = ["--benchmark", str(bench_dir), "--rubrics", rub, "--run", str(run)]
    assert main(["align", *base, "--judge", "judge-c", "--n-boot", "50", "--folds", "4", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["agree", *base, "--aligned", str(out), "--n-boot", "0"]) == 2
    err = capsys.readouterr().err
    assert "in-sample" in err and "judge-c" in err and "Traceback" not in err
    # fitted on 8 posts, shown on the other 4: the aligned copy follows its judge
    full = load_benchmark(bench_dir)
    rubrics = load_rubric_set(rub)
    seen = set(sorted({it.post_id for it in full.items.values()})[:8])
    fit_on = full.model_copy(update={"ratings": [r for r in full.ratings if full.items[r.item_id].post_id in seen]})
    align_judge(fit_on, rubrics, run, judge="judge-c", outer_k=4, inner_k=3, n_boot=0).save(tmp_path / "a8.json")
    rest = full.model_copy(update={"ratings": [r for r in full.ratings if full.items[r.item_id].post_id not in seen]})
    judges = read_judges(run, rubrics)
    got = judges_with_aligned(judges, [tmp_path / "a8.json"], rest, rubrics)
    names = [j.name for j in got]
    assert names.index("judge-c (aligned)") == names.index("judge-c") + 1
    copy = got[names.index("judge-c (aligned)")]
    assert set(copy.scores["warmth"]) == set(rest.rated_item_ids("warmth"))


def test_align_searches_the_expected_score_and_the_distribution_of_a_live_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run with expected scoring over real HTTP (the loopback stub's logprobs), then judge align through the CLI:
    the search includes the expected score and the whole distribution plus length."""
    from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, save_benchmark
    from judge.data.rubric import default_rubrics_dir
    from judge.engine import JudgeSpec, RunConfig, run_judging
    from tests.support.stub import StubServer

    rubrics = load_rubric_set(default_rubrics_dir())
    rng = np.random.default_rng(4)
    items, ratings = {}, []
    for k in range(18):
        text = " ".join(["I hear you, that sounds hard."] * int(rng.integers(1, 6)))
        items[f"i{k}"] = Item(item_id=f"i{k}", post_id=f"p{k // 3}", post=f"A worry number {k}.", response=text)
        for r in ("a", "b"):
            ratings.append(ExpertRating(item_id=f"i{k}", rater=r, criterion="empathy", value=float(rng.integers(1, 6))))
    bench = Benchmark(manifest=BenchmarkManifest(name="tiny"), items=items, ratings=ratings)
    save_benchmark(bench, tmp_path / "bench")
    bench = load_benchmark(tmp_path / "bench", known_criteria=rubrics)
    with StubServer() as url:
        spec = JudgeSpec(name="exp", model="openai/stub-judge", api_base=url, scoring="expected", max_retries=1)
        cfg = RunConfig(
            benchmark=bench,
            rubrics={"empathy": rubrics["empathy"]},
            judges=[spec],
            out=tmp_path / "run",
            progress=False,
        )
        run_judging(cfg)
    argv = ["align", "--benchmark", str(tmp_path / "bench"), "--run", str(tmp_path / "run"), "--criteria", "empathy"]
    capsys.readouterr()
    assert main([*argv, "--folds", "3", "--inner-folds", "2", "--n-boot", "50", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["criteria"]["empathy"]
    assert {"raw:expected", "raw:answer", "ridge:distribution+length"} <= set(got["candidates"])
    assert got["n_items"] == 18 and got["n_posts"] == 6 and got["held_out"]["value"] is not None
