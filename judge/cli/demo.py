"""``judge demo``: the main job, offline: the embedded local judge scores the bundled demo; a report is written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli import RESUMABLE_INTERRUPT
from judge.cli._common import add_parser, bounded, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "demo",
        "score the bundled demo with the embedded local judge (offline) and write a report",
        "Runs the whole job on this machine with no API key: the embedded judge (Qwen2.5 1.5B through llama.cpp)\n"
        "scores the bundled demo benchmark (5 posts x 3 systems) on two RESORT criteria, alignment and empathy\n"
        "(--criteria for others), then writes a leaderboard (markdown, HTML, JSON, CSV) and the item viewer to\n"
        "reports/demo/, and says which file to open first. The run is cached: a second 'judge demo' is instant.\n"
        "With --benchmark pointing at a benchmark with expert ratings, it also reports agreement with the experts\n"
        "(only the rated items are judged).",
        "  judge demo                                   # ~2.5 min on 2 cores the first time, instant afterwards\n"
        "  judge demo --judge local/qwen2.5-0.5b        # the faster, coarser local model\n"
        "  judge demo --benchmark bench/resort --limit 20 --criteria empathy harmfulness\n"
        "  judge demo --judge openai/gpt-4o-mini        # any LiteLLM model (needs its API key)\n",
    )
    p.add_argument("--judge", default="local", help="judge model (default: local = local/qwen2.5-1.5b)")
    p.add_argument("--api-base", help="base URL of an OpenAI-compatible server")
    p.add_argument("--benchmark", help="benchmark directory (default: the bundled demo)")
    p.add_argument("--rubrics", help="rubric directory (default: the bundled rubrics/resort)")
    p.add_argument("--criteria", nargs="+", help="only these criteria")
    p.add_argument("--limit", type=bounded(int, 1), help="only the first N items")
    p.add_argument("--out", default="reports/demo", help="report directory (default reports/demo)")
    p.add_argument("--cache-dir", help="reply cache location")
    p.add_argument("--concurrency", type=int, default=4, help="calls in flight (default 4)")
    p.add_argument("--no-progress", action="store_true", help="no progress line")
    p.add_argument("--json", action="store_true", help="print JSON (run summary, leaderboard, files)")
    p.set_defaults(func=run, on_interrupt=RESUMABLE_INTERRUPT)


def run(args: argparse.Namespace) -> int:
    from judge.jobs.demo import judge_line, result_json, run_demo
    from judge.report import build_report
    from judge.report.text import render_table_text
    from judge.terminal import output_width

    r = run_demo(
        judge=args.judge,
        api_base=args.api_base,
        benchmark=args.benchmark,
        rubrics=args.rubrics,
        criteria=args.criteria,
        out=args.out,
        limit=args.limit,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        concurrency=args.concurrency,
        progress=False if args.no_progress else None,
        command=["judge", *sys.argv[1:]],
        announce=None if args.json else (lambda line: say(line, file=sys.stderr)),
    )
    # As for `judge run`: judgments that failed for a provider reason, or too many unscored, fail the demo.
    code = 1 if r.summary.problems else 0
    for problem in r.summary.problems:
        say(f"error: {problem}", file=sys.stderr)
    if args.json:
        print_json(result_json(r))
        return code
    width = output_width()
    page = r.files["html"]
    say()
    say(render_table_text(build_report(r.leaderboard).tables[0], width, more=f"see {page} or --json"))
    say()
    say(judge_line(args.judge, r.summary, r.wall_s))
    if r.agreement is not None:
        from judge.report.agreement import agreement_document
        from judge.report.text import render_text

        say()
        say(render_text(agreement_document(r.agreement), width, captions=False), end="")
    say()
    say("Open first: the leaderboard (each system's name opens its judgments, item by item):")
    say(f"  {page.resolve().as_uri()}")
    say("Every judgment, with the post, the response and the judge's answer:")
    say(f"  {r.files['viewer'].resolve().as_uri()}")
    others = [str(p) for k, p in r.files.items() if k not in ("html", "viewer")]
    say(f"Also written: {', '.join(others)}")
    return code
