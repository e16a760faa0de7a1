"""The CI sample of mutation testing: a fixed, seeded sample of the mutants the committed report lists as killed
must still be killed by the tests (benchmarks/mutation/sample.py), so a regression in test strength fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "reports" / "quality" / "mutation.json"


def _sample(*args: str, timeout: float = 600) -> dict:  # type: ignore[type-arg]
    pytest.importorskip("mutmut", reason="mutation testing needs mutmut (the 'test' extra)")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.mutation.sample", "--json", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return dict(json.loads(proc.stdout))


def test_sampled_killed_mutants_are_still_killed() -> None:
    out = _sample("--n", "40", "--seed", "0")
    assert out["survivors"] == [], f"mutants the tests used to kill now survive: {out['survivors']}"
    assert out["sampled"] == 40
    # names whose function changed since the report are replaced; many of them mean the report is out of date
    assert len(out["stale"]) <= 20, f"{len(out['stale'])} stale names: regenerate reports/quality/mutation.json"


def test_the_sample_fails_on_a_mutant_its_tests_do_not_catch(tmp_path: Path) -> None:
    """The check can fail: a mutant of the gate, 'killed' (so the report says) by a test that never calls the gate."""
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    name = next(n for n in sorted(report["killed"]) if n.startswith("judge.jobs.gate.x_noise_floor") or
                n.startswith("judge.analysis.stats.shift.x_noise_floor"))  # fmt: skip
    unrelated = "tests/test_stats_units.py::test_percentile_ci_is_numpys_percentile_of_the_defined_values"
    fake = {"killed": {name: [unrelated]}, "digests": {}}
    (tmp_path / "mutation.json").write_text(json.dumps(fake))
    out = _sample("--n", "1", "--seed", "0", "--report", str(tmp_path / "mutation.json"), timeout=300)
    assert out["sampled"] == 1 and out["survivors"] == [name]


def test_the_sample_of_record_is_every_mutant_the_report_ran_that_still_exists() -> None:
    from benchmarks.mutation import recorded_sample

    report = {
        "figures": {"before": {"sample": {"seed": 26, "size": 400}}},
        "killed": {"m.x_f__mutmut_1": [], "m.x_f__mutmut_2": []},
        "survivors": ["m.x_g__mutmut_1"],
        "no_tests": ["m.x_h__mutmut_1"],
        "equivalent": {"m.x_g__mutmut_2": "why"},
    }
    current = {"m.x_f__mutmut_1", "m.x_g__mutmut_1", "m.x_g__mutmut_2", "m.x_h__mutmut_1", "m.x_k__mutmut_1"}
    names, seed = recorded_sample(report, current)
    assert seed == 26  # m.x_f__mutmut_2 no longer exists; m.x_k__mutmut_1 was never drawn
    assert names == ["m.x_f__mutmut_1", "m.x_g__mutmut_1", "m.x_g__mutmut_2", "m.x_h__mutmut_1"]
    with pytest.raises(ValueError, match="no figure has a seed"):
        recorded_sample({**report, "figures": {"all": {"sample": None}}}, current)
