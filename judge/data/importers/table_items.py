"""Reading the items of a table import: posts and responses, a conversation per row of turns, a whole
conversation in one cell (``transcripts``), or a grid of systems (a response column per system).

``ItemsReader`` holds what every part of one import shares (the mapping, the items read, the problems found) and
reads cells and items; ``judge.data.importers.table`` reads the scores on top of it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from judge.data.benchmark import ROLE_PATTERN, Benchmark, Item, Turn
from judge.data.importers.table_mapping import TableMapping, grid_item_id, mapped_column
from judge.data.importers.tables import Table, cell_text
from judge.data.importers.transcripts import detect_speakers, split_transcript
from judge.data.names import normal_name
from judge.data.rubric import Rubric
from judge.errors import InputError, Problem
from judge.fileio import validation_problems


@dataclass
class TranscriptCounts:
    """What was read from transcripts in one cell: the speakers (given, or detected with the transcripts each was
    seen in), the conversations, turns and continuation lines (kept with the turn before them)."""

    speakers: dict[str, str] = field(default_factory=dict)
    detected: dict[str, int] | None = None
    conversations: int = 0
    turns: int = 0
    continuations: int = 0


class ItemsReader:
    """The items of one import, and the problems found on the way (the scores are read by a subclass)."""

    def __init__(self, rubrics: Mapping[str, Rubric], mapping: TableMapping, options: Mapping[str, Any]) -> None:
        self.rubrics = rubrics
        self.mapping = mapping
        self.existing: Benchmark | None = options.get("benchmark")
        self.items: dict[str, Item] = {}
        self.item_where: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.layouts: dict[str, str] = {}
        # (table, column) -> the cells of that column holding a formula with no saved value, in the order read
        self.formula_cells: dict[tuple[str, str], list[str]] = {}
        self.speakers: dict[str, str] | None = options.get("speakers")
        self.transcripts = TranscriptCounts()
        self.systems: list[str] = [normal_name(x) for x in mapping.systems]
        self.grid = Counter[str]()  # "items", "empty responses"
        self.items_table_given = False  # set once the --items table is read
        if self.existing is not None and not self.systems:  # scores of a grid for a benchmark imported before
            self.systems = sorted({s for it in self.existing.items.values() if (s := it.system.get("system"))})

    # -- cells ---------------------------------------------------------------------------------------------

    def cell(self, table: Table, n: int, row: Mapping[str, Any], col: str | None, nested: bool = False) -> Any:
        """The value of a cell the import uses. A formula with no saved value is a problem of its column (never
        an empty cell, which would read as "not rated"); None is returned for it. ``nested``: a JSONL table's
        object is a cell holding several criteria."""
        if col is None:
            return None
        formula = table.formulas.get((n, col))
        if formula is not None:
            self.formula_cells.setdefault((table.name, col), []).append(f"{table.cell_name(n, col)} {formula}")
            return None
        value = row.get(col)
        if isinstance(value, dict) and nested:
            return value
        if isinstance(value, list | dict):  # a JSONL table's nested value is no cell (its text would be a name)
            self.problems.append(Problem(table.where(n, col), f"expected one value, got a {type(value).__name__}"))
            return None
        return value

    def text(self, table: Table, n: int, row: Mapping[str, Any], col: str | None) -> str:
        """A cell as text (``cell_text``)."""
        return cell_text(self.cell(table, n, row, col))

    def name(self, table: Table, n: int, row: Mapping[str, Any], col: str | None) -> str:
        """A cell holding a name or id, normalised as ``judge.data.names`` says."""
        return normal_name(self.text(table, n, row, col))

    def formula_problems(self) -> list[Problem]:
        out = []
        for (name, col), cells in self.formula_cells.items():
            more = f" and {len(cells) - 3} more" if len(cells) > 3 else ""
            out.append(
                Problem(
                    f"{name}, column {col!r}",
                    f"{len(cells)} cell(s) hold a formula with no saved value ({', '.join(cells[:3])}{more}): the "
                    "workbook was written by a program that does not compute formulas. Open and save it in a "
                    "spreadsheet program (which computes them), or replace the formulas by their values",
                )
            )
        return out

    # -- items ---------------------------------------------------------------------------------------------

    def column(self, table: Table, key: str) -> str | None:
        """``mapped_column`` for the item columns; in a ratings table beside an --items table, a column named for the
        items table is not required (the items come from there)."""
        if self.items_table_given and getattr(self.mapping, key) not in table.columns:
            return None
        return mapped_column(table, self.mapping, key)

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
        value = self.name(table, n, row, col)
        if not value:
            self.problems.append(Problem(table.where(n, col), "empty item id"))
            return None
        return value

    def items_from_posts(self, table: Table, item_col: str) -> None:
        """Items from a table with post and response columns (one row per item; repeated rows must agree), a
        transcript column (one conversation per row), or a grid (a response column per system)."""
        transcript_col = self.column(table, "transcript")
        if transcript_col is not None:
            self.layouts[table.name] = f"items: one conversation per row, in column {transcript_col!r}"
            self.items_from_transcripts(table, item_col, transcript_col)
            return
        if "{system}" in self.mapping.response:
            self.items_from_grid(table, item_col)
            return
        post_col, resp_col = self.column(table, "post"), self.column(table, "response")
        if post_col is None or resp_col is None:
            return
        pid_col = self.column(table, "post_id")
        sys_cols = [c for c in self.mapping.system if c in table.columns]
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            item = {
                "item_id": iid,
                "post_id": self.name(table, n, row, pid_col) if pid_col else iid,
                "post": self.text(table, n, row, post_col),
                "response": self.text(table, n, row, resp_col),
                "system": {c: self.name(table, n, row, c) for c in sys_cols},
            }
            self.add_item(item, table.where(n))

    def items_from_transcripts(self, table: Table, item_col: str, col: str) -> None:
        """Conversation items from a column holding each whole conversation (``judge.data.importers.transcripts``):
        the speakers are ``--speakers`` or detected, and reported either way."""
        pid_col = self.column(table, "post_id")
        sys_cols = [c for c in self.mapping.system if c in table.columns]
        rows = [(n, row, self.item_id(table, n, row, item_col)) for n, row in table.rows]
        texts = {n: self.text(table, n, row, col) for n, row, _ in rows}
        speakers = self.speakers
        if speakers is None:
            found = detect_speakers([t for t in texts.values() if t])
            speakers = found.speakers
            self.transcripts.detected = found.seen_in
            if not speakers:
                self.problems.append(
                    Problem(f"{table.name}, column {col!r}", "no speakers found (lines such as 'Seeker: ...'): name "
                            "them with --speakers Seeker=seeker,Supporter=supporter")
                )  # fmt: skip
                return
            bad = sorted(r for r in speakers.values() if not re.fullmatch(ROLE_PATTERN, r))
            if bad:
                self.problems.append(
                    Problem(f"{table.name}, column {col!r}", f"detected speakers {sorted(speakers)} give roles {bad} "
                            "that are not words: name the roles with --speakers PREFIX=ROLE,...")
                )  # fmt: skip
                return
        self.transcripts.speakers = speakers
        judged_role = self.mapping.judged_role
        if judged_role and judged_role not in speakers.values():
            how = "detected" if self.speakers is None else "given"
            self.problems.append(
                Problem(f"{table.name}, column {col!r}", f"--judged-role {judged_role!r} is none of the roles of the "
                        f"{how} speakers {speakers}: name the roles with --speakers, e.g. --speakers "
                        + ",".join(f"{k}=ROLE" for k in speakers))
            )  # fmt: skip
            return
        for n, row, iid in rows:
            if iid is None:
                continue
            where = table.where(n, col)
            split = split_transcript(texts[n], speakers)
            if split.before:
                self.problems.append(
                    Problem(where, f"{split.before[:60]!r} comes before the first speaker; a transcript starts with a "
                            f"line such as '{next(iter(speakers))}: ...' (speakers: {sorted(speakers)})")
                )  # fmt: skip
                continue
            if not split.turns:
                self.problems.append(Problem(where, f"empty transcript for item {iid!r}"))
                continue
            judged = self._judged_turns(split.turns, iid, where)
            if judged is False:
                continue
            self.transcripts.conversations += 1
            self.transcripts.turns += len(split.turns)
            self.transcripts.continuations += split.continuations
            item = {
                "item_id": iid,
                "post_id": self.name(table, n, row, pid_col) if pid_col else iid,
                "conversation": split.turns,
                "judged_turns": judged,
                "system": {c: self.name(table, n, row, c) for c in sys_cols},
            }
            self.add_item(item, table.where(n))

    def _judged_turns(self, conversation: Sequence[Turn], iid: str, where: str) -> list[int] | bool | None:
        """The turns of ``--judged-role`` (None: the last turn is judged); False (a problem) if there is none."""
        if not self.mapping.judged_role:
            return None
        judged = [i for i, t in enumerate(conversation, 1) if t.role == self.mapping.judged_role]
        if not judged:
            roles = sorted({t.role for t in conversation})
            self.problems.append(
                Problem(where, f"conversation {iid!r} has no {self.mapping.judged_role!r} turn to judge (its roles: "
                        f"{roles})")
            )  # fmt: skip
            return False
        return judged

    def grid_columns(self, table: Table, pattern: str) -> dict[str, str]:
        """Columns of ``table`` named like ``pattern`` (holding ``{system}``) -> the system each names."""
        known = "|".join(re.escape(x) for x in sorted(self.systems, key=len, reverse=True)) if self.systems else ".+?"
        body = "".join(f"(?P<system>{known})" if p == "{system}" else re.escape(p)
                       for p in re.split(r"(\{system\})", pattern))  # fmt: skip
        regex = re.compile(f"^{body}$", re.IGNORECASE)
        used = {getattr(self.mapping, k) for k in ("item", "post_id", "post", "rater", "criterion", "transcript")}
        return {c: normal_name(m["system"]) for c in table.columns if c not in used and (m := regex.match(c))}

    def items_from_grid(self, table: Table, item_col: str) -> None:
        """Items of a grid of systems: a row per context (its post), a response column per system; the item of
        (row, system) is ``<row id>/<system>``. An empty response cell is a system that did not answer: no item
        (counted)."""
        columns = self.grid_columns(table, self.mapping.response)
        if not columns:  # e.g. a ratings table beside the --items grid
            return
        post_col = self.column(table, "post")
        if post_col is None:
            raise InputError(
                Problem(f"{table.name} row 1", f"a grid of systems needs the post each row answers: no column "
                        f"{self.mapping.post!r} (name it with --col post=COLUMN); the columns are {table.columns}")
            )  # fmt: skip
        pid_col = self.column(table, "post_id")
        for system in columns.values():
            if system not in self.systems:
                self.systems.append(system)
        self.layouts[table.name] = f"items: a grid of systems, response columns {sorted(columns)}"
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            for col, system in columns.items():
                response = self.text(table, n, row, col)
                if not response:
                    self.grid["empty responses"] += 1
                    continue
                self.grid["items"] += 1
                item = {
                    "item_id": grid_item_id(iid, system),
                    "post_id": self.name(table, n, row, pid_col) if pid_col else iid,
                    "post": self.text(table, n, row, post_col),
                    "response": response,
                    "system": {"system": system},
                }
                self.add_item(item, table.where(n, col))

    def items_from_turns(self, table: Table, item_col: str, role_col: str, text_col: str) -> None:
        """Conversation items from a table with one row per turn (grouped by item id, ordered by turn number).

        A conversation's rows must agree on what belongs to the conversation (its post id and system columns), and
        its turn numbers must be distinct whole numbers: a turn read as ``nan`` or two turns numbered alike would
        put the turns in an order nobody wrote.
        """
        turn_col = mapped_column(table, self.mapping, "turn")
        pid_col = mapped_column(table, self.mapping, "post_id")
        sys_cols = [c for c in self.mapping.system if c in table.columns]
        turns: dict[str, list[tuple[float, int, Turn]]] = {}
        first_row: dict[str, tuple[int, Mapping[str, Any]]] = {}
        numbered: dict[tuple[str, float], int] = {}
        for n, row in table.rows:
            iid = self.item_id(table, n, row, item_col)
            if iid is None:
                continue
            role = self.text(table, n, row, role_col)
            if not re.fullmatch(ROLE_PATTERN, role):
                self.problems.append(
                    Problem(table.where(n, role_col), f"role {role!r}: expected a word such as seeker or supporter")
                )
                continue
            order = float(len(turns.get(iid, [])))
            if turn_col:
                number = self._turn_number(table, n, row, turn_col, iid, numbered)
                if number is None:
                    continue
                order = number
            if iid in first_row:
                self._same_conversation(table, n, row, iid, first_row[iid], [c for c in [pid_col, *sys_cols] if c])
            turns.setdefault(iid, []).append((order, n, Turn(role=role, text=self.text(table, n, row, text_col))))
            first_row.setdefault(iid, (n, row))
        for iid, got in turns.items():
            got.sort(key=lambda t: (t[0], t[1]))
            conversation = [t for _, _, t in got]
            n, first = first_row[iid]
            judged = self._judged_turns(conversation, iid, table.where(n))
            if judged is False:
                continue
            item = {
                "item_id": iid,
                "post_id": self.name(table, n, first, pid_col) if pid_col else iid,
                "conversation": conversation,
                "judged_turns": judged,
                "system": {c: self.name(table, n, first, c) for c in sys_cols},
            }
            self.add_item(item, table.where(n))

    def _turn_number(
        self, table: Table, n: int, row: Mapping[str, Any], col: str, iid: str, numbered: dict[tuple[str, float], int]
    ) -> float | None:
        """The turn number of a row (a whole number, not used before in its conversation), or None (a problem)."""
        text = self.text(table, n, row, col)
        try:
            order = float(text)
        except ValueError:
            order = math.nan
        if not math.isfinite(order) or not order.is_integer():
            self.problems.append(Problem(table.where(n, col), f"turn {text!r}: expected a whole number"))
            return None
        first = numbered.setdefault((iid, order), n)
        if first != n:
            self.problems.append(
                Problem(table.where(n, col), f"conversation {iid!r} has two turns numbered {text} (rows {first} and "
                        f"{n}): which comes first?")
            )  # fmt: skip
            return None
        return order

    def _same_conversation(
        self, table: Table, n: int, row: Mapping[str, Any], iid: str, first: tuple[int, Mapping[str, Any]],
        cols: list[str],
    ) -> None:  # fmt: skip
        """Refuse a row of a conversation whose post id or system differs from the conversation's first row."""
        m, first_row = first
        for col in cols:
            mine, theirs = self.name(table, n, row, col), self.name(table, m, first_row, col)
            if mine != theirs:
                self.problems.append(
                    Problem(table.where(n, col), f"conversation {iid!r} names {col} {mine!r} here but {theirs!r} "
                            f"in row {m}: the rows of one conversation must agree")
                )  # fmt: skip

    def read_items_table(self, table: Table) -> None:
        item_col = mapped_column(table, self.mapping, "item")
        if item_col is None:
            raise InputError(Problem(f"{table.name} row 1", self._no_item_column(table)))
        role_col, text_col = mapped_column(table, self.mapping, "role"), mapped_column(table, self.mapping, "text")
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
                        f"{self.mapping.response!r} (or a response column per system, --col response="
                        f"'reply_{{system}}'), {self.mapping.role!r} and {self.mapping.text!r} (one row per turn), or "
                        f"{self.mapping.transcript!r} (a whole conversation per row); the columns are {table.columns}")
            )  # fmt: skip

    def _no_item_column(self, table: Table) -> str:
        return (
            f"no item id column {self.mapping.item!r}; the columns are {table.columns} "
            "(name the item column with --col item=COLUMN)"
        )
