"""The one interface every importer implements, and the registry ``judge import KIND`` dispatches through.

An importer reads outside data (its ``sources``: files or a directory) with the criteria it is checked against
(``rubrics``) and importer-specific ``options``, and returns an ``Imported``: a benchmark (items and expert
ratings), and/or judge scores (rows in the form of ``judge.engine.imported.RawOutput``) that become a run read by
the same parser as live answers. Importers validate everything and write nothing; ``judge.engine.imported``
writes the result, all of it or nothing.

A new importer: a module here with a class that has ``kind``, ``reads`` and ``read``, named in ``IMPORTERS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from judge.errors import Problem, UsageError

if TYPE_CHECKING:
    from judge.data.benchmark import Benchmark
    from judge.data.rubric import Rubric


@dataclass
class Imported:
    """What an importer read.

    Attributes:
        benchmark: items and expert ratings, to be written as a benchmark directory (None: scores only, for an
            existing benchmark).
        judge_rows: judge scores as ``(where, row)``: ``row`` has ``item_id``, ``criterion``, ``judge`` and
            ``raw_output`` (the judge's answer as text, parsed like a live answer); ``where`` names its place.
        extra_files: more JSONL files to write beside the benchmark (file name -> rows), e.g. RESORT's posts.
        problems: problems found while reading, reported together with those found when the rows are parsed.
        summary: counts for the ``--json`` output.
    """

    benchmark: Benchmark | None = None
    judge_rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    extra_files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


class Importer(Protocol):
    """Reads one kind of outside data. ``kind`` is the word after ``judge import``; ``reads`` says what it reads."""

    kind: str
    reads: str

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Rubric], options: Mapping[str, Any]) -> Imported:
        """Read ``sources``; raise ``InputError`` naming every problem (file, row or line, column, value)."""
        ...


# kind -> "module:class"; modules are imported on use, so `judge --help` loads none of them
IMPORTERS: dict[str, str] = {
    "resort": "judge.data.importers.resort:ResortImporter",
    "table": "judge.data.importers.table:TableImporter",
    "judgments": "judge.data.importers.judgments:JudgmentsImporter",
}


def get_importer(kind: str) -> Importer:
    """The importer of ``kind`` (``UsageError`` listing the kinds if there is none)."""
    if kind not in IMPORTERS:
        raise UsageError(f"no importer for {kind!r}; the kinds are {sorted(IMPORTERS)}")
    module, cls = IMPORTERS[kind].split(":")
    importer: Importer = getattr(importlib.import_module(module), cls)()
    return importer
