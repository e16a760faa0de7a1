"""Helpers shared by the verb modules: common options, validated numbers and JSON printing."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
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


def bounded(
    kind: type[int] | type[float], low: float | None = None, high: float | None = None, *, above: bool = False
) -> Callable[[str], Any]:
    """An argparse ``type`` for a number within a range: a value outside it is refused (exit 2) with a message
    naming the flag, the value and the allowed range.

    Args:
        low: the smallest allowed value (``above``: values must be strictly greater).
        high: the largest allowed value.
    """
    what = "an integer" if kind is int else "a number"
    lo, hi = (None if v is None else (str(int(v)) if kind is int else f"{v:g}") for v in (low, high))
    if lo is not None and hi is not None:
        allowed = f"{what} {'>' if above else '>='} {lo} and <= {hi}"
    elif lo is not None:
        allowed = f"{what} {'>' if above else '>='} {lo}"
    else:
        allowed = what if hi is None else f"{what} <= {hi}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
        too_low = low is not None and (value < low or (above and value == low))
        if too_low or (high is not None and value > high) or value != value:  # value != value: NaN
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def add_judge_options(p: argparse.ArgumentParser, *, several: str = "repeat for a panel") -> None:
    """``--judge`` (repeatable), ``--api-base`` and ``--api-key-env``: how the verbs that call judges name them."""
    p.add_argument(
        "--judge",
        action="append",
        default=[],
        metavar="MODEL|FILE.toml",
        help=f"LiteLLM model string, 'local', or a judge config file; {several} (default: local)",
    )
    p.add_argument("--api-base", help="base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama)")
    p.add_argument(
        "--api-key-env",
        metavar="NAME",
        help="environment variable holding the key for the MODEL judges (e.g. a server given by --api-base; "
        "default: the provider's usual variable, none for --api-base). The key itself is never written anywhere",
    )
