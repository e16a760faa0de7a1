"""A ``Report`` as plain text for a terminal: tables laid out for its width, prose wrapped, no markup.

Markdown is for files (``.md``, PR comments) and HTML for browsers; a terminal gets neither. A table whose columns
do not all fit the width keeps its label columns and as many of the others as fit, in order, and says which were
left out and where to read them (the report's files, ``--json``). Text from files and models is shown through
``judge.terminal.visible`` (control characters as escapes), before it is measured, so the layout holds.

Example::

    from judge.report.text import render_text
    print(render_text(report, width=80, more="the full report: reports/resort/agreement.html"))
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from judge.report.model import Report, Table
from judge.terminal import fit, text_width, visible

GAP = 2  # spaces between columns
MIN_WIDTH = 40  # narrower terminals get this width anyway (lines then wrap, but nothing is lost)


def wrap(text: str, width: int, *, indent: str = "", hanging: str | None = None) -> list[str]:
    """One paragraph as lines of at most ``width`` columns: the first line starts with ``indent``, the others with
    ``hanging`` (default: spaces under ``indent``, plus two). A word longer than a line (a path, a URL) is put on
    a line of its own, whole."""
    rest = " " * len(indent) + "  " if hanging is None else hanging
    text = " ".join(visible(text).split())
    if not text:
        return [indent.rstrip()]
    lines = textwrap.wrap(
        text,
        max(width, 10),
        initial_indent=indent,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,  # a path or a URL stays whole (on a line of its own): split, it would not open
    ) or [indent.rstrip()]
    # such a word gives up its indent before it overflows the line
    return [ln.lstrip() if text_width(ln) > width and len(ln.split()) == 1 else ln for ln in lines]


def wrap_lines(text: str, width: int) -> str:
    """Every line of ``text`` longer than ``width`` wrapped (its continuation indented under its own indent plus two
    spaces); shorter lines, blank lines and line ends unchanged."""
    out: list[str] = []
    for line in text.split("\n"):
        if text_width(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))]
        out += wrap(line, width, indent=lead, hanging=lead + "  ")
    return "\n".join(out)


def _name(table: Table, n: int) -> str:
    """A column's full name: its group and its label (``Empathy ↑ mean [95% CI]``)."""
    c = table.columns[n]
    return visible(f"{c.group} {c.label}" if c.group else c.label)


def _label_columns(table: Table) -> list[int]:
    """The leading non-numeric columns: what names a row (system, judge, criterion...), always shown."""
    out = []
    for n, c in enumerate(table.columns):
        if c.numeric:
            break
        out.append(n)
    return out or [0]


def _head_lines(head: str, w: int) -> list[str]:
    """A column header in at most two lines of ``w`` columns (the second cut if it must be)."""
    if text_width(head) <= w:
        return [head]
    lines = textwrap.wrap(head, w, break_long_words=True, break_on_hyphens=False) or [""]
    return [lines[0], fit(" ".join(lines[1:]), w)] if len(lines) > 1 else lines


def _wrap_cell(text: str, w: int) -> list[str]:
    """A cell's text in lines of at most ``w`` columns, whole (long words are split, nothing is dropped)."""
    if text_width(text) <= w:
        return [text]
    return textwrap.wrap(text, w, break_long_words=True, break_on_hyphens=False) or [""]


