"""``judge demo``: the main job end to end (over real HTTP to a loopback judge; the real local model is in
tests/test_local_model.py and tests/test_demo_local.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.cli import main
from tests.support.stub import StubServer


def test_demo_writes_report_and_second_run_is_cached(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as url:
        args = [
            "demo",
            "--judge",
            "openai/stub-judge",
            "--api-base",
            url,
            "--out",
            str(tmp_path / "demo"),
            "--no-progress",
        ]
        assert main([*args, "--json"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert main(args) == 0
        text = capsys.readouterr().out
    assert first["run"]["judgments"] == 48 and first["run"]["model_calls"] == 48
    rows = first["leaderboard"]["rows"]
    assert {r["system"]["model"] for r in rows} == {"demo-careful", "demo-generic", "demo-dismissive"}
    assert set(rows[0]["scores"]) == {"alignment_with_standards", "empathy", "factuality", "harmfulness"}
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.json", "leaderboard.csv"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
    # the second run is resumed from the run directory: no model calls, same table
    assert "0 model calls" in text and "demo-careful" in text and "unscored" in text


def test_demo_with_expert_benchmark_prints_agreement(
    resort_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StubServer() as url:
        rc = main(
            [
                "demo",
                "--judge",
                "openai/stub-judge",
                "--api-base",
                url,
                "--benchmark",
                str(resort_bench),
                "--limit",
                "30",
                "--criteria",
                "empathy",
                "--out",
                str(tmp_path / "d"),
                "--no-progress",
            ]
        )
    out = capsys.readouterr().out
    assert rc == 0
    assert "experts (ceiling)" in out and "openai/stub-judge" in out
    data = json.loads((tmp_path / "d" / "agreement.json").read_text())
    assert data["criteria"]["empathy"]["judges"]["openai/stub-judge"]["n_items"] == 30


def test_demo_exits_1_when_judgments_failed_for_a_provider_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.stub import Faults

    with StubServer(faults=Faults(http_500=1.0)) as url:
        rc = main(["demo", "--judge", "openai/stub-judge", "--api-base", url, "--out", str(tmp_path / "demo"),
                   "--no-progress", "--criteria", "empathy", "--limit", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "api_error" in err
