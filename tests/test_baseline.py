"""Baseline rows (the reply's length, a named item field) beside the chance rows, the "not better than length" mark,
and agreement with length partialled out: the statistics against references, the rows in every report and format,
and ``judge agree`` / ``judge leaderboard --judges`` on the bundled support-chats example through the CLI."""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from judge.analysis.agreement import LENGTH_CHARS, LENGTH_WORDS, agreement_report
from judge.analysis.stats.baseline import BaselinePoint, on_scale, partial_rank, versus_baseline
from judge.analysis.stats.correlation import Estimate
from judge.cli import main
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item
from judge.data.rubric import Rubric, ScalePoint
from judge.errors import InputError
from judge.report.agreement import agreement_document, long_table
from judge.report.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = Rubric(
    name="quality",
    version="1.0",
    title="quality",
    question="?",
    level="ordinal",
    scale=[ScalePoint(value=float(v), label=f"p{v}", anchor="a") for v in range(1, 6)],
)


# -- the statistics -------------------------------------------------------------------------------------------------


def test_on_scale_maps_ranks_onto_the_ratings_quantiles() -> None:
    # 4 values, ranks 1..4 -> p = 0.125, 0.375, 0.625, 0.875; 6 sorted ratings [1,2,2,3,4,5]: the inverted CDF
    # picks positions ceil(6p) - 1 = 0, 2, 3, 5 -> 1, 2, 3, 5.
    got = on_scale(np.array([10.0, 200.0, 50.0, 80.0]), np.array([[1, 2, 2], [3, 4, 5.0]]))
    assert got.tolist() == [1.0, 5.0, 2.0, 3.0]
    # ties share one value; NaN stays NaN; every value is a rating the experts gave
    tied = on_scale(np.array([5.0, 5.0, np.nan, 1.0]), np.array([1.0, 3.0, np.nan, 5.0]))
    assert tied[0] == tied[1] and np.isnan(tied[2]) and set(tied[[0, 1, 3]]) <= {1.0, 3.0, 5.0}
    assert np.isnan(on_scale(np.array([1.0, 2.0]), np.array([np.nan]))).all()


def _partial_by_residuals(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """The reference: regress z's ranks out of x's and y's ranks (least squares), correlate the residuals."""
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    design = np.column_stack([np.ones(len(rz)), rz])
    res_x = rx - design @ np.linalg.lstsq(design, rx, rcond=None)[0]
    res_y = ry - design @ np.linalg.lstsq(design, ry, rcond=None)[0]
    return float(stats.pearsonr(res_x, res_y).statistic)


def test_partial_spearman_and_kendall_match_references() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=80)
    x = z + rng.normal(size=80)
    y = z + 0.5 * x + rng.normal(size=80)
    got = partial_rank(np.round(x, 1), np.round(y, 1), z, n_boot=300, seed=1)
    assert got.spearman.value == pytest.approx(_partial_by_residuals(np.round(x, 1), np.round(y, 1), z), abs=1e-9)
    txy, txz, tyz = (stats.kendalltau(a, b).statistic for a, b in ((x, y), (x, z), (y, z)))
    kendall = (txy - txz * tyz) / np.sqrt((1 - txz**2) * (1 - tyz**2))  # Kendall's (1942) partial tau
    got_tau = partial_rank(x, y, z).kendall.value
    assert got_tau == pytest.approx(kendall, abs=1e-12)
    ci = got.spearman.ci
    assert ci is not None and ci[0] < got.spearman.value < ci[1]
    # a constant side: undefined with a reason, never a number
    flat = partial_rank(np.ones(10), np.arange(10.0), np.arange(10.0))
    assert flat.spearman.value is None and flat.spearman.note


