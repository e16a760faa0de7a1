"""CSV rendering of a ``Table``: raw values (not the display text), one header row, RFC 4180 quoting.

Text cells are made safe to open in a spreadsheet (OWASP, "CSV Injection"): a text starting with ``=``, ``+``,
``-``, ``@``, a tab, a carriage return or a line feed would be read as a formula by Excel, LibreOffice or Google
Sheets (``=HYPERLINK(...)`` as a system name runs when the file is opened), so it is written after a ``'``, which
the spreadsheet shows as text. Numbers are never changed: a number cell writes its value, and a text that is a
number (``-0.12``, ``+3``) stays as it is.
"""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel

from judge.report.model import Report, Table
from judge.report.renderers import FORMATS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def render_csv(table: Table) -> str:
    """One CSV line per table row; a cell's ``value`` is written when set (numbers stay numbers), else its text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c.key) for c in table.columns])
    for row in table.rows:
        writer.writerow([_value(cell.value, cell.text) for cell in row])
    return buf.getvalue()


def spreadsheet_safe(text: str) -> str:
    """``text`` as a spreadsheet will show it, never run it: a leading ``'`` where it would start a formula.

    Example::

        spreadsheet_safe("=HYPERLINK(\"http://x\")")  # "'=HYPERLINK(\"http://x\")"
        spreadsheet_safe("-0.25")                     # '-0.25' (a number, unchanged)
    """
    if not text.startswith(_FORMULA_START) or _is_number(text):
        return text
    return "'" + text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def _value(value: float | int | str | None, text: str) -> str:
    if value is None:
        return spreadsheet_safe(text)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return spreadsheet_safe(value)


@FORMATS.register("csv")
def csv_file(board: BaseModel, report: Report) -> str:
    """The ``.csv`` file of a report: its long-format table (the first table if it names none)."""
    return render_csv(report.long_table or report.tables[0])
