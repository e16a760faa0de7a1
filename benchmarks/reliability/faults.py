"""Fault injection over real HTTP: the stub server answers with configured fault rates; nothing may be lost.

Every expected judgment must be recorded exactly once, scored or unscored with a reason. Transport faults
(429, 5xx, resets, timeouts, truncated bodies, invalid JSON) should be retried away; content faults (empty,
refusal, off-scale, missing field, length) are the judge's answer and become unscored judgments.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

from pydantic import BaseModel, Field

from benchmarks.reliability._common import (
    criteria_names,
    expected_keys,
    read_raw_records,
    store_consistency,
    synthetic_benchmark,
    write_judges_toml,
)

# Per-kind rates: transport faults ~17% of calls, content faults ~5%.
FAULT_RATES = {
    "http_429_retry_after": 0.02,
    "http_429": 0.02,
    "http_500": 0.03,
    "http_502": 0.02,
    "http_503": 0.02,
    "reset": 0.02,
    "timeout": 0.01,
    "truncated_body": 0.015,
    "invalid_json": 0.015,
    "off_scale": 0.01,
    "missing_field": 0.01,
    "empty": 0.01,
    "refusal": 0.01,
    "length": 0.01,
}


class FaultResult(BaseModel):
    """Figures of one fault-injection run."""

    expected: int = Field(description="Judgments the run had to record (items x criteria).")
    recorded: int = Field(description="Distinct judgments recorded.")
    lost: int = Field(description="expected - recorded: must be 0.")
    duplicates: int
    scored: int
    unscored: dict[str, int] = Field(description="Unscored judgments by reason.")
    retried: int = Field(description="Sum over judgments of (attempts - 1).")
    model_calls: int = Field(description="Chat requests the stub received.")
    calls_counted_by_run: int = Field(description="Attempts the run's summary counted (must equal model_calls).")
    faults_injected: dict[str, int]
    fault_rates: dict[str, float]
    exit_code: int
    wall_s: float


def run_faults(work: Path, n_items: int, *, concurrency: int = 32, seed: int = 7) -> FaultResult:
    """Run ``judge run`` (in-process) on ``n_items`` x 4 criteria against a faulty stub and count the outcome."""
    from judge.cli import main
    from tests.support.stub import Faults, StubServer

    bench = synthetic_benchmark(work / "bench", n_items)
    crits = criteria_names()
    faults = Faults.model_validate({**FAULT_RATES, "seed": seed, "retry_after_s": 1, "hold_s": 10.0})
    t0 = time.monotonic()
    out = io.StringIO()
    stub = StubServer(faults=faults)
    with stub as url:
        # A short timeout: a held 'timeout' request costs one second, then it is retried.
        judges = write_judges_toml(work / "judges.toml", url, timeout=1.0, max_retries=6)
        args = ["run", "--no-progress", "--json", "--benchmark", str(bench), "--judge", str(judges),
                "--out", str(work / "run"), "--cache-dir", str(work / "cache"),
                "--concurrency", str(concurrency)]  # fmt: skip
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            rc = main(args)
        stats = stub.stats()
    summary = json.loads(out.getvalue()) if out.getvalue().strip() else {}
    records = read_raw_records(work / "run")
    expected = expected_keys("stub", n_items, crits)
    cons = store_consistency(work / "run", expected)
    return FaultResult(
        expected=len(expected),
        recorded=cons["records"] - cons["duplicates"],
        lost=len(expected) - (cons["records"] - cons["duplicates"] - cons["unexpected"]),
        duplicates=cons["duplicates"],
        scored=sum(r["score"] is not None for r in records),
        unscored=_count_reasons(records),
        retried=sum(max(int(r["attempts"]) - 1, 0) for r in records),
        model_calls=stats.by_path.get("POST /v1/chat/completions", 0),
        calls_counted_by_run=int(summary.get("model_calls", -1)),
        faults_injected=dict(sorted(stats.faults.items())),
        fault_rates=faults.rates(),
        exit_code=rc,
        wall_s=round(time.monotonic() - t0, 2),
    )


def _count_reasons(records: list[dict[str, object]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        if r["score"] is None:
            reason = str(r.get("unscored_reason") or "unknown")
            out[reason] = out.get(reason, 0) + 1
    return dict(sorted(out.items()))
