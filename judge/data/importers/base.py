"""The one interface every importer implements, and the registry ``judge import KIND`` dispatches through.

An importer reads outside data (its ``sources``: files or a directory) with the criteria it is checked against
(``rubrics``) and importer-specific ``options``, and returns an ``Imported``: a benchmark (items and expert
ratings), and/or judge scores (rows in the form of ``judge.engine.imported.RawOutput``) that become a run read by
the same parser as live answers. Importers validate everything and write nothing; ``judge.engine.imported``
writes the result, all of it or nothing.

A new importer: a module here with a class that has ``kind``, ``reads`` and ``read``, decorated with
``@register_importer``. Nothing else names it: ``IMPORTERS`` imports every module of this package on first use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from judge.errors import Problem
from judge.registry import Registry

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


def _is_importer(cls: object) -> bool:
    return (
        isinstance(cls, type) and isinstance(getattr(cls, "kind", None), str) and callable(getattr(cls, "read", None))
    )


# kind -> importer class, filled by ``@register_importer`` in each importer's module; the modules are imported on
# the first lookup (by `judge import` and get_importer), so `judge --help` loads none of them
IMPORTERS: Registry[type[Importer]] = Registry(
    "importer",
    package="judge.data.importers",
    accepts=_is_importer,
    requirement="a class with kind, reads and read()",
)


def register_importer(cls: type[Importer]) -> type[Importer]:
    """Class decorator: make ``cls`` the importer of ``cls.kind`` (``judge import KIND``)."""
    IMPORTERS.add(getattr(cls, "kind", ""), cls)
    return cls


def get_importer(kind: str) -> Importer:
    """The importer of ``kind`` (a ``UsageError`` naming the nearest kind, and all of them, if there is none)."""
    importer: Importer = IMPORTERS.get(kind)()
    return importer
