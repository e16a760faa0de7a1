"""``judge rubrics``: list and validate rubric files, and write their JSON Schema."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "rubrics",
        "list, validate and describe rubric files",
        "Rubrics are YAML files, one criterion each, validated strictly (unknown fields are errors).",
        "  judge rubrics list                      # the bundled RESORT rubrics\n"
        "  judge rubrics list rubrics/ --json\n"
        "  judge rubrics validate rubrics/         # exit 2 naming every bad field\n"
        "  judge rubrics schema --out rubrics/rubric.schema.json\n",
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
    sp = rs.add_parser("schema", help="write (or print) the JSON Schema of rubric files")
    sp.add_argument("--out", help="file to write (default: print)")
    sp.set_defaults(func=run_schema)


def _describe(path: str | None) -> list[dict[str, Any]]:
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
        print(f"{r['name']:<26} v{r['version']:<7} {r['level']:<9} #{r['hash']}  [{scale}]{dims}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    rows = _describe(args.path)  # raises InputError (exit 2) with every problem
    if args.json:
        print_json({"valid": True, "rubrics": [r["name"] for r in rows]})
    else:
        print(f"ok: {len(rows)} rubric(s) valid in {args.path}: {', '.join(r['name'] for r in rows)}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    import json

    from judge.data.rubric import rubric_json_schema
    from judge.fileio import write_text

    text = json.dumps(rubric_json_schema(), indent=2) + "\n"
    if args.out:
        write_text(Path(args.out), text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
