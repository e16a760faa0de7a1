"""Precomputed judgments: raw judge outputs from elsewhere become a run, through the same parser as live calls.

Input JSONL, one line per (item, criterion[, sample])::

    {"item_id": "resort:0", "criterion": "empathy", "judge": "gpt-4-1106-preview", "raw_output": "4"}

Optional fields: ``sample`` (default 0), ``model``, ``finish_reason``; other fields (e.g. ``source``) are ignored.
The whole file is validated first: nothing is written if any line is bad.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.data.benchmark import Benchmark
from judge.data.rubric import Rubric, find_criterion_name, validation_problems
from judge.engine.judgment import Judgment, judgment_from_answer
from judge.engine.store import RunManifest, RunStore, RunSummary, benchmark_record, iter_records, summarise
from judge.errors import InputError, Problem
from judge.fileio import read_jsonl_collect


class RawOutput(BaseModel):
    """One line of a file of precomputed judge outputs. Other keys (provenance such as ``source``) are ignored."""

    model_config = ConfigDict(extra="ignore")

    item_id: str = Field(min_length=1)
    criterion: str = Field(min_length=1, description="Criterion name; spellings like 'harmful' are normalised.")
    judge: str = Field(min_length=1, description="Name of the judge that wrote the output.")
    raw_output: str | None = Field(description="The judge's text, exactly as returned (null if none).")
    sample: int = Field(default=0, ge=0)
    finish_reason: str | None = None
    model: str = ""


def judgment_from_output(raw: RawOutput, rubric: Rubric) -> Judgment:
    """Parse one precomputed output exactly as a live answer is parsed and record it as a ``Judgment``."""
    meta = dict(
        item_id=raw.item_id,
        criterion=rubric.name,
        judge=raw.judge,
        sample=raw.sample,
        model=raw.model or raw.judge,
        rubric=rubric.ref,
    )
    return judgment_from_answer(meta, raw.raw_output, rubric, finish_reason=raw.finish_reason)


def import_judgments(
    rows: Iterable[tuple[int, Any]],
    rubrics: Mapping[str, Rubric],
    *,
    source: str,
    item_ids: Collection[str] | None = None,
) -> list[Judgment]:
    """Turn precomputed judge outputs into judgments, reporting every bad line together.

    Args:
        rows: ``(line_number, object)`` pairs, as ``judge.fileio.read_jsonl`` yields them.
        rubrics: the rubric of each criterion, by name.
        source: the file name used in error messages.
        item_ids: if given, an output for any other item is an error (it would join nothing).

    Raises:
        InputError: naming ``file:line: field``, the value and what was expected, for every bad line;
            also for a repeated (judge, item, criterion, sample).

    Example::

        from judge.fileio import read_jsonl
        judgments = import_judgments(read_jsonl("gpt4.jsonl"), rubrics, source="gpt4.jsonl")
    """
    problems: list[Problem] = []
    out: list[Judgment] = []
    seen: dict[tuple[str, str, str, int], int] = {}
    for lineno, obj in rows:
        where = f"{source}:{lineno}"
        try:
            raw = RawOutput.model_validate(obj)
        except ValidationError as err:
            problems.extend(validation_problems(err, source, obj, line_prefix=f":{lineno}"))
            continue
        rubric = rubrics.get(find_criterion_name(raw.criterion))
        if rubric is None:
            problems.append(
                Problem(
                    f"{where}: criterion", f"unknown criterion {raw.criterion!r}; expected one of {sorted(rubrics)}"
                )
            )
            continue
        if item_ids is not None and raw.item_id not in item_ids:
            problems.append(Problem(f"{where}: item_id", f"{raw.item_id!r} is not an item of the benchmark"))
            continue
        judgment = judgment_from_output(raw, rubric)
        first = seen.setdefault(judgment.key, lineno)
        if first != lineno:
            problems.append(
                Problem(
                    f"{where}",
                    f"repeats the output of line {first} for (judge, item, criterion, sample) = {judgment.key}",
                )
            )
            continue
        out.append(judgment)
    if problems:
        raise InputError(problems, source=source)
    return out


def unscored_counts(judgments: Iterable[Judgment]) -> dict[str, dict[str, int]]:
    """Per criterion: how many judgments are scored and how many are unscored, by reason."""
    counts: dict[str, Counter[str]] = {}
    for j in judgments:
        counts.setdefault(j.criterion, Counter())[j.unscored_reason or "scored"] += 1
    return {c: dict(sorted(n.items())) for c, n in sorted(counts.items())}


def import_judgments_to_run(
    path: str | Path, bench: Benchmark, rubrics: dict[str, Rubric], out: str | Path, command: list[str] | None = None
) -> RunSummary:
    """Parse a file of raw outputs into a new run directory (no model calls). Nothing is written if any line is bad."""
    rows, problems = read_jsonl_collect(path)
    try:
        judgments = import_judgments(rows, rubrics, source=str(path), item_ids=bench.items)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems, source=str(path))
    if not judgments:
        raise InputError(Problem(str(path), "holds no judge outputs"))
    out = Path(out)
    if iter_records(out):
        raise InputError(Problem(str(out), "already holds a run; choose an empty --out"))
    used = sorted({j.criterion for j in judgments})
    models = {j.judge: j.model for j in judgments}
    store = RunStore(out).open()
    store.write_manifest(
        RunManifest(
            command=command or [],
            source="imported",
            benchmark=benchmark_record(bench),
            judges={
                name: {"name": name, "model": model, "params": {}, "source_file": str(path)}
                for name, model in sorted(models.items())
            },
            rubrics={c: rubrics[c].ref for c in used},
            aggregation={c: rubrics[c].aggregation for c in used},
            levels={c: rubrics[c].level for c in used},
            prompt_hash="imported",
            samples=1 + max(j.sample for j in judgments),
            items=len({j.item_id for j in judgments}),
        )
    )
    now = time.time()
    try:
        for j in judgments:
            store.append(j.model_copy(update={"prompt_hash": "imported", "created_at": now}))
    finally:
        store.close()
    summary = summarise(out, model_calls=0, max_unscored=None)
    RunStore(out).write_summary(summary)
    return summary
