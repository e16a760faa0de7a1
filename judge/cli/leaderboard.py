"""``judge leaderboard``: rank the benchmark's systems per criterion, from expert ratings or a judge run."""

from __future__ import annotations

import argparse
import shlex
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
    pairwise_runs,
    print_json,
    report_formats,
    say,
)


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "leaderboard",
        "rank systems per criterion with bootstrap CIs; write md/json/csv/html reports",
        "Rows are systems (model / pipeline / method), columns are criteria. Each cell: mean, 95% CI from a\n"
        "bootstrap that resamples posts (items of one post move together), and the 95% interval of the rank\n"
        "('too few' below 5 items or 3 posts). Without --run the scores are the expert ratings (each item: the\n"
        "mean of its experts). With --judges: one row per judge, between the chance rows and the experts' ceiling,\n"
        "sorted by the headline (pairwise kappa with the experts; see docs/agreement.md).\n"
        "With --viewer, the item viewer (judge view) is written next to the report as viewer.html and linked: each\n"
        "system (with --judges: each judge) opens its own items there, largest disagreement with the experts first.\n"
        "With a pairwise --run (judge run --task pairwise), the systems are ranked from its verdicts: Bradley-Terry\n"
        "strength with a rank interval, win rate, and with --baseline-system the plain and length-controlled win\n"
        "rates against that system; where the experts rated the pairs, the judge's agreement with their\n"
        "preferences beside their ceiling and chance (docs/pairwise.md).",
        "  judge leaderboard --benchmark bench/resort --out reports/resort-experts\n"
        "  judge leaderboard --benchmark bench/resort --run runs/gpt4o --out reports/resort-gpt4o\n"
        "  judge leaderboard --benchmark bench/resort --run runs/gpt4o --viewer --out reports/resort-gpt4o\n"
        "  judge leaderboard --benchmark bench/resort --criteria empathy harmfulness --format md,html --out r/\n"
        "  judge leaderboard --benchmark bench/resort --out r/ --json | jq '.leaderboard.rows[0]'\n"
        "  judge leaderboard --benchmark bench/resort --run runs/gpt4o --calibrator cal/gpt4o.json --out r/cal\n"
        "  judge leaderboard --judges --benchmark bench/resort --run runs/gpt4o --run runs/local --out r/judges\n"
        "  judge leaderboard --judges --benchmark bench/resort --run runs/gpt4 \\\n"
        "                    --self gpt-4-1106-preview=gpt-4-turbo --out r/judges\n"
        "  judge leaderboard --benchmark datasets/demo --run runs/demo-pairs --baseline-system demo-generic \\\n"
        "                    --viewer --out reports/demo-pairs\n",
    )
    p.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark directory")
    p.add_argument("--rubrics", metavar="DIR", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="RUN_DIR",
        help="score with this judge run instead of the expert ratings (with --judges: repeatable)",
    )
    p.add_argument("--judge", metavar="NAME", help="which judge of a run with several judges")
    p.add_argument(
        "--judges",
        action="store_true",
        help="judge leaderboard: one row per judge of the --run dirs against the experts (needs expert ratings)",
    )
    p.add_argument(
        "--calibrator",
        action="append",
        default=[],
        metavar="FILE",
        help="map the judge's scores onto the expert scale with this calibrator (judge calibrate); with --judges, "
        "calibrated judges are shown beside the raw ones",
    )
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria (default: all with scores)")
    p.add_argument(
        "--self",
        dest="own",
        action="append",
        default=[],
        metavar="JUDGE=SYSTEM",
        help="with --judges: leave the items of a judge's own system out of that judge's row (repeatable; SYSTEM: "
        "a system name as the reports print it, or a model)",
    )
    add_analysis_options(p)
    add_baseline_option(p)
    p.add_argument(
        "--baseline-system",
        metavar="SYSTEM",
        help="with a pairwise --run: also each system's plain and length-controlled win rates against this system "
        "(its name as the run's pairs have it, e.g. demo-generic)",
    )
    p.add_argument("--n-boot", type=n_boot_type(), default=2000, metavar="N", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=bounded(int, 0, MAX_SEED), default=0, metavar="N", help="bootstrap seed (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for leaderboard.{md,json,csv,html}")
    p.add_argument(
        "--format", default=report_formats(), metavar="LIST", help=f"comma list of {report_formats()} (default: all)"
    )
    p.add_argument(
        "--viewer",
        action="store_true",
        help="also write viewer.html into --out (judge view: every judgment of the --run dirs, or the expert "
        "ratings, item by item) and link the report to it, each system (with --judges: each judge) to its own "
        "items. Off by default: the viewer holds the posts and responses, which a leaderboard does not, so it "
        "must not land in a report directory that is shared or committed unless the data may go there",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of the markdown table")
    p.set_defaults(func=run)


def _viewer(args: argparse.Namespace, inp: Any) -> str | None:
    """With --viewer: write the item viewer of the runs (with the calibrators) into --out; its relative link."""
    if not args.viewer:
        return None
    from judge.analysis.scores import load_calibrators
    from judge.report.items import build_item_view
    from judge.report.viewer import VIEWER_FILE, write_viewer

    view = build_item_view(inp.bench, inp.selected, args.run, load_calibrators(args.calibrator), criteria=inp.criteria)
    write_viewer(view, Path(args.out) / VIEWER_FILE)
    return VIEWER_FILE


def run(args: argparse.Namespace) -> int:
    one_blas_thread()
    from judge.analysis.inputs import load_inputs
    from judge.analysis.leaderboard import system_leaderboard
    from judge.errors import UsageError
    from judge.report import parse_formats, system_report, write_report

    formats = parse_formats(args.format)
    inp = load_inputs(
        args.benchmark, args.rubrics, criteria=args.criteria, exclude_raters=args.exclude_rater, levels=args.level
    )
    bench, rubrics = inp.bench, inp.selected
    command = shlex.join(["judge", *sys.argv[1:]])
    if pairwise_runs(args.run):
        return _run_pairwise(args, inp, formats, command)
    if args.baseline_system:
        raise UsageError("--baseline-system ranks against a system in a pairwise run: it needs --run RUN_DIR of a run "
                         "made with judge run --task pairwise")  # fmt: skip
    if args.judges:
        return _run_judges(args, inp, formats, command)
    if args.own:
        raise UsageError("--self leaves a judge's own system out of its row in the judge board: it needs --judges")
    if len(args.run) > 1:
        raise UsageError("--run was given more than once: a system leaderboard uses one judge run (or --judges)")
    if (args.judge or args.calibrator) and not args.run:
        raise UsageError("--judge and --calibrator need --run")
    judge, scores, cal_refs, identity = None, None, [], None
    if args.run:
        from judge.analysis.scores import calibrated, load_calibrators, read_judges

        found = read_judges(args.run[0], rubrics, args.judge, bench=inp.bench)
        if len(found) > 1:
            raise UsageError(
                f"--run {args.run[0]} has {len(found)} judges ({', '.join(j.name for j in found)}); "
                "pick one with --judge NAME"
            )
        js = found[0]
        for path, cal in load_calibrators(args.calibrator):
            js = calibrated(js, cal, path)
            cal_refs.append(str(path))
        judge, scores, identity = js.name, js.scores, js.identity
    if args.criteria and scores is None:
        missing = [c for c in args.criteria if not any(r.criterion == c for r in bench.ratings)]
        if missing:
            raise UsageError(f"--criteria {missing}: benchmark {bench.name!r} has no expert ratings on them")
    board = system_leaderboard(
        bench,
        rubrics,
        scores,
        n_boot=args.n_boot,
        seed=args.seed,
        judge=judge,
        calibrators=cal_refs,
        command=command,
        identity=identity,
    )
    viewer = _viewer(args, inp)
    report = system_report(board, viewer=viewer, experts=bool(bench.ratings))
    paths = write_report(board, Path(args.out), formats, report=report)
    return _print(args, board, report, paths, viewer)


def _run_pairwise(args: argparse.Namespace, inp: Any, formats: Any, command: str) -> int:
    """The leaderboard of a pairwise run: systems ranked from its verdicts (and its agreement with the experts)."""
    from judge.analysis.pairwise.board import pairwise_leaderboard
    from judge.engine.store import check_run_benchmark
    from judge.errors import UsageError
    from judge.report import write_report
    from judge.report.pairwise_board import pairwise_report

    refused = [
        flag
        for flag, given in (
            ("--judges", args.judges),
            ("--calibrator", args.calibrator),
            ("--self", args.own),
            ("--baseline", args.baseline),
        )
        if given
    ]
    if refused:
        raise UsageError(
            f"{', '.join(refused)}: not for a pairwise run (its leaderboard ranks systems from verdicts and shows the "
            "judge's agreement with the experts' preferences itself); use --baseline-system SYSTEM for a system to "
            "rank against"
        )
    if len(args.run) > 1:
        raise UsageError("--run was given more than once: a pairwise leaderboard ranks from one pairwise run")
    check_run_benchmark(args.run[0], inp.bench)
    board = pairwise_leaderboard(
        args.run[0],
        inp.bench,
        criteria=inp.criteria,
        judge=args.judge,
        baseline=args.baseline_system,
        n_boot=args.n_boot,
        seed=args.seed,
        command=command,
    )
    viewer = _pair_viewer(args, inp)
    report = pairwise_report(board, viewer=viewer)
    paths = write_report(board, Path(args.out), formats, report=report)
    return _print(args, board, report, paths, viewer)


def _pair_viewer(args: argparse.Namespace, inp: Any) -> str | None:
    """With --viewer: the pair viewer of the pairwise run, written into --out; its relative link."""
    if not args.viewer:
        return None
    from judge.report.pair_viewer import build_pair_view, write_pair_viewer
    from judge.report.viewer import VIEWER_FILE

    view = build_pair_view(inp.bench, args.run[0], criteria=inp.criteria, judge=args.judge)
    write_pair_viewer(view, Path(args.out) / VIEWER_FILE)
    return VIEWER_FILE


def _run_judges(args: argparse.Namespace, inp: Any, formats: Any, command: str) -> int:
    from judge.analysis.judge_board import judge_leaderboard
    from judge.analysis.own_systems import own_items, parse_self
    from judge.analysis.scores import judges_with_calibrators
    from judge.errors import UsageError
    from judge.report import write_report
    from judge.report.judges import judge_report

    if not args.run:
        raise UsageError("--judges needs at least one --run")
    if not inp.bench.ratings:
        raise UsageError(f"--judges compares judges with experts, but benchmark {inp.bench.name!r} has no ratings")
    judges, curves = judges_with_calibrators(args.run, args.calibrator, inp.bench, inp.selected)
    own = own_items(inp.bench, judges, parse_self(args.own)) if args.own else None
    board, _ = judge_leaderboard(
        inp.bench,
        inp.rubrics,
        judges,
        n_boot=args.n_boot,
        seed=args.seed,
        command=command,
        criteria=inp.criteria,
        levels=inp.levels,
        excluded_raters=inp.excluded_raters,
        baselines=args.baseline,
        own_systems=own,
    )
    for note in board.notes:
        if note.startswith("WARNING: "):
            say(note, file=sys.stderr)
    viewer = _viewer(args, inp)
    report = judge_report(board, judges, inp.bench, curves, viewer=viewer)
    paths = write_report(board, Path(args.out), formats, report=report, stem="judges")
    return _print(args, board, report, paths, viewer)


def _print(args: argparse.Namespace, board: Any, report: Any, paths: dict[str, Path], viewer: str | None) -> int:
    """What both leaderboards print: the files and the board as JSON, or the table, its notes and the files."""
    from judge.report.text import render_table_text
    from judge.terminal import output_width

    if viewer:
        paths["viewer"] = Path(args.out) / viewer
    if args.json:
        print_json({"files": {k: str(v) for k, v in paths.items()}, "leaderboard": board.model_dump(mode="json")})
        return 0
    page = paths.get("html") or paths.get("md")
    more = f"see {page} (every column, the plots) or --json" if page else "--json prints every number"
    say(render_table_text(report.tables[0], output_width(), more=more))
    for note in board.notes:
        say(f"note: {note}")
    say(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
