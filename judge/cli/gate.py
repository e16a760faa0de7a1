"""``judge gate``: fail a CI job when a candidate run's scores regress against a baseline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser


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
        "Pairwise (--pairwise RUN): from a pairwise run of candidate vs baseline (judge import\n"
        "versus, then judge run --task pairwise --pairs baseline:baseline), a criterion fails\n"
        "when the whole CI of the candidate's win rate over the baseline (ties half, both\n"
        "orders averaged) lies below 0.5 - margin ([gate.pairwise] in --config).\n"
        "Exit codes: 0 no regression; 1 a criterion regressed (or could not be checked); 2 bad usage or\n"
        "mismatched inputs.",
        "  judge gate --write-baseline ci/baseline.json --candidate runs/main\n"
        "  judge gate --baseline ci/baseline.json --candidate runs/pr --config judge.toml \\\n"
        '             --markdown "$GITHUB_STEP_SUMMARY" --junit gate.xml\n'
        "  judge gate --baseline runs/main --candidate runs/pr --json\n"
        "  judge gate --baseline ci/baseline.json --candidate artifact/run --benchmark artifact/cands\n"
        "  judge gate --pairwise out/pairs --config judge.toml \\\n"
        '             --markdown "$GITHUB_STEP_SUMMARY" --junit gate.xml\n',
    )
    p.add_argument("--candidate", help="run directory of the candidate (judge run --out)")
    p.add_argument(
        "--pairwise",
        metavar="RUN",
        help="decide from a pairwise run of candidate vs baseline (judge run --task pairwise --pairs "
        "baseline:SYSTEM) instead of two scoring runs",
    )
    p.add_argument(
        "--system", help="with --pairwise: the candidate system, when the run pairs several with the baseline"
    )
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
    from judge.jobs.gate import compare, load_gate_config, load_side, write_baseline as save_baseline

    if args.pairwise:
        return _pairwise(args)
    if args.system:
        raise UsageError("--system applies to --pairwise RUN only")
    if not args.candidate:
        raise UsageError("give --candidate RUN (with --baseline or --write-baseline), or --pairwise RUN")
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
    report = compare(base, cand, load_gate_config(args.config), known=_criteria_of(args.rubrics))
    return _write(args, report)


def _pairwise(args: argparse.Namespace) -> int:
    from judge.errors import UsageError
    from judge.jobs.gate import load_gate_config
    from judge.jobs.gate_pairwise import pairwise_gate

    given = [f for f, v in (("--candidate", args.candidate), ("--baseline", args.baseline),
                            ("--write-baseline", args.write_baseline)) if v]  # fmt: skip
    if given:
        raise UsageError(f"--pairwise RUN holds both sides (candidate and baseline replies); drop {', '.join(given)}")
    report = pairwise_gate(
        args.pairwise,
        load_gate_config(args.config),
        judge=args.judge,
        system=args.system,
        benchmarks=args.benchmark,
        known=_criteria_of(args.rubrics),
    )
    return _write(args, report)


def _write(args: argparse.Namespace, report: Any) -> int:
    """Write the report's files, print it (text or --json) and return its exit code."""
    from judge.fileio import write_text
    from judge.report.write import render

    if args.markdown:
        write_text(Path(args.markdown), render(report, "md"))
    if args.junit:
        write_text(Path(args.junit), render(report, "junit"))
    if args.json:
        sys.stdout.write(render(report, "json"))
    else:
        from judge.jobs import gate
        from judge.terminal import output_width

        text: Any = gate.render_text
        if getattr(report, "mode", None) == "pairwise":
            from judge.jobs import gate_pairwise

            text = gate_pairwise.render_text
        print(text(report, output_width()), end="")
    exit_code: int = report.exit_code
    return exit_code


def _criteria_of(rubrics: str | None) -> list[str]:
    """The criteria of the rubric set the runs used (a threshold may name any of them)."""
    from judge.data.rubric import default_rubrics_dir, load_rubric_set

    return list(load_rubric_set(rubrics or default_rubrics_dir()))
