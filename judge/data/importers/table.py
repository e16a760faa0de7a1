"""Importer of tables: expert ratings (and judges' scores) from CSV, TSV, XLSX or JSONL, in any common layout.

Layouts of a ratings table (several files may be given, e.g. one per rater):

- **wide**: one row per item (and rater), a column per score; the score columns are named by ``scores``, a pattern
  with ``{criterion}`` and/or ``{rater}``: ``{criterion}`` (the default: columns named as the criteria),
  ``{rater}_{criterion}`` (``human_empathy``, ``gpt4_empathy``...), or ``{rater}`` (one criterion: ``--criterion``
  or a criterion column; the raters must then be listed).
- **long**: one rating per row, with a ``rating`` column (``value`` in the mapping) and a criterion column.
- **grid of systems**: one row per context, a column per system (``{system}`` in ``scores``, with ``{rater}`` or
  ``{criterion}`` or neither); the score of row ``r`` and system ``s`` is the item ``r/s``.

A score column whose name holds no criterion (and no ``--criterion`` or criterion column) holds every criterion in
each cell (``judge.data.importers.cells``). Off-scale numbers are refused, or read as not rated and counted with
``off_scale="missing"``.

The rater of a score is, in this order: the ``rater`` column, the pattern's ``{rater}``, ``--rater``, the judge
named by a single ``--as-judge``, or the file name (``alice.csv`` -> ``alice``). Scores of a rater named by
``--as-judge`` are a judge's: they become a run, parsed like live answers. All others are expert ratings, checked
against the rubric scales on the way in (``judge.data.ratings``).

Items come from the ratings table itself, from ``--items FILE``, or from an existing ``--benchmark``
(``judge.data.importers.table_items``: posts and responses, turns, transcripts in one cell, grids). Column names
are mapped by flags (``--col post=Reddit post``) or a mapping file (``judge.data.importers.table_mapping``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating
from judge.data.importers.base import Imported, register_importer
from judge.data.importers.cells import criteria_in_cell
from judge.data.importers.table_items import ItemsReader, TranscriptCounts
from judge.data.importers.table_mapping import (
    TableMapping,
    grid_item_id,
    mapped_column,
    parse_mapping,
    score_regex,
)
from judge.data.importers.tables import Table, cell_text, read_table
from judge.data.names import normal_name
from judge.data.ratings import MISSING_CELLS, off_scale_number, parse_rating
from judge.data.rubric import Rubric
from judge.errors import InputError, Problem, UsageError

__all__ = ["TableImporter", "TableMapping", "TranscriptCounts", "grid_item_id", "parse_mapping"]


class _Reader(ItemsReader):
    """One import: collects items (``ItemsReader``), ratings, judge rows and problems across the files."""

    def __init__(self, rubrics: Mapping[str, Rubric], mapping: TableMapping, options: Mapping[str, Any]) -> None:
        super().__init__(rubrics, mapping, options)
        self.judges: set[str] = {normal_name(j) for j in options.get("as_judge") or []}
        self.rater_name: str | None = normal_name(options["rater"]) if options.get("rater") else None
        self.criterion_name: str | None = options.get("criterion")
        self.single_source = bool(options.get("single_source"))
        self.ratings: list[ExpertRating] = []
        self.rating_where: dict[tuple[str, str, str], str] = {}
        self.judge_rows: list[tuple[str, dict[str, Any]]] = []
        self.ignored: dict[str, list[str]] = {}
        self.empty_cells = 0
        self.empty_keys: set[tuple[str, str, str]] = set()  # (item, rater, criterion) of empty expert cells
        self.off_scale: str = options.get("off_scale") or "refuse"
        self.off_scale_counts: dict[str, Counter[str]] = {}  # criterion -> value -> ratings read as not rated
        self.off_scale_refused = 0  # off-scale numbers refused (the error then names --off-scale missing)
        self.cell_keys_ignored = Counter[str]()  # keys of multi-criteria cells that name no criterion
        self.rater_names: str | None = options.get("rater_names")
        if self.off_scale not in ("refuse", "missing"):
            raise UsageError(f"--off-scale {self.off_scale!r}: expected 'refuse' (the default) or 'missing'")
        if self.criterion_name is not None and self.criterion_name not in rubrics:
            raise UsageError(f"--criterion {self.criterion_name!r}: expected one of {sorted(rubrics)}")

    # -- scores --------------------------------------------------------------------------------------------

    def read_scores_table(self, table: Table) -> None:
        item_col = mapped_column(table, self.mapping, "item")
        if item_col is None:
            raise InputError(Problem(f"{table.name} row 1", self._no_item_column(table)))
        self.items_from_posts(table, item_col)
        rater_col = mapped_column(table, self.mapping, "rater")
        criterion_col = mapped_column(table, self.mapping, "criterion")
        value_col = mapped_column(table, self.mapping, "value")
        # One file of one judge's scores, without rater names in it: the scores are that judge's.
        one_judge = next(iter(self.judges)) if len(self.judges) == 1 and self.single_source else None
        default_rater = self.rater_name or one_judge or self.rater_of_file(table)
        if value_col is not None:
            if criterion_col is None and self.criterion_name is None:
                raise InputError(
                    Problem(f"{table.name} row 1", f"a long table (one rating per row, column {value_col!r}) needs "
                            f"a criterion column ({self.mapping.criterion!r}, or --col criterion=COLUMN) or "
                            "--criterion NAME")
                )  # fmt: skip
            self.layouts[table.name] = "long: one rating per row"
            for n, row in table.rows:
                iid = self.item_id(table, n, row, item_col)
                crit = self._criterion_of(table, n, row, criterion_col)
                rater = self.name(table, n, row, rater_col) if rater_col else default_rater
                if iid is not None and crit is not None:
                    self.add_score(table, n, value_col, iid, rater, crit, self.cell(table, n, row, value_col))
            return
        regex, spellings = score_regex(self.mapping, self.rubrics, self.systems)
        used = {c for c in (item_col, rater_col, criterion_col) if c} | {
            c for k in ("post", "response", "post_id", "transcript") if (c := getattr(self.mapping, k)) in table.columns
        } | set(self.mapping.system) | set(self.grid_columns(table, self.mapping.response) if "{system}" in
                                           self.mapping.response else ())  # fmt: skip
        score_cols: dict[str, tuple[str | None, str | None, str | None]] = {}
        for col in table.columns:
            m = regex.match(col) if col not in used else None
            if m:
                groups = m.groupdict()
                crit = spellings[groups["criterion"].lower()] if groups.get("criterion") else None
                named = normal_name(groups["rater"]) if groups.get("rater") else None
                system = normal_name(groups["system"]) if groups.get("system") else None
                score_cols[col] = (named, crit, system)
        self.ignored[table.name] = [c for c in table.columns if c not in used and c not in score_cols]
        if not score_cols:
            raise InputError(
                Problem(f"{table.name} row 1", f"no score columns: expected columns named like "
                        f"{self.mapping.scores!r} with the criteria {sorted(self.rubrics)} (or a "
                        f"{self.mapping.value!r} column for one rating per row); the columns are {table.columns}. "
                        "Map them with --scores PATTERN, or spellings in a --mapping file")
            )  # fmt: skip
        # No criterion in the column names, no criterion column, no --criterion: each cell holds every criterion.
        several = "{criterion}" not in self.mapping.scores and criterion_col is None and self.criterion_name is None
        self.layouts[table.name] = f"wide: score columns {sorted(score_cols)}" + (
            ", several criteria per cell" if several else ""
        )
        seen: dict[str, set[str]] = {}  # a judge's column -> the criteria its cells hold (for judge cells)
        cells: list[tuple[int, str, str, str, Any]] = []
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            for col, (pattern_rater, pattern_crit, system) in score_cols.items():
                rater = self.name(table, n, row, rater_col) if rater_col else (pattern_rater or default_rater)
                item = grid_item_id(iid, system) if system else iid
                if several:
                    cells.append((n, col, item, rater, self.cell(table, n, row, col, nested=True)))
                    continue
                crit = pattern_crit or self._criterion_of(table, n, row, criterion_col)
                if crit is not None:
                    self.add_score(table, n, col, item, rater, crit, self.cell(table, n, row, col))
        for n, col, item, rater, cell in cells:
            self.add_cell_scores(table, n, col, item, rater, cell, spellings, seen)

    def add_cell_scores(
        self, table: Table, n: int, col: str, iid: str, rater: str, cell: Any, spellings: Mapping[str, str],
        seen: dict[str, set[str]],
    ) -> None:  # fmt: skip
        """The scores of one cell holding several criteria (``judge.data.importers.cells``). An expert's criterion
        missing from a cell is not rated; a judge's is an unscored judgment (no answer), counted like an empty
        cell."""
        judge = rater in self.judges
        if cell is None or (isinstance(cell, str) and cell.strip().lower() in MISSING_CELLS):
            known = self.existing.items if self.existing is not None else self.items
            if not judge or iid not in known:  # (a grid's empty cell where the system gave no reply: no item)
                self.empty_cells += 1
                return
            for crit in sorted(self._cell_criteria(table, col, spellings, seen)):
                self.add_score(table, n, col, iid, rater, crit, None)  # no answer: unscored (each counted)
            return
        got = criteria_in_cell(cell, spellings)
        if got.error is not None:
            text = cell_text(cell) if not isinstance(cell, dict) else "{...}"
            hint = (
                "; which criterion? name it in the columns ({criterion} in --scores), a criterion column or "
                "--criterion NAME, or write every criterion in the cell ('warmth: 4; helpfulness: 3' or JSON)"
            )
            self.problems.append(Problem(table.where(n, col), got.error + (hint if text and ":" not in text else "")))
            return
        self.cell_keys_ignored.update(got.others)
        wanted = self._cell_criteria(table, col, spellings, seen) if judge else set(got.entries)
        for crit in sorted(wanted | set(got.entries)):
            entry = got.entries.get(crit)
            self.add_score(table, n, col, iid, rater, crit, entry, f"{table.where(n, col)}, criterion {crit!r}")

    def _cell_criteria(
        self, table: Table, col: str, spellings: Mapping[str, str], seen: dict[str, set[str]]
    ) -> set[str]:
        """The criteria the cells of a column hold (each judge cell is expected to answer all of them), read once
        per column into ``seen``."""
        if col in seen:
            return seen[col]
        found = seen[col] = set()
        for _, row in table.rows:
            cell = row.get(col)
            if isinstance(cell, dict) or cell_text(cell).lower() not in MISSING_CELLS:
                found |= set(criteria_in_cell(cell, spellings).entries)
        return found

    def rater_of_file(self, table: Table) -> str:
        """The rater of a file without rater names in it: its name (``ana.csv`` -> ``ana``), or as ``--rater-names``
        says: a pattern of the file name (``'{rater}_ratings'``) or ``FILE=NAME`` pairs."""
        stem = normal_name(table.path.stem)
        spec = self.rater_names
        if not spec:
            return stem
        if "{rater}" in spec:
            body = "".join("(?P<rater>.+?)" if p == "{rater}" else re.escape(p) for p in re.split(r"(\{rater\})", spec))
            m = re.fullmatch(body, stem, re.IGNORECASE)
            if m is None:
                self.problems.append(
                    Problem(table.name, f"the file name {stem!r} does not match --rater-names {spec!r}")
                )
                return stem
            return normal_name(m["rater"])
        pairs = dict(p.partition("=")[::2] for p in spec.split(",") if p.strip())
        names = {normal_name(k): normal_name(v) for k, v in pairs.items()}
        if stem not in names or not names[stem]:
            self.problems.append(
                Problem(table.name, f"--rater-names {spec!r} names no rater for the file {stem!r} (expected FILE=NAME "
                        f"pairs, e.g. {stem}=ana, or a pattern such as '{{rater}}_ratings')")
            )  # fmt: skip
            return stem
        return names[stem]

    def _criterion_of(self, table: Table, n: int, row: Mapping[str, Any], col: str | None) -> str | None:
        if col is None:
            if self.criterion_name is None:
                self.problems.append(
                    Problem(table.where(n), "which criterion? name it in the columns, a criterion column, or "
                            "--criterion NAME")
                )  # fmt: skip
            return self.criterion_name
        text = self.name(table, n, row, col)
        spellings = {c.lower(): c for c in self.rubrics} | {k.lower(): v for k, v in self.mapping.criteria.items()}
        if text.lower() not in spellings:
            self.problems.append(
                Problem(table.where(n, col), f"unknown criterion {text!r}; expected one of {sorted(self.rubrics)}")
            )
            return None
        return spellings[text.lower()]

    def add_score(
        self, table: Table, n: int, col: str, iid: str, rater: str, crit: str, cell: Any, where: str | None = None
    ) -> None:
        where = where or table.where(n, col)
        if not rater:
            self.problems.append(Problem(table.where(n, self.mapping.rater), "empty rater name"))
            return
        key = (iid, rater, crit)
        if key in self.rating_where:
            self.problems.append(
                Problem(where, f"a second score of {rater!r} on {crit!r} for item {iid!r} (first at "
                        f"{self.rating_where[key]})")
            )  # fmt: skip
            return
        self.rating_where[key] = where
        if rater in self.judges:
            text = cell_text(cell)
            if not text:
                self.empty_cells += 1
            raw = {"item_id": iid, "criterion": crit, "judge": rater, "raw_output": text or None}
            self.judge_rows.append((where, raw))
            return
        value, why = parse_rating(cell, self.rubrics[crit])
        if why is not None:
            off = off_scale_number(cell, self.rubrics[crit])
            if off is None or self.off_scale != "missing":
                self.problems.append(Problem(where, why))
                self.off_scale_refused += off is not None
            else:  # --off-scale missing: not rated, counted by value (the import summary and the manifest say so)
                self.off_scale_counts.setdefault(crit, Counter())[f"{off:g}"] += 1
        elif value is None:
            self.empty_cells += 1
            self.empty_keys.add(key)
        else:
            self.ratings.append(ExpertRating(item_id=iid, rater=rater, criterion=crit, value=value))

    # -- the result ----------------------------------------------------------------------------------------

    def check_items(self) -> None:
        self.problems.extend(self.formula_problems())
        known = self.existing.items if self.existing is not None else self.items
        if not known and self.rating_where:
            self.problems.append(
                Problem("items", "no items were read: give --items FILE (posts and responses, or conversation "
                        "turns), post and response columns in the table, or an existing --benchmark DIR")
            )  # fmt: skip
            return
        where_from = "the --benchmark" if self.existing is not None else "the items read"
        missing: dict[str, str] = {}
        for (iid, rater, crit), where in self.rating_where.items():
            # judges' rows are looked up by the parser that reads them (judge.engine.imported)
            # (an empty cell names no item: a grid's empty cell where the system gave no reply is no problem)
            if iid not in known and rater not in self.judges and (iid, rater, crit) not in self.empty_keys:
                missing.setdefault(iid, where)
        for iid, where in list(missing.items())[:20]:
            self.problems.append(Problem(where, f"item {iid!r} is not in {where_from}"))
        if len(missing) > 20:
            self.problems.append(Problem("...", f"and {len(missing) - 20} more unknown items"))
        missing_judges = sorted(self.judges - {r["judge"] for _, r in self.judge_rows})
        if missing_judges:
            raters = sorted({r for _, r, _ in self.rating_where})
            self.problems.append(
                Problem("--as-judge", f"no scores by {missing_judges} were read; the raters read are {raters}")
            )


@register_importer
class TableImporter:
    """``judge import table FILE... [--items FILE] --out BENCH [--as-judge NAME --run-out RUN]``."""

    kind = "table"
    reads = "tables of ratings or judge scores (CSV, TSV, XLSX, JSONL; wide or long; one file or one per rater)"

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Rubric], options: Mapping[str, Any]) -> Imported:
        """Options: ``mapping`` (TableMapping), ``items`` (path), ``benchmark`` (an existing Benchmark), ``as_judge``
        (names), ``rater``, ``rater_names`` (a file-name pattern or ``FILE=NAME`` pairs), ``criterion``, ``sheet``,
        ``format``, ``name`` (of the new benchmark), ``speakers`` (prefix -> role, for transcripts in one cell;
        default: detected), ``off_scale`` (``refuse`` or ``missing``)."""
        mapping: TableMapping = options.get("mapping") or TableMapping()
        reader = _Reader(rubrics, mapping, options)
        fmt, sheet = options.get("format"), options.get("sheet")
        if options.get("items"):
            reader.read_items_table(read_table(options["items"], fmt, sheet))
            reader.items_table_given = True
        if not sources:
            raise UsageError("give at least one table of ratings or scores")
        reader.single_source = len(sources) == 1
        for path in sources:
            reader.read_scores_table(read_table(path, fmt, sheet))
        reader.check_items()
        if reader.speakers and not reader.transcripts.speakers:
            reader.problems.append(
                Problem("--speakers", f"no table has a transcript column ({mapping.transcript!r}) to split: name it "
                        "with --col transcript=COLUMN")
            )  # fmt: skip
        if reader.off_scale_refused:  # first: a long list of problems is cut after 50
            reader.problems.insert(
                0,
                Problem("--off-scale", f"{reader.off_scale_refused} rating(s) are numbers off their criterion's scale "
                        "(listed below): correct them, or read them as not rated with --off-scale missing (counted "
                        "per value in the import summary and the benchmark's manifest)"),
            )  # fmt: skip
        off_scale = {c: dict(sorted(n.items())) for c, n in sorted(reader.off_scale_counts.items())}
        bench = None
        experts = sorted({r.rater for r in reader.ratings})
        if reader.existing is None:
            name = options.get("name") or "imported"
            manifest = BenchmarkManifest(
                name=name, source=", ".join(str(p) for p in [*([options["items"]] if options.get("items") else []),
                                                              *sources]),
                off_scale_missing=off_scale,
            )  # fmt: skip
            bench = Benchmark(manifest=manifest, items=reader.items, ratings=reader.ratings)
        elif reader.ratings:
            raise UsageError(
                f"expert ratings by {experts} were read, but --benchmark adds judge scores only: name the judges "
                "with --as-judge, or write a new benchmark with --out"
            )
        judges = Counter(r["judge"] for _, r in reader.judge_rows)
        summary = {
            "items": len(reader.items) if reader.existing is None else len(reader.existing.items),
            "conversations": sum(1 for it in reader.items.values() if it.conversation is not None),
            "ratings": dict(sorted(Counter(r.criterion for r in reader.ratings).items())),
            "raters": experts,
            "judges": dict(sorted(judges.items())),
            "empty_cells": reader.empty_cells,
            "layouts": reader.layouts,
            "ignored_columns": {k: v for k, v in reader.ignored.items() if v},
        }
        if options.get("off_scale") == "missing":
            summary["off_scale_missing"] = off_scale
        t = reader.transcripts
        if t.speakers:
            summary["transcripts"] = {
                "conversations": t.conversations,
                "turns": t.turns,
                "continuation_lines": t.continuations,
                "speakers": t.speakers,
                "speakers_detected": t.detected,
            }
        if reader.grid:
            summary["grid"] = {
                "systems": sorted(reader.systems),
                **{k.replace(" ", "_"): v for k, v in sorted(reader.grid.items())},
            }
        if reader.cell_keys_ignored:
            summary["cell_keys_ignored"] = dict(sorted(reader.cell_keys_ignored.items()))
        return Imported(benchmark=bench, judge_rows=reader.judge_rows, problems=reader.problems, summary=summary)
