"""Writing a report in every format: each analysis result becomes a ``Report`` (its builder), rendered per format.

Three registries decide what a result looks like, each filled where the thing is defined:

* ``renderers.FORMATS``: the formats every ``Report`` has (md, json, csv, html) and their renderers;
* ``BUILDERS``: result type -> the function that lays it out as a ``Report`` (``@register_builder(Leaderboard)``
  above it, in a module of this package: they are all imported the first time a builder is looked for);
* ``LAYOUTS``: a file of its own for one result type in one format, instead of the ``Report``'s
  (``@register_layout(GateReport, "junit")``, next to the result type: registered whenever such a result exists).
  A layout may also add a format only that result has (the gate's JUnit XML).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from judge.errors import UsageError
from judge.registry import Registry
from judge.report.model import Report
from judge.report.renderers import FORMATS

B = TypeVar("B", bound=Callable[..., Any])

# "<module>.<class>" of a result -> its Report builder; the modules of judge.report are imported on first lookup
BUILDERS: Registry[Callable[[Any], Report]] = Registry(
    "report builder", package="judge.report", requirement="a function (result) -> Report"
)
# "<module>.<class>:<format>" -> the whole text of that file
LAYOUTS: Registry[Callable[[Any], str]] = Registry("report layout", requirement="a function (result) -> text")


def type_key(cls: type) -> str:
    """The registry key of a result type: ``judge.analysis.leaderboard.Leaderboard``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register_builder(result_type: type[BaseModel]) -> Callable[[B], B]:
    """Decorator: the decorated function lays results of ``result_type`` (and its subclasses) out as a ``Report``."""

    def decorate(builder: B) -> B:
        BUILDERS.add(type_key(result_type), builder)
        return builder

    return decorate


def register_layout(result_type: type[BaseModel], fmt: str) -> Callable[[B], B]:
    """Decorator: the decorated function writes the ``fmt`` file of results of ``result_type`` itself."""

    def decorate(layout: B) -> B:
        LAYOUTS.add(f"{type_key(result_type)}:{fmt}", layout)
        return layout

    return decorate


def _layout(board: BaseModel, fmt: str) -> Callable[[Any], str] | None:
    for cls in type(board).__mro__:
        key = f"{type_key(cls)}:{fmt}"
        if key in LAYOUTS:
            return LAYOUTS.get(key)
    return None


def _builder(board: BaseModel) -> Callable[[Any], Report] | None:
    for cls in type(board).__mro__:
        if type_key(cls) in BUILDERS:
            return BUILDERS.get(type_key(cls))
    return None


def formats_of(board: BaseModel, report: Report | None = None) -> list[str]:
    """The formats ``board`` can be written in: every ``Report`` format if it has a ``Report`` (``report``, or a
    builder), and those its own layouts add."""
    own = [
        key.rsplit(":", 1)[1]
        for cls in type(board).__mro__
        for key in LAYOUTS.names()
        if key.startswith(f"{type_key(cls)}:")
    ]
    common = FORMATS.names() if report is not None or _builder(board) is not None else []
    return list(dict.fromkeys([*common, *own]))


def build_report(board: BaseModel) -> Report:
    """The ``Report`` of an analysis result (system leaderboard, agreement report, calibrator, probe report...)."""
    builder = _builder(board)
    if builder is None:
        raise UsageError(
            f"no report builder for {type_key(type(board))}; pass report=... to write_report, or register one "
            f"(the results with a builder: {', '.join(BUILDERS.names())})"
        )
    return builder(board)


def render(board: BaseModel, fmt: str, report: Report | None = None) -> str:
    """The text of ``board``'s ``fmt`` file: its own layout if it has one, else the format's rendering of its
    ``Report`` (``report``, or built). An unknown format is a ``UsageError`` naming the nearest."""
    return _renderers(board, [fmt], report)[fmt]()


def _renderers(board: BaseModel, fmts: list[str], report: Report | None) -> dict[str, Callable[[], str]]:
    """Each format's text, ready to render: every name checked and every renderer imported before any is called
    (a format that cannot be rendered stops the writing before a file is written)."""
    own = formats_of(board, report)
    bad = [f for f in fmts if f not in own]
    if bad:
        raise _unknown(board, bad[0], report)
    out: dict[str, Callable[[], str]] = {}
    for fmt in fmts:
        layout = _layout(board, fmt)
        if layout is not None:
            out[fmt] = partial(layout, board)
        else:
            renderer = FORMATS.get(fmt)
            if report is None:
                report = build_report(board)
            out[fmt] = partial(renderer, board, report)
    return out


def _unknown(board: BaseModel, fmt: str, report: Report | None = None) -> UsageError:
    own = formats_of(board, report)
    if fmt in FORMATS or any(key.endswith(f":{fmt}") for key in LAYOUTS.names()):
        return UsageError(f"{type(board).__name__} has no {fmt} format (its formats: {', '.join(own)})")
    return FORMATS.unknown(fmt)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"md,html"`` -> ``("md", "html")``; an unknown name is a ``UsageError`` naming the nearest known one."""
    names = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    if not names:
        raise UsageError(f"--format: no format in {text!r}; expected a comma list of {', '.join(FORMATS)}")
    FORMATS.check(names, flag="--format")
    return names


def write_report(
    board: BaseModel,
    out_dir: str | Path,
    formats: Iterable[str] | None = None,
    *,
    report: Report | None = None,
    stem: str = "leaderboard",
) -> dict[str, Path]:
    """Write ``<stem>.<format>`` into ``out_dir`` for each format, each atomically.

    Args:
        board: the analysis result (its JSON dump is the ``.json`` file).
        out_dir: directory, created if missing.
        formats: names registered in ``FORMATS`` (default: all of them), or formats only this result's layouts
            have (the gate's ``junit``).
        report: the rendered layout; built from ``board`` if omitted (and if a format needs it).
        stem: file name without extension.

    Returns:
        format -> path written.
    """
    from judge.fileio import write_text

    fmts = list(FORMATS) if formats is None else list(formats)
    texts = _renderers(board, fmts, report)
    out = Path(out_dir)
    paths: dict[str, Path] = {}
    for fmt, text in texts.items():
        path = out / f"{stem}.{fmt}"
        write_text(path, text())
        paths[fmt] = path
    return paths