def test_versus_baseline_rule() -> None:
    pts = [
        BaselinePoint(baseline=LENGTH_CHARS, headline=0.30, spearman=0.50, n_items=50),
        BaselinePoint(baseline=LENGTH_WORDS, headline=0.35, spearman=0.45, n_items=50),
    ]
    good = versus_baseline(Estimate(value=0.6, ci=(0.4, 0.7), n=50), Estimate(value=0.7, ci=(0.55, 0.8), n=50), pts)
    assert good.not_better is False
    # the headline CI clears the best length headline (0.35) but Spearman's lower end (0.50) does not clear 0.50
    tie = versus_baseline(Estimate(value=0.6, ci=(0.4, 0.7), n=50), Estimate(value=0.7, ci=(0.50, 0.8), n=50), pts)
    assert tie.not_better is True and "Spearman" in tie.reason and "0.50" in tie.reason
    assert tie.headline is not None and tie.headline.baseline == LENGTH_WORDS  # the better length row is the bar
    unknown = versus_baseline(Estimate(value=0.6, n=50), Estimate(value=0.7, n=50), pts)
    assert unknown.not_better is None and "no CI" in unknown.reason


# -- in the agreement report ----------------------------------------------------------------------------------------


def _bench(n: int = 150, seed: int = 0) -> tuple[Benchmark, np.ndarray, np.ndarray]:
    """Replies whose length explains part of the experts' rating; the rest is a quality the length does not see.
    Two experts per item, 1-5, one post per 3 items."""
    rng = np.random.default_rng(seed)
    words = rng.integers(5, 120, n)
    quality = rng.normal(size=n)
    latent = 0.8 * stats.zscore(words) + quality
    truth = np.clip(np.round(3 + latent), 1, 5)
    items, ratings = {}, []
    for k in range(n):
        text = " ".join("w" * int(rng.integers(2, 7)) for _ in range(int(words[k])))
        items[f"i{k}"] = Item(
            item_id=f"i{k}", post_id=f"p{k // 3}", post="p", response=text, meta={"score_hint": float(quality[k])}
        )
        for r in ("a", "b"):
            v = float(np.clip(truth[k] + rng.integers(-1, 2), 1, 5))
            ratings.append(ExpertRating(item_id=f"i{k}", rater=r, criterion="quality", value=v))
    return Benchmark(manifest=BenchmarkManifest(name="lengthy"), items=items, ratings=ratings), words, latent


def _to_scale(v: np.ndarray) -> dict[str, float | None]:
    cut = np.quantile(v, [0.2, 0.4, 0.6, 0.8])
    return {f"i{k}": float(1 + np.searchsorted(cut, x)) for k, x in enumerate(v)}


def test_length_rows_and_the_word_counting_judge() -> None:
    bench, words, latent = _bench()
    judges = {"counts-words": {"quality": _to_scale(words)}, "sees-quality": {"quality": _to_scale(latent)}}
    rep = agreement_report(bench, {"quality": RUBRIC}, judges=judges, n_boot=400, partial_length=True)
    ca = rep.criteria["quality"]
    kinds = {name: j.kind for name, j in ca.judges.items()}
    assert kinds[LENGTH_CHARS] == kinds[LENGTH_WORDS] == "baseline"
    assert list(kinds.values()) == sorted(kinds.values(), key=["judge", "baseline", "chance"].index)
    # a baseline row is computed like a judge's: headline with a CI, Spearman, bias; on every rated item
    chars = ca.judges[LENGTH_CHARS]
    assert chars.headline.ci is not None and chars.spearman is not None and chars.n_items == 150
    assert chars.spearman.value == pytest.approx(
        stats.spearmanr([len(bench.items[f"i{k}"].response) for k in range(150)], _mean(bench)).statistic
    )
    # the judge that counts words is no better than length; it drops to about 0 with length partialled out
    counter, seer = ca.judges["counts-words"], ca.judges["sees-quality"]
    assert counter.not_better_than_length and counter.vs_length is not None
    assert seer.vs_length is not None and seer.vs_length.not_better is False
    assert counter.partial_length is not None and seer.partial_length is not None
    assert abs(counter.partial_length.spearman.value or 1) < 0.15
    assert (seer.partial_length.spearman.value or 0) > 0.4
    # every format says it: the table's column, the long table (CSV), the notes, and the JSON model
    doc = agreement_document(rep)
    md = render_markdown(doc)
    assert "vs length" in md and "not better" in md and "NOT BETTER THAN LENGTH" in md
    header = [c.key for c in long_table(rep).columns]
    row = next(r for r in long_table(rep).rows if r[header.index("row")].value == "counts-words")
    assert row[header.index("not_better_than_length")].text == "True"
    dumped = json.loads(rep.model_dump_json())
    assert dumped["criteria"]["quality"]["judges"]["counts-words"]["vs_length"]["not_better"] is True


