"""Importer of tables: expert ratings (and judges' scores) from CSV, TSV, XLSX or JSONL, in any common layout.

Layouts of a ratings table (several files may be given, e.g. one per rater):

- **wide**: one row per item (and rater), a column per score; the score columns are named by ``scores``, a pattern
  with ``{criterion}`` and/or ``{rater}``: ``{criterion}`` (the default: columns named as the criteria),
  ``{rater}_{criterion}`` (``human_empathy``, ``gpt4_empathy``...), or ``{rater}`` (one criterion: ``--criterion``
  or a criterion column; the raters must then be listed).
- **long**: one rating per row, with a ``rating`` column (``value`` in the mapping) and a criterion column.

The rater of a score is, in this order: the ``rater`` column, the pattern's ``{rater}``, ``--rater``, the judge
named by a single ``--as-judge``, or the file name (``alice.csv`` -> ``alice``). Scores of a rater named by
``--as-judge`` are a judge's: they become a run, parsed like live answers. All others are expert ratings, checked
against the rubric scales on the way in (``judge.data.ratings``).

Items come from the ratings table itself (``post`` and ``response`` columns), from ``--items FILE`` (one row per
item, or one row per conversation turn with ``role`` and ``text`` columns), or from an existing ``--benchmark``.
Column names are mapped by flags (``--col post=Reddit post``) or a mapping file (``TableMapping``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.data.benchmark import ROLE_PATTERN, Benchmark, BenchmarkManifest, ExpertRating, Item, Turn
from judge.data.importers.base import Imported
from judge.data.importers.tables import Table, cell_text, read_table
from judge.data.ratings import parse_rating
from judge.data.rubric import Rubric
from judge.errors import InputError, Problem, UsageError
from judge.fileio import load_document, validation_problems

PLACEHOLDER = re.compile(r"\{(\w+)\}")


class TableMapping(BaseModel):
    """Which column holds what (``--mapping FILE``, YAML or JSON; or ``--col KEY=COLUMN`` flags).

    A column left at its default name is used when the table has it; a column named explicitly must exist.
    """

    model_config = ConfigDict(extra="forbid")

    item: str = Field(default="item_id", description="Column of the item id (a response, or a conversation).")
    post_id: str = Field(default="post_id", description="Column grouping items for resampling (default: item).")
    post: str = Field(default="post", description="Column of the post the response answers.")
    response: str = Field(default="response", description="Column of the rated response.")
    system: list[str] = Field(default=["system"], description="Columns naming what wrote the response.")
    role: str = Field(default="role", description="Items file, one row per turn: the speaker's role.")
    text: str = Field(default="text", description="Items file, one row per turn: what was said.")
    turn: str = Field(default="turn", description="Items file: the turn's number (default: file order).")
    judged_role: str | None = Field(
        default=None, description="Judge every turn of this role (e.g. supporter); default: each item's last turn."
    )
    rater: str = Field(default="rater", description="Column of the rater's name (long tables, or mixed files).")
    criterion: str = Field(default="criterion", description="Column of the criterion (long tables).")
    value: str = Field(default="rating", description="Column of the rating (long tables).")
    scores: str = Field(default="{criterion}", description="How score columns of wide tables are named.")
    criteria: dict[str, str] = Field(
        default_factory=dict, description="Spellings of criteria in the table -> criterion names."
    )
    raters: list[str] = Field(default_factory=list, description="The raters a '{rater}' pattern may match.")


def parse_mapping(path: str | None, cols: Sequence[str]) -> TableMapping:
    """The mapping from a file (if given) with ``KEY=COLUMN`` flags on top."""
    data: dict[str, Any] = {}
    if path:
        base = load_document(path, TableMapping, "column mapping", fmt="json" if path.endswith(".json") else "yaml")
        data = base.model_dump(exclude_unset=True)
    for spec in cols:
        key, sep, column = spec.partition("=")
        key = key.strip()
        if not sep or not column.strip():
            raise UsageError(f"--col {spec!r}: expected KEY=COLUMN, e.g. --col post='Reddit post'")
        if key not in TableMapping.model_fields or key in ("criteria", "raters", "scores", "judged_role"):
            keys = [k for k in TableMapping.model_fields if k not in ("criteria", "raters", "scores", "judged_role")]
            raise UsageError(f"--col {spec!r}: unknown key {key!r}; expected one of {keys}")
        data[key] = [c.strip() for c in column.split(",")] if key == "system" else column.strip()
    return TableMapping.model_validate(data)  # its model_fields_set: the keys named explicitly


def _column(table: Table, mapping: TableMapping, key: str) -> str | None:
    """The column of ``key`` in ``table``: its mapped name if the table has it, None if not (an error if the user
    named the column explicitly)."""
    name = getattr(mapping, key)
    if name in table.columns:
        return str(name)
    if key in mapping.model_fields_set:
        raise InputError(
            Problem(f"{table.name} row 1", f"no column {name!r} (mapped as {key}); the columns are {table.columns}")
        )
    return None


def _score_regex(mapping: TableMapping, rubrics: Mapping[str, Rubric]) -> tuple[re.Pattern[str], dict[str, str]]:
    """The regular expression of score column names, and criterion spelling (lower-case) -> criterion name."""
    names = set(PLACEHOLDER.findall(mapping.scores))
    if not names or names - {"rater", "criterion"}:
        raise UsageError(
            f"--scores {mapping.scores!r}: name score columns with {{criterion}} and/or {{rater}}, "
            "e.g. '{criterion}' or '{rater}_{criterion}'"
        )
    if names == {"rater"} and not mapping.raters:
        raise UsageError(
            "--scores '{rater}' alone would take every other column as a rater: list the raters (--raters a,b,c)"
        )
    unknown = sorted(set(mapping.criteria.values()) - set(rubrics))
    if unknown:
        raise UsageError(f"criteria spellings map to unknown criteria {unknown}; the criteria are {sorted(rubrics)}")
    spellings = {c.lower(): c for c in rubrics} | {k.lower(): v for k, v in mapping.criteria.items()}
    alternation = {
        "criterion": "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)),
        "rater": "|".join(re.escape(r) for r in mapping.raters) if mapping.raters else ".+?",
    }
    parts = re.split(r"(\{rater\}|\{criterion\})", mapping.scores)
    body = "".join(f"(?P<{p[1:-1]}>{alternation[p[1:-1]]})" if p in ("{rater}", "{criterion}") else re.escape(p)
                   for p in parts)  # fmt: skip
    return re.compile(f"^{body}$", re.IGNORECASE), spellings


class _Reader:
    """One import: collects items, ratings, judge rows and problems across the files."""

    def __init__(self, rubrics: Mapping[str, Rubric], mapping: TableMapping, options: Mapping[str, Any]) -> None:
        self.rubrics = rubrics
        self.mapping = mapping
        self.judges: set[str] = set(options.get("as_judge") or [])
        self.rater_name: str | None = options.get("rater")
        self.criterion_name: str | None = options.get("criterion")
        self.existing: Benchmark | None = options.get("benchmark")
        self.single_source = bool(options.get("single_source"))
        self.items: dict[str, Item] = {}
        self.item_where: dict[str, str] = {}
        self.ratings: list[ExpertRating] = []
        self.rating_where: dict[tuple[str, str, str], str] = {}
        self.judge_rows: list[tuple[str, dict[str, Any]]] = []
        self.problems: list[Problem] = []
        self.layouts: dict[str, str] = {}
        self.ignored: dict[str, list[str]] = {}
        self.empty_cells = 0
        if self.criterion_name is not None and self.criterion_name not in rubrics:
            raise UsageError(f"--criterion {self.criterion_name!r}: expected one of {sorted(rubrics)}")

    # -- items ---------------------------------------------------------------------------------------------

    def add_item(self, data: dict[str, Any], where: str) -> None:
        try:
            item = Item.model_validate(data)
        except ValidationError as err:  # e.g. an empty post_id cell
            self.problems.extend(validation_problems(err, where, data))
            return
        old = self.items.get(item.item_id)
        if old is None:
            self.items[item.item_id] = item
            self.item_where[item.item_id] = where
        elif old != item:
            self.problems.append(
                Problem(where, f"item {item.item_id!r} differs from the same item at {self.item_where[item.item_id]}")
            )

    def item_id(self, table: Table, n: int, row: Mapping[str, Any], col: str) -> str | None:
        value = cell_text(row.get(col))
        if not value:
            self.problems.append(Problem(table.where(n, col), "empty item id"))
            return None
        return value

    def items_from_posts(self, table: Table, item_col: str) -> None:
        """Items from a table with post and response columns (one row per item; repeated rows must agree)."""
        post_col, resp_col = _column(table, self.mapping, "post"), _column(table, self.mapping, "response")
        if post_col is None or resp_col is None:
            return
        pid_col = _column(table, self.mapping, "post_id")
        sys_cols = [c for c in self.mapping.system if c in table.columns]
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            item = {
                "item_id": iid,
                "post_id": cell_text(row.get(pid_col)) if pid_col else iid,
                "post": cell_text(row.get(post_col)),
                "response": cell_text(row.get(resp_col)),
                "system": {c: cell_text(row.get(c)) for c in sys_cols},
            }
            self.add_item(item, table.where(n))

    def items_from_turns(self, table: Table, item_col: str, role_col: str, text_col: str) -> None:
        """Conversation items from a table with one row per turn (grouped by item id, ordered by turn number)."""
        turn_col = _column(table, self.mapping, "turn")
        pid_col = _column(table, self.mapping, "post_id")
        sys_cols = [c for c in self.mapping.system if c in table.columns]
        turns: dict[str, list[tuple[float, int, Turn]]] = {}
        first_row: dict[str, tuple[int, Mapping[str, Any]]] = {}
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            role = cell_text(row.get(role_col))
            if not re.fullmatch(ROLE_PATTERN, role):
                self.problems.append(
                    Problem(table.where(n, role_col), f"role {role!r}: expected a word such as seeker or supporter")
                )
                continue
            order = float(len(turns.get(iid, [])))
            if turn_col:
                try:
                    order = float(cell_text(row.get(turn_col)))
                except ValueError:
                    self.problems.append(
                        Problem(table.where(n, turn_col), f"turn {row.get(turn_col)!r}: expected a number")
                    )
                    continue
            turns.setdefault(iid, []).append((order, n, Turn(role=role, text=cell_text(row.get(text_col)))))
            first_row.setdefault(iid, (n, row))
        for iid, got in turns.items():
            got.sort(key=lambda t: (t[0], t[1]))
            conversation = [t for _, _, t in got]
            n, first = first_row[iid]
            judged: list[int] | None = None
            if self.mapping.judged_role:
                judged = [i for i, t in enumerate(conversation, 1) if t.role == self.mapping.judged_role]
                if not judged:
                    roles = sorted({t.role for t in conversation})
                    self.problems.append(
                        Problem(table.where(n), f"conversation {iid!r} has no {self.mapping.judged_role!r} turn "
                                f"to judge (its roles: {roles})")
                    )  # fmt: skip
                    continue
            item = {
                "item_id": iid,
                "post_id": cell_text(first.get(pid_col)) if pid_col else iid,
                "conversation": conversation,
                "judged_turns": judged,
                "system": {c: cell_text(first.get(c)) for c in sys_cols},
            }
            self.add_item(item, table.where(n))

    def read_items_table(self, table: Table) -> None:
        item_col = _column(table, self.mapping, "item")
        if item_col is None:
            raise InputError(Problem(f"{table.name} row 1", self._no_item_column(table)))
        role_col, text_col = _column(table, self.mapping, "role"), _column(table, self.mapping, "text")
        before = len(self.items)
        if role_col and text_col:
            self.layouts[table.name] = "items: one row per conversation turn"
            self.items_from_turns(table, item_col, role_col, text_col)
        else:
            self.layouts[table.name] = "items: one row per item"
            self.items_from_posts(table, item_col)
        if len(self.items) == before and not self.problems:
            raise InputError(
                Problem(f"{table.name} row 1", f"no items: expected columns {self.mapping.post!r} and "
                        f"{self.mapping.response!r}, or {self.mapping.role!r} and {self.mapping.text!r} (one row "
                        f"per turn); the columns are {table.columns}")
            )  # fmt: skip

    def _no_item_column(self, table: Table) -> str:
        return (
            f"no item id column {self.mapping.item!r}; the columns are {table.columns} "
            "(name the item column with --col item=COLUMN)"
        )

    # -- scores --------------------------------------------------------------------------------------------

    def read_scores_table(self, table: Table) -> None:
        item_col = _column(table, self.mapping, "item")
        if item_col is None:
            raise InputError(Problem(f"{table.name} row 1", self._no_item_column(table)))
        self.items_from_posts(table, item_col)
        rater_col = _column(table, self.mapping, "rater")
        criterion_col = _column(table, self.mapping, "criterion")
        value_col = _column(table, self.mapping, "value")
        # One file of one judge's scores, without rater names in it: the scores are that judge's.
        one_judge = next(iter(self.judges)) if len(self.judges) == 1 and self.single_source else None
        default_rater = self.rater_name or one_judge or table.path.stem
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
                rater = cell_text(row.get(rater_col)) if rater_col else default_rater
                if iid is not None and crit is not None:
                    self.add_score(table, n, value_col, iid, rater, crit, row.get(value_col))
            return
        regex, spellings = _score_regex(self.mapping, self.rubrics)
        used = {c for c in (item_col, rater_col, criterion_col) if c} | {
            c for k in ("post", "response", "post_id") if (c := _column(table, self.mapping, k))
        } | set(self.mapping.system)  # fmt: skip
        score_cols: dict[str, tuple[str | None, str | None]] = {}
        for col in table.columns:
            m = regex.match(col) if col not in used else None
            if m:
                groups = m.groupdict()
                crit = spellings[groups["criterion"].lower()] if groups.get("criterion") else None
                score_cols[col] = (groups.get("rater"), crit)
        self.ignored[table.name] = [c for c in table.columns if c not in used and c not in score_cols]
        if not score_cols:
            raise InputError(
                Problem(f"{table.name} row 1", f"no score columns: expected columns named like "
                        f"{self.mapping.scores!r} with the criteria {sorted(self.rubrics)} (or a {value_col!r} "
                        f"column for one rating per row); the columns are {table.columns}. Map them with "
                        "--scores PATTERN, or spellings in a --mapping file")
            )  # fmt: skip
        self.layouts[table.name] = f"wide: score columns {sorted(score_cols)}"
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            for col, (pattern_rater, pattern_crit) in score_cols.items():
                crit = pattern_crit or self._criterion_of(table, n, row, criterion_col)
                rater = cell_text(row.get(rater_col)) if rater_col else (pattern_rater or default_rater)
                if crit is not None:
                    self.add_score(table, n, col, iid, rater, crit, row.get(col))

    def _criterion_of(self, table: Table, n: int, row: Mapping[str, Any], col: str | None) -> str | None:
        if col is None:
            if self.criterion_name is None:
                self.problems.append(
                    Problem(table.where(n), "which criterion? name it in the columns, a criterion column, or "
                            "--criterion NAME")
                )  # fmt: skip
            return self.criterion_name
        text = cell_text(row.get(col))
        spellings = {c.lower(): c for c in self.rubrics} | {k.lower(): v for k, v in self.mapping.criteria.items()}
        if text.lower() not in spellings:
            self.problems.append(
                Problem(table.where(n, col), f"unknown criterion {text!r}; expected one of {sorted(self.rubrics)}")
            )
            return None
        return spellings[text.lower()]

    def add_score(self, table: Table, n: int, col: str, iid: str, rater: str, crit: str, cell: Any) -> None:
        where = table.where(n, col)
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
            self.problems.append(Problem(where, why))
        elif value is None:
            self.empty_cells += 1
        else:
            self.ratings.append(ExpertRating(item_id=iid, rater=rater, criterion=crit, value=value))

    # -- the result ----------------------------------------------------------------------------------------

    def check_items(self) -> None:
        known = self.existing.items if self.existing is not None else self.items
        if not known and self.rating_where:
            self.problems.append(
                Problem("items", "no items were read: give --items FILE (posts and responses, or conversation "
                        "turns), post and response columns in the table, or an existing --benchmark DIR")
            )  # fmt: skip
            return
        where_from = "the --benchmark" if self.existing is not None else "the items read"
        missing: dict[str, str] = {}
        for (iid, rater, _), where in self.rating_where.items():
            # judges' rows are looked up by the parser that reads them (judge.engine.imported)
            if iid not in known and rater not in self.judges:
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


class TableImporter:
    """``judge import table FILE... [--items FILE] --out BENCH [--as-judge NAME --run-out RUN]``."""

    kind = "table"
    reads = "tables of ratings or judge scores (CSV, TSV, XLSX, JSONL; wide or long; one file or one per rater)"

    def read(self, sources: Sequence[Path], rubrics: Mapping[str, Rubric], options: Mapping[str, Any]) -> Imported:
        """Options: ``mapping`` (TableMapping), ``items`` (path), ``benchmark`` (an existing Benchmark), ``as_judge``
        (names), ``rater``, ``criterion``, ``sheet``, ``format``, ``name`` (of the new benchmark)."""
        mapping: TableMapping = options.get("mapping") or TableMapping()
        reader = _Reader(rubrics, mapping, options)
        fmt, sheet = options.get("format"), options.get("sheet")
        if options.get("items"):
            reader.read_items_table(read_table(options["items"], fmt, sheet))
        if not sources:
            raise UsageError("give at least one table of ratings or scores")
        reader.single_source = len(sources) == 1
        for path in sources:
            reader.read_scores_table(read_table(path, fmt, sheet))
        reader.check_items()
        bench = None
        experts = sorted({r.rater for r in reader.ratings})
        if reader.existing is None:
            name = options.get("name") or "imported"
            manifest = BenchmarkManifest(
                name=name, source=", ".join(str(p) for p in [*([options["items"]] if options.get("items") else []),
                                                              *sources])
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
        return Imported(benchmark=bench, judge_rows=reader.judge_rows, problems=reader.problems, summary=summary)
