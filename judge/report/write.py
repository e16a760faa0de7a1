"""Writing a report in every format: each analysis result becomes a ``Report``, rendered per format."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from judge.errors import UsageError
from judge.report.model import FORMATS, Report


def build_report(board: BaseModel) -> Report:
    """The ``Report`` of a known analysis result (system leaderboard, agreement report, calibrator)."""
    from judge.analysis.agreement import AgreementReport
    from judge.analysis.calibration import Calibrator
    from judge.analysis.leaderboard import Leaderboard

    if isinstance(board, Leaderboard):
        from judge.report.system import system_report

        return system_report(board)
    if isinstance(board, AgreementReport):
        from judge.report.agreement import agreement_document

        return agreement_document(board)
    if isinstance(board, Calibrator):
        from judge.report.calibration import calibration_document

        return calibration_document(board)
    raise UsageError(f"no report layout for {type(board).__name__}; pass report=... to write_report")


def parse_formats(text: str) -> tuple[str, ...]:
    """``"md,html"`` -> ``("md", "html")``; unknown names are a ``UsageError`` listing the known ones."""
    names = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in names if f not in FORMATS]
    if bad or not names:
        raise UsageError(f"--format: unknown format(s) {bad or [text]}; expected a comma list of {', '.join(FORMATS)}")
    return names


def write_report(
    board: BaseModel,
    out_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    *,
    report: Report | None = None,
    stem: str = "leaderboard",
) -> dict[str, Path]:
    """Write ``<stem>.md``, ``.json``, ``.csv``, ``.html`` into ``out_dir``, each atomically.

    Args:
        board: the leaderboard model (its JSON dump is the ``.json`` file).
        out_dir: directory, created if missing.
        formats: any of ``md``, ``json``, ``csv``, ``html``.
        report: the rendered layout; built from ``board`` if omitted.
        stem: file name without extension.

    Returns:
        format -> path written.
    """
    from judge.fileio import write_text
    from judge.report.csv import render_csv
    from judge.report.html import render_html
    from judge.report.markdown import render_markdown

    fmts = list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise UsageError(f"unknown report format(s) {bad}; expected some of {list(FORMATS)}")
    rep = report or build_report(board)
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for fmt in fmts:
        path = out / f"{stem}.{fmt}"
        if fmt == "json":
            text = board.model_dump_json(indent=2) + "\n"
        elif fmt == "md":
            text = render_markdown(rep)
        elif fmt == "csv":
            text = render_csv(rep.long_table or rep.tables[0])
        else:
            text = render_html(rep)
        write_text(path, text)
        paths[fmt] = path
    return paths
