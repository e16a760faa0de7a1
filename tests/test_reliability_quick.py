"""The quick reliability suite (issue 9) in CI: fault injection, kill -9/resume, load, bad input, secrets.

The comparison behind the ``judge generate`` kill/resume session is also checked on hand-made output directories
(fast, no subprocess), so that it is shown to fail on a changed response, a duplicate or a missing item.

The local-model injection part is left to the full suite (``python -m benchmarks.reliability``): on a 2-core
machine it takes well over the two minutes a CI test may spend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.reliability import run_suite
from benchmarks.reliability.crash import generate_result


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
    gen = report.crash[1]
    assert gen.verb == "generate" and gen.skipped is None and gen.unit == "items" and gen.judgments == 8
    assert gen.identical and gen.within_bound, gen
    assert gen.kills >= 2 and gen.duplicates == 0 and gen.missing == 0 and gen.failed_records == 0
    # iter+cons: 8 posts x 7 chained calls; the resumed runs pay those again plus at most the calls lost at kills
    assert gen.reference_calls == 8 * 7 and gen.reference_calls <= gen.model_calls <= gen.call_bound
    assert gen.call_bound <= gen.reference_calls + 16 * gen.kills and len(gen.kill_points) == gen.kills
    assert report.limits.overflow_reason == "context_overflow" and report.limits.others_scored
    assert report.limits.truncated_flagged and report.limits.local_default_truncates
    for r in report.load.runs:
        assert r.exit_code == 0 and r.duplicates == 0 and r.missing == 0
        assert r.progress_last == f"{r.judgments}/{r.judgments}" and r.progress_updates >= 2
    assert report.interrupts is not None and report.interrupts_delivered == 6  # 2 per command: import, run, add
    assert report.interrupts_mixed == report.interrupts_not_completed == report.interrupts.unclean_sigint == 0
    assert "## Interrupts" in (tmp_path / "report" / "report.md").read_text()
    assert (tmp_path / "report" / "report.json").exists() and (tmp_path / "report" / "report.md").exists()


def _gen_dir(path: Path, rows: list[tuple[str, str]], records: list[tuple[str, str | None]]) -> Path:
    """An output directory of ``judge generate``: items.jsonl rows (id, response), generations.jsonl records."""
    path.mkdir(parents=True)
    items = [{"item_id": i, "response": r, "meta": {"steps": 2}} for i, r in rows]
    recs: list[dict[str, Any]] = [
        {"item_id": i, "response": r, "steps": [{"step": "initial", "output": "a"}, {"step": "revise@1", "output": r}],
         "cache_hits": 0}
        for i, r in records
    ]  # fmt: skip
    (path / "items.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items))
    (path / "generations.jsonl").write_text("".join(json.dumps(x) + "\n" for x in recs))
    return path


@pytest.mark.parametrize(
    ("rows", "records", "identical", "duplicates", "missing", "failed"),
    [
        pytest.param([("a", "x"), ("b", "y")], [("b", "y"), ("a", "x")], True, 0, 0, 0, id="same-records-any-order"),
        pytest.param([("a", "x"), ("b", "CHANGED")], [("a", "x"), ("b", "CHANGED")], False, 0, 0, 0, id="changed"),
        pytest.param([("a", "x"), ("b", "y")], [("a", "x"), ("b", "y"), ("a", "x")], False, 1, 0, 0, id="duplicate"),
        pytest.param([("a", "x")], [("a", "x")], False, 0, 1, 0, id="missing"),
        # a failed attempt before the successful one is counted, not a duplicate and not a difference
        pytest.param([("a", "x"), ("b", "y")], [("b", None), ("a", "x"), ("b", "y")], True, 0, 0, 1, id="failed"),
    ],
)
def test_generate_comparison_can_fail(
    tmp_path: Path,
    rows: list[tuple[str, str]],
    records: list[tuple[str, str | None]],
    identical: bool,
    duplicates: int,
    missing: int,
    failed: int,
) -> None:
    ref = _gen_dir(tmp_path / "ref", [("a", "x"), ("b", "y")], [("a", "x"), ("b", "y")])
    run = _gen_dir(tmp_path / "run", rows, records)
    r = generate_result(run, ref, {"a", "b"}, 0, 2, 3, calls=30, bound=31, ref_calls=28, points=[0, 1], wall_s=1.0)
    assert (r.identical, r.duplicates, r.missing, r.failed_records) == (identical, duplicates, missing, failed)
    assert r.within_bound and r.judgments == 2 and r.unit == "items"
    over = generate_result(run, ref, {"a", "b"}, 0, 2, 3, calls=32, bound=31, ref_calls=28, points=[], wall_s=1.0)
    assert not over.within_bound
    failed_exit = generate_result(ref, ref, {"a", "b"}, 1, 0, 1, calls=0, bound=0, ref_calls=0, points=[], wall_s=0)
    assert not failed_exit.identical  # the last run must also exit 0 (every item generated)
