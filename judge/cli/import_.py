"""``judge import KIND``: bring outside data in (the RESORT release; tables of ratings or scores; raw judge outputs).

Every kind goes through one importer interface (``judge.data.importers.base``) and one writer
(``judge.engine.imported.write_import``): nothing is written unless the whole input is valid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json

IMPORT_INTERRUPT = "interrupted: nothing was imported; the output directories are unchanged"

TABLE_HELP = """\
Read expert ratings (and judges' scores) from CSV, TSV, XLSX or JSONL tables into a benchmark (and a run).

Layouts: wide (a column per score, named by --scores: '{criterion}' by default, or '{rater}_{criterion}',
or '{rater}' with --criterion), or long (one rating per row: a 'rating' column and a 'criterion' column); one
file, or one file per rater (the file name is the rater, e.g. alice.csv). Items come from post and response
columns, from --items FILE (one row per item, or one row per conversation turn with role and text columns), or
from an existing --benchmark. Ratings are checked against the rubric scales; every bad cell is named (file,
row, column, value). Scores of the raters named by --as-judge become a run, parsed like live answers.
See docs/your-data.md.
"""


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "import",
        "import the RESORT release, tables of ratings or scores, or raw judge outputs",
        "Import outside data into this tool's formats. Nothing is written unless the whole input is valid.",
        "  judge import resort ~/RESORT_cognitive_reappraisal --out bench/resort --json\n"
        "  judge import table ratings/*.csv --items conversations.csv --rubrics rubrics/mine --out bench/mine\n"
        "  judge import table sheet.xlsx --scores '{rater}_{criterion}' --as-judge gpt4 --as-judge claude \\\n"
        "      --rubrics rubrics/mine --out bench/sheet --run-out runs/sheet\n"
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
    rp.add_argument("sources", nargs=1, metavar="SRC", help="path of the RESORT release (a clone of the repository)")
    rp.add_argument("--out", required=True, help="benchmark directory to write")
    rp.add_argument("--rubrics", help="rubric directory the ratings are checked against (default: rubrics/resort)")
    rp.add_argument("--json", action="store_true", help="print a JSON summary of the counts")
    rp.set_defaults(func=run, on_interrupt=IMPORT_INTERRUPT)
    tp = kinds.add_parser(
        "table",
        help="tables of ratings or judge scores (CSV, TSV, XLSX, JSONL) -> benchmark (and run)",
        description=TABLE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tp.add_argument("sources", nargs="+", metavar="FILE", help="tables of ratings or scores (one per rater, or one)")
    tp.add_argument("--items", metavar="FILE", help="table of the items: posts and responses, or conversation turns")
    tp.add_argument("--rubrics", metavar="DIR", help="the criteria (default: the bundled rubrics/resort)")
    tp.add_argument("--out", metavar="DIR", help="benchmark directory to write (items and expert ratings)")
    tp.add_argument("--name", help="the new benchmark's name (default: the --out directory's name)")
    tp.add_argument("--benchmark", metavar="DIR", help="an existing benchmark the scores refer to (scores only)")
    tp.add_argument("--as-judge", action="append", default=[], metavar="NAME", help="scores of NAME are a judge's")
    tp.add_argument("--run-out", metavar="DIR", help="run directory for the judges' scores")
    tp.add_argument("--mapping", metavar="FILE", help="column mapping (YAML or JSON; see docs/your-data.md)")
    tp.add_argument(
        "--col", action="append", default=[], metavar="KEY=COLUMN", help="map a column, e.g. --col item=conv_id"
    )
    tp.add_argument("--scores", metavar="PATTERN", help="names of score columns: '{criterion}', '{rater}_{criterion}'")
    tp.add_argument("--raters", metavar="A,B", help="the raters a '{rater}' pattern may match")
    tp.add_argument("--rater", metavar="NAME", help="the rater of every score (default: the file name)")
    tp.add_argument("--criterion", metavar="NAME", help="the criterion of every score (tables of one criterion)")
    tp.add_argument("--judged-role", metavar="ROLE", help="judge every turn of this role (default: the last turn)")
    tp.add_argument("--sheet", metavar="NAME", help="XLSX: the sheet to read (default: the first)")
    tp.add_argument("--format", choices=["csv", "tsv", "xlsx", "jsonl"], help="table format (default: by suffix)")
    tp.add_argument("--json", action="store_true", help="print a JSON summary")
    tp.set_defaults(func=run, on_interrupt=IMPORT_INTERRUPT)
    jp = kinds.add_parser(
        "judgments",
        help="raw judge outputs (JSONL) -> run directory, through the same parser",
        description="Each line: {item_id, criterion, judge, raw_output} (optionally sample). Answers are parsed "
        "exactly as live ones; unreadable answers are recorded as unscored with a reason, never guessed.",
    )
    jp.add_argument("sources", nargs=1, metavar="FILE", help="JSONL of raw judge outputs")
    jp.add_argument("--benchmark", required=True, help="benchmark directory the item ids refer to")
    jp.add_argument("--rubrics", help="rubric directory (default: the bundled rubrics/resort)")
    jp.add_argument("--out", dest="run_out", required=True, help="run directory to write")
    jp.add_argument("--json", action="store_true", help="print a JSON summary")
    jp.set_defaults(func=run, on_interrupt=IMPORT_INTERRUPT)


def _options(args: argparse.Namespace, bench: Any) -> dict[str, Any]:
    """The importer options of ``judge import table`` (other kinds take none)."""
    if args.kind != "table":
        return {}
    from judge.data.importers.table import parse_mapping

    mapping = parse_mapping(args.mapping, args.col)
    extra: dict[str, Any] = {}
    if args.scores:
        extra["scores"] = args.scores
    if args.raters:
        extra["raters"] = [r.strip() for r in args.raters.split(",") if r.strip()]
    if args.judged_role:
        extra["judged_role"] = args.judged_role
    if extra:
        mapping = type(mapping).model_validate(mapping.model_dump(exclude_unset=True) | extra)
    return {
        "mapping": mapping,
        "items": args.items,
        "benchmark": bench,
        "as_judge": args.as_judge,
        "rater": args.rater,
        "criterion": args.criterion,
        "sheet": args.sheet,
        "format": args.format,
        "name": args.name or (Path(args.out).name if args.out else None),
    }


def run(args: argparse.Namespace) -> int:
    from judge.data.benchmark import load_benchmark
    from judge.data.importers.base import get_importer
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.imported import write_import
    from judge.errors import UsageError

    out, run_out = getattr(args, "out", None), getattr(args, "run_out", None)
    if args.kind == "table" and args.benchmark and args.out:
        raise UsageError("--benchmark (add scores to an existing benchmark) and --out (write a new one) exclude "
                         "each other")  # fmt: skip
    if args.kind == "table" and args.as_judge and not run_out:
        raise UsageError("--as-judge: give the run directory for the judges' scores (--run-out DIR)")
    importer = get_importer(args.kind)
    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
    bench = load_benchmark(args.benchmark) if getattr(args, "benchmark", None) else None
    got = importer.read([Path(s) for s in args.sources], rubrics, _options(args, bench))
    source = ", ".join(args.sources)
    summary = write_import(
        got,
        rubrics,
        out=out,
        run_out=run_out,
        benchmark=bench,
        command=["judge", *sys.argv[1:]],
        source=source,
        run_flag="--out" if args.kind == "judgments" else "--run-out",
    )
    if args.json:
        # `import judgments` prints the run's summary itself, as it always has (scripts read it)
        print_json(summary["run"] if args.kind == "judgments" else summary)
    else:
        print(describe(args.kind, summary))
    return 0


def describe(kind: str, s: dict[str, Any]) -> str:
    """The human summary of an import."""
    lines = []
    if kind == "resort":
        lines.append(
            f"imported RESORT into {s['out']}: {s['rated_items']} rated items "
            f"({sum(s['ratings'].values())} ratings by {s['raters']} experts), "
            f"{s['unrated_items']} unrated model outputs, {s['posts']} posts"
        )
    elif "out" in s:
        ratings = ", ".join(f"{c} {n}" for c, n in s.get("ratings", {}).items()) or "none"
        raters = s.get("raters", [])
        lines.append(
            f"benchmark {s['out']}: {s['items']} items ({s.get('conversations', 0)} conversations), "
            f"ratings: {ratings}, by {len(raters)} raters {raters}"
        )
    for name, layout in s.get("layouts", {}).items():
        lines.append(f"  read {name} as {layout}")
    for name, cols in s.get("ignored_columns", {}).items():
        lines.append(f"  ignored columns of {name}: {cols}")
    if s.get("empty_cells"):
        lines.append(f"  empty cells (not rated / no answer): {s['empty_cells']}")
    if "run" in s:
        from judge.cli.run import format_summary

        lines.append(format_summary(s["run"]))
    return "\n".join(lines)
