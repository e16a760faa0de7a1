"""The registry of report formats: format name (the file's suffix) -> the function that renders a report in it.

Kept apart from ``model`` so that the names (``--format``'s choices and help) cost no import of pydantic models.
A renderer registers itself in its own module with ``@FORMATS.register(name)``; ``FORMATS.where`` says which
module that is, so looking a format up imports only its renderer. A name cannot be registered without a renderer,
and a name whose module does not register it is a ``RegistryError`` on first use (never the HTML of another).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from judge.registry import Registry

if TYPE_CHECKING:
    from pydantic import BaseModel

    from judge.report.model import Report


class Renderer(Protocol):
    """Renders one format: the analysis result itself (``board``, what JSON writes) and its ``Report`` layout."""

    def __call__(self, board: BaseModel, report: Report, /) -> str: ...


# The order is the order of "every format".
FORMATS: Registry[Renderer] = Registry(
    "report format",
    where={
        "md": "judge.report.markdown",
        "json": "judge.report.json_format",
        "csv": "judge.report.csv",
        "html": "judge.report.html",
    },
    requirement="a renderer (board, report) -> text",
)
