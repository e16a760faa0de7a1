"""``judge import KIND``: bring outside data in (the RESORT release; tables of ratings or scores; raw judge outputs).

Every kind goes through one importer interface (``judge.data.importers.base``) and one writer
(``judge.engine.imported.write_import``): nothing is written unless the whole input is valid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json, say
from judge.cli._parser import LazySubParsers, add_lazy_subparsers

IMPORT_INTERRUPT = "interrupted: nothing was imported; the output directories are unchanged"
WHOLE_OR_NOTHING = "Nothing is written unless the whole input is valid."

TABLE_HELP = """\
Read expert ratings (and judges' scores) from CSV, TSV, XLSX or JSONL tables into a benchmark (and a run).

Layouts: wide (a column per score, named by --scores: '{criterion}' by default, or '{rater}_{criterion}',
or '{rater}' with --criterion), or long (one rating per row: a 'rating' column and a 'criterion' column); one
file, or one file per rater (the file name is the rater, e.g. alice.csv; --rater-names to map it). Items come
from post and response columns, from --items FILE (one row per item; one row per conversation turn with role
and text columns; or a whole conversation per row in a transcript column, split by --speakers), or from an
existing --benchmark. A grid of systems (a row per context, a column per system) is read with '{system}' in
the response column (--col response='reply_{system}') and in --scores; a score cell may hold every criterion
(a JSON object, or 'warmth: 4; helpfulness: 3'). Ratings are checked against the rubric scales; every bad cell
is named (file, row, column, value); --off-scale missing reads off-scale numbers as not rated, counted. Scores
of the raters named by --as-judge become a run, parsed like live answers. See docs/your-data.md.
"""

TABLE_EXAMPLES = """\
examples:
  judge import table ratings/*.csv --items conversations.csv --judged-role supporter --rubrics my-rubrics --out bench/a
  judge import table ratings/*.csv --items chats.csv --col transcript=chat \\
      --speakers Seeker=seeker,Supporter=supporter --judged-role supporter --rubrics my-rubrics --out bench/b
  judge import table grid/ratings/*.csv --items grid/replies.csv --col item=context_id --col post=context \\
      --col response='reply_{system}' --scores '{system}' --rubrics my-rubrics --out bench/grid
  judge import table expert1_ratings.csv expert2_ratings.csv --rater-names '{rater}_ratings' --off-scale missing \\
      --items items.csv --rubrics my-rubrics --out bench/c
"""


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "import",
        "import the RESORT release, tables of ratings or scores, or raw judge outputs",
        "Import outside data into this tool's formats. Nothing is written unless the whole input is valid.",
        "  judge import resort ~/RESORT_cognitive_reappraisal --out bench/resort --gpt4-run runs/gpt4 --json\n"
        "  judge import table ratings/*.csv --items conversations.csv --rubrics rubrics/mine --out bench/mine\n"
        "  judge import table sheet.xlsx --scores '{rater}_{criterion}' --as-judge gpt4 --as-judge claude \\\n"
        "      --rubrics rubrics/mine --out bench/sheet --run-out runs/sheet\n"
        "  judge import judgments gpt4.jsonl --benchmark bench/resort --out runs/gpt4 --json\n",
    )
    # the importers with no flags of their own below are added by _registered_kinds, when `judge import` is used
    kinds = add_lazy_subparsers(p, _registered_kinds, dest="kind", metavar="KIND", required=True)
    rp = kinds.add_parser(
        "resort",
        help="the RESORT expert study release -> benchmark directory",
        description="Read a clone of github.com/honglizhan/RESORT_cognitive_reappraisal (its own layout) and write "
        "a benchmark: items.jsonl (227 rated responses as resort:<position>, plus the released model outputs as "
        "unrated items), ratings.jsonl (the psychologists' ratings, by annotator), posts.jsonl, benchmark.json.\n\n"
        "--gpt4-run DIR also writes GPT-4's own judgments from the release's eval-gpt4/ folders as a run: each answer "
        "is matched to a rated item by post, response text (whitespace and typographic quotes normalised) and "
        "appraisal dimension, and parsed like a live answer. The summary says how many matched per criterion, and "
        "how many rated items had no answer or several different ones (left out, never guessed).\n\n"
        "example:\n"
        "  judge import resort ~/RESORT_cognitive_reappraisal --out bench/resort --gpt4-run runs/gpt4\n"
        "  judge agree --benchmark bench/resort --run runs/gpt4",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.add_argument("sources", nargs=1, metavar="SRC", help="path of the RESORT release (a clone of the repository)")
    rp.add_argument("--out", required=True, help="benchmark directory to write")
    rp.add_argument("--rubrics", help="rubric directory the ratings are checked against (default: rubrics/resort)")
    rp.add_argument(
        "--gpt4-run",
        dest="run_out",
        metavar="DIR",
        help="also write GPT-4's released judgments on the rated items (eval-gpt4/) as a run directory",
    )
    rp.add_argument("--json", action="store_true", help="print a JSON summary of the counts")
    rp.set_defaults(func=run, on_interrupt=IMPORT_INTERRUPT)
    tp = kinds.add_parser(
        "table",
        help="tables of ratings or judge scores (CSV, TSV, XLSX, JSONL) -> benchmark (and run)",
        description=TABLE_HELP,
        epilog=TABLE_EXAMPLES,
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
    tp.add_argument(
        "--rater-names",
        metavar="PATTERN|FILE=NAME,...",
        help="raters from file names: a pattern ('{rater}_ratings': expert1_ratings.csv -> expert1) or pairs "
        "(expert1_ratings=ana,expert2_ratings=ben)",
    )
    tp.add_argument(
        "--speakers",
        metavar="PREFIX=ROLE,...",
        help="transcripts in one cell: the speaker prefixes and their roles (Seeker=seeker,Supporter=supporter); "
        "default: detected and reported",
    )
    tp.add_argument("--systems", metavar="A,B", help="the systems a '{system}' pattern may match (default: any)")
    tp.add_argument(
        "--off-scale",
        choices=["refuse", "missing"],
        default="refuse",
        help="a rating off its scale (a 0 or 6 on 1-5): refuse the import (default), or read it as not rated, "
        "counted per value and criterion in the summary and the benchmark's manifest",
    )
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


def _registered_kinds(kinds: LazySubParsers) -> None:
    """Every importer registered (``judge.data.importers.base.IMPORTERS``) is a kind: those with no parser of their
    own above get one with the flags every import takes. A kind above that no importer registers is a fault."""
    import inspect

    from judge.data.importers.base import IMPORTERS
    from judge.registry import RegistryError

    orphans = [k for k in kinds.choices if k not in IMPORTERS]
    if orphans:
        registered = ", ".join(IMPORTERS.names())
        raise RegistryError(f"judge import {orphans[0]}: no importer registers this kind (registered: {registered})")
    for kind in IMPORTERS.names():
        if kind in kinds.choices:
            continue
        importer = IMPORTERS.get(kind)
        gp = kinds.add_parser(
            kind,
            help=importer.reads,
            description=f"{inspect.cleandoc(importer.__doc__ or importer.reads)}\n\n{WHOLE_OR_NOTHING}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        gp.add_argument("sources", nargs="+", metavar="SRC", help="what to import (files or a directory)")
        gp.add_argument("--out", metavar="DIR", help="benchmark directory to write (items and expert ratings)")
        gp.add_argument("--benchmark", metavar="DIR", help="an existing benchmark the scores refer to")
        gp.add_argument("--run-out", metavar="DIR", help="run directory for judge scores")
        gp.add_argument("--rubrics", metavar="DIR", help="the criteria (default: the bundled rubrics/resort)")
        gp.add_argument("--json", action="store_true", help="print a JSON summary")
        gp.set_defaults(func=run, on_interrupt=IMPORT_INTERRUPT)


def _options(args: argparse.Namespace, bench: Any) -> dict[str, Any]:
    """The importer options of ``judge import table`` and ``resort`` (``judgments`` takes none)."""
    if args.kind == "resort":
        return {"gpt4": bool(args.run_out)}
    if args.kind != "table":
        return {}
    from judge.data.importers.table import parse_mapping
    from judge.data.importers.transcripts import parse_speakers
    from judge.data.names import normal_name

    mapping = parse_mapping(args.mapping, args.col)
    extra: dict[str, Any] = {}
    if args.scores:
        extra["scores"] = args.scores
    if args.raters:
        extra["raters"] = [normal_name(r) for r in args.raters.split(",") if r.strip()]
    if args.judged_role:
        extra["judged_role"] = args.judged_role
    if args.systems:
        extra["systems"] = [normal_name(x) for x in args.systems.split(",") if x.strip()]
    if extra:
        mapping = type(mapping).model_validate(mapping.model_dump(exclude_unset=True) | extra)
    return {
        "mapping": mapping,
        "items": args.items,
        "benchmark": bench,
        "as_judge": args.as_judge,
        "rater": args.rater,
        "rater_names": args.rater_names,
        "speakers": parse_speakers(args.speakers) if args.speakers else None,
        "off_scale": args.off_scale,
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
        say(describe(args.kind, summary))
    return 0


def _layout_details(s: dict[str, Any]) -> list[str]:
    """What the transcript, grid and off-scale readers did, in the human summary."""
    lines = []
    if t := s.get("transcripts"):
        how = "detected" if t["speakers_detected"] is not None else "given"
        seen = t["speakers_detected"] or {}
        names = ", ".join(f"{k!r} -> {v}" + (f" (in {seen[k]} transcripts)" if k in seen else "")
                          for k, v in t["speakers"].items())  # fmt: skip
        lines.append(
            f"  transcripts: {t['conversations']} conversations, {t['turns']} turns, {t['continuation_lines']} "
            "continuation lines (kept with their turn)"
        )
        lines.append(
            f"  speakers {how}: {names}" + (" (name them with --speakers PREFIX=ROLE,...)" * (how == "detected"))
        )
    if g := s.get("grid"):
        empty = f", {g['empty_responses']} empty response cells (no item)" if g.get("empty_responses") else ""
        lines.append(f"  grid: {g.get('items', 0)} items (row x system), systems {g['systems']}{empty}")
    if keys := s.get("cell_keys_ignored"):
        lines.append(f"  keys in score cells that name no criterion (not read): {keys}")
    if "off_scale_missing" in s:
        off = s["off_scale_missing"]
        counts = "; ".join(f"{c}: " + ", ".join(f"{v} x{n}" for v, n in per.items()) for c, per in off.items())
        total = sum(sum(per.values()) for per in off.values())
        lines.append(
            f"  off-scale ratings read as not rated (--off-scale missing): {total}" + (f" ({counts})" if total else "")
        )
    return lines


def describe(kind: str, s: dict[str, Any]) -> str:
    """The human summary of an import."""
    lines = []
    if kind == "resort":
        lines.append(
            f"imported RESORT into {s['out']}: {s['rated_items']} rated items "
            f"({sum(s['ratings'].values())} ratings by {s['raters']} experts), "
            f"{s['unrated_items']} unrated model outputs, {s['posts']} posts"
        )
        if "gpt4" in s:
            lines.append(f"GPT-4's released judgments ({s['gpt4']['judge']}) matched to rated items, per criterion:")
            for c, n in s["gpt4"]["by_criterion"].items():
                lines.append(
                    f"  {c}: {n['matched']} of {n['rated_items']} rated items ({n['unmatched']} with no answer, "
                    f"{n['ambiguous']} with different answers, left out; {n['answers']} answers in {n['files']} files)"
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
    lines += _layout_details(s)
    if kind == "versus":
        lines.append(
            f"  candidate {s['candidate_items']} replies, baseline {s['baseline_items']}, {s['shared_inputs']} posts x "
            "dimensions with both; judge them with: judge run --task pairwise --pairs baseline:baseline "
            f"--benchmark {s['out']} ..."
        )
    if "run" in s:
        from judge.cli.run import format_summary

        lines.append(format_summary(s["run"]))
    return "\n".join(lines)
