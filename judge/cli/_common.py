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


def report_formats() -> str:
    """Every report format, comma-separated (``--format``'s default and help), read from the renderers' registry."""
    from judge.report.renderers import FORMATS  # the names only: no renderer, no pydantic model is imported

    return ",".join(FORMATS.names())


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


def add_baseline_option(p: argparse.ArgumentParser) -> None:
    """``--baseline FIELD``: a numeric item field shown as a trivial judge beside the length rows."""
    p.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="FIELD",
        help="also show this numeric item field (a top-level field or a key of the items' meta) as a baseline row, "
        "computed like a judge's, beside the reply-length rows that are always there (repeatable)",
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


#: The fewest bootstrap resamples a verb accepts: fewer put a 95% CI's bounds at the extreme resamples, and the
#: verdicts read from the CIs ("helps", "every change CI spans 0") would rest on nothing.
MIN_N_BOOT = 20
#: Seeds are 31-bit, like the judges' sampling seeds of ``judge run`` (numpy refuses negative ones).
MAX_SEED = 2**31 - 1


def n_boot_type(*, allow_zero: bool = False) -> Callable[[str], int]:
    """The argparse ``type`` of ``--n-boot``: at least ``MIN_N_BOOT`` (or 0, no CIs, where a verb allows it)."""
    at_least = bounded(int, MIN_N_BOOT, 10_000_000)

    def parse(text: str) -> int:
        if allow_zero and text.strip() == "0":
            return 0
        try:
            return int(at_least(text))
        except argparse.ArgumentTypeError:
            zero = "0 (no confidence intervals) or " if allow_zero else ""
            raise argparse.ArgumentTypeError(
                f"expected {zero}an integer from {MIN_N_BOOT} to 10000000 (fewer resamples leave a 95% CI at the "
                f"extreme resamples), got {text!r}"
            ) from None

    parse.__name__ = "int"
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
    p.add_argument(
        "--timeout",
        type=bounded(float, 0, above=True),
        metavar="S",
        help="seconds one call attempt may take before it is abandoned and retried (default 120; a judge config "
        "file's own timeout wins). A slow server that queues requests wants more, or a lower --concurrency",
    )


def say(text: str = "", *, file: Any = None, end: str = "\n") -> None:
    """Print human-readable text laid out for where it goes: every line longer than the terminal (or, off a
    terminal, ``PIPE_WIDTH``) wrapped under its own indent. Tables are laid out before (``report.text``); this
    only wraps the prose around them, so that nothing a verb prints is wider than the terminal."""
    from judge.report.text import wrap_lines
    from judge.terminal import output_width

    out = file if file is not None else sys.stdout
    print(wrap_lines(text, output_width(out)), file=out, end=end)


def pairwise_runs(runs: list[str]) -> bool:
    """Whether the --run dirs are pairwise runs (all of them); a mix with scoring runs is refused."""
    from judge.engine.store import load_run_manifest
    from judge.errors import UsageError

    tasks = {r: load_run_manifest(r).task for r in runs}  # a directory that is not a run is refused here
    pairwise = [r for r, t in tasks.items() if t == "pairwise"]
    if pairwise and len(pairwise) < len(runs):
        other = next(r for r in runs if r not in pairwise)
        raise UsageError(
            f"--run {pairwise[0]} is a pairwise run and --run {other} is not: a leaderboard or a viewer reads one "
            "kind of run (scores or pairwise verdicts); make one per kind"
        )
    return bool(pairwise)
