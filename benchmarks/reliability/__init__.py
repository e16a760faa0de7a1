"""The reliability and security suite (issue 9): fault injection, crash/resume, load, bad input, injection, secrets,
and interrupts (issue 25: SIGINT and SIGKILL at random moments of an import, a run and a models add).

Run ``python -m benchmarks.reliability [--quick]``; results go to ``reports/reliability/report.json`` and
``report.md``. ``run_suite`` is the library entry point (used by ``tests/test_reliability_quick.py``)::

    from benchmarks.reliability import run_suite
    report = run_suite(work_dir, out_dir, quick=True, injection=False)
    assert report.lost == 0 and report.secrets_leaked == 0
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.reliability._common import ROOT
from benchmarks.reliability.report import ReliabilityReport

__all__ = ["ROOT", "SIZES", "ReliabilityReport", "run_suite"]

QUICK_SKIP = "quick suite: run without --quick (or with --injection)"

# (quick, full) sizes of each part.
SIZES = {
    "fault_items": (125, 1000),  # x 4 criteria: 500 / 4,000 judgments
    "crash_items": (60, 150),  # x 4 criteria
    "kills": (6, 20),
    "gen_posts": (8, 40),  # judge generate, iter+cons: 7 chained calls per post
    "gen_kills": (3, 10),
    "load_items": ([100, 250], [500, 5000]),  # x 4 criteria: 400 vs 1,000 / 2,000 vs 20,000 judgments
    # interrupts.py: signals per command; import table items (x 3 rows), run items (x 4 criteria), models add MB
    "interrupts": ({"tries": 2, "import_items": 500, "run_items": 15, "model_mb": 20},
                   {"tries": 20, "import_items": 5000, "run_items": 40, "model_mb": 100}),
}  # fmt: skip


def run_suite(
    work: Path,
    out: Path | None,
    *,
    quick: bool,
    injection: bool,
    injection_criteria: list[str] | None = None,
    injection_time_limit_s: float | None = None,
    log: Callable[[str], None] = lambda m: None,
) -> ReliabilityReport:
    """Run every part of the suite under ``work``; write the report to ``out`` (if given) and return it."""
    from benchmarks.reliability.bad_inputs import run_bad_inputs
    from benchmarks.reliability.crash import run_crash_resume, run_generate_crash_resume
    from benchmarks.reliability.faults import run_faults
    from benchmarks.reliability.injection import LOCAL_MODEL, InjectionResult, run_injection
    from benchmarks.reliability.interrupts import run_interrupts
    from benchmarks.reliability.load import run_load
    from benchmarks.reliability.report import write_report
    from benchmarks.reliability.secrets_check import run_limits, run_secrets

    i = 0 if quick else 1
    t0 = time.monotonic()
    work.mkdir(parents=True, exist_ok=True)
    log("bad inputs...")
    bad = run_bad_inputs(work / "bad-inputs")
    log("fault injection...")
    faults = run_faults(work / "faults", SIZES["fault_items"][i])  # type: ignore[arg-type]
    log("crash and resume...")
    crash = [run_crash_resume(work / "crash", SIZES["crash_items"][i], SIZES["kills"][i])]  # type: ignore[arg-type]
    log("crash and resume (generate)...")
    gen_posts, gen_kills = SIZES["gen_posts"][i], SIZES["gen_kills"][i]
    crash.append(run_generate_crash_resume(work / "crash-generate", gen_posts, gen_kills))  # type: ignore[arg-type]
    log("load...")
    load = run_load(work / "load", SIZES["load_items"][i])  # type: ignore[arg-type]
    log("limits...")
    limits = run_limits(work / "limits")
    if injection:
        log("prompt injection (local model)...")
        inj = run_injection(work / "injection", criteria=injection_criteria, time_limit_s=injection_time_limit_s)
    else:
        inj = InjectionResult(model=LOCAL_MODEL, attacks=0, base_items=0, criteria=[], variants={},
                              least_shift=None, skipped=QUICK_SKIP)  # fmt: skip
    log("interrupts...")
    interrupts = run_interrupts(work / "interrupts", **SIZES["interrupts"][i], log=log)  # type: ignore[arg-type]
    log("secrets...")
    # Scanned last, so every file the suite wrote (all parts' run and cache directories, the old reports) is covered.
    scan = [p for p in (out,) if p is not None]
    secrets = run_secrets(work / "secrets", scan_roots=scan)
    ran = [c for c in crash if c.skipped is None]
    engine = inj.variants.get("engine")
    report = ReliabilityReport(
        mode="quick" if quick else "full",
        lost=faults.lost,
        secrets_leaked=secrets.secrets_leaked,
        bad_inputs_tried=bad.tried,
        bad_inputs_clear_error=bad.clear_error,
        kill_resume_runs=len(ran),
        kill_resume_identical=sum(c.identical and c.within_bound for c in ran),
        injection_mean_shift=engine.mean_shift if engine else None,
        interrupts_delivered=interrupts.interrupts,
        interrupts_mixed=interrupts.mixed,
        interrupts_not_completed=interrupts.not_completed,
        faults=faults,
        crash=crash,
        load=load,
        bad_inputs=bad,
        secrets=secrets,
        limits=limits,
        injection=inj,
        interrupts=interrupts,
        wall_s=round(time.monotonic() - t0, 1),
    )
    if out is not None:
        write_report(report, out)
    return report
