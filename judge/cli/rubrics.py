"""``judge rubrics``: list and validate rubric files, and write their JSON Schema."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "rubrics",
        "list, validate and describe rubric files",
        "Rubrics are YAML files, one criterion each, validated strictly (unknown fields are errors).",
        "  judge rubrics list                      # the bundled RESORT rubrics\n"
        "  judge rubrics list rubrics/ --json\n"
        "  judge rubrics validate rubrics/         # exit 2 naming every bad field\n"
        "  judge rubrics schema --out rubrics/rubric.schema.json\n"
        "  judge rubrics schema --what benchmark --out datasets/schema   # the benchmark files' schemas\n"
        "  judge rubrics new warmth --scale 1-5 --anchor '1=Cold or dismissive' --anchor '5=Warm and specific' \\\n"
        "      --question 'How warm is the reply?' --out rubrics/mine\n",
    )
    rs = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    lp = rs.add_parser("list", help="list the criteria, their scales, levels and versions")
    lp.add_argument("path", nargs="?", help="rubric file or directory (default: the bundled rubrics/resort)")
    lp.add_argument("--json", action="store_true", help="print JSON")
    lp.set_defaults(func=run_list)
    vp = rs.add_parser("validate", help="validate rubric files; exit 2 listing every problem")
    vp.add_argument("path", help="rubric file or directory")
    vp.add_argument("--json", action="store_true", help="print JSON")
    vp.set_defaults(func=run_validate)
    sp = rs.add_parser("schema", help="write (or print) the JSON Schema of rubric, framing or benchmark files")
    sp.add_argument(
        "--what",
        choices=["rubric", "framing", "benchmark"],
        default="rubric",
        help="rubric files (default), framing files, or the three benchmark files (--out is then a directory)",
    )
    sp.add_argument("--out", help="file (directory for --what benchmark) to write (default: print)")
    sp.set_defaults(func=run_schema)
    np_ = rs.add_parser(
        "new",
        help="scaffold a criterion file from a name, a scale and anchors",
        description="Write <out>/<name>.yaml, a valid rubric to edit (anchors not given are marked TODO), and "
        "<out>/framing.yaml with the neutral framing if the set has none.",
    )
    np_.add_argument("name", help="criterion name (lower case, e.g. warmth)")
    np_.add_argument("--scale", required=True, help="LOW-HIGH (1-5) or values (0,0.5,1)")
    np_.add_argument("--anchor", action="append", default=[], metavar="VALUE=TEXT", help="what a VALUE looks like")
    np_.add_argument("--label", action="append", default=[], metavar="VALUE=LABEL", help="a word for a point")
    np_.add_argument("--title", help="title shown to the judge (default: from the name)")
    np_.add_argument("--question", help="the question the judge answers")
    np_.add_argument("--level", choices=["nominal", "ordinal", "interval"], default="ordinal")
    np_.add_argument("--out", required=True, metavar="DIR", help="the rubric set directory")
    np_.add_argument("--force", action="store_true", help="overwrite an existing file")
    np_.set_defaults(func=run_new)


def _describe(path: str | None) -> list[dict[str, Any]]:
    """One row per criterion (with the set's framing), for list and validate."""
    from judge.data.rubric import default_rubrics_dir, load_rubric_set

    rubrics = load_rubric_set(path or default_rubrics_dir())
    return [
        {
            "name": r.name,
            "title": r.title,
            "version": r.version,
            "hash": r.content_hash,
            "level": r.level,
            "scale": {p.label: p.value for p in r.scale},
            "uses_standards": r.uses_standards,
            "dimensions": [d.id for d in r.dimensions],
            "framing": r.framing.persona,
        }
        for r in rubrics.values()
    ]


def run_list(args: argparse.Namespace) -> int:
    rows = _describe(args.path)
    if args.json:
        print_json({"rubrics": rows})
        return 0
    for r in rows:
        scale = ", ".join(f"{k}={v:g}" for k, v in r["scale"].items())
        dims = f"  dimensions {r['dimensions']}" if r["dimensions"] else ""
        say(f"{r['name']:<26} v{r['version']:<7} {r['level']:<9} #{r['hash']}  [{scale}]{dims}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    rows = _describe(args.path)  # raises InputError (exit 2) with every problem
    if args.json:
        print_json({"valid": True, "rubrics": [r["name"] for r in rows]})
    else:
        say(f"ok: {len(rows)} rubric(s) valid in {args.path}: {', '.join(r['name'] for r in rows)}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    import json

    from judge.data.benchmark import benchmark_json_schemas
    from judge.data.framing import framing_json_schema
    from judge.data.rubric import rubric_json_schema
    from judge.fileio import write_text

    if args.what == "benchmark":
        schemas = benchmark_json_schemas()
        for name, schema in schemas.items():
            if args.out:
                write_text(Path(args.out) / name, json.dumps(schema, indent=2) + "\n")
            else:
                print(json.dumps({name: schema}, indent=2))
        if args.out:
            say(f"wrote {', '.join(schemas)} in {args.out}")
        return 0
    schema = framing_json_schema() if args.what == "framing" else rubric_json_schema()
    text = json.dumps(schema, indent=2) + "\n"
    if args.out:
        write_text(Path(args.out), text)
        say(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def _pairs(specs: list[str], flag: str) -> dict[float, str]:
    from judge.errors import UsageError

    out: dict[float, str] = {}
    for spec in specs:
        value, sep, text = spec.partition("=")
        try:
            out[float(value)] = text.strip()
        except ValueError:
            raise UsageError(f"{flag} {spec!r}: expected VALUE=TEXT, e.g. {flag} '1=Cold or dismissive'") from None
        if not sep or not text.strip():
            raise UsageError(f"{flag} {spec!r}: expected VALUE=TEXT, e.g. {flag} '1=Cold or dismissive'")
    return out


def run_new(args: argparse.Namespace) -> int:
    from judge.data.framing import FRAMING_FILE, SCHEMA_FILE as FRAMING_SCHEMA, new_framing_yaml
    from judge.data.rubric import SCHEMA_FILE, new_rubric_yaml, scale_values, schema_ref
    from judge.errors import UsageError
    from judge.fileio import write_text

    values = scale_values(args.scale)
    anchors, labels = _pairs(args.anchor, "--anchor"), _pairs(args.label, "--label")
    off = sorted((set(anchors) | set(labels)) - set(values))
    if off:
        raise UsageError(f"--anchor/--label for {off}: not points of the scale {[f'{v:g}' for v in values]}")
    out = Path(args.out)
    target = out / f"{args.name}.yaml"
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; choose another name or --force")
    text = new_rubric_yaml(
        args.name, values, anchors, title=args.title, question=args.question, level=args.level, labels=labels,
        schema=schema_ref(out, SCHEMA_FILE),
    )  # fmt: skip
    write_text(target, text)
    say(f"wrote {target}")
    if not (out / FRAMING_FILE).exists():
        write_text(out / FRAMING_FILE, new_framing_yaml(schema=schema_ref(out, FRAMING_SCHEMA)))
        say(f"wrote {out / FRAMING_FILE} (the neutral framing: edit persona and task for your data)")
    todo = [f"{v:g}" for v in values if v not in anchors]
    if todo or not args.question:
        say(f"edit {target}: " + ", ".join(["the question"] * (not args.question) + [f"anchors {todo}"] * bool(todo)))
    return 0