def _mean(bench: Benchmark) -> list[float]:
    by: dict[str, list[float]] = {}
    for r in bench.ratings:
        by.setdefault(r.item_id, []).append(r.value)
    return [float(np.mean(by[f"i{k}"])) for k in range(len(by))]


def test_no_ci_no_verdict_and_baseline_fields() -> None:
    bench, words, _ = _bench(60)
    rep = agreement_report(
        bench, {"quality": RUBRIC}, judges={"j": {"quality": _to_scale(words)}}, n_boot=0, baselines=["score_hint"]
    )
    ca = rep.criteria["quality"]
    assert ca.judges["j"].vs_length is not None and ca.judges["j"].vs_length.not_better is None
    assert ca.judges["baseline:score_hint"].kind == "baseline"
    with pytest.raises(InputError, match="no rated item"):
        agreement_report(bench, {"quality": RUBRIC}, baselines=["nope"], n_boot=0)
    bad = bench.model_copy(deep=True)
    bad.items["i3"].meta["score_hint"] = "high"
    with pytest.raises(InputError, match=r"item 'i3'.*'high' is not a finite number"):
        agreement_report(bad, {"quality": RUBRIC}, baselines=["score_hint"], n_boot=0)


# -- through the CLI, on the bundled example ------------------------------------------------------------------------


def _support_chats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    data = ROOT / "datasets" / "support-chats"
    ratings = sorted(str(p) for p in (data / "ratings").glob("*.csv"))
    rub = str(data / "rubrics")
    bench, run = str(tmp_path / "bench"), str(tmp_path / "run")
    items = ["--items", str(data / "conversations.csv"), "--judged-role", "supporter", "--rubrics", rub]
    assert main(["import", "table", *ratings, *items, "--out", bench]) == 0
    judges = [a for j in ("human", "judge-a", "judge-b", "judge-c", "judge-d") for a in ("--as-judge", j)]
    scores = ["--scores", "{rater}_{criterion}", "--benchmark", bench, "--run-out", run]
    assert main(["import", "table", str(data / "judge-scores.csv"), *scores, *judges, "--rubrics", rub]) == 0
    capsys.readouterr()
    return ["--benchmark", bench, "--rubrics", rub, "--run", run]


def test_agree_and_board_show_the_length_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _support_chats(tmp_path, capsys)
    assert main(["agree", *base, "--n-boot", "200", "--partial-length", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    for crit in ("warmth", "helpfulness"):
        rows = rep["criteria"][crit]["judges"]
        assert rows[LENGTH_CHARS]["kind"] == "baseline" and rows[LENGTH_WORDS]["n_items"] == 12
        judged = [r for r in rows.values() if r["kind"] == "judge"]
        assert len(judged) == 5 and all(r["vs_length"] is not None and r["partial_length"] for r in judged)
    out = tmp_path / "board"
    argv = ["leaderboard", "--judges", *base, "--n-boot", "200", "--out", str(out), "--format", "md,csv,json,html"]
    assert main(argv) == 0
    board = json.loads((out / "judges.json").read_text())
    kinds = [r["kind"] for r in board["rows"]]
    assert kinds.count("baseline") == 2
    assert all("not_better_than_length" in c for r in board["rows"] for c in r["criteria"].values())
    assert "vs length" in (out / "judges.md").read_text() and LENGTH_CHARS in (out / "judges.html").read_text()
    with (out / "judges.csv").open(newline="") as fh:
        assert any(LENGTH_WORDS in " ".join(row) for row in csv.reader(fh))


def test_bad_baseline_field_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = _support_chats(tmp_path, capsys)
    assert main(["agree", *base, "--n-boot", "0", *shlex.split("--baseline no_such_field")]) == 2
    err = capsys.readouterr().err
    assert "--baseline no_such_field" in err and "Traceback" not in err
