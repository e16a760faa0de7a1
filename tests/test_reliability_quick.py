"""The quick reliability suite (issue 9) in CI: fault injection, kill -9/resume, load, bad input, secrets.

The local-model injection part is left to the full suite (``python -m benchmarks.reliability``): on a 2-core
machine it takes well over the two minutes a CI test may spend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability import run_suite


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_suite_invariants(tmp_path: Path) -> None:
    report = run_suite(tmp_path / "work", tmp_path / "report", quick=True, injection=False)
    assert report.lost == 0, report.faults
    assert report.faults.duplicates == 0
    assert report.faults.expected == 500 and report.faults.recorded == 500
    # faults were really injected, retried and counted (not hidden): every call the stub saw is in the records
    assert sum(report.faults.faults_injected.values()) > 50
    assert report.faults.retried > 0
    assert report.faults.model_calls == report.faults.calls_counted_by_run == 500 + report.faults.retried
    assert "api_error" not in report.faults.unscored  # transport faults were retried away at these rates
    assert report.secrets_leaked == 0, report.secrets.leaks
    assert report.secrets.echoed_errors > 0  # the key really came back in error replies, and was scrubbed
    assert set(report.secrets.key_seen_by_stub) == {"header:authorization"}
    assert report.secrets.permissions_ok, report.secrets.permission_problems
    assert report.bad_inputs_clear_error == report.bad_inputs_tried > 50, report.bad_inputs.failures
    assert report.kill_resume_runs >= 1
    assert report.kill_resume_identical == report.kill_resume_runs, report.crash
    run = report.crash[0]
    assert run.kills >= 5 and run.duplicates == 0 and run.missing == 0 and run.within_bound
    assert report.limits.overflow_reason == "context_overflow" and report.limits.others_scored
    assert report.limits.truncated_flagged and report.limits.local_default_truncates
    for r in report.load.runs:
        assert r.exit_code == 0 and r.duplicates == 0 and r.missing == 0
        assert r.progress_last == f"{r.judgments}/{r.judgments}" and r.progress_updates >= 2
    assert (tmp_path / "report" / "report.json").exists() and (tmp_path / "report" / "report.md").exists()
