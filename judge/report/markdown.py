"""Markdown rendering of a ``Report``: for pull requests, READMEs and the terminal."""

from __future__ import annotations

from pydantic import BaseModel

from judge.report.model import Report, Table
from judge.report.renderers import FORMATS

# A wider table does not fit a pull request or a terminal (the judge board with 7 criteria had 37 columns): it is
# split into one table per column group, each repeating the columns that name the row.
MAX_COLUMNS = 12


def _escape(text: str) -> str:
    """Keep cell text from breaking the table: pipes are escaped and newlines become spaces."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_table(table: Table) -> str:
    """A GitHub-flavoured markdown table; numeric columns are right-aligned, a column group prefixes its labels."""
    heads = [_escape(f"{c.group} {c.label}" if c.group else c.label) for c in table.columns]
    aligns = ["---:" if c.numeric else ":---" for c in table.columns]
    lines = ["| " + " | ".join(heads) + " |", "| " + " | ".join(aligns) + " |"]
    lines += ["| " + " | ".join(_escape(cell.text) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines)


def split_table(table: Table, max_columns: int = MAX_COLUMNS) -> list[Table]:
    """``table`` as it is, if it has at most ``max_columns`` columns or no column groups; else one table per group
    (titled by the group) with the ungrouped columns before the first group (the row's name) in front of each, and
    the remaining ungrouped columns in a last table of their own."""
    cols = table.columns
    if len(cols) <= max_columns or not any(c.group for c in cols):
        return [table]
    first = next(i for i, c in enumerate(cols) if c.group)
    lead = list(range(first))
    parts: dict[str, list[int]] = {}
    for i, c in enumerate(cols[first:], first):
        parts.setdefault(c.group, []).append(i)
    out = []
    for group, idx in parts.items():
        keep = lead + idx
        title = f"{table.title}: {group}" if group else f"{table.title}: other columns"
        out.append(
            table.model_copy(
                update={
                    "key": f"{table.key}-{group or 'other'}",
                    "title": title,
                    "columns": [cols[i].model_copy(update={"group": ""}) for i in keep],
                    "rows": [[row[i] for i in keep] for row in table.rows],
                    "caption": "",
                }
            )
        )
    out[-1] = out[-1].model_copy(update={"caption": table.caption})
    return out


def render_markdown(report: Report) -> str:
    """The whole report: title, summary, each table with its caption, notes and provenance."""
    parts = [f"# {_escape(report.title)}"]
    if report.summary:
        parts.append(report.summary)
    if report.links:
        parts.append(" · ".join(f"[{_escape(link.label)}]({link.href.replace(' ', '%20')})" for link in report.links))
    for whole in report.tables:
        pieces = split_table(whole)
        for table in pieces:
            if len(report.tables) > 1 or len(pieces) > 1 or table.title != report.title:
                parts.append(f"## {_escape(table.title)}")
            parts.append(render_table(table))
            if table.caption:
                parts.append(table.caption)
    if report.notes:
        parts.append("\n".join(f"- {n}" for n in report.notes))
    if report.provenance:
        parts.append(
            "<details><summary>Provenance</summary>\n\n"
            + "\n".join(f"- {_escape(k)}: `{v}`" for k, v in report.provenance)
            + "\n\n</details>"
        )
    return "\n\n".join(parts) + "\n"


@FORMATS.register("md")
def markdown_file(board: BaseModel, report: Report) -> str:
    """The ``.md`` file of a report."""
    return render_markdown(report)
