"""Stage 4, report: analysis results (system leaderboards, judge boards, agreement reports, calibrators) as
format-neutral ``Report`` models, rendered as markdown, CSV and self-contained HTML (the JSON is the result model
itself; ``format`` writes every number the same way); every judgment item by item (``ItemView``) as an offline
HTML viewer, and a run summed up for a terminal (``RunOverview``).

Example::

    from judge.report import write_report
    paths = write_report(lb, "reports/resort")   # leaderboard.md, .json, .csv, .html
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.report.agreement import (
        agreement_document as agreement_document,
        render_agreement_table as render_agreement_table,
    )
    from judge.report.calibration import (
        calibration_document as calibration_document,
        render_calibration as render_calibration,
    )
    from judge.report.csv import (
        render_csv as render_csv,
    )
    from judge.report.html import (
        render_html as render_html,
    )
    from judge.report.items import (
        ItemView as ItemView,
        build_item_view as build_item_view,
        largest as largest,
    )
    from judge.report.judges import (
        judge_report as judge_report,
    )
    from judge.report.markdown import (
        render_markdown as render_markdown,
    )
    from judge.report.model import (
        Cell as Cell,
        Column as Column,
        Figure as Figure,
        Link as Link,
        Report as Report,
        Table as Table,
    )
    from judge.report.overview import (
        RunOverview as RunOverview,
        render_overview as render_overview,
        run_overview as run_overview,
    )
    from judge.report.pair_viewer import (
        build_pair_view as build_pair_view,
        write_pair_viewer as write_pair_viewer,
    )
    from judge.report.pairwise_board import (
        pairwise_report as pairwise_report,
    )
    from judge.report.probes import (
        probe_document as probe_document,
    )
    from judge.report.renderers import (
        FORMATS as FORMATS,
    )
    from judge.report.system import (
        system_report as system_report,
    )
    from judge.report.viewer import (
        link_viewer as link_viewer,
        render_viewer as render_viewer,
        viewer_href as viewer_href,
        write_viewer as write_viewer,
    )
    from judge.report.write import (
        build_report as build_report,
        formats_of as formats_of,
        parse_formats as parse_formats,
        register_builder as register_builder,
        register_layout as register_layout,
        render as render,
        write_report as write_report,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "probe_document": "judge.report.probes",
    "agreement_document": "judge.report.agreement",
    "render_agreement_table": "judge.report.agreement",
    "calibration_document": "judge.report.calibration",
    "render_calibration": "judge.report.calibration",
    "Cell": "judge.report.model",
    "Column": "judge.report.model",
    "Figure": "judge.report.model",
    "FORMATS": "judge.report.renderers",
    "Report": "judge.report.model",
    "Table": "judge.report.model",
    "build_report": "judge.report.write",
    "parse_formats": "judge.report.write",
    "write_report": "judge.report.write",
    "render": "judge.report.write",
    "formats_of": "judge.report.write",
    "register_builder": "judge.report.write",
    "register_layout": "judge.report.write",
    "system_report": "judge.report.system",
    "pairwise_report": "judge.report.pairwise_board",
    "build_pair_view": "judge.report.pair_viewer",
    "write_pair_viewer": "judge.report.pair_viewer",
    "judge_report": "judge.report.judges",
    "render_markdown": "judge.report.markdown",
    "render_csv": "judge.report.csv",
    "render_html": "judge.report.html",
    "Link": "judge.report.model",
    "ItemView": "judge.report.items",
    "build_item_view": "judge.report.items",
    "largest": "judge.report.items",
    "render_viewer": "judge.report.viewer",
    "write_viewer": "judge.report.viewer",
    "viewer_href": "judge.report.viewer",
    "link_viewer": "judge.report.viewer",
    "RunOverview": "judge.report.overview",
    "run_overview": "judge.report.overview",
    "render_overview": "judge.report.overview",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)
