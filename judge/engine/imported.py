"""Precomputed judgments: raw judge outputs from elsewhere become a run, through the same parser as live calls.

Input JSONL, one line per (item, criterion[, sample])::

    {"item_id": "resort:0", "criterion": "empathy", "judge": "gpt-4-1106-preview", "raw_output": "4"}

Optional fields: ``sample`` (default 0), ``model``, ``finish_reason``; other fields (e.g. ``source``) are ignored.
The whole file is validated first: nothing is written if any line is bad. Every output (a run, a benchmark) is
built beside its target and swapped into place whole (``judge.staging``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.data.benchmark import Benchmark, save_benchmark
from judge.data.names import Name
from judge.data.numbers import Count
from judge.data.rubric import Rubric, find_criterion_name, validation_problems
from judge.engine.judgment import Judgment, judgment_from_answer
from judge.engine.store import (
    MANIFEST,
    RECORDS,
    SUMMARY,
    SUPERSEDED,
    RunManifest,
    RunStore,
    RunSummary,
    benchmark_record,
    has_records,
    load_run_manifest,
    summarise,
)
from judge.errors import InputError, Interrupted, Problem
from judge.fileio import read_jsonl_collect, write_jsonl
from judge.staging import StagedDir, commit_all

if TYPE_CHECKING:
    from judge.data.importers.base import Imported

MAX_PROBLEMS = 50  # an import of 10,000 bad rows lists the first 50 and counts the rest


class RawOutput(BaseModel):
    """One line of a file of precomputed judge outputs. Other keys (provenance such as ``source``) are ignored."""

    model_config = ConfigDict(extra="ignore")

    item_id: Name = Field(min_length=1)
    criterion: Name = Field(min_length=1, description="Criterion name; spellings like 'harmful' are normalised.")
    judge: Name = Field(min_length=1, description="Name of the judge that wrote the output.")
    raw_output: str | None = Field(description="The judge's text, exactly as returned (null if none).")
    sample: Count = Field(default=0, ge=0)
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
        # the set's own name first: an alias of another set ("alignment" for RESORT's) must not shadow it
        rubric = rubrics.get(raw.criterion) or rubrics.get(find_criterion_name(raw.criterion))
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
    """Parse a file of raw outputs into a new run directory (no model calls). Nothing is written if any line is bad,
    and the run appears whole or not at all (``write_imported_run``)."""
    rows, problems = read_jsonl_collect(path)
    try:
        judgments = import_judgments(rows, rubrics, source=str(path), item_ids=bench.items)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems, source=str(path))
    if not judgments:
        raise InputError(Problem(str(path), "holds no judge outputs"))
    return write_imported_run(judgments, bench, rubrics, out, command=command, source_file=str(path))


# What an import may replace: a directory holding only these (or nothing). Anything else is refused rather than
# deleted with the old version of the directory.
BENCHMARK_FILES = frozenset({"benchmark.json", "items.jsonl", "ratings.jsonl", "posts.jsonl"})
RUN_FILES = frozenset({MANIFEST, RECORDS, SUMMARY, SUPERSEDED, "calibrated_scores.json"})


def _staged_run(out: str | Path, flag: str) -> StagedDir:
    """The staged run directory of an import. An earlier import is replaced whole, as a benchmark is (so running
    an interrupted import again completes it); a run of judge calls (paid for, not re-importable) is refused."""

    def refuse_a_live_run(target: Path) -> None:
        if not has_records(target):
            return
        try:
            imported = load_run_manifest(target).source == "imported"
        except InputError:
            imported = False
        if not imported:
            raise InputError(
                Problem(f"{flag} {out}", "already holds a run of judge calls; choose an empty or new directory")
            )

    return StagedDir(out, flag, mode=0o700, replaces=RUN_FILES, check=refuse_a_live_run)


def write_imported_run(
    judgments: list[Judgment],
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    out: str | Path,
    *,
    command: list[str] | None = None,
    source_file: str = "",
) -> RunSummary:
    """Write already validated imported judgments as a new run directory (no model calls); returns its summary.

    The run is built beside ``out`` and swapped into place (``judge.staging``): an interrupted import leaves no
    partial run for a reader to take for a finished one.

    Raises:
        InputError: ``out`` holds a run of judge calls (an earlier import is replaced).
        UsageError: ``out`` holds files that are not a run's, or another process writes it.
    """
    with _staged_run(out, "--out") as staged:
        summary = _write_run(judgments, bench, rubrics, staged.path, Path(out), command, source_file)
        staged.commit()
    return summary


def _write_run(
    judgments: list[Judgment],
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    into: Path,
    out: Path,
    command: list[str] | None,
    source_file: str,
) -> RunSummary:
    """Write the run's files into ``into`` (a staging directory) as the run ``out`` will be."""
    used = sorted({j.criterion for j in judgments})
    models = {j.judge: j.model for j in judgments}
    store = RunStore(into).open()
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
            directions={c: rubrics[c].direction for c in used if rubrics[c].direction != "higher"},
            prompt_hash="imported",
            samples=1 + max(j.sample for j in judgments),
            items=len({j.item_id for j in judgments}),
        )
    )
    now = time.time()
    try:
        for j in judgments:
            item_hash = bench.items[j.item_id].content_hash if j.item_id in bench.items else None
            store.append(j.model_copy(update={"prompt_hash": "imported", "created_at": now, "item_hash": item_hash}))
    finally:
        store.close()
    summary = summarise(into, model_calls=0, max_unscored=None).model_copy(update={"run_dir": str(out)})
    RunStore(into).write_summary(summary)
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
    run_flag: str = "--run-out",
) -> dict[str, Any]:
    """Write what an importer read: its benchmark to ``out``, its judge scores as a run in ``run_out``.

    Everything is checked first (the judge rows are parsed exactly as live answers and their items looked up in
    the new benchmark, or in ``benchmark``); nothing is written if anything is wrong. Each output is built beside
    its target and swapped into place (``judge.staging``), both at the end: an interrupt (Ctrl-C, ``kill -9``)
    leaves each output as it was or wholly new, never a mix.

    Returns:
        The import's summary, with the run's summary under ``run`` when judge scores were written.

    Raises:
        Interrupted: Ctrl-C; its message says which outputs are unchanged.
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
    summary = dict(got.summary)
    staged: list[StagedDir] = []
    try:
        with ExitStack() as stack:
            if got.benchmark is not None and out is not None:
                replaces = BENCHMARK_FILES | set(got.extra_files)
                sb = stack.enter_context(StagedDir(out, "--out", replaces=replaces))
                staged.append(sb)
                save_benchmark(got.benchmark, sb.path)
                for name, rows in got.extra_files.items():
                    write_jsonl(sb.path / name, rows)
                bench = got.benchmark.model_copy(update={"path": Path(out)})
                summary["out"] = str(out)
            if judgments and run_out is not None and bench is not None:
                sr = stack.enter_context(_staged_run(run_out, run_flag))
                staged.append(sr)
                run = _write_run(judgments, bench, rubrics, sr.path, Path(run_out), command, source)
                summary["run"] = run.model_dump(mode="json")
            commit_all(staged)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted(staged)) from None
    return summary


def _interrupted(staged: list[StagedDir]) -> str:
    """What an interrupted import left, truthfully: each output unchanged, or already replaced."""
    kept = [str(s.target) for s in staged if not s.committed]
    done = [str(s.target) for s in staged if s.committed]
    if not staged:
        return "interrupted before anything was written"
    if not done:
        return f"interrupted: nothing was imported; {' and '.join(kept)} unchanged (run the import again)"
    if not kept:
        return f"interrupted after the import was written: {' and '.join(done)} hold the new import"
    return f"interrupted: {' and '.join(done)} hold the new import, {' and '.join(kept)} unchanged"
