"""CSV rendering of a ``Table``: raw values (not the display text), one header row, RFC 4180 quoting."""

from __future__ import annotations

import csv
import io

from judge.report.model import Table


def render_csv(table: Table) -> str:
    """One CSV line per table row; a cell's ``value`` is written when set (numbers stay numbers), else its text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow([_value(cell.value, cell.text) for cell in row])
    return buf.getvalue()


def _value(value: float | int | str | None, text: str) -> str:
    if value is None:
        return text
    if isinstance(value, float):
        return repr(value)
    return str(value)
