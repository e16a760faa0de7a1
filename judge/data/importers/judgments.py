"""Importer of raw judge outputs (JSONL, one answer per line) for an existing benchmark.

Each line: ``{item_id, criterion, judge, raw_output}`` (optionally ``sample``, ``model``, ``finish_reason``). The
lines are read here and parsed by ``judge.engine.imported`` exactly as live answers are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.data.importers.base import Imported, register_importer
from judge.errors import InputError, Problem
from judge.fileio import read_jsonl_collect

if TYPE_CHECKING:
    from judge.data.rubric import Rubric


@register_importer
class JudgmentsImporter:
    """``judge import judgments FILE --benchmark DIR --out RUN``."""

    kind = "judgments"
    reads = "raw judge outputs (JSONL) -> run directory, through the same parser"

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Rubric], options: Mapping[str, Any]) -> Imported:
        if len(sources) != 1:
            raise InputError(Problem("FILE", f"expected one JSONL file of judge outputs, got {len(sources)}"))
        path = sources[0]
        rows, problems = read_jsonl_collect(path)
        if not rows and not problems:
            problems.append(Problem(str(path), "holds no judge outputs"))
        return Imported(judge_rows=[(f"{path}:{n}", obj) for n, obj in rows], problems=problems)
