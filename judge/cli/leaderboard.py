"""``judge leaderboard``: rank the benchmark's systems per criterion, from expert ratings or a judge run."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "leaderboard",
        "rank systems per criterion with bootstrap CIs; write md/json/csv/html reports",
        "Rows are systems (model / pipeline / method), columns are criteria. Each cell: mean, 95% CI from a\n"
        "bootstrap that resamples posts (items of one post move together), and the 95% interval of the rank.\n"
        "Without --run the scores are the expert ratings (each item: the mean of its experts).",
        "  judge leaderboard --benchmark bench/resort --out reports/resort-experts\n"
        "  judge leaderboard --benchmark bench/resort --run runs/gpt4o --out reports/resort-gpt4o\n"
        "  judge leaderboard --benchmark bench/resort --criteria empathy harmfulness --format md,html --out r/\n"
        "  judge leaderboard --benchmark bench/resort --out r/ --json | jq '.leaderboard.rows[0]'\n",
    )
    p.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark directory")
    p.add_argument("--rubrics", metavar="DIR", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--run", metavar="RUN_DIR", help="score with this judge run instead of the expert ratings")
    p.add_argument("--judge", metavar="NAME", help="which judge of a run with several judges")
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria (default: all with scores)")
    p.add_argument("--n-boot", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="bootstrap seed (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for leaderboard.{md,json,csv,html}")
    p.add_argument(
        "--format", default="md,json,csv,html", metavar="LIST", help="comma list of md, json, csv, html (default: all)"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of the markdown table")
    p.set_defaults(func=run)


def _judge_scores(run_dir: str, judge: str | None, rubrics: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The chosen judge's scores from a run, refusing scores made with other versions of the rubrics."""
    from judge.errors import StaleArtifact, UsageError
    from judge.store import load_run_manifest, load_run_scores

    manifest = load_run_manifest(run_dir)
    by_judge = load_run_scores(run_dir)
    if not by_judge:
        raise UsageError(f"--run {run_dir}: the run has no judgments yet")
    if judge is None:
        if len(by_judge) > 1:
            raise UsageError(
                f"--run {run_dir} has {len(by_judge)} judges ({', '.join(sorted(by_judge))}); "
                "pick one with --judge NAME"
            )
        judge = next(iter(by_judge))
    elif judge not in by_judge:
        raise UsageError(f"--judge {judge!r} is not in run {run_dir}; expected one of {sorted(by_judge)}")
    stale = [
        f"{c}: run used {manifest.rubrics[c]}, loaded {r.ref}"
        for c, r in rubrics.items()
        if c in manifest.rubrics and manifest.rubrics[c] != r.ref
    ]
    if stale:
        raise StaleArtifact(
            f"run {run_dir} was scored with other rubric versions ({'; '.join(stale)}); "
            "pass the run's rubrics with --rubrics, or re-run the judge"
        )
    return judge, by_judge[judge]


def run(args: argparse.Namespace) -> int:
    from judge.benchmark import load_benchmark
    from judge.errors import UsageError
    from judge.leaderboard import system_leaderboard
    from judge.report import build_report, parse_formats, write_report
    from judge.report.markdown import render_table
    from judge.rubric import default_rubrics_dir, load_rubric_set

    formats = parse_formats(args.format)
    if args.n_boot < 1:
        raise UsageError(f"--n-boot must be at least 1, got {args.n_boot}")
    if args.judge and not args.run:
        raise UsageError("--judge needs --run (it picks a judge of that run)")
    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), args.criteria)
    bench = load_benchmark(args.benchmark)
    judge, scores = _judge_scores(args.run, args.judge, rubrics) if args.run else (None, None)
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
        command=shlex.join(["judge", *sys.argv[1:]]),
    )
    report = build_report(board)
    paths = write_report(board, Path(args.out), formats, report=report)
    if args.json:
        print_json({"files": {k: str(v) for k, v in paths.items()}, "leaderboard": board.model_dump(mode="json")})
        return 0
    print(render_table(report.tables[0]))
    for note in board.notes:
        print(f"note: {note}")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
