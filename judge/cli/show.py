"""``judge show RUN``: a run summed up in the terminal: counts, unscored by reason, cost, judges, rubric versions and
the largest disagreements."""

from __future__ import annotations

import argparse
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "show",
        "sum up a run: counts, unscored by reason, cost, judges, rubrics, largest disagreements",
        "Counts come from the run's records (also for a run that was interrupted), calls and cost from its\n"
        "summary.json. The disagreements are the items that disagree most with the experts (when the benchmark\n"
        "has ratings), else between the run's judges, else between one judge's samples; each as a share of the\n"
        "criterion's scale, with the rationale of the judge that disagrees most. 'judge view' shows them all.",
        "  judge show runs/gpt4o\n"
        "  judge show runs/gpt4o --benchmark bench/resort --top 20\n"
        "  judge show runs/pair --by judges --criteria empathy\n"
        "  judge show runs/gpt4o --json | jq '.unscored'\n",
    )
    p.add_argument("run_dir", metavar="RUN", help="a run directory")
    p.add_argument("--benchmark", metavar="DIR", help="the benchmark it judged (default: the path the run recorded)")
    p.add_argument("--rubrics", metavar="DIR", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria")
    p.add_argument("--top", type=int, default=10, metavar="N", help="how many disagreements (default 10)")
    p.add_argument(
        "--by",
        choices=["experts", "judges", "samples"],
        help="rank disagreements with the experts, between judges or between samples (default: the first available)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.store import load_run_manifest
    from judge.errors import UsageError
    from judge.report.items import build_item_view, find_benchmark
    from judge.report.overview import render_overview, run_overview

    if args.top < 0:
        raise UsageError(f"--top must be 0 or more, got {args.top}")
    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), args.criteria)
    bench, why = find_benchmark([args.run_dir], args.benchmark)
    if load_run_manifest(args.run_dir).task == "pairwise":
        from judge.report.pairwise_run import pairwise_overview, render_pairwise_overview

        pov = pairwise_overview(args.run_dir, bench)
        if why:
            pov.notes.insert(0, why)
        if args.json:
            print_json(pov.model_dump(mode="json"))
        else:
            print(render_pairwise_overview(pov), end="")
        return 0
    view = build_item_view(bench, rubrics, [args.run_dir], criteria=args.criteria)
    if why:
        view.notes.insert(0, why)
    ov = run_overview(args.run_dir, view, top=args.top, by=args.by)
    if args.json:
        print_json(ov.model_dump(mode="json"))
    else:
        print(render_overview(ov), end="")
    return 0
