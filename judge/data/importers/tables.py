"""Read a table (CSV, TSV, XLSX or JSONL) into rows of cells, remembering where each row came from.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2 (JSONL: the line
number). Parquet is not read (it would need pyarrow, a large dependency): convert it to CSV first.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from judge.errors import InputError, JudgeError, Problem
from judge.fileio import read_jsonl_collect

TableFormat = Literal["csv", "tsv", "xlsx", "jsonl"]
_SUFFIXES: dict[str, TableFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


@dataclass
class Table:
    """A table read from a file: its columns and its rows, each ``(row number, {column: cell})``."""

    path: Path
    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    sheet: str | None = None
    fmt: TableFormat = "csv"
    #: XLSX: ``(row, column) -> formula`` of the cells holding a formula with no saved value (the file was written
    #: by a program that does not compute formulas). The row holds None there; the reader decides whether the
    #: column matters.
    formulas: dict[tuple[int, str], str] = field(default_factory=dict)

    def cell_name(self, row: int, column: str) -> str:
        """A cell as a spreadsheet names it (``D5``), or ``row 5, column 'x'``."""
        if self.fmt == "xlsx" and column in self.columns:
            from openpyxl.utils import get_column_letter

            return f"{get_column_letter(self.columns.index(column) + 1)}{row}"
        return f"row {row}, column {column!r}"

    @property
    def name(self) -> str:
        """The file (and sheet) as messages name it."""
        return f"{self.path} [{self.sheet}]" if self.sheet else str(self.path)

    def where(self, row: int, column: str | None = None) -> str:
        """``file row N, column 'x'`` (``file:N`` for JSONL, whose rows are lines)."""
        place = f"{self.name}:{row}" if self.fmt == "jsonl" else f"{self.name} row {row}"
        if column is None:
            return place
        if self.fmt == "xlsx" and column in self.columns:
            from openpyxl.utils import get_column_letter

            return f"{place}, column {get_column_letter(self.columns.index(column) + 1)} {column!r}"
        return f"{place}, column {column!r}"


def table_format(path: Path, fmt: str | None = None) -> TableFormat:
    """The format of a table file, from ``fmt`` or its suffix."""
    if fmt:
        if fmt not in ("csv", "tsv", "xlsx", "jsonl"):
            raise InputError(Problem("--format", f"unknown table format {fmt!r}; expected csv, tsv, xlsx or jsonl"))
        return fmt  # type: ignore[return-value]
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        raise InputError(
            Problem(str(path), "Parquet is not read (it needs pyarrow); convert it to CSV, e.g. with pandas")
        )
    if suffix == ".xls":
        raise InputError(Problem(str(path), "old .xls workbooks are not read; save the sheet as .xlsx or CSV"))
    if suffix not in _SUFFIXES:
        raise InputError(
            Problem(str(path), f"cannot tell the table format from {suffix or 'no suffix'!r}: expected .csv, .tsv, "
                    ".xlsx or .jsonl (or give --format)")
        )  # fmt: skip
    return _SUFFIXES[suffix]


def read_table(path: str | Path, fmt: str | None = None, sheet: str | None = None) -> Table:
    """Read a table file. ``InputError`` names the file (and row) when it cannot be read as a table."""
    p = Path(path)
    kind = table_format(p, fmt)
    if not p.is_file():
        raise InputError(Problem(str(p), "no such file"))
    if kind == "jsonl":
        return _read_jsonl(p)
    if kind == "xlsx":
        return _read_xlsx(p, sheet)
    return _read_delimited(p, "\t" if kind == "tsv" else ",", kind)


def _header(p: Path, cells: list[Any], where: str) -> list[str]:
    names = ["" if c is None else str(c).strip() for c in cells]
    while names and not names[-1]:  # trailing empty header cells (spreadsheets often have them)
        names.pop()
    problems = []
    if not names:
        raise InputError(Problem(where, "the first row must name the columns, but it is empty"))
    for i, n in enumerate(names):
        if not n:
            problems.append(Problem(where, f"column {i + 1} has no name in the header row"))
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        problems.append(Problem(where, f"repeated column name(s) {dup}: each column needs its own name"))
    if problems:
        raise InputError(problems, source=str(p))
    return names


def _read_delimited(p: Path, delimiter: str, kind: TableFormat) -> Table:
    try:
        text = p.read_text(encoding="utf-8-sig")  # utf-8-sig: spreadsheet programs write a byte-order mark
    except OSError as exc:
        raise InputError(Problem(str(p), f"cannot read table: {exc.strerror}")) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(str(p), f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")
        ) from None
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(Problem(f"{p} row {reader.line_num}", f"not valid {kind.upper()}: {exc}")) from None
    if not rows:
        raise InputError(Problem(str(p), "the file is empty (expected a header row, then one row per record)"))
    columns = _header(p, list(rows[0]), f"{p} row 1")
    table = Table(path=p, columns=columns, fmt=kind)
    problems = []
    last = len(rows)
    cut = not text.endswith(("\n", "\r"))
    if cut and text.endswith(delimiter):  # "chat-12,3," with no line end: the last cell was cut away
        raise InputError(Problem(f"{p} row {last}", "the file ends right after a separator, with no line end: was it "
                                 "cut short? End the row"))  # fmt: skip
    for n, cells in enumerate(rows[1:], 2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        extra = [c for c in cells[len(columns) :] if c.strip()]
        if extra:
            problems.append(
                Problem(f"{p} row {n}", f"has {len(cells)} cells but the header names {len(columns)} columns")
            )
            continue
        if n == last and cut and len(cells) < len(columns):  # its missing cells would read as "not rated"
            problems.append(
                Problem(f"{p} row {n}", f"the file ends in the middle of this row ({len(cells)} of {len(columns)} "
                        "cells, no line end): was it cut short? End the row (empty cells are written as ',,')")
            )  # fmt: skip
            continue
        table.rows.append((n, {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(columns)}))
    if problems:
        raise InputError(problems, source=str(p))
    if not table.rows:  # one rater's file with no rows would add no ratings, and say nothing
        raise InputError(Problem(str(p), f"the header names the columns {columns}, but no row follows"))
    return table


def _read_xlsx(p: Path, sheet: str | None) -> Table:
    try:
        return _xlsx_table(p, sheet)
    except JudgeError:
        raise
    except Exception as exc:  # openpyxl, zipfile, zlib and the XML parser each fail their own way on a damaged file
        raise InputError(Problem(str(p), f"cannot read as an .xlsx workbook ({type(exc).__name__}: {exc})")) from None


def _xlsx_table(p: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    # Twice: the values as last saved, and the formulas, to tell a formula cell with no saved value (None in the
    # first) from an empty cell. Both stream (read_only).
    wb = load_workbook(p, read_only=True, data_only=True)
    try:
        wf = load_workbook(p, read_only=True, data_only=False)
    except BaseException:
        wb.close()
        raise
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputError(Problem(f"{p}: --sheet", f"no sheet {sheet!r}; the sheets are {wb.sheetnames}"))
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        formula_rows = wf[ws.title].iter_rows(values_only=True)
        first = next(rows, None)
        next(formula_rows, None)
        if first is None:
            raise InputError(Problem(f"{p} [{ws.title}]", "the sheet is empty (expected a header row)"))
        columns = _header(p, list(first), f"{p} [{ws.title}] row 1")
        table = Table(path=p, columns=columns, sheet=ws.title, fmt="xlsx")
        problems = []
        for n, cells in enumerate(rows, 2):
            formulas = next(formula_rows, ())
            uncomputed = {
                i: f
                for i, f in enumerate(formulas)
                if isinstance(f, str) and f.startswith("=") and (i >= len(cells) or cells[i] is None)
            }
            if not uncomputed and all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            beyond = [i for i, c in enumerate(cells) if i >= len(columns) and _filled(c)] + [
                i for i in uncomputed if i >= len(columns)
            ]
            if beyond:  # the CSV reader refuses the same rows: a value under no column name would be dropped
                cell = f"{get_column_letter(min(beyond) + 1)}{n}"
                problems.append(
                    Problem(f"{p} [{ws.title}] row {n}", f"cell {cell} holds a value, but its column has no name "
                            f"in the header row (the header names {len(columns)} columns: {columns})")
                )  # fmt: skip
                continue
            table.formulas.update({(n, columns[i]): f for i, f in uncomputed.items()})
            table.rows.append((n, {c: (cells[i] if i < len(cells) else None) for i, c in enumerate(columns)}))
        if problems:
            raise InputError(problems, source=f"{p} [{ws.title}]")
        if not table.rows:
            raise InputError(
                Problem(f"{p} [{ws.title}]", f"the header names the columns {columns}, but no row follows")
            )
        return table
    finally:
        wb.close()
        wf.close()


def _filled(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _read_jsonl(p: Path) -> Table:
    raw, problems = read_jsonl_collect(p)
    if problems:
        raise InputError(problems, source=str(p))
    columns: dict[str, None] = {}
    for _, obj in raw:
        columns.update(dict.fromkeys(obj))
    return Table(path=p, columns=list(columns), rows=[(n, obj) for n, obj in raw], fmt="jsonl")


def cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0`` (a spreadsheet's 17.0 id is ``17``), None as ``''``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)
