"""Rewrite the README's RESORT tables from the verbs' output: ``python -m benchmarks.readme_tables [--check]``.

See ``benchmarks/readme_tables/__init__.py``. Needs the RESORT release (default ``../shared/data/resort``).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.readme_tables import README, RESORT, current, rewrite, tables


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.readme_tables", description=__doc__)
    p.add_argument("--resort", type=Path, default=RESORT, help=f"the RESORT release (default {RESORT})")
    p.add_argument("--readme", type=Path, default=README, help="the README to rewrite (default the project's)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a table differs")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        new = tables(args.resort, Path(work))
    text = args.readme.read_text(encoding="utf-8")
    old = current(text)
    changed = [name for name, t in new.items() if old.get(name) != t]
    if args.check:
        for name in changed:
            print(f"{args.readme}: table {name!r} differs from what the verbs compute", file=sys.stderr)
        return 1 if changed else 0
    args.readme.write_text(rewrite(text, new), encoding="utf-8")
    print(f"{args.readme}: {len(changed)} table(s) rewritten ({', '.join(changed) or 'none changed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
