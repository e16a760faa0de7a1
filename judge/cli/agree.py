"""``judge agree``: how far each judge stands from the psychologists, between chance and the experts' own agreement.

See ``judge.analysis.agreement`` ("How to read these numbers") and docs/agreement.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli._common import (
    MAX_SEED,
    add_analysis_options,
    add_baseline_option,
    add_parser,
    bounded,
    n_boot_type,
    one_blas_thread,
    print_json,
    report_formats,
    say,
)


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "agree",
        "agreement of judges with the experts (pairwise kappa between chance and the experts' ceiling)",
        "Per criterion, one headline computed the same way for every row: pairwise kappa over judge-expert pairs\n"
        "(for the experts: over pairs of two experts, their ceiling), with a bootstrap CI over items; chance rows\n"
        "(a constant judge, the judges' scores shuffled) show where a judge that ignores the item lands. Then\n"
        "Spearman/Kendall against the expert mean, bias with limits of agreement, ICC(A,1), weighted kappa per\n"
        "expert, system-level agreement (ICC(C,1), ICC(A,1), Spearman, Kendall of system means, CIs over posts),\n"
        "the alternative annotator test (Calderon et al. 2025) and self-consistency over repeated samples.\n"
        "Baseline rows (the reply's length in characters and in words, any --baseline FIELD) are computed like a\n"
        "judge's; a judge whose headline or Spearman CI does not clear length on its items is 'not better'.\n"
        "Unscored judgments are missing data: excluded from every statistic and counted. See docs/agreement.md.",
        "  judge agree --benchmark bench/resort                       # experts only: the ceiling\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --run runs/local\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --criteria empathy --n-boot 5000 --json\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --calibrator cal/gpt4o.json\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --exclude-rater resort:11 --level interval\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --out reports/agree --format md,html\n"
        "  judge agree --benchmark bench/resort --run runs/local --partial-length --baseline dimension_id\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4 --self gpt-4-1106-preview=gpt-4-turbo\n",
    )
    p.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark directory (with ratings.jsonl)")
    p.add_argument("--rubrics", metavar="DIR", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--run", action="append", default=[], metavar="RUN_DIR", help="a run directory (repeatable)")
    p.add_argument(
        "--calibrator",
        action="append",
        default=[],
        metavar="FILE",
        help="a calibrator (judge calibrate): its judge is shown raw and calibrated side by side, the calibrated "
        "scores cross-fitted on held-out posts (repeatable)",
    )
    p.add_argument(
        "--aligned",
        action="append",
        default=[],
        metavar="FILE",
        help="an aligned-judge file (judge align --out): its judge is also shown aligned; refused on items of the "
        "posts it was fitted on (repeatable)",
    )
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria")
    p.add_argument(
        "--self",
        dest="own",
        action="append",
        default=[],
        metavar="JUDGE=SYSTEM",
        help="leave the items of a judge's own system out of that judge's row (repeatable; SYSTEM: a system name "
        "as the reports print it, or a model)",
    )
    add_analysis_options(p)
    add_baseline_option(p)
    p.add_argument(
        "--partial-length",
        action="store_true",
        help="also give each judge's Spearman and Kendall with the expert mean with the reply's length in characters "
        "partialled out (a judge that only counts words drops to about 0)",
    )
    p.add_argument(
        "--n-boot",
        type=n_boot_type(allow_zero=True),
        default=2000,
        help="bootstrap resamples for CIs (default 2000; 0: none)",
    )
    p.add_argument("--seed", type=bounded(int, 0, MAX_SEED), default=0, help="seed of the bootstrap (default 0)")
    p.add_argument(
        "--epsilon",
        type=float,
        default=0.2,
        help="alt-test margin (default 0.2, the paper's value for expert annotators)",
    )
    p.add_argument("--out", metavar="DIR", help="also write agreement.{md,json,csv,html} into DIR")
    p.add_argument(
        "--format", default=report_formats(), metavar="LIST", help=f"with --out: comma list of {report_formats()}"
    )
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    one_blas_thread()
    from judge.analysis.agreement import agreement_report
    from judge.analysis.inputs import load_inputs, systems_of
    from judge.analysis.own_systems import own_items, parse_self
    from judge.analysis.scores import judges_with_calibrators
    from judge.errors import UsageError
    from judge.report import parse_formats, write_report
    from judge.report.agreement import agreement_document
    from judge.report.text import render_text
    from judge.terminal import output_width

    if not 0.0 <= args.epsilon < 1.0:
        raise UsageError(f"--epsilon must be in [0, 1), got {args.epsilon}")
    formats = parse_formats(args.format) if args.out else ()
    inp = load_inputs(
        args.benchmark, args.rubrics, criteria=args.criteria, exclude_raters=args.exclude_rater, levels=args.level
    )
    judges, _ = judges_with_calibrators(args.run, args.calibrator, inp.bench, inp.selected)
    from judge.analysis.align import judges_with_aligned, recorded_aligned

    aligned = [*args.aligned, *recorded_aligned(args.run)]  # a run made with --aligned carries its file
    if aligned:
        judges = judges_with_aligned(judges, aligned, inp.bench, inp.selected)
    own = own_items(inp.bench, judges, parse_self(args.own)) if args.own else None
    report = agreement_report(
        inp.bench,
        inp.rubrics,
        judges={j.name: j.scores for j in judges} or None,
        systems=systems_of(inp.bench),
        n_boot=args.n_boot,
        seed=args.seed,
        epsilon=args.epsilon,
        criteria=inp.criteria,
        levels=inp.levels,
        self_consistency={j.name: j.self_consistency for j in judges},
        excluded_raters=inp.excluded_raters,
        identities={j.name: j.identity for j in judges},
        baselines=args.baseline,
        partial_length=args.partial_length,
        own_systems=own,
    )
    for w in report.warnings:
        say(f"WARNING: {w}", file=sys.stderr)
    doc = agreement_document(report)
    paths = write_report(report, Path(args.out), formats, report=doc, stem="agreement") if args.out else {}
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        more = _where(paths)
        say(render_text(doc, output_width(), more=more), end="")
    return 0


def _where(paths: dict[str, Path]) -> str:
    """Where the rest of the report is (the plots, the columns a narrow terminal leaves out)."""
    best = paths.get("html") or paths.get("md") or next(iter(paths.values()), None)
    if best is not None:
        return f"the full report: {best} (every column, the plots; --json for the numbers)"
    return "every column and the plots: --out DIR writes the report (HTML, markdown, CSV, JSON); --json prints it"
