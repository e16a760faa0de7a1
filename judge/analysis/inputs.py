"""What every analysis verb loads first: the rubric set, the benchmark with its ratings checked, raters left out,
and the levels of measurement to analyse at.

Example::

    from judge.analysis.inputs import load_inputs
    inp = load_inputs("bench/resort", criteria=["empathy"], exclude_raters=["resort:11"], levels=["interval"])
    inp.bench, inp.rubrics, inp.criteria, inp.levels
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from judge.analysis.experts import exclude_raters as drop_raters
from judge.data.benchmark import Benchmark, check_ratings, load_benchmark
from judge.data.rubric import Level, Rubric, default_rubrics_dir, load_rubric_set
from judge.errors import InputError, Problem, UsageError

LEVELS: tuple[str, ...] = ("nominal", "ordinal", "interval")


@dataclass
class Inputs:
    """The checked inputs of one analysis."""

    bench: Benchmark
    rubrics: dict[str, Rubric] = field(default_factory=dict)  # the whole set (ratings are checked against it)
    criteria: list[str] = field(default_factory=list)  # the selected criteria, in order
    levels: dict[str, Level] = field(default_factory=dict)  # overrides of the rubrics' levels
    excluded_raters: list[str] = field(default_factory=list)

    @property
    def selected(self) -> dict[str, Rubric]:
        return {c: self.rubrics[c] for c in self.criteria}


def parse_levels(values: Sequence[str], criteria: Sequence[str]) -> dict[str, Level]:
    """``--level interval`` (every selected criterion) or ``--level empathy=interval`` (one), repeatable."""
    out: dict[str, Level] = {}
    for v in values:
        crit, sep, level = v.rpartition("=")
        if level not in LEVELS:
            raise UsageError(f"--level {v!r}: expected LEVEL or CRITERION=LEVEL with LEVEL one of {list(LEVELS)}")
        if sep and crit not in criteria:
            raise UsageError(f"--level {v!r}: {crit!r} is not an analysed criterion; expected one of {list(criteria)}")
        for c in [crit] if sep else criteria:
            out[c] = cast(Level, level)
    return out


def load_inputs(
    benchmark: str | Path,
    rubrics_dir: str | Path | None = None,
    *,
    criteria: Sequence[str] | None = None,
    exclude_raters: Sequence[str] = (),
    levels: Sequence[str] = (),
) -> Inputs:
    """Load and check the inputs of an analysis verb.

    Args:
        benchmark: the benchmark directory.
        rubrics_dir: a rubric file or directory (default: the bundled RESORT rubrics). The whole set is loaded, so
            that ratings on criteria that have a rubric but were not selected are not reported as unknown.
        criteria: the criteria to analyse (default: all); an unknown name is an ``InputError``.
        exclude_raters: raters whose ratings are left out (``--exclude-rater``).
        levels: ``--level`` values (see ``parse_levels``).

    Raises:
        InputError: bad rubric or benchmark files, expert ratings that the rubrics do not allow, unknown criteria.
        UsageError: an unknown rater, a bad ``--level``.
    """
    rubrics = load_rubric_set(rubrics_dir or default_rubrics_dir())
    if criteria:
        unknown = [c for c in criteria if c not in rubrics]
        if unknown:
            raise InputError(Problem("--criteria", f"unknown criterion {unknown}; expected one of {sorted(rubrics)}"))
    selected = list(criteria) if criteria else list(rubrics)
    bench = load_benchmark(benchmark)
    check_ratings(bench, rubrics)
    bench = drop_raters(bench, exclude_raters)
    return Inputs(
        bench=bench,
        rubrics=rubrics,
        criteria=selected,
        levels=parse_levels(levels, selected),
        excluded_raters=list(dict.fromkeys(exclude_raters)),
    )


def systems_of(bench: Benchmark) -> Mapping[str, str]:
    """item id -> the readable name of the system that produced it."""
    return {i: it.system_name for i, it in bench.items.items()}
