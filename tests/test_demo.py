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
    # 5 posts x 3 systems x the demo's two criteria
    assert first["run"]["judgments"] == 30 and first["run"]["model_calls"] == 30
    rows = first["leaderboard"]["rows"]
    assert {r["system"]["model"] for r in rows} == {"demo-careful", "demo-generic", "demo-dismissive"}
    assert set(rows[0]["scores"]) == {"alignment_with_standards", "empathy"}
    for name in ("leaderboard.md", "leaderboard.html", "leaderboard.json", "leaderboard.csv", "viewer.html"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
    # enough posts for what the leaderboard is for: every system has a CI and a rank interval on every criterion
    for r in rows:
        for c, score in r["scores"].items():
            assert score["ci"] is not None and score["rank_ci"] is not None and not score["too_few"], (r, c)
    md = (tmp_path / "demo" / "leaderboard.md").read_text()
    assert "too few" not in md
    # the second run is resumed from the run directory: no model calls, same table
    assert "every answer from the cache (no model call)" in text and "demo-careful" in text
    # what to open first, as links a terminal can open
    page = (tmp_path / "demo" / "leaderboard.html").resolve().as_uri()
    viewer = (tmp_path / "demo" / "viewer.html").resolve().as_uri()
    assert "Open first: the leaderboard" in text and f"  {page}\n" in text and f"  {viewer}\n" in text
    assert "|" not in text and "<" not in text  # a terminal table, not markdown or HTML
    # the demo has no experts: its links into the viewer never ask for a sort the viewer cannot offer
    html = (tmp_path / "demo" / "leaderboard.html").read_text()
    assert "viewer.html#system=demo-careful" in html and "sort=experts" not in html


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
    # with experts, each system's link opens its largest disagreements with them first
    assert "sort=experts" in (tmp_path / "d" / "leaderboard.html").read_text()
    data = json.loads((tmp_path / "d" / "agreement.json").read_text())
    assert data["criteria"]["empathy"]["judges"]["openai/stub-judge"]["n_items"] == 30


def test_demo_exits_1_when_judgments_failed_for_a_provider_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from judge.engine import client
    from tests.support.stub import Faults

    # Every call fails and is retried 6 times: without the backoff's waits (about 16 s per judgment on average),
    # which this test is not about.
    monkeypatch.setattr(client, "backoff_delay", lambda attempt, retry_after: 0.0)
    with StubServer(faults=Faults(http_500=1.0)) as url:
        rc = main(["demo", "--judge", "openai/stub-judge", "--api-base", url, "--out", str(tmp_path / "demo"),
                   "--no-progress", "--criteria", "empathy", "--limit", "2"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "api_error" in err


def test_demo_says_what_it_will_judge_and_assembles_only_what_is_not_assembled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from judge.data.benchmark import default_demo_dir, load_benchmark
    from judge.engine.judge_spec import judge_from_model
    from judge.engine.local import models
    from judge.jobs.demo import DEMO_CRITERIA, plan_line

    bench = load_benchmark(default_demo_dir())
    spec = judge_from_model("local")
    real = models.model_status

    def status(state: str) -> object:
        return lambda m, d=None: real(m, d).model_copy(update={"state": state})

    monkeypatch.setattr(models, "model_status", status("installed (assembled on first use)"))
    line = plan_line(bench, list(bench.items), DEMO_CRITERIA, spec)
    assert line.startswith("judge demo: 15 items (5 posts x 3 systems) x 2 criteria")
    assert "= 30 judgments by local/qwen2.5-1.5b" in line and "assembled from its installed packages" in line
    monkeypatch.setattr(models, "model_status", status("ready"))
    assert "assembled" not in plan_line(bench, list(bench.items), DEMO_CRITERIA, spec)


def test_judge_line_does_not_claim_calls_that_were_not_made() -> None:
    from judge.engine.store import RunSummary, RunTotals
    from judge.jobs.demo import judge_line

    s = RunSummary(judgments=30, scored=30, unscored={}, model_calls=0, cache_hits=30, cost_usd=0.0,
                   cost="free (local)", tokens_in=0, tokens_out=0, run_dir="r", totals=RunTotals())  # fmt: skip
    assert (
        judge_line("local", s, 1.2)
        == "judge local: 30 judgments, 0 unscored, every answer from the cache (no model call), 1 s"
    )
