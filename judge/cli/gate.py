"""``judge gate``: fail a CI job when a candidate run's scores regress against a baseline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "gate",
        "CI regression check: compare a candidate run with a baseline, per criterion",
        "Pair the candidate's scores with the baseline's by input (post + appraisal dimension), per criterion,\n"
        "and fail when the whole bootstrap CI of the mean change lies below -margin, where margin is the larger\n"
        "of the criterion's threshold and the judge's own noise floor (see docs/ci.md). The baseline is a run\n"
        "directory or a baseline file written with --write-baseline. Runs judged with different judges or\n"
        "rubric versions are refused, not compared.\n"
        "A run directory is read from anywhere, also when copied (e.g. a downloaded CI artifact): its benchmark is\n"
        "found by the content hash the run recorded, among the --benchmark directories given, else where the run\n"
        "recorded it.\n"
        "Exit codes: 0 no regression; 1 a criterion regressed (or could not be checked); 2 bad usage or\n"
        "mismatched inputs.",
        "  judge gate --write-baseline ci/baseline.json --candidate runs/main\n"
        "  judge gate --baseline ci/baseline.json --candidate runs/pr --config judge.toml \\\n"
        '             --markdown "$GITHUB_STEP_SUMMARY" --junit gate.xml\n'
        "  judge gate --baseline runs/main --candidate runs/pr --json\n"
        "  judge gate --baseline ci/baseline.json --candidate artifact/run --benchmark artifact/cands\n",
    )
    p.add_argument("--candidate", required=True, help="run directory of the candidate (judge run --out)")
    p.add_argument("--baseline", help="baseline run directory or baseline file (JSON)")
    p.add_argument("--write-baseline", metavar="FILE", help="write the candidate as a baseline file and exit")
    p.add_argument("--config", help="judge.toml with [gate] and [gate.thresholds]")
    p.add_argument("--judge", help="judge name, when a run has several judges")
    p.add_argument("--rubrics", help="rubric directory the runs used (default: the bundled rubrics/resort)")
    p.add_argument(
        "--benchmark",
        action="append",
        default=[],
        metavar="DIR",
        help="where a run's benchmark is, when not where the run recorded it (repeat for the baseline's and the "
        "candidate's; each run takes the one whose content it judged)",
    )
    p.add_argument("--markdown", metavar="FILE", help="write a markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML (one testcase per criterion)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from judge.errors import UsageError
    from judge.fileio import write_text
    from judge.jobs.gate import (
        compare,
        load_gate_config,
        load_side,
        render_json,
        render_junit,
        render_markdown,
        write_baseline as save_baseline,
    )

    cand = load_side(args.candidate, args.judge, args.rubrics, args.benchmark)
    if args.write_baseline:
        if args.baseline:
            raise UsageError("--write-baseline takes only --candidate (the run to freeze), not --baseline")
        save_baseline(cand, args.write_baseline)
        n = sum(len(v) for v in cand.scores.values())
        print(f"baseline written: {args.write_baseline} ({len(cand.scores)} criteria, {n} input scores)")
        return 0
    if not args.baseline:
        raise UsageError("give --baseline (run directory or baseline file), or --write-baseline FILE")
    base = load_side(args.baseline, args.judge, args.rubrics, args.benchmark)
    report = compare(base, cand, load_gate_config(args.config))
    md = render_markdown(report)
    if args.markdown:
        write_text(Path(args.markdown), md)
    if args.junit:
        write_text(Path(args.junit), render_junit(report))
    if args.json:
        print_json(render_json(report))
    else:
        print(md, end="")
    return report.exit_code
