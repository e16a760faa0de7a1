"""``judge estimate``: a system's mean on the experts' scale from many judged items and a few rated ones (PPI)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from judge.cli._common import add_parser, bounded, one_blas_thread, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "estimate",
        "prediction-powered means on the expert scale: many judged items + a few expert-rated ones",
        "For each system (and overall): the mean on the experts' scale estimated with prediction-powered inference\n"
        "(Angelopoulos et al., Science 2023). Items with expert ratings are the labeled sample (target: the mean of\n"
        "their experts); items with only a judge score are the unlabeled sample. The judge's bias is corrected on\n"
        "the labeled items, so the CI stays valid however biased the judge is, and it is narrower than the experts-\n"
        "only CI when the judge tracks the experts. The labeled items must be a random sample of the same systems'\n"
        "outputs; a calibrator fitted on the same labeled items makes the interval optimistic.",
        "  judge run --benchmark bench/resort --judge openai/gpt-4o-mini --criteria empathy --out runs/mini\n"
        "  judge estimate --benchmark bench/resort --run runs/mini --criterion empathy\n"
        "  judge estimate --benchmark bench/resort --run runs/mini --criterion empathy --power-tuned --json\n",
    )
    p.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark with expert ratings")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a judge run over rated and unrated items")
    p.add_argument("--judge", metavar="NAME", help="which judge of a run with several")
    p.add_argument("--criterion", required=True, help="the criterion to estimate")
    p.add_argument("--rubrics", metavar="DIR", help="rubric directory (default: the bundled rubrics/resort)")
    p.add_argument("--power-tuned", action="store_true", help="PPI++: weigh the judge by a tuned lambda in [0, 1]")
    p.add_argument("--confidence", type=float, default=0.95, help="CI level (default 0.95)")
    p.add_argument(
        "--min-labeled", type=bounded(int, 2), default=5, help="skip systems with fewer rated items (default 5)"
    )
    p.add_argument(
        "--exclude-rater",
        action="append",
        default=[],
        metavar="NAME",
        help="leave this expert's ratings out of the labeled targets (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    one_blas_thread()
    from judge.analysis.experts import same_rater_warnings
    from judge.analysis.inputs import load_inputs
    from judge.analysis.ppi import system_estimates
    from judge.analysis.scores import read_judges
    from judge.errors import UsageError
    from judge.report.format import num
    from judge.report.model import Cell, Column, Table
    from judge.report.text import render_table_text
    from judge.terminal import output_width

    if not 0.5 <= args.confidence < 1:
        raise UsageError(f"--confidence must be in [0.5, 1), got {args.confidence}")
    inp = load_inputs(args.benchmark, args.rubrics, criteria=[args.criterion], exclude_raters=args.exclude_rater)
    found = read_judges(args.run, inp.selected, args.judge, bench=inp.bench)
    if len(found) > 1:
        raise UsageError(f"--run {args.run} has several judges ({', '.join(j.name for j in found)}); pick --judge")
    scores = found[0].scores.get(args.criterion)
    if not scores:
        raise UsageError(f"--run {args.run} has no {args.criterion!r} judgments")
    js = found[0]
    for w in same_rater_warnings(inp.bench, {js.name: ([js.model], js.scores)}, [args.criterion]):
        print(f"WARNING: {w}", file=sys.stderr)
    result = system_estimates(
        inp.bench,
        scores,
        args.criterion,
        power_tuned=args.power_tuned,
        confidence=args.confidence,
        min_labeled=args.min_labeled,
    )
    if args.json:
        print_json({"criterion": args.criterion, "judge": found[0].name, "estimates": result})
        return 0
    pct = f"{args.confidence:.0%}"
    say(f"{args.criterion}: prediction-powered means on the expert scale ({pct} CIs), judge {found[0].name}\n")
    cols = [
        Column(key="system", label="system"),
        Column(key="ppi", label="PPI mean [CI]", numeric=True),
        Column(key="experts", label="experts only [CI]", numeric=True),
        Column(key="width", label="width", numeric=True),
        Column(key="rated", label="rated", numeric=True),
        Column(key="judged", label="judged", numeric=True),
    ]
    rows = []
    for name, e in result.items():
        if "skipped" in e:
            rows.append([Cell(text=name), Cell(text=f"skipped: {e['skipped']}"), *[Cell(text="")] * 4])
            continue
        rows.append(
            [
                Cell(text=name),
                Cell(text=f"{num(e['mean'])} [{num(e['ci'][0])}, {num(e['ci'][1])}]"),
                Cell(text=f"{num(e['classical_mean'])} [{num(e['classical_ci'][0])}, {num(e['classical_ci'][1])}]"),
                Cell(text=num(e["width_ratio"])),
                Cell(text=str(e["n_labeled"])),
                Cell(text=str(e["n_unlabeled"])),
            ]
        )
    table = Table(key="estimates", title="estimates", columns=cols, rows=rows)
    say(render_table_text(table, output_width(), more="--json prints every number"))
    say("\nwidth = PPI CI width / experts-only CI width (below 1: the judge's scores bought precision)")
    return 0
