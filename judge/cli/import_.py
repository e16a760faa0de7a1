"""``judge import``: bring outside data in (the RESORT release; precomputed judge outputs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "import",
        "import the RESORT release or precomputed judge outputs",
        "Import outside data into this tool's formats. Nothing is written unless the whole input is valid.",
        "  judge import resort ~/RESORT_cognitive_reappraisal --out bench/resort --json\n"
        "  judge import judgments gpt4.jsonl --benchmark bench/resort --out runs/gpt4 --json\n",
    )
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    rp = kinds.add_parser(
        "resort",
        help="the RESORT expert study release -> benchmark directory",
        description="Read a clone of github.com/honglizhan/RESORT_cognitive_reappraisal (its own layout) and write "
        "a benchmark: items.jsonl (227 rated responses as resort:<position>, plus the released model outputs as "
        "unrated items), ratings.jsonl (the psychologists' ratings, by annotator), posts.jsonl, benchmark.json.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.add_argument("src", help="path of the RESORT release (a clone of the repository)")
    rp.add_argument("--out", required=True, help="benchmark directory to write")
    rp.add_argument("--json", action="store_true", help="print a JSON summary of the counts")
    rp.set_defaults(func=run_resort)
    jp = kinds.add_parser(
        "judgments",
        help="raw judge outputs (JSONL) -> run directory, through the same parser",
        description="Each line: {item_id, criterion, judge, raw_output} (optionally sample). Answers are parsed "
        "exactly as live ones; unreadable answers are recorded as unscored with a reason, never guessed.",
    )
    jp.add_argument("file", help="JSONL of raw judge outputs")
    jp.add_argument("--benchmark", required=True, help="benchmark directory the item ids refer to")
    jp.add_argument("--rubrics", help="rubric directory (default: the bundled rubrics/resort)")
    jp.add_argument("--out", required=True, help="run directory to write")
    jp.add_argument("--json", action="store_true", help="print a JSON summary")
    jp.set_defaults(func=run_judgments)


def run_resort(args: argparse.Namespace) -> int:
    from judge.data.benchmark import save_benchmark
    from judge.data.importers.resort import import_resort, import_summary, read_posts
    from judge.fileio import write_jsonl

    bench = import_resort(args.src)
    posts = read_posts(Path(args.src).expanduser())
    out = save_benchmark(bench, args.out)
    write_jsonl(out / "posts.jsonl", posts)
    summary = import_summary(bench, len(posts)) | {"out": str(out)}
    if args.json:
        print_json(summary)
    else:
        print(
            f"imported RESORT into {out}: {summary['rated_items']} rated items "
            f"({sum(summary['ratings'].values())} ratings by {summary['raters']} experts), "
            f"{summary['unrated_items']} unrated model outputs, {summary['posts']} posts"
        )
    return 0


def run_judgments(args: argparse.Namespace) -> int:
    from judge.cli.run import format_summary
    from judge.data.benchmark import load_benchmark
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.imported import import_judgments_to_run

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
    bench = load_benchmark(args.benchmark)
    summary = import_judgments_to_run(args.file, bench, rubrics, args.out, command=["judge", *sys.argv[1:]])
    data = summary.model_dump(mode="json")
    if args.json:
        print_json(data)
    else:
        print(format_summary(data))
    return 0
