"""Markdown rendering of a ``Report``: for pull requests, READMEs and the terminal."""

from __future__ import annotations

from judge.report.model import Report, Table


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


def render_markdown(report: Report) -> str:
    """The whole report: title, summary, each table with its caption, notes and provenance."""
    parts = [f"# {_escape(report.title)}"]
    if report.summary:
        parts.append(report.summary)
    if report.links:
        parts.append(" · ".join(f"[{_escape(link.label)}]({link.href.replace(' ', '%20')})" for link in report.links))
    for table in report.tables:
        if len(report.tables) > 1 or table.title != report.title:
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
