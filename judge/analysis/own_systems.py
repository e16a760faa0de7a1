"""Leaving a judge's own system out of its row (``--self JUDGE=SYSTEM``, repeatable).

A judge rating replies written by its own model family is a known bias (self-preference), and papers report a
judge's agreement with its own system left out. ``--self gpt4=gpt-4-turbo`` names the system(s) a judge must not be
scored on; those items are dropped from that judge's row only (its kappa, its ceiling on its items, every other
statistic), never from the other rows, and the report says so.

A SYSTEM matches an item when it is the item's system name as the reports print it (``model / pipeline /
method``) or the item's model (every system of that model). A JUDGE is a judge's name in the report, its name in
the run, or its model; a calibrated copy of a judge follows its judge.

Example::

    mapping = parse_self(["gpt-4-1106-preview=gpt-4-turbo"])
    left_out = own_items(bench, judges, mapping)     # judge name -> (its systems, item ids left out of its row)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from judge.errors import InputError, Problem, UsageError

if TYPE_CHECKING:
    from judge.analysis.scores import JudgeScores
    from judge.data.benchmark import Benchmark, Item


def parse_self(values: Sequence[str]) -> dict[str, list[str]]:
    """``["JUDGE=SYSTEM", ...]`` -> judge -> its systems (``UsageError`` naming a value without ``=``)."""
    out: dict[str, list[str]] = {}
    for v in values:
        judge, sep, system = v.partition("=")
        if not sep or not judge.strip() or not system.strip():
            raise UsageError(f"--self {v!r}: expected JUDGE=SYSTEM, e.g. --self gpt-4o=gpt-4-turbo")
        out.setdefault(judge.strip(), []).append(system.strip())
    return out


def _is(it: Item, system: str) -> bool:
    return system in (it.system_name, it.system.get("model"))


def own_items(
    bench: Benchmark, judges: Sequence[JudgeScores], mapping: Mapping[str, Sequence[str]]
) -> dict[str, tuple[list[str], set[str]]]:
    """Judge name (as the report names it) -> its own systems as given, and the ids of their items.

    Raises:
        InputError: a JUDGE that names no judge of the runs, or a SYSTEM that matches no item of the benchmark
            (each named, with the choices).
    """
    problems = []
    names = {j.name for j in judges} | {j.run_judge for j in judges} | {j.model for j in judges}
    for judge in mapping:
        if judge not in names:
            problems.append(Problem(f"--self {judge}=...", f"no judge {judge!r} in the runs; judges: {sorted(names)}"))
    systems = sorted({it.system_name for it in bench.items.values()})
    for judge, wanted in mapping.items():
        for s in wanted:
            if not any(_is(it, s) for it in bench.items.values()):
                shown = systems[:12] + ([f"... {len(systems) - 12} more"] if len(systems) > 12 else [])
                problems.append(
                    Problem(
                        f"--self {judge}={s}",
                        f"no item of benchmark {bench.name!r} comes from system {s!r}; expected a system name "
                        f"({shown}) or a model",
                    )
                )
    if problems:
        raise InputError(problems)
    out: dict[str, tuple[list[str], set[str]]] = {}
    for j in judges:
        wanted = list(dict.fromkeys(s for key in (j.name, j.run_judge, j.model) for s in mapping.get(key, ())))
        if wanted:
            out[j.name] = (wanted, {i for i, it in bench.items.items() if any(_is(it, s) for s in wanted)})
    return out


def self_note(judge: str, systems: Sequence[str], counts: Mapping[str, int]) -> str:
    """What the report says about one judge's own systems (all formats carry the notes)."""
    per = ", ".join(f"{n} on {c}" for c, n in counts.items())
    return f"{judge}: the items of its own system(s) {list(systems)} are left out of its row (--self): {per}"
