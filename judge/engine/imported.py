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
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.data.benchmark import Benchmark, save_benchmark
from judge.data.rubric import Rubric, find_criterion_name, validation_problems
from judge.engine.judgment import Judgment, judgment_from_answer
from judge.engine.store import RunManifest, RunStore, RunSummary, benchmark_record, iter_records, summarise
from judge.errors import InputError, Problem
from judge.fileio import read_jsonl_collect, write_jsonl

if TYPE_CHECKING:
    from judge.data.importers.base import Imported

MAX_PROBLEMS = 50  # an import of 10,000 bad rows lists the first 50 and counts the rest


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
    rows: Iterable[tuple[int | str, Any]],
    rubrics: Mapping[str, Rubric],
    *,
    source: str,
    item_ids: Collection[str] | None = None,
) -> list[Judgment]:
    """Turn precomputed judge outputs into judgments, reporting every bad line together.

    Args:
        rows: ``(line_number, object)`` pairs, as ``judge.fileio.read_jsonl`` yields them, or ``(place, object)``
            pairs whose place is already named (``scores.xlsx row 4, column 'gpt4_empathy'``).
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
    seen: dict[tuple[str, str, str, int], int | str] = {}
    for lineno, obj in rows:
        where = f"{source}:{lineno}" if isinstance(lineno, int) else lineno
        try:
            raw = RawOutput.model_validate(obj)
        except ValidationError as err:
            problems.extend(validation_problems(err, where, obj))
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
            earlier = f"line {first}" if isinstance(first, int) else first
            problems.append(
                Problem(
                    f"{where}",
                    f"repeats the output of {earlier} for (judge, item, criterion, sample) = {judgment.key}",
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
    _check_empty_run_dir(Path(out))
    return write_imported_run(judgments, bench, rubrics, out, command=command, source_file=str(path))


def _check_empty_run_dir(out: Path) -> None:
    if iter_records(out):
        raise InputError(Problem(str(out), "already holds a run; choose an empty --out"))


def write_imported_run(
    judgments: list[Judgment],
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    out: str | Path,
    *,
    command: list[str] | None = None,
    source_file: str = "",
) -> RunSummary:
    """Write already validated imported judgments as a new run directory (no model calls); returns its summary."""
    out = Path(out)
    used = sorted({j.criterion for j in judgments})
    models = {j.judge: j.model for j in judgments}
    store = RunStore(out).open()
    store.write_manifest(
        RunManifest(
            command=command or [],
            source="imported",
            benchmark=benchmark_record(bench),
            judges={
                name: {"name": name, "model": model, "params": {}, "source_file": source_file}
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
    records = [j.model_copy(update={"prompt_hash": "imported", "created_at": now}) for j in judgments]
    try:
        for j in records:
            store.append(j)
    finally:
        store.close()
    summary = summarise(out, model_calls=0, max_unscored=None)
    RunStore(out).write_summary(summary)
    return summary


def write_import(
    got: Imported,
    rubrics: Mapping[str, Rubric],
    *,
    out: str | Path | None = None,
    run_out: str | Path | None = None,
    benchmark: Benchmark | None = None,
    command: list[str] | None = None,
    source: str = "",
) -> dict[str, Any]:
    """Write what an importer read: its benchmark to ``out``, its judge scores as a run in ``run_out``.

    Everything is checked first (the judge rows are parsed exactly as live answers and their items looked up in
    the new benchmark, or in ``benchmark``); nothing is written if anything is wrong.

    Returns:
        The import's summary, with the run's summary under ``run`` when judge scores were written.
    """
    from judge.errors import UsageError

    problems = list(got.problems)
    bench = got.benchmark or benchmark
    judgments: list[Judgment] = []
    if got.judge_rows and not (bench is not None and not bench.items and problems):
        # (an importer that read no items at all has said so: one problem, not one per judge score)
        if bench is None:
            raise UsageError("judge scores refer to items: give the benchmark they belong to (--benchmark)")
        if run_out is None:
            raise UsageError("the input holds judge scores: give the run directory to write them to (--run-out)")
        try:
            judgments = import_judgments(got.judge_rows, rubrics, source=source, item_ids=bench.items)
        except InputError as exc:
            problems += exc.problems
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(Problem("...", f"and {len(problems) - MAX_PROBLEMS} more problems like these"))
        raise InputError(shown, source=source or None)
    if got.benchmark is not None and out is None:
        raise UsageError("the input holds items and expert ratings: give the benchmark directory to write (--out)")
    if judgments and run_out is not None:
        _check_empty_run_dir(Path(run_out))
    summary = dict(got.summary)
    if got.benchmark is not None and out is not None:
        root = save_benchmark(got.benchmark, out)
        bench = got.benchmark.model_copy(update={"path": root})
        for name, rows in got.extra_files.items():
            write_jsonl(root / name, rows)
        summary["out"] = str(root)
    if judgments and run_out is not None and bench is not None:
        run = write_imported_run(judgments, bench, rubrics, run_out, command=command, source_file=source)
        summary["run"] = run.model_dump(mode="json")
    return summary
