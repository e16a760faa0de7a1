"""``judge agree``: how far each judge stands from the psychologists, with the experts' own agreement as the ceiling.

See ``judge.analysis.agreement`` ("How to read these numbers") for what alpha, bias and the alt-test say about whether a
judge can replace an expert.
"""

from __future__ import annotations

import argparse
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "agree",
        "agreement of judges with the experts (alpha, correlations, bias, alt-test)",
        "Per criterion: the experts' Krippendorff's alpha (the ceiling) with a bootstrap CI over items, then for each\n"
        "judge run: alpha with the judge as one more rater, Spearman/Kendall against the expert mean, bias with\n"
        "limits of agreement, weighted kappa per expert and the alternative annotator test (Calderon et al. 2025).\n"
        "Unscored judgments are missing data: excluded from every statistic and counted.",
        "  judge agree --benchmark bench/resort                       # experts only: the ceiling\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --run runs/local\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --criteria empathy --n-boot 5000 --json\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4o --calibrator cal/gpt4o.json\n",
    )
    p.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark directory (with ratings.jsonl)")
    p.add_argument("--rubrics", metavar="DIR", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--run", action="append", default=[], metavar="RUN_DIR", help="a run directory (repeatable)")
    p.add_argument(
        "--calibrator",
        action="append",
        default=[],
        metavar="FILE",
        help="a calibrator (judge calibrate): its judge is shown raw and calibrated side by side (repeatable)",
    )
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples for CIs (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument(
        "--epsilon",
        type=float,
        default=0.2,
        help="alt-test margin (default 0.2, the paper's value for expert annotators)",
    )
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(func=run)


def judge_tables(run_dirs: list[str], calibrators: list[str], rubrics: Any) -> dict[str, Any]:
    """judge name -> criterion -> item -> score, with each calibrated judge beside its raw scores."""
    from judge.analysis.scores import calibrated, load_calibrators, match_calibrator, read_runs
    from judge.errors import UsageError

    runs = read_runs(run_dirs, rubrics)
    cals = load_calibrators(calibrators)
    out: dict[str, Any] = {}
    used = set()
    for js in runs:
        out[js.name] = js.scores
        match = match_calibrator(js, cals)
        if match is not None:
            cj = calibrated(js, match[1], match[0])
            out[cj.name] = cj.scores
            used.add(match[0])
    unused = [str(p) for p, _ in cals if p not in used]
    if unused:
        raise UsageError(f"--calibrator {unused}: fitted for no judge of the given runs")
    return out


def run(args: argparse.Namespace) -> int:
    from judge.analysis.agreement import agreement_report, render_agreement_table
    from judge.data.benchmark import load_benchmark
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.errors import UsageError

    if args.n_boot < 0:
        raise UsageError(f"--n-boot must be >= 0, got {args.n_boot}")
    if not 0.0 <= args.epsilon < 1.0:
        raise UsageError(f"--epsilon must be in [0, 1), got {args.epsilon}")
    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), criteria=args.criteria)
    bench = load_benchmark(args.benchmark)
    judges = judge_tables(args.run, args.calibrator, rubrics) if args.run else None
    systems = {i: it.system_name for i, it in bench.items.items()}
    report = agreement_report(
        bench, rubrics, judges=judges, systems=systems, n_boot=args.n_boot, seed=args.seed, epsilon=args.epsilon
    )
    if args.json:
        print_json(report.model_dump(mode="json"))
    else:
        print(render_agreement_table(report), end="")
    return 0
