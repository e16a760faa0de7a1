"""Stage 4, report: analysis results (system leaderboards, judge boards, agreement reports, calibrators) as
format-neutral ``Report`` models, rendered as markdown, CSV and self-contained HTML (the JSON is the result model
itself); ``format`` writes every number the same way.

Example::

    from judge.report import write_report
    paths = write_report(lb, "reports/resort")   # leaderboard.md, .json, .csv, .html
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judge.report.agreement import (
        agreement_document as agreement_document,
    )
    from judge.report.agreement import (
        render_agreement_table as render_agreement_table,
    )
    from judge.report.calibration import (
        calibration_document as calibration_document,
    )
    from judge.report.calibration import (
        render_calibration as render_calibration,
    )
    from judge.report.csv import (
        render_csv as render_csv,
    )
    from judge.report.html import (
        render_html as render_html,
    )
    from judge.report.judges import (
        judge_report as judge_report,
    )
    from judge.report.markdown import (
        render_markdown as render_markdown,
    )
    from judge.report.model import (
        FORMATS as FORMATS,
    )
    from judge.report.model import (
        Cell as Cell,
    )
    from judge.report.model import (
        Column as Column,
    )
    from judge.report.model import (
        Figure as Figure,
    )
    from judge.report.model import (
        Report as Report,
    )
    from judge.report.model import (
        Table as Table,
    )
    from judge.report.system import (
        system_report as system_report,
    )
    from judge.report.write import (
        build_report as build_report,
    )
    from judge.report.write import (
        parse_formats as parse_formats,
    )
    from judge.report.write import (
        write_report as write_report,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "agreement_document": "judge.report.agreement",
    "render_agreement_table": "judge.report.agreement",
    "calibration_document": "judge.report.calibration",
    "render_calibration": "judge.report.calibration",
    "Cell": "judge.report.model",
    "Column": "judge.report.model",
    "Figure": "judge.report.model",
    "FORMATS": "judge.report.model",
    "Report": "judge.report.model",
    "Table": "judge.report.model",
    "build_report": "judge.report.write",
    "parse_formats": "judge.report.write",
    "write_report": "judge.report.write",
    "system_report": "judge.report.system",
    "judge_report": "judge.report.judges",
    "render_markdown": "judge.report.markdown",
    "render_csv": "judge.report.csv",
    "render_html": "judge.report.html",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
