"""The judge leaderboard and calibrated scores flowing into the analysis verbs, on GPT-4's real RESORT outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.cli import main

GPT4 = "gpt-4-1106-preview"


@pytest.fixture(scope="module")
def gpt4_run(resort_bench: Path, resort_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gpt4") / "run"
    src = resort_dir / "derived" / "gpt4_judgments_on_rated_items.jsonl"
    assert main(["import", "judgments", str(src), "--benchmark", str(resort_bench), "--out", str(out)]) == 0
    return out


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
    names = [r["judge"] for r in board["rows"]]
    assert names == ["experts (ceiling)", GPT4, f"{GPT4} (calibrated)"]
    ceiling, raw, cal = board["rows"]
    # the ceiling row is the experts' own alpha; GPT-4 rates alignment ~2 points high, calibration removes it
    assert 0.4 < ceiling["criteria"]["alignment_with_standards"]["alpha"] < 0.6
    assert raw["criteria"]["alignment_with_standards"]["bias"] == pytest.approx(2.17, abs=0.05)
    assert abs(cal["criteria"]["alignment_with_standards"]["bias"]) < 0.1
    # a monotone map cannot change rank correlation
    assert cal["criteria"]["empathy"]["spearman"] == pytest.approx(raw["criteria"]["empathy"]["spearman"], abs=0.02)
    assert raw["criteria"]["empathy"]["alt_test"] in ("pass", "fail")
    assert raw["criteria"]["empathy"]["unscored_rate"] == 0.0
    html = (tmp_path / "j" / "judges.html").read_text()
    assert "<svg" in html and "calibration map" in html
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
