"""``judge view``: every judgment of a benchmark's runs in one offline HTML page, filterable and sortable."""

from __future__ import annotations

import argparse
from typing import Any

from judge.cli._common import add_parser, pairwise_runs, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "view",
        "write an offline HTML viewer of every judgment: filter, sort by disagreement, read rationales",
        "One self-contained HTML file (no server, no network) with a row per item and criterion: the post or\n"
        "conversation, the response and its system, each judge's score, samples, rationale and unscored reason,\n"
        "each expert's rating, and the calibrated score when a calibrator is given. Filter by criterion, system,\n"
        "judge, unscored reason and text; sort by judge-expert disagreement, judge-judge disagreement or sample\n"
        "spread. The filters are kept in the page's URL, so a filtered view can be bookmarked or linked to.\n"
        "On a pairwise run (judge run --task pairwise): one card per pair, the post over reply A and reply B side\n"
        "by side, the verdict in each order with P(first is better), P(A better) and the experts' ratings of each\n"
        "reply; sortable by disagreement with the experts.\n"
        "The page holds the posts and responses: share it only where the data may go.",
        "  judge view --run runs/gpt4o --out reports/resort/viewer.html\n"
        "  judge view --benchmark bench/resort --run runs/gpt4o --run runs/local --out reports/resort/\n"
        "  judge view --benchmark bench/resort --run runs/gpt4o --calibrator cal/gpt4o.json --out view.html\n"
        "  judge view --run runs/gpt4o --criteria empathy --out empathy.html --json\n"
        "  judge view --benchmark datasets/demo --run runs/demo-pairs --out reports/demo-pairs/viewer.html\n",
    )
    p.add_argument(
        "--benchmark",
        metavar="DIR",
        help="the benchmark the runs judged (default: the path the first run recorded)",
    )
    p.add_argument("--run", action="append", default=[], metavar="RUN_DIR", help="a run directory (repeatable)")
    p.add_argument(
        "--calibrator",
        action="append",
        default=[],
        metavar="FILE",
        help="a calibrator (judge calibrate) of one of the runs' judges: its calibrated scores are shown (repeatable)",
    )
    p.add_argument("--rubrics", metavar="DIR", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria")
    p.add_argument("--title", help="page title (default: 'Judgments: <benchmark>')")
    p.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write (a directory gets viewer.html)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from judge.analysis.scores import load_calibrators
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.errors import UsageError
    from judge.report.items import build_item_view, find_benchmark
    from judge.report.viewer import view_stats, write_viewer

    if not args.run and not args.benchmark:
        raise UsageError("give at least one --run (or a --benchmark, to see its expert ratings alone)")
    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), args.criteria)
    bench, why = find_benchmark(args.run, args.benchmark)
    if pairwise_runs(args.run):
        return _pairs(args, bench, why)
    view = build_item_view(
        bench, rubrics, args.run, load_calibrators(args.calibrator), criteria=args.criteria, title=args.title
    )
    if why:
        view.notes.insert(0, why)
    if not view.rows:
        raise UsageError("nothing to show: the runs have no judgments and the benchmark no ratings on these criteria")
    path = write_viewer(view, Path(args.out))
    size = path.stat().st_size
    if args.json:
        print_json({"file": str(path), "bytes": size, **view_stats(view)})
        return 0
    for note in view.notes:
        say(f"note: {note}")
    say(
        f"wrote {path} ({size / 1e6:.1f} MB): {len(view.rows):,} rows, {len(view.items):,} items, "
        f"{len(view.judges)} judge(s); open {path.resolve().as_uri()}"
    )
    return 0


def _pairs(args: argparse.Namespace, bench: Any, why: str | None) -> int:
    """``judge view`` on a pairwise run: the pair viewer."""
    from pathlib import Path

    from judge.errors import UsageError
    from judge.report.pair_viewer import build_pair_view, write_pair_viewer

    if len(args.run) > 1:
        raise UsageError("--run was given more than once: the pair viewer shows one pairwise run")
    if args.calibrator:
        raise UsageError("--calibrator maps scores: a pairwise run has verdicts, not scores")
    if bench is None:
        raise UsageError(f"--run {args.run[0]}: its benchmark was not found; pass --benchmark DIR")
    view = build_pair_view(bench, args.run[0], criteria=args.criteria, title=args.title)
    if why:
        view.notes.insert(0, why)
    path = write_pair_viewer(view, Path(args.out))
    size = path.stat().st_size
    if args.json:
        print_json({"file": str(path), "bytes": size, "pairs": len(view.cards), "judges": view.judges,
                    "criteria": view.criteria, "raters": len(view.raters), "notes": view.notes})  # fmt: skip
        return 0
    for note in view.notes:
        say(f"note: {note}")
    say(f"wrote {path} ({size / 1e6:.1f} MB): {len(view.cards):,} pairs; open {path.resolve().as_uri()}")
    return 0
