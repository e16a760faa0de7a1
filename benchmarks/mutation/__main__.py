"""Mutation testing: ``python -m benchmarks.mutation run|report`` (see ``benchmarks/mutation/__init__.py``).

python -m benchmarks.mutation run                          # every mutant of the scope (hours on 2 cores)
python -m benchmarks.mutation run --only 'judge.analysis.stats.alpha*'   # one chunk; results accumulate
python -m benchmarks.mutation run --sample 400 --seed 26   # a seeded sample: the score with its interval
python -m benchmarks.mutation run --same-as reports/quality/mutation.json --group stats   # that sample again
python -m benchmarks.mutation report [--label after]       # reports/quality/mutation.{md,json}
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.mutation import (
    MUTANTS,
    REPORT_DIR,
    group_of,
    load_equivalent,
    mutmut,
    recorded_sample,
    results,
    sample,
)
from benchmarks.mutation.report import write_report


def _run(args: argparse.Namespace) -> int:
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    if not (MUTANTS / "mutmut-stats.json").exists():
        # Generate every mutant and record which tests reach which function (one mutant run to trigger it).
        mutmut(
            ["run", "--max-children", str(args.max_children), "judge.analysis.ppi.x_system_estimates__mutmut_1"], log
        )
    names = sorted(results())
    if args.only:
        import fnmatch

        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in args.only)]
    if args.same_as:
        # The sample of record: the mutants a report's sample ran, so that before and after count the same mutants
        # even when the code has grown since (a fresh draw from more mutants is another sample).
        names, seed = recorded_sample(json.loads(Path(args.same_as).read_text(encoding="utf-8")), set(names))
        (MUTANTS / "sample.json").write_text(json.dumps({"seed": seed, "names": names}, indent=1))
    elif args.sample:
        names = sample(names, args.sample, args.seed)
        (MUTANTS / "sample.json").write_text(json.dumps({"seed": args.seed, "names": names}, indent=1))
    if args.group:
        names = [n for n in names if group_of(n) == args.group]
    todo = [n for n in names if args.again or results()[n] == "not checked"]
    print(f"{len(todo)} mutants to run ({len(names)} selected)", file=sys.stderr)
    for k in range(0, len(todo), args.chunk):
        mutmut(["run", "--max-children", str(args.max_children), *todo[k : k + args.chunk]], log)
        print(f"  {min(k + args.chunk, len(todo))}/{len(todo)} ({time.monotonic() - start:.0f} s)", file=sys.stderr)
    runs = REPORT_DIR / "mutation-runs.json"
    history = json.loads(runs.read_text()) if runs.exists() else []
    history.append({"label": args.label, "mutants_run": len(todo), "wall_s": round(time.monotonic() - start, 1)})
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    runs.write_text(json.dumps(history, indent=1) + "\n")
    return 0


def _report(args: argparse.Namespace) -> int:
    status = results()
    if not status:
        print("no mutmut results in mutants/: run python -m benchmarks.mutation run first", file=sys.stderr)
        return 2
    chosen = None
    sample_file = MUTANTS / "sample.json"
    if sample_file.exists() and not args.all:
        chosen = json.loads(sample_file.read_text())
    md, _ = write_report(status, load_equivalent(), chosen, label=args.label, out=REPORT_DIR)
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mutation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run mutants with mutmut (resumable)")
    r.add_argument("--only", nargs="+", metavar="GLOB", help="only mutant names matching these globs (a chunk)")
    r.add_argument("--sample", type=int, metavar="N", help="a seeded sample of N mutants")
    r.add_argument("--seed", type=int, default=26)
    r.add_argument("--same-as", metavar="REPORT", help="the sample a report ran (reports/quality/mutation.json)")
    r.add_argument("--group", choices=["stats", "analyses"], help="only this group's mutants (of the sample)")
    r.add_argument("--again", action="store_true", help="re-run mutants that already have a result")
    r.add_argument("--chunk", type=int, default=100, help="mutants per mutmut call (default 100)")
    r.add_argument("--max-children", type=int, default=2)
    r.add_argument("--label", default="run", help="what this run is (recorded with its wall time)")
    r.add_argument("--log", default=str(MUTANTS / "mutmut.log"), help="mutmut's output (default mutants/mutmut.log)")
    r.set_defaults(func=_run)
    rep = sub.add_parser("report", help="write reports/quality/mutation.{md,json}")
    rep.add_argument("--label", default="after", help="the figure's label in the report history (before/after)")
    rep.add_argument("--all", action="store_true", help="every checked mutant, even if a sample was run")
    rep.set_defaults(func=_report)
    args = p.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
