"""``python -m benchmarks.reliability [--quick]``: run the reliability suite and write reports/reliability/."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

from benchmarks.reliability import ROOT, run_suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the CI-sized suite (a few minutes)")
    ap.add_argument("--work", help="work directory (default: a new temporary directory); reuse it to resume")
    ap.add_argument("--out", default=str(ROOT / "reports" / "reliability"), help="report directory")
    ap.add_argument("--injection", action="store_true", help="run the local-model injection part even with --quick")
    ap.add_argument("--injection-criteria", nargs="+", help="criteria for the injection part (default: all)")
    ap.add_argument("--injection-time-limit", type=float, default=1800.0, help="seconds per prompt variant")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="reliability-"))
    report = run_suite(
        work,
        Path(args.out),
        quick=args.quick,
        injection=args.injection or not args.quick,
        injection_criteria=args.injection_criteria,
        injection_time_limit_s=args.injection_time_limit,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(f"wrote {args.out}/report.json and report.md (work dir {work})")
    ok = (
        report.lost == 0
        and report.secrets_leaked == 0
        and report.bad_inputs_clear_error == report.bad_inputs_tried
        and report.kill_resume_identical == report.kill_resume_runs
        and report.interrupts_mixed == report.interrupts_not_completed == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