def render_table_text(table: Table, width: int, *, more: str = "") -> str:
    """``table`` as aligned columns in at most ``width`` columns of text (see the module docstring).

    A column group (e.g. a criterion over its mean and rank columns) is a header line above its columns.

    Args:
        more: where the left-out columns can be read (e.g. ``"see reports/x/leaderboard.html or --json"``).
    """
    width = max(width, MIN_WIDTH)
    cols = table.columns
    cells = [[visible(" ".join(cell.text.split())) for cell in row] for row in table.rows]
    # columns with nothing in them say nothing (e.g. 'method' when no system has one)
    used = [n for n in range(len(cols)) if any(r[n] for r in cells) or not table.rows]
    labels = [n for n in _label_columns(table) if n in used] or used[:1]
    heads = {n: visible(cols[n].label) for n in used}
    # the names take what they need, as long as one column of values still fits beside them
    first = next((n for n in used if n not in labels), None)
    need = max([text_width(heads[first]), *(text_width(r[first]) for r in cells)]) + GAP if first is not None else 0
    room = width - need
    label_cap = max(12, room // len(labels) - GAP)

    def natural(n: int, two_line_header: bool) -> int:
        data = max((text_width(r[n]) for r in cells), default=0)
        head_w = text_width(heads[n])
        if two_line_header and head_w > data:  # a header wider than its data may take two lines
            head_w = max((head_w + 1) // 2, *(text_width(w) for w in heads[n].split()))
        w = max(data, head_w, 1)
        return min(w, label_cap) if n in labels else w

    widths = {n: natural(n, False) for n in used}
    if sum(widths.values()) + GAP * (len(used) - 1) > width:  # headers on one line do not fit: allow two
        widths = {n: natural(n, True) for n in used}
    shown = list(labels)
    budget = width - sum(widths[n] for n in shown) - GAP * (len(shown) - 1)
    if budget < 0:  # even the labels are too wide: share the width between them
        each = max((width - GAP * (len(shown) - 1)) // len(shown), 4)
        for n in shown:
            widths[n] = min(widths[n], each)
        budget = 0
    for n in used:
        if n in shown:
            continue
        need = widths[n] + GAP
        if need <= budget:
            shown.append(n)
            budget -= need
    shown.sort()
    left_out = [n for n in used if n not in shown]

    def line(parts: Sequence[tuple[int, str]]) -> str:
        out = []
        for n, text in parts:
            text = fit(text, widths[n])
            pad = " " * (widths[n] - text_width(text))
            out.append(pad + text if cols[n].numeric else text + pad)
        return (" " * GAP).join(out).rstrip()

    rows = []
    if any(cols[n].group for n in shown):
        # the groups, each over its adjacent shown columns
        spans: list[tuple[str, int]] = []
        for n in shown:
            g = visible(cols[n].group)
            if spans and spans[-1][0] == g and g:
                spans[-1] = (g, spans[-1][1] + GAP + widths[n])
            else:
                spans.append((g, widths[n]))
        rows.append((" " * GAP).join(fit(g, w) + " " * (w - text_width(fit(g, w))) for g, w in spans).rstrip())
    head = {n: _head_lines(heads[n], widths[n]) for n in shown}
    depth = max((len(h) for h in head.values()), default=1)
    for k in range(depth):
        # a two-line header sits at the bottom, next to the data
        rows.append(line([(n, (([""] * (depth - len(head[n]))) + head[n])[k]) for n in shown]))
    rows.append((" " * GAP).join("─" * widths[n] for n in shown))
    for r in cells:
        # a name longer than its column is wrapped in it, never cut: two rows must never read the same
        parts = {n: _wrap_cell(r[n], widths[n]) if n in labels else [r[n]] for n in shown}
        for k in range(max(len(v) for v in parts.values())):
            rows.append(line([(n, parts[n][k] if k < len(parts[n]) else "") for n in shown]))
    if left_out:
        names = ", ".join(_name(table, n) for n in left_out)
        tail = f"; {more}" if more else ""
        rows += wrap(f"({len(left_out)} more column(s) not shown at this width: {names}{tail})", width)
    return "\n".join(rows)


def render_text(report: Report, width: int, *, more: str = "", captions: bool = True) -> str:
    """The report for a terminal: its title, summary, each table (titled when there are several), the tables'
    captions (unless ``captions`` is False) and the notes, all within ``width`` columns. Figures and provenance
    are left to the report's files; ``more`` says where they are."""
    width = max(width, MIN_WIDTH)
    out = [visible(report.title), ""]
    if report.summary:
        out += [*wrap(report.summary, width, hanging=""), ""]
    for table in report.tables:
        if len(report.tables) > 1 or table.title != report.title:
            out.append(visible(table.title))
        out.append(render_table_text(table, width, more=more))
        if captions and table.caption:
            out += wrap(table.caption, width, hanging="")
        out.append("")
    for note in report.notes:
        out += wrap(note, width, indent="- ", hanging="  ")
    if report.notes:
        out.append("")
    if more:
        out += wrap(more[0].upper() + more[1:] + ".", width, hanging="")
    return "\n".join(out).rstrip("\n") + "\n"
