"""``judge view``: every judgment of a benchmark's runs in one self-contained, offline HTML page.

The page is one file with no network access: the rows (an ``ItemView``, see ``judge.report.items``) travel as JSON
in a ``<script type="application/json">`` block, and a small inline script filters (criterion, system, judge,
unscored reason, text), sorts (judge vs experts, calibrated judge vs experts, judge vs judge, sample spread) and
pages them, one page of rows in the DOM at a time. Untrusted text reaches the page only as escaped JSON and is put
into the DOM with ``textContent``. The filters live in the URL hash, so other pages can link to a filtered view
(``viewer_href``).

Example::

    from judge.report.items import build_item_view
    from judge.report.viewer import write_viewer
    view = build_item_view(bench, rubrics, ["runs/gpt4o"])
    write_viewer(view, "reports/resort/viewer.html")
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from judge import __version__
from judge.report.html import reliability_bins, reliability_svg
from judge.report.items import ItemView
from judge.report.model import Link, Report

VIEWER_FILE = "viewer.html"

# JSON inside <script> ends at the first "</script" whatever the quoting: "<" never appears raw, and neither do
# the two line separators that old JavaScript parsers treat as newlines.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def script_json(data: str) -> str:
    """JSON text made safe to inline in a ``<script>`` element (still the same JSON value when parsed)."""
    return data.translate(_SCRIPT_SAFE)


def _asset(name: str) -> str:
    return resources.files("judge.report").joinpath(name).read_text(encoding="utf-8")


def viewer_href(viewer: str = VIEWER_FILE, **filters: str) -> str:
    """A link to the viewer with filters set, e.g. ``viewer_href("viewer.html", system="gpt-4o", sort="experts")``.

    Keys: ``criterion`` (name), ``system`` (the item's system name, ``model / pipeline / method``), ``judge``
    (label), ``unscored`` (``any``, ``none`` or a reason), ``q`` (text), ``sort`` (``experts``, ``calibrated``,
    ``judges``, ``samples``), ``dir`` (``asc``).
    """
    known = {"criterion", "system", "judge", "unscored", "q", "sort", "dir", "page", "size"}
    bad = sorted(set(filters) - known)
    if bad:
        raise ValueError(f"unknown viewer filter(s) {bad}; expected some of {sorted(known)}")
    frag = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in filters.items() if v)
    return f"{viewer}#{frag}" if frag else viewer


def link_viewer(report: Report, href: str = VIEWER_FILE, label: str = "Every judgment, item by item") -> Report:
    """The report with a link to the item viewer under its title (``render_html`` and ``render_markdown`` show it).

    Where a leaderboard is written next to a viewer (``judge demo``), call this before rendering.
    """
    return report.model_copy(update={"links": [*report.links, Link(label=label, href=href, title="judge view")]})


def _summary(view: ItemView) -> str:
    n_items = len(view.items)
    rated = sum(1 for r in view.rows if r["experts"])
    judges = ", ".join(j.label for j in view.judges) or "none"
    return (
        f"Benchmark {view.benchmark}: {n_items:,} items, {len(view.rows):,} rows (item × criterion), "
        f"{rated:,} rated by experts ({len(view.raters)} raters). Judges: {judges}. "
        "Click a row for the post, the response, every sample's rationale and the experts' ratings."
    )


def _about(view: ItemView) -> str:
    head = "<tr><th>judge</th><th>model</th><th>run</th><th>samples</th><th>rubrics</th><th>calibrator</th></tr>"
    body = "".join(
        f"<tr><td>{_e(j.label)}</td><td>{_e(j.model)}</td><td class=mono>{_e(j.run)}</td><td>{j.samples}</td>"
        f"<td class=mono>{'<br>'.join(_e(r) for r in j.rubrics.values())}</td>"
        f"<td class=mono>{_e(j.calibrator or '—')}</td></tr>"
        for j in view.judges
    )
    crit = "".join(
        f"<tr><td>{_e(c.title)}</td><td>{c.low:g} – {c.high:g}</td><td>{_e(c.level)}</td>"
        f"<td class=mono>{_e(c.ref)}</td></tr>"
        for c in view.criteria
    )
    return (
        '<details class="about"><summary>Judges, runs, rubrics</summary>'
        f'<table class="meta">{head}{body}</table>'
        '<table class="meta"><tr><th>criterion</th><th>scale</th><th>level</th><th>rubric</th></tr>'
        f"{crit}</table></details>"
    )


def _calibration(view: ItemView) -> str:
    """A reliability diagram per calibrated judge and criterion: calibrated score against the experts' mean."""
    figs = []
    for k, j in enumerate(view.judges):
        if not j.calibrator:
            continue
        for ci, c in enumerate(view.criteria):
            pairs = [
                (cal, mean)
                for r in view.rows
                if r["criterion"] == ci
                and (mean := r["expert_mean"]) is not None
                and (cell := r["judges"][k]) is not None
                and (cal := cell["calibrated"]) is not None
            ]
            if len(pairs) < 2:
                continue
            bins = reliability_bins([p for p, _ in pairs], [o for _, o in pairs], c.low, c.high)
            svg = reliability_svg(bins, low=c.low, high=c.high, x_label=f"{j.label}, calibrated", title=c.title)
            posts = len(
                {
                    view.items[r["item"]]["post"]
                    for r in view.rows
                    if r["criterion"] == ci and r["expert_mean"] is not None
                }
            )
            fitted = j.fitted_posts.get(c.name, 0)
            caveat = (
                f" {fitted} of these {posts} posts were used to fit the calibrator: on them the calibrated scores are "
                "in-sample and look better calibrated than they will on new posts (judge calibrate reports held-out "
                "figures)."
                if fitted
                else " None of these posts was used to fit the calibrator."
            )
            figs.append(
                f"<figure><h3>{_e(j.label)}: {_e(c.title)}</h3>{svg}<figcaption>{len(pairs)} rated items; dots: "
                f"mean expert rating per bin of calibrated score (area ~ items).{_e(caveat)}</figcaption></figure>"
            )
    if not figs:
        return ""
    return (
        '<details class="about calibration"><summary>Calibration: reliability diagrams</summary>'
        f'<div class="figs">{"".join(figs)}</div></details>'
    )


def render_viewer(view: ItemView) -> str:
    """The viewer page for ``view``: one HTML document with its data, style and script inline."""
    data = script_json(view.model_dump_json(exclude_none=True))
    notes = '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in view.notes) + "</ul>" if view.notes else ""
    created = datetime.fromtimestamp(view.created_at, UTC).isoformat(timespec="seconds")
    controls = (
        # on a phone the filters fold behind this button (viewer.css); on a wide screen it is hidden
        '<button id="f-toggle" type="button" aria-controls="controls" aria-expanded="false">Filters and sort'
        "</button>"
        '<section class="controls" id="controls">'
        '<label>Criterion<select id="f-criterion"></select></label>'
        '<label>System<select id="f-system"></select></label>'
        '<label>Judge<select id="f-judge"></select></label>'
        '<label>Unscored<select id="f-unscored"></select></label>'
        '<label class="grow">Text<input id="f-q" type="search" autocomplete="off" '
        'placeholder="search posts, responses, rationales, item ids"></label>'
        '<label>Sort<select id="f-sort"></select></label>'
        '<button id="f-dir" type="button" title="sort direction"></button>'
        '<button id="f-reset" type="button">Reset</button></section>'
        '<div class="bar" id="bar"><span id="status" role="status"></span><nav class="pager">'
        '<button id="p-first" type="button" title="first page">«</button>'
        '<button id="p-prev" type="button" title="previous page">‹</button><span id="p-where"></span>'
        '<button id="p-next" type="button" title="next page">›</button>'
        '<button id="p-last" type="button" title="last page">»</button>'
        '<select id="p-size" title="rows per page"></select></nav></div>'
    )
    table = (
        '<table class="rows" id="rows"><colgroup id="cols"></colgroup><thead><tr id="head"></tr></thead>'
        '<tbody id="body"></tbody></table><p class="empty" id="empty" hidden>No rows match these filters.</p>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(view.title)}</title><style>{_asset('viewer.css')}</style></head><body><main>"
        f'<h1>{_e(view.title)}</h1><p class="summary">{_e(_summary(view))}</p>{_about(view)}{_calibration(view)}'
        f"{notes}{controls}{table}"
        f"<footer>Generated by reappraisal-judge {_e(__version__)} on {_e(created)}. One file, no network: "
        "share it as it is. Posts and responses may be sensitive.</footer></main>"
        f'<script type="application/json" id="viewer-data">{data}</script>'
        f"<script>{_asset('viewer.js')}</script></body></html>\n"
    )


def write_viewer(view: ItemView, out: str | Path) -> Path:
    """Write the viewer page atomically; ``out`` is a file, or a directory that gets ``viewer.html``."""
    from judge.fileio import write_text

    path = Path(out)
    if path.is_dir() or not path.suffix:
        path = path / VIEWER_FILE
    write_text(path, render_viewer(view), private=True)  # posts and responses can be sensitive, like the runs
    return path


def view_stats(view: ItemView) -> Mapping[str, object]:
    """Counts a script can read after writing a viewer."""
    return {
        "items": len(view.items),
        "rows": len(view.rows),
        "judges": [j.label for j in view.judges],
        "criteria": [c.name for c in view.criteria],
        "raters": len(view.raters),
        "unscored_reasons": view.reasons,
        "notes": view.notes,
    }
