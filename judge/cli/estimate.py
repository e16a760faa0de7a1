"""``judge estimate``: a system's mean on the experts' scale from many judged items and a few rated ones (PPI)."""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import Any

from judge.cli._common import add_parser, print_json


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
    p.add_argument("--min-labeled", type=int, default=5, help="skip systems with fewer rated items (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def estimates(
    bench: Any,
    scores: dict[str, float | None],
    criterion: str,
    *,
    power_tuned: bool,
    confidence: float,
    min_labeled: int,
) -> dict[str, Any]:
    """system -> PPI estimate (or the reason it was skipped), plus 'all systems'."""
    from judge.analysis.ppi import ppi_mean

    experts: dict[str, list[float]] = defaultdict(list)
    for r in bench.ratings:
        if r.criterion == criterion:
            experts[r.item_id].append(r.value)
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"y": [], "yhat_l": [], "yhat_u": []})
    for item_id, s in scores.items():
        if s is None or item_id not in bench.items:
            continue
        for name in (bench.items[item_id].system_name, "all systems"):
            g = groups[name]
            if item_id in experts:
                g["y"].append(sum(experts[item_id]) / len(experts[item_id]))
                g["yhat_l"].append(s)
            else:
                g["yhat_u"].append(s)
    out: dict[str, Any] = {}
    for name, g in sorted(groups.items(), key=lambda kv: (kv[0] == "all systems", kv[0])):
        n_l, n_u = len(g["y"]), len(g["yhat_u"])
        if n_l < min_labeled or n_u < 1:
            out[name] = {"skipped": f"{n_l} rated and {n_u} unrated judged items (need >= {min_labeled} and >= 1)"}
            continue
        alpha = 1 - confidence
        out[name] = ppi_mean(g["y"], g["yhat_l"], g["yhat_u"], alpha, power_tuned=power_tuned).model_dump(mode="json")
    return out


def run(args: argparse.Namespace) -> int:
    from judge.analysis.scores import read_judges
    from judge.data.benchmark import load_benchmark
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.errors import UsageError

    if not 0.5 <= args.confidence < 1:
        raise UsageError(f"--confidence must be in [0.5, 1), got {args.confidence}")
    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), [args.criterion])
    bench = load_benchmark(args.benchmark)
    found = read_judges(args.run, rubrics, args.judge)
    if len(found) > 1:
        raise UsageError(f"--run {args.run} has several judges ({', '.join(j.name for j in found)}); pick --judge")
    scores = found[0].scores.get(args.criterion)
    if not scores:
        raise UsageError(f"--run {args.run} has no {args.criterion!r} judgments")
    result = estimates(
        bench,
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
    print(f"{args.criterion}: prediction-powered means on the expert scale ({pct} CIs), judge {found[0].name}")
    print(f"{'system':<60} {'PPI mean [CI]':<24} {'experts only [CI]':<24} {'width':>6} {'rated':>6} {'judged':>7}")
    for name, e in result.items():
        if "skipped" in e:
            print(f"{name[:60]:<60} skipped: {e['skipped']}")
            continue
        ppi = f"{e['mean']:.2f} [{e['ci'][0]:.2f}, {e['ci'][1]:.2f}]"
        cls = f"{e['classical_mean']:.2f} [{e['classical_ci'][0]:.2f}, {e['classical_ci'][1]:.2f}]"
        print(f"{name[:60]:<60} {ppi:<24} {cls:<24} {e['width_ratio']:>6.2f} {e['n_labeled']:>6} {e['n_unlabeled']:>7}")
    print("width = PPI CI width / experts-only CI width (below 1: the judge's scores bought precision)")
    return 0
