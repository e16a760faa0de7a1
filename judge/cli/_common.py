"""Helpers shared by the verb modules: common options and JSON printing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parser(sub: Any, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """Add a verb parser whose epilog teaches by example."""
    from judge.cli import HelpFormatter

    return sub.add_parser(
        name, help=help, description=description, epilog="examples:\n" + examples, formatter_class=HelpFormatter
    )


def print_json(data: Any) -> None:
    """Print one JSON object on stdout (for scripts)."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """``--exclude-rater`` and ``--level``, shared by the verbs that compare judges with experts."""
    p.add_argument(
        "--exclude-rater",
        action="append",
        default=[],
        metavar="NAME",
        help="leave this expert's ratings out (repeatable): e.g. when the judge is one of the raters",
    )
    p.add_argument(
        "--level",
        action="append",
        default=[],
        metavar="[CRITERION=]LEVEL",
        help="analyse at this level of measurement (nominal, ordinal, interval) instead of the rubric's, for every "
        "criterion or one (repeatable); the rubric and the runs are unchanged",
    )


def one_blas_thread() -> None:
    """Keep numpy's BLAS to one thread in the analysis verbs (unless the user set it).

    Their matrix products are many and small (patterns x statistics); a BLAS thread pool spends longer waking its
    threads than computing them, and on a busy machine much longer (measured: 30x on a (600 x 300) @ (300 x 20)
    product with 2 contended cores). Takes effect only before numpy is first imported, which the verbs do in
    ``run``.
    """
    import os

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
