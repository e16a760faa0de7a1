"""The judge leaderboard and calibrated scores flowing into the analysis verbs, on GPT-4's real RESORT outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.rubric import load_rubric_set

ROOT = Path(__file__).resolve().parents[1]

GPT4 = "gpt-4-1106-preview"


@pytest.fixture(scope="module")
def gpt4_calibrator(resort_bench: Path, gpt4_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cal") / "gpt4.json"
    assert (
        main(
            [
                "calibrate",
                "--benchmark",
                str(resort_bench),
                "--run",
                str(gpt4_run),
                "--out",
                str(out),
                "--criteria",
                "alignment_with_standards",
                "empathy",
                "--n-boot",
                "200",
                "--report",
                str(out.parent / "report"),
            ]
        )
        == 0
    )
    return out


def test_judge_leaderboard_rows_and_ceiling(
    resort_bench: Path, gpt4_run: Path, gpt4_calibrator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    rc = main(
        [
            "leaderboard",
            "--judges",
            "--benchmark",
            str(resort_bench),
            "--run",
            str(gpt4_run),
            "--calibrator",
            str(gpt4_calibrator),
            "--criteria",
            "alignment_with_standards",
            "empathy",
            "--n-boot",
            "300",
            "--out",
            str(tmp_path / "j"),
            "--json",
        ]
    )
    assert rc == 0
    board = json.loads(capsys.readouterr().out)["leaderboard"]
    everything = [r["judge"] for r in board["rows"]]
    length = ["baseline:length (characters)", "baseline:length (words)"]
    assert set(length) <= set(everything)
    names = [n for n in everything if n not in length]
    # sorted by the first criterion's headline: the experts' ceiling, the calibrated judge (scored cross-fitted on
    # held-out posts, and named so), the raw judge, then chance
    cal_name = f"{GPT4} (calibrated, cross-fitted)"
    assert names == ["experts (ceiling)", cal_name, GPT4, "chance:permuted", "chance:constant"] or names == [
        "experts (ceiling)",
        cal_name,
        GPT4,
        "chance:constant",
        "chance:permuted",
    ]
    rows = {r["judge"]: r for r in board["rows"]}
    ceiling, raw, cal = rows["experts (ceiling)"], rows[GPT4], rows[cal_name]
    align = {k: r["criteria"]["alignment_with_standards"] for k, r in rows.items()}
    # the ceiling: the experts among themselves on the same footing (and their Krippendorff's alpha beside it)
    assert 0.4 < align["experts (ceiling)"]["headline"]["value"] < 0.6 and align["experts (ceiling)"]["alpha"] > 0.4
    # every judge between chance and the ceiling
    for chance in ("chance:constant", "chance:permuted"):
        h = align[chance]["headline"]
        assert h["ci"][0] <= 1e-12 and h["ci"][1] >= -1e-12 and h["value"] < align[GPT4]["headline"]["value"]
    assert (
        align[GPT4]["headline"]["value"]
        < align[cal_name]["headline"]["value"]
        < align["experts (ceiling)"]["headline"]["value"]
    )
    # GPT-4 ranks alignment no better than a count of characters does on its items (issue #30)
    assert align[GPT4]["not_better_than_length"] is True
    # GPT-4 rates alignment ~2 points high; calibration removes it on held-out posts
    assert raw["criteria"]["alignment_with_standards"]["bias"] == pytest.approx(2.17, abs=0.05)
    assert abs(cal["criteria"]["alignment_with_standards"]["bias"]) < 0.3
    # a monotone map cannot improve rank correlation (cross-fitted, each fold has its own map, which costs more)
    assert cal["criteria"]["empathy"]["spearman"] <= raw["criteria"]["empathy"]["spearman"] + 0.02
    assert any("cross-fitted" in n for n in board["notes"])
    assert raw["criteria"]["empathy"]["alt_test"] in ("pass", "fail")
    # unscored (0: every judgment was read) and never judged (86 rated alignment items) are counted apart
    assert raw["criteria"]["empathy"]["unscored_rate"] == 0.0
    assert (raw["criteria"]["alignment_with_standards"]["unscored"], align[GPT4]["not_judged"]) == (0, 86)
    # imported judgments cost nothing measurable: n/a, not 0.0000
    assert raw["cost_per_100"] is None and "imported" in raw["cost_note"]
    assert ceiling["kind"] == "experts" and rows["chance:constant"]["kind"] == "chance"
    # what it was computed from: the rubric versions (name@version#hash, as the runs record them) and the bootstrap
    refs = {
        c: r.ref
        for c, r in load_rubric_set(ROOT / "rubrics" / "resort", ["alignment_with_standards", "empathy"]).items()
    }
    assert board["provenance"]["rubrics"] == refs and board["provenance"]["bootstrap"]["n_boot"] == 300
    md = (tmp_path / "j" / "judges.md").read_text()
    assert "0.0000" not in md and "| none (imported) |" in md
    html = (tmp_path / "j" / "judges.html").read_text()
    assert "<svg" in html and "calibration map" in html
    # the agreement plot: per criterion the experts' ceiling band at their headline, the two chance rows, and both
    # judges (raw and calibrated) between them
    assert html.count('<svg class="agreement"') == 1 and html.count('<g class="ceiling">') == 2
    assert html.count('<g class="chance">') == 2 * 2 and html.count('<g class="judge">') == 2 * 2
    e = align["experts (ceiling)"]["headline"]
    short = lambda x: f"{x:.2f}".rstrip("0").rstrip(".")  # noqa: E731
    assert f"experts · alignment_with_standards: {short(e['value'])} [{short(e['ci'][0])}, {short(e['ci'][1])}]" in html
    # GPT-4's scatters side by side under one heading
    assert html.count(f"<h2>{GPT4}: judge score against the experts&#x27; mean, per item</h2>") == 1
    assert "viewer.html" not in html  # no --viewer: nothing written, nothing linked
    for ext in ("md", "csv", "json"):
        assert (tmp_path / "j" / f"judges.{ext}").exists()


def test_calibrated_system_leaderboard_and_stale_calibrator(
    resort_bench: Path, gpt4_run: Path, gpt4_calibrator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    base = [
        "leaderboard",
        "--benchmark",
        str(resort_bench),
        "--run",
        str(gpt4_run),
        "--criteria",
        "alignment_with_standards",
        "--n-boot",
        "200",
        "--json",
    ]
    assert main([*base, "--out", str(tmp_path / "raw")]) == 0
    raw = json.loads(capsys.readouterr().out)["leaderboard"]
    assert main([*base, "--calibrator", str(gpt4_calibrator), "--out", str(tmp_path / "cal")]) == 0
    cal = json.loads(capsys.readouterr().out)["leaderboard"]
    mean = lambda b: sum(r["scores"]["alignment_with_standards"]["mean"] for r in b["rows"]) / len(b["rows"])  # noqa: E731
    assert mean(raw) - mean(cal) > 1.0  # calibrated scores sit on the experts' (lower) scale
    assert cal["provenance"]["calibrators"] == [str(gpt4_calibrator)]
    # a calibrator fitted for another judge model is refused, saying what differs
    data = json.loads(gpt4_calibrator.read_text())
    data["judge_model"] = "openai/gpt-4o"
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(data))
    assert main([*base, "--calibrator", str(stale), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "judge model" in err and "openai/gpt-4o" in err


def _synthetic_runs(tmp: Path) -> tuple[Path, Path, list[Path]]:
    """A rated benchmark, its rubric, and two live-looking runs: 'steady' (priced, 3 samples that mostly agree) and
    'noisy' (unpriced, 2 samples that often disagree), each with the summary the run store writes."""
    import numpy as np
    import yaml

    from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, save_benchmark
    from judge.data.rubric import Rubric, ScalePoint
    from judge.engine.judgment import Judgment
    from judge.engine.store import RunManifest, RunStore, summarise

    rubric = Rubric(
        name="empathy",
        version="1.0",
        title="Empathy",
        question="?",
        level="ordinal",
        scale=[ScalePoint(value=v, label=f"p{v}", anchor="a") for v in (1, 2, 3, 4, 5)],
    )
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, 60)
    items = {f"i{k}": Item(item_id=f"i{k}", post_id=f"p{k % 20}", post="p", response="r") for k in range(60)}
    ratings = [
        ExpertRating(item_id=f"i{k}", rater=r, criterion="empathy", value=float(np.clip(t + rng.integers(-1, 2), 1, 5)))
        for k, t in enumerate(truth)
        for r in ("a", "b")
    ]
    bench = save_benchmark(Benchmark(manifest=BenchmarkManifest(name="syn"), items=items, ratings=ratings), tmp / "b")
    (tmp / "r").mkdir()
    (tmp / "r" / "empathy.yaml").write_text(yaml.safe_dump(rubric.model_dump(mode="json", exclude_defaults=True)))
    runs = []
    # the noisy judge's model has no known price: the engine records its calls' cost as None (unpriced)
    for name, samples, noise, cost in (("steady", 3, 0.1, 0.002), ("noisy", 2, 0.6, None)):
        store = RunStore(tmp / name).open()
        store.write_manifest(
            RunManifest(judges={name: {"name": name, "model": f"x/{name}"}}, rubrics={"empathy": rubric.ref})
        )
        for k, t in enumerate(truth):
            for s in range(samples):
                score = float(np.clip(round(t + rng.normal(0, noise * 2)), 1, 5))
                store.append(
                    Judgment(item_id=f"i{k}", criterion="empathy", judge=name, sample=s, score=score, cost_usd=cost)
                )
        store.close()
        store.write_summary(summarise(tmp / name, model_calls=60 * samples))
        runs.append(tmp / name)
    return bench, tmp / "r", runs


def test_judge_board_sorted_with_consistency_and_costs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench, rubrics, runs = _synthetic_runs(tmp_path)
    argv = ["leaderboard", "--judges", "--benchmark", str(bench), "--rubrics", str(rubrics), "--n-boot", "200"]
    for r in reversed(runs):  # given noisy first: the board still ranks by the headline
        argv += ["--run", str(r)]
    assert main([*argv, "--out", str(tmp_path / "o"), "--json"]) == 0
    board = json.loads(capsys.readouterr().out)["leaderboard"]
    rows = {r["judge"]: r for r in board["rows"]}
    names = [r["judge"] for r in board["rows"]]
    assert names[:3] == ["experts (ceiling)", "steady", "noisy"] and set(names[3:]) == {
        "baseline:length (characters)",
        "baseline:length (words)",
        "chance:constant",
        "chance:permuted",
    }
    steady, noisy = rows["steady"]["criteria"]["empathy"], rows["noisy"]["criteria"]["empathy"]
    assert steady["samples_agree"] > noisy["samples_agree"] and steady["samples_sd"] < noisy["samples_sd"]
    # priced: 3 samples x $0.002 = $0.2 per 100 judgments; unpriced: n/a, with the reason, never 0.0000
    assert rows["steady"]["cost_per_100"] == pytest.approx(0.2)
    assert rows["noisy"]["cost_per_100"] is None and "unpriced" in rows["noisy"]["cost_note"]
    md = (tmp_path / "o" / "judges.md").read_text()
    assert "samples agree" in md and "0.0000" not in md
    assert main(["agree", "--benchmark", str(bench), "--rubrics", str(rubrics), "--run", str(runs[0]), "--json"]) == 0
    steady_agree = json.loads(capsys.readouterr().out)["criteria"]["empathy"]["judges"]["steady"]
    assert steady_agree["self_consistency"]["items"] == 60


def test_calibration_report_has_reliability_diagrams_on_held_out_posts(gpt4_calibrator: Path) -> None:
    from judge.analysis.calibration import Calibrator

    cal = Calibrator.load(gpt4_calibrator)
    held = cal.fit["alignment_with_standards"].held_out
    assert held is not None and len(held.calibrated) == cal.fit["alignment_with_standards"].n_items == 141
    html = (gpt4_calibrator.parent / "report" / "calibration.html").read_text()
    assert html.count('<svg class="reliability"') == 2 * 2  # raw and calibrated, alignment and empathy
    assert "alignment_with_standards: reliability on held-out posts (141 items)" in html
    assert (gpt4_calibrator.parent / "report" / "calibration.md").exists()
