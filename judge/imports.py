"""Precomputed judgments: raw judge outputs from elsewhere become a run, through the same parser as live calls.

Input JSONL, one line per (item, criterion[, sample])::

    {"item_id": "resort:0", "criterion": "empathy", "judge": "gpt-4-1106-preview", "raw_output": "4"}

Optional fields: ``sample`` (default 0), ``model``, ``finish_reason``; other fields (e.g. ``source``) are ignored.
The whole file is validated first: nothing is written if any line is bad.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.benchmark import Benchmark, load_benchmark
from judge.errors import InputError, Problem
from judge.fileio import read_jsonl_collect
from judge.judgment import Judgment
from judge.rubric import Rubric, default_rubrics_dir, load_rubric_set, validation_problems
from judge.store import RunManifest, RunStore, RunSummary, iter_records, summarise


class RawJudgment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    item_id: str = Field(min_length=1)
    criterion: str = Field(min_length=1)
    judge: str = Field(min_length=1)
    raw_output: str | None
    sample: int = Field(default=0, ge=0)
    model: str | None = None
    finish_reason: str | None = None


def read_raw_judgments(path: str | Path, bench: Benchmark, rubrics: dict[str, Rubric]) -> list[RawJudgment]:
    """Validate every line (fields, item ids, criteria, duplicates); raise one InputError listing all problems."""
    rows: list[RawJudgment] = []
    seen: set[tuple[str, str, str, int]] = set()
    raw, problems = read_jsonl_collect(path)
    for lineno, obj in raw:
        where = f"{path}:{lineno}"
        try:
            r = RawJudgment.model_validate(obj)
        except ValidationError as err:
            problems.extend(validation_problems(err, str(path), obj, line_prefix=f":{lineno}"))
            continue
        if r.item_id not in bench.items:
            problems.append(Problem(f"{where}: item_id", f"{r.item_id!r} is not an item of benchmark {bench.name!r}"))
        if r.criterion not in rubrics:
            problems.append(
                Problem(f"{where}: criterion", f"unknown criterion {r.criterion!r}; expected one of {sorted(rubrics)}")
            )
        key = (r.judge, r.item_id, r.criterion, r.sample)
        if key in seen:
            problems.append(Problem(where, f"duplicate judgment {key}"))
        seen.add(key)
        rows.append(r)
    if problems:
        raise InputError(problems, source=str(path))
    return rows


def import_judgments(
    path: str | Path, bench: Benchmark, rubrics: dict[str, Rubric], out: str | Path, command: list[str] | None = None
) -> RunSummary:
    """Parse raw outputs into a run directory (records marked as imported; no model calls)."""
    from judge.parse import parse_answer

    rows = read_raw_judgments(path, bench, rubrics)
    out = Path(out)
    if (out / "judgments.jsonl").exists() and iter_records(out):
        raise InputError(Problem(str(out), "already holds a run; choose an empty --out"))
    store = RunStore(out).open()
    judges = sorted({r.judge for r in rows})
    used = sorted({r.criterion for r in rows})
    store.write_manifest(
        RunManifest(
            command=command or [],
            source="imported",
            benchmark={"name": bench.name, "path": str(bench.path or ""), "items": len(bench.items)},
            judges={
                j: {
                    "name": j,
                    "model": next((r.model for r in rows if r.judge == j and r.model), j),
                    "params": {},
                    "source_file": str(path),
                }
                for j in judges
            },
            rubrics={c: rubrics[c].ref for c in used},
            aggregation={c: rubrics[c].aggregation for c in used},
            levels={c: rubrics[c].level for c in used},
            prompt_hash="imported",
            samples=1 + max(r.sample for r in rows),
            items=len({r.item_id for r in rows}),
        )
    )
    try:
        for r in rows:
            rubric = rubrics[r.criterion]
            parsed = parse_answer(r.raw_output, rubric, finish_reason=r.finish_reason)
            store.append(
                Judgment(
                    item_id=r.item_id,
                    criterion=r.criterion,
                    judge=r.judge,
                    sample=r.sample,
                    score=parsed.score,
                    unscored_reason=parsed.unscored_reason,
                    detail=parsed.detail,
                    rationale=parsed.rationale,
                    raw_output=r.raw_output,
                    model=r.model or r.judge,
                    rubric=rubric.ref,
                    prompt_hash="imported",
                    created_at=time.time(),
                )
            )
    finally:
        store.close()
    summary = summarise(iter_records(out), out, model_calls=0)
    RunStore(out).write_summary(summary)
    return summary


def import_judgments_cli(args: argparse.Namespace) -> int:
    from judge.cli._common import print_json
    from judge.cli.run import format_summary

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
    bench = load_benchmark(args.benchmark)
    summary = import_judgments(args.file, bench, rubrics, args.out, command=["judge", *sys.argv[1:]])
    data: dict[str, Any] = summary.model_dump(mode="json")
    if args.json:
        print_json(data)
    else:
        print(format_summary(data))
    return 0
