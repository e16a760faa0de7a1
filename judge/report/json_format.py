"""The JSON report format: the analysis result itself, every number in it."""

from __future__ import annotations

from pydantic import BaseModel

from judge.report.model import Report
from judge.report.renderers import FORMATS


@FORMATS.register("json")
def json_file(board: BaseModel, report: Report) -> str:
    """The result model itself, every number in it (the ``Report`` is a layout of it, not needed here)."""
    return board.model_dump_json(indent=2) + "\n"
