"""'judge estimate': prediction-powered means from a judge run over rated and unrated RESORT items."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.engine.store import load_run_scores
from tests.support.stub import StubServer


def test_estimate_per_system_and_overall(
    resort_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with StubServer() as url:
        assert (
            main(
                [
                    "run",
                    "--benchmark",
                    str(resort_bench),
                    "--judge",
                    "openai/stub-judge",
                    "--api-base",
                    url,
                    "--criteria",
                    "empathy",
                    "--limit",
                    "900",
                    "--concurrency",
                    "32",
                    "--no-progress",
                    "--out",
                    str(tmp_path / "r"),
                ]
            )
            == 0
        )
    capsys.readouterr()
    assert (
        main(
            [
                "estimate",
                "--benchmark",
                str(resort_bench),
                "--run",
                str(tmp_path / "r"),
                "--criterion",
                "empathy",
                "--json",
            ]
        )
        == 0
    )
    est = json.loads(capsys.readouterr().out)["estimates"]
    overall = est["all systems"]
    # recompute the plain PPI estimate by hand: mean(judge on unrated) - mean(judge - expert mean on rated)
    bench = load_benchmark(resort_bench)
    scores = load_run_scores(tmp_path / "r")["openai/stub-judge"]["empathy"]
    experts: dict[str, list[float]] = {}
    for r in bench.ratings:
        if r.criterion == "empathy":
            experts.setdefault(r.item_id, []).append(r.value)
    rated = [i for i in scores if i in experts]
    unrated = [i for i in scores if i not in experts]
    rect = np.mean([scores[i] - np.mean(experts[i]) for i in rated])
    assert overall["mean"] == pytest.approx(np.mean([scores[i] for i in unrated]) - rect)
    assert (overall["n_labeled"], overall["n_unlabeled"]) == (len(rated), len(unrated)) == (227, 673)
    assert overall["ci"][0] < overall["mean"] < overall["ci"][1]
    # leaving a rater out changes the labeled targets (each item keeps its other expert), not the items
    argv = ["estimate", "--benchmark", str(resort_bench), "--run", str(tmp_path / "r"), "--criterion", "empathy"]
    assert main([*argv, "--exclude-rater", "resort:14", "--json"]) == 0
    fewer = json.loads(capsys.readouterr().out)["estimates"]["all systems"]
    assert fewer["n_labeled"] == overall["n_labeled"] and fewer["classical_mean"] != overall["classical_mean"]
    # systems without enough rated items (or without unrated outputs) are skipped with the reason
    assert any("skipped" in v for v in est.values())
    assert any("mean" in v for k, v in est.items() if k != "all systems")
    assert (
        main(
            [
                "estimate",
                "--benchmark",
                str(resort_bench),
                "--run",
                str(tmp_path / "r"),
                "--criterion",
                "empathy",
                "--power-tuned",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "width" in out
    # full system names: two systems must never print as the same (cut) row
    assert all(name in out for name in est) and max(len(n) for n in est) > 60
