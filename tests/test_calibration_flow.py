"""Calibrators flow into 'judge run': applied after the run, refused before any call when stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.cli import main
from tests.support.stub import StubServer


def test_run_with_calibrator(resort_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with StubServer() as url:
        base = [
            "run",
            "--benchmark",
            str(resort_bench),
            "--rated-only",
            "--judge",
            "openai/stub-judge",
            "--api-base",
            url,
            "--criteria",
            "empathy",
            "--no-progress",
            "--json",
        ]
        assert main([*base, "--out", str(tmp_path / "r1")]) == 0
        cal = tmp_path / "cal.json"
        assert (
            main(
                [
                    "calibrate",
                    "--benchmark",
                    str(resort_bench),
                    "--run",
                    str(tmp_path / "r1"),
                    "--out",
                    str(cal),
                    "--n-boot",
                    "100",
                ]
            )
            == 0
        )
        capsys.readouterr()
        assert main([*base, "--out", str(tmp_path / "r2"), "--calibrator", str(cal)]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["model_calls"] == 0  # same judge, same prompts: all from the cache
        data = json.loads((tmp_path / "r2" / "calibrated_scores.json").read_text())
        vals = [v for v in data["scores"]["empathy"].values() if v is not None]
        assert len(vals) == 227 and all(1 <= v <= 5 for v in vals)
        assert out["calibrated"]["means"]["empathy"] == pytest.approx(sum(vals) / len(vals), abs=1e-3)
        # another temperature is another judge: refused before a single call is made
        rc = main([*base, "--out", str(tmp_path / "r3"), "--calibrator", str(cal), "--temperature", "0.5"])
    assert rc == 2
    assert "temperature" in capsys.readouterr().err
    assert not (tmp_path / "r3").exists()
