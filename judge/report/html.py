"""A single self-contained HTML page: sortable tables and inline SVG plots, no network access at all.

Everything the page needs is inline (CSS, a few lines of JS, SVG drawn here in Python), so the file can be mailed,
attached to a CI run or opened offline. All text is escaped with ``html.escape``: system names, criteria and notes
come from files anyone can write.

Sorting: click a column header (again to reverse). The page also sorts on load when its URL ends in
``#sort=<column key>`` or ``#sort=<column key>:asc|desc`` (``<table key>.<column key>`` picks a table), and
records what it sorted by in the table's ``data-sorted`` attribute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from judge import __version__
from judge.report.density import GRID as BIN_GRID, aggregate
from judge.report.model import Figure, Report, Table
from judge.report.plot_parts import (
    ACCENT as ACCENT,
    GRID as GRID,
    MUTED as MUTED,
    AgreementPanel as AgreementPanel,
    AgreementRow as AgreementRow,
    Panel as Panel,
    RankPanel as RankPanel,
    _e as _e,
    _fmt as _fmt,
    nice_ticks as nice_ticks,
)
from judge.report.renderers import FORMATS

_CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--accent:#2563eb;--stripe:#f8fafc;--hover:#eff6ff}
*{box-sizing:border-box}
body{margin:0;background:#f1f5f9;color:var(--fg);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1480px;margin:24px auto;padding:28px 32px;background:#fff;border-radius:10px;
 box-shadow:0 1px 3px rgba(15,23,42,.08)}
h1{font-size:22px;margin:0 0 6px;letter-spacing:-.01em}
h2{font-size:16px;margin:32px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 6px}
a{color:var(--accent)}
.summary{color:var(--muted);margin:0 0 18px;max-width:980px}
nav.links{margin:0 0 16px;display:flex;gap:14px;flex-wrap:wrap;font-size:13px}
nav.links a{padding:3px 10px;border:1px solid #bfdbfe;border-radius:999px;background:#eff6ff;text-decoration:none}
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
.wrap+.more{display:none;color:var(--muted);font-size:12px;text-align:right;margin-top:2px}
.wrap.overflows+.more{display:block}
table.data{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
table.data th,table.data td{padding:4px 7px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.data .num{text-align:right}
table.data td.has-ci{white-space:normal}
table.data td .ci{display:inline-block;white-space:nowrap;color:var(--muted);font-size:12px}
table.data thead th{background:#f8fafc;font-weight:600;position:sticky;top:0}
table.data thead tr.cols th{cursor:pointer;user-select:none;white-space:normal;vertical-align:bottom}
table.data thead tr.cols th:hover{color:var(--accent)}
table.data th.group{text-align:center;border-bottom:2px solid var(--accent);font-weight:600;white-space:normal}
table.data th.blank{border-bottom:none}
table.data tbody tr{background:#fff}
table.data tbody tr:nth-child(even){background:var(--stripe)}
table.data tbody tr:hover{background:var(--hover)}
.wrap.overflows table.data tr>:first-child{position:sticky;left:0;z-index:1;background:inherit;
 box-shadow:inset -1px 0 0 var(--line)}
.wrap.overflows table.data thead tr>:first-child{background:#f8fafc;z-index:2}
table.data th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px;color:var(--accent)}
table.data th[aria-sort=descending]::after{content:" \\25BC";font-size:10px;color:var(--accent)}
.caption,figcaption{color:var(--muted);font-size:12px;margin-top:6px;max-width:980px}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(400px,100%),1fr));gap:12px 24px}
.figs figure h3{margin:4px 0 4px}
figure{margin:0 0 12px;max-width:100%;overflow-x:auto}
svg.whiskers,svg.scatter,svg.reliability,svg.agreement,svg.ranks{max-width:100%;height:auto}
table.dist td{padding:1px 8px;border-bottom:1px solid var(--line);font-size:12px;white-space:nowrap}
table.dist th{font-size:12px;text-align:center;padding:4px 8px}
ul.notes{color:#92400e;background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 8px 8px 28px}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:12px;color:var(--muted)}
dl.prov dt{font-weight:600}
dl.prov dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
footer{margin-top:28px;color:var(--muted);font-size:12px}
.summary,.caption,figcaption,ul.notes,footer,h1,h2{overflow-wrap:anywhere}
/* a panel plot comes in two layouts (report.plots_narrow): side by side where it fits, its panels stacked where
   it would have to shrink; the script picks by the plot's own width, the media query decides without a script */
.plot .narrow{display:none;flex-direction:column;gap:18px}
.plot.fits .wide{display:block}.plot.fits .narrow{display:none}
.plot.stacked .wide{display:none}.plot.stacked .narrow{display:flex}
@media (max-width:760px){
 main{margin:0;padding:14px 12px 22px;border-radius:0;box-shadow:none}
 h1{font-size:19px}
 h2{margin-top:24px}
 .plot .wide{display:none}.plot .narrow{display:flex}
 dl.prov{grid-template-columns:minmax(0,1fr)}
 dl.prov dd{margin-bottom:4px}
}
"""

_JS = """
(function(){
  function key(td){
    var v = td.getAttribute('data-sort'); if (v === null) v = td.textContent.trim();
    if (v === '') return null;
    var n = Number(v); return isNaN(n) ? v.toLowerCase() : n;
  }
  function sortTable(table, th, dir){
    var col = Number(th.getAttribute('data-col')), body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function(a, b){
      var x = key(a.cells[col]), y = key(b.cells[col]);
      if (x === null || y === null) return (x === null) - (y === null);  /* missing values last */
      var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return dir === 'desc' ? -c : c;
    });
    rows.forEach(function(r){ body.appendChild(r); });
    table.querySelectorAll('tr.cols th').forEach(function(h){ h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
    table.setAttribute('data-sorted', th.getAttribute('data-key') + ':' + dir);
  }
  document.querySelectorAll('table.data').forEach(function(table){
    table.querySelectorAll('tr.cols th').forEach(function(th){
      th.addEventListener('click', function(){
        var cur = th.getAttribute('aria-sort');
        var dir = cur ? (cur === 'ascending' ? 'desc' : 'asc') : (th.classList.contains('num') ? 'desc' : 'asc');
        sortTable(table, th, dir);
      });
    });
  });
  /* a table wider than the page scrolls inside its box; say so, since a cut-off column looks like a missing one
     (and keep its first column, the row's name, in view while it scrolls: CSS .wrap.overflows) */
  function markOverflow(){
    document.querySelectorAll('div.wrap').forEach(function(w){
      w.classList.toggle('overflows', w.scrollWidth > w.clientWidth + 1);
    });
  }
  markOverflow();
  window.addEventListener('resize', markOverflow);
  /* a panel plot is shown side by side where it fits at its own size, else as stacked panels (never shrunk) */
  function placePlots(){
    document.querySelectorAll('div.plot').forEach(function(p){
      var svg = p.querySelector('.wide svg'), need = svg ? Number(svg.getAttribute('width')) : 0;
      var fits = p.clientWidth >= need;
      p.classList.toggle('fits', fits);
      p.classList.toggle('stacked', !fits);
    });
  }
  placePlots();
  window.addEventListener('resize', placePlots);
  var m = /^#sort=([^:]+)(?::(asc|desc))?$/.exec(decodeURIComponent(location.hash || ''));
  if (m) {
    var parts = m[1].split('.'), tkey = parts.length > 1 ? parts[0] : null, ckey = parts[parts.length - 1];
    var tables = document.querySelectorAll('table.data');
    for (var i = 0; i < tables.length; i++) {
      if (tkey && tables[i].getAttribute('data-key') !== tkey) continue;
      var th = tables[i].querySelector('tr.cols th[data-key="' + ckey.replace(/"/g, '') + '"]');
      if (th) { sortTable(tables[i], th, m[2] || 'asc'); break; }
    }
  }
})();
"""


_CI_TEXT = re.compile(r"^(\S+) (\[[^\[\]]+\])$")


def _cell_text(text: str) -> str:
    """Cell text; a ``"value [low, high]"`` text gets its interval in a span that moves under the value when the
    table is too wide for one line (the leaderboard's main cause of sideways overflow)."""
    m = _CI_TEXT.match(text)
    if not m:
        return _e(text)
    return f'{_e(m.group(1))} <span class="ci">{_e(m.group(2))}</span>'


def safe_href(href: str) -> str | None:
    """``href`` escaped for an attribute, or None for a scheme that could run code (``javascript:``, ``data:``);
    relative paths and http(s) URLs pass."""
    head = re.split(r"[/?#]", href.strip(), maxsplit=1)[0]
    if ":" in head and head.split(":", 1)[0].lower() not in ("http", "https"):
        return None
    return _e(href)


# -- tables ----------------------------------------------------------------------------------------------------


def render_table(table: Table) -> str:
    """A sortable ``<table class="data">``; a row of group headers is added when columns are grouped."""
    cols = table.columns
    head = []
    if any(c.group for c in cols):
        cells, i = [], 0
        while i < len(cols):
            j = i
            while j + 1 < len(cols) and cols[j + 1].group == cols[i].group:
                j += 1
            span = j - i + 1
            cls = "group" if cols[i].group else "blank"
            cells.append(f'<th class="{cls}" colspan="{span}">{_e(cols[i].group)}</th>')
            i = j + 1
        head.append('<tr class="groups">' + "".join(cells) + "</tr>")
    head.append(
        '<tr class="cols">'
        + "".join(
            f'<th data-col="{n}" data-key="{_e(c.key)}"{" class=num" if c.numeric else ""}'
            f"{f' title={chr(34)}{_e(c.help)}{chr(34)}' if c.help else ''}>{_e(c.label)}</th>"
            for n, c in enumerate(cols)
        )
        + "</tr>"
    )
    body = []
    for row in table.rows:
        tds = []
        for c, cell in zip(cols, row, strict=True):
            classes = ["num"] if c.numeric else []
            if _CI_TEXT.match(cell.text):
                classes.append("has-ci")  # may wrap between the value and its interval
            attrs = f' class="{" ".join(classes)}"' if classes else ""
            if cell.value is not None:
                attrs += f' data-sort="{_e(cell.value)}"'
            elif c.numeric:
                attrs += ' data-sort=""'
            if cell.title:
                attrs += f' title="{_e(cell.title)}"'
            inner = _cell_text(cell.text)
            href = safe_href(cell.href) if cell.href else None
            if href:
                inner = f'<a href="{href}">{inner}</a>'
            tds.append(f"<td{attrs}>{inner}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    caption = f'<p class="caption">{_e(table.caption)}</p>' if table.caption else ""
    return (
        f'<div class="wrap"><table class="data" data-key="{_e(table.key)}"><thead>{"".join(head)}</thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        '<p class="more">The table is wider than the page: scroll it sideways for more columns.</p>'
        f"{caption}"
    )


def _links(report: Report) -> str:
    out = []
    for link in report.links:
        href = safe_href(link.href)
        if href is None:
            continue
        title = f' title="{_e(link.title)}"' if link.title else ""
        out.append(f'<a href="{href}"{title}>{_e(link.label)}</a>')
    return f'<nav class="links">{"".join(out)}</nav>' if out else ""


def _figures(figs: Sequence[Figure]) -> list[str]:
    """Figures in order; consecutive figures of one ``group`` share a heading and a grid (side by side)."""
    parts: list[str] = []
    i = 0
    while i < len(figs):
        fig = figs[i]
        if not fig.group:
            caption = f"<figcaption>{_e(fig.caption)}</figcaption>" if fig.caption else ""
            parts.append(
                f'<h2 id="{_e(fig.key)}">{_e(fig.title)}</h2>'
                f'<figure data-key="{_e(fig.key)}">{fig.html}{caption}</figure>'
            )
            i += 1
            continue
        j = i
        cells = []
        while j < len(figs) and figs[j].group == fig.group:
            f = figs[j]
            caption = f"<figcaption>{_e(f.caption)}</figcaption>" if f.caption else ""
            cells.append(
                f'<figure id="{_e(f.key)}" data-key="{_e(f.key)}"><h3>{_e(f.title)}</h3>{f.html}{caption}</figure>'
            )
            j += 1
        parts.append(f'<h2>{_e(fig.group)}</h2><div class="figs">{"".join(cells)}</div>')
        i = j
    return parts


def render_html(report: Report) -> str:
    """The report as one HTML page with everything inline."""
    parts = [f"<h1>{_e(report.title)}</h1>"]
    if report.summary:
        parts.append(f'<p class="summary">{_e(report.summary)}</p>')
    parts.append(_links(report))
    if report.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    parts += _figures([f for f in report.figures if f.lead])
    for table in report.tables:
        parts.append(f'<h2 id="{_e(table.key)}">{_e(table.title)}</h2>{render_table(table)}')
    parts += _figures([f for f in report.figures if not f.lead])
    if report.provenance:
        parts.append(
            '<h2>Provenance</h2><dl class="prov">'
            + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in report.provenance)
            + "</dl>"
        )
    parts.append(f"<footer>Generated by reappraisal-judge {_e(__version__)}.</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(parts)}</main><script>{_JS}</script></body></html>\n"
    )


@FORMATS.register("html")
def html_file(board: BaseModel, report: Report) -> str:
    """The ``.html`` file of a report."""
    return render_html(report)


# -- plots -----------------------------------------------------------------------------------------------------


def _axis_x(
    x0: float, x1: float, y: float, y_top: float, low: float, high: float, ticks: Sequence[float], font: float = 11
) -> str:
    """Vertical grid lines and tick labels under them."""
    out = []
    for t in ticks:
        x = x0 + (t - low) / (high - low) * (x1 - x0)
        out.append(f'<line x1="{x:.1f}" y1="{y_top:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{y + 3 + font:.1f}" font-size="{font:g}" fill="{MUTED}" '
            f'text-anchor="middle">{_e(_fmt(t))}</text>'
        )
    return "".join(out)


def _axis_y(x0: float, x1: float, ticks: Sequence[float], sy: Callable[[float], float], font: float = 11) -> str:
    """Horizontal grid lines and tick labels left of them."""
    return "".join(
        f'<line x1="{x0}" y1="{sy(t):.1f}" x2="{x1}" y2="{sy(t):.1f}" stroke="{GRID}"/>'
        f'<text x="{x0 - 6}" y="{sy(t) + 4:.1f}" font-size="{font:g}" fill="{MUTED}" text-anchor="end">'
        f"{_e(_fmt(t))}</text>"
        for t in ticks
    )


# The square plots (scatter, reliability) are 420 px and shrink to fit a phone (to ~350 px): their text is drawn
# this much larger than the panel plots' so that it stays at least 10 px there.
SQUARE_TICK_FONT = 12.5
SQUARE_LABEL_FONT = 13.5


def whisker_panels_svg(
    labels: Sequence[str], panels: Sequence[Panel], *, panel_width: int = 200, max_width: float | None = None
) -> str:
    """Several dot-and-whisker panels side by side sharing the row labels (one panel per criterion); ``max_width``
    (e.g. ``PAGE_WIDTH``) narrows the panels so that the plot fits it. The page gets the same panels stacked too,
    for a phone (``plots_narrow.reflow``: CSS shows one layout)."""
    row_h, top, bottom, gap = 20, 26, 30, 34
    label_w = min(480.0, 16 + 6.0 * max((len(s) for s in labels), default=0))
    panel_width = _panel_width(label_w, len(panels), gap, panel_width, max_width)
    width = int(label_w + len(panels) * (panel_width + gap))
    h = top + row_h * len(labels) + bottom
    y_axis = top + row_h * len(labels)
    aria = ", ".join(p.title for p in panels) or "means with confidence intervals"
    out = [
        f'<svg class="whiskers" width="{width}" height="{h}" viewBox="0 0 {width} {h}" role="img" '
        f'aria-label="{_e(aria)}">'
    ]
    for n, label in enumerate(labels):
        y = top + row_h * n + row_h / 2
        if n % 2:
            out.append(
                f'<rect x="0" y="{y - row_h / 2:.1f}" width="{width}" height="{row_h}" fill="#f1f5f9" '
                'fill-opacity="0.8"/>'
            )
        out.append(
            f'<text x="{label_w - 10:.1f}" y="{y + 4:.1f}" font-size="11.5" fill="#0f172a" '
            f'text-anchor="end">{_e(label)}</text>'
        )
    for k, p in enumerate(panels):
        x0 = label_w + k * (panel_width + gap)
        out.append(_panel(labels, p, x0, x0 + panel_width, top, row_h, y_axis))
    out.append("</svg>")
    from judge.report.plots_narrow import reflow, whisker_panels

    return reflow("".join(out), whisker_panels(labels, panels))


def _panel(labels: Sequence[str], p: Panel, x0: float, x1: float, top: float, row_h: float, y_axis: float) -> str:
    def sx(v: float) -> float:
        return x0 + (min(max(v, p.low), p.high) - p.low) / (p.high - p.low) * (x1 - x0)

    out = [
        f'<text x="{(x0 + x1) / 2:.1f}" y="14" font-size="12" font-weight="600" fill="#0f172a" '
        f'text-anchor="middle">{_e(p.title)}</text>'
    ]
    out.append(_axis_x(x0, x1, y_axis, top - 4, p.low, p.high, nice_ticks(p.low, p.high, 6)))
    for n, label in enumerate(labels):
        y = top + row_h * n + row_h / 2
        m, ci = p.means[n], p.cis[n]
        tip = (
            p.tooltips[n]
            if p.tooltips
            else (
                f"{label}: "
                + ("no scores" if m is None else _fmt(m) + (f" [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""))
            )
        )
        out.append(f'<g class="row"><title>{_e(tip)}</title>')
        if m is None:
            out.append(f'<text x="{x0 + 6:.1f}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}">no scores</text>')
        else:
            if ci:
                a, b = sx(ci[0]), sx(ci[1])
                out.append(
                    f'<line x1="{a:.1f}" y1="{y:.1f}" x2="{b:.1f}" y2="{y:.1f}" stroke="{ACCENT}" '
                    'stroke-width="2" stroke-opacity="0.55"/>'
                )
                for xe in (a, b):
                    out.append(
                        f'<line x1="{xe:.1f}" y1="{y - 4:.1f}" x2="{xe:.1f}" y2="{y + 4:.1f}" '
                        f'stroke="{ACCENT}" stroke-width="1.5" stroke-opacity="0.7"/>'
                    )
            out.append(
                f'<circle class="mean" cx="{sx(m):.1f}" cy="{y:.1f}" r="4" fill="{ACCENT}" stroke="#fff" '
                'stroke-width="1"/>'
            )
        out.append("</g>")
    out.append(f'<line x1="{x0:.1f}" y1="{y_axis}" x2="{x1:.1f}" y2="{y_axis}" stroke="#94a3b8"/>')
    return "".join(out)


def histogram_svg(
    counts: Sequence[int], bins: Sequence[float], *, width: int = 150, height: int = 24, title: str = ""
) -> str:
    """A small histogram of counts per bin (bins are the bin centres, lowest first)."""
    total = sum(counts)
    peak = max(counts, default=0) or 1
    gap = 1.0
    bw = (width - 2) / max(len(counts), 1)
    out = [
        f'<svg class="hist" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(title or "score distribution")}">'
    ]
    tip = (title + ": " if title else "") + ", ".join(f"{_fmt(b)}: {c}" for b, c in zip(bins, counts, strict=True))
    out.append(f"<title>{_e(tip)} (n={total})</title>")
    for k, c in enumerate(counts):
        bh = (height - 4) * c / peak
        out.append(
            f'<rect x="{1 + k * bw + gap / 2:.1f}" y="{height - 2 - bh:.1f}" width="{max(bw - gap, 0.5):.1f}" '
            f'height="{bh:.1f}" fill="{ACCENT}" fill-opacity="0.75"/>'
        )
    out.append(f'<line x1="0" y1="{height - 1.5}" x2="{width}" y2="{height - 1.5}" stroke="#94a3b8"/></svg>')
    return "".join(out)


def scatter_svg(
    x: Sequence[float],
    y: Sequence[float],
    curve: Sequence[tuple[float, float]] | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    x_label: str = "expert",
    y_label: str = "judge",
    title: str = "",
    size: int = 420,
) -> str:
    """Judge-vs-expert scatter with the identity line and an optional calibration curve.

    Args:
        x, y: paired scores (e.g. the experts' mean and the judge's score per item).
        curve: points ``(x, y)`` of a fitted curve, drawn as a line in x order.
        low, high: axis range (the rubric's scale); default: the data's range.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    vals = [*x, *y, *(c for p in (curve or []) for c in p)]
    lo = low if low is not None else min(vals, default=0.0)
    hi = high if high is not None else max(vals, default=1.0)
    if hi <= lo:
        hi = lo + 1
    m_left, m_bottom, m_top, m_right = 44, 38, 12, 12
    w = h = size
    px0, px1, py0, py1 = m_left, w - m_right, h - m_bottom, m_top

    def sx(v: float) -> float:
        return px0 + (v - lo) / (hi - lo) * (px1 - px0)

    def sy(v: float) -> float:
        return py0 - (v - lo) / (hi - lo) * (py0 - py1)

    ticks = nice_ticks(lo, hi, 7)
    out = [
        f'<svg class="scatter" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="{_e(title or f"{y_label} against {x_label}")}">'
    ]
    out.append(_axis_x(px0, px1, py0, py1, lo, hi, ticks, SQUARE_TICK_FONT))
    out.append(_axis_y(px0, px1, ticks, sy, SQUARE_TICK_FONT))
    out.append(
        f'<line x1="{sx(lo):.1f}" y1="{sy(lo):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" stroke="#94a3b8" '
        'stroke-dasharray="4 3"><title>y = x</title></line>'
    )
    # One marker per distinct pair, its area the number of items (judge.report.density): at 10,000 items a circle
    # per item hid everything under the few points of a discrete scale and made the page tens of megabytes.
    points, binned = aggregate(x, y, low=lo, high=hi)
    top = max((n for *_, n in points), default=1)
    for a, b, n in points:
        if top == 1:
            out.append(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="3" fill="{ACCENT}" fill-opacity="0.35"/>')
            continue
        r = 2.5 + 9.5 * math.sqrt(n / top)
        out.append(
            f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="{r:.1f}" fill="{ACCENT}" fill-opacity="0.45">'
            f"<title>{n} item{'s' if n != 1 else ''} at ({a:g}, {b:g})</title></circle>"
        )
    if top > 1 or binned:  # the key, at the size the square plots' text keeps on a phone
        lines = ["dot area: number of items", *([f"binned to a {BIN_GRID} x {BIN_GRID} grid"] if binned else [])]
        for k, line in enumerate(lines):
            out.append(
                f'<text x="{px0 + 4}" y="{py1 + 12 + 15 * k}" font-size="{SQUARE_TICK_FONT:g}" fill="#475569">'
                f"<title>{_e(binned or '')}</title>{_e(line)}</text>"
                if binned and k
                else f'<text x="{px0 + 4}" y="{py1 + 12 + 15 * k}" font-size="{SQUARE_TICK_FONT:g}" '
                f'fill="#475569">{_e(line)}</text>'
            )
    if curve:
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in sorted(curve))
        out.append(
            f'<polyline class="curve" points="{pts}" fill="none" stroke="#dc2626" stroke-width="2">'
            "<title>calibration curve</title></polyline>"
        )
    out.append(
        f'<text x="{(px0 + px1) / 2:.1f}" y="{h - 6}" font-size="{SQUARE_LABEL_FONT:g}" '
        f'text-anchor="middle">{_e(x_label)}</text>'
    )
    out.append(
        f'<text x="12" y="{(py0 + py1) / 2:.1f}" font-size="{SQUARE_LABEL_FONT:g}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(py0 + py1) / 2:.1f})">{_e(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


# -- plots people ask for: rank intervals, agreement between chance and the experts, reliability --------------------


def _row_labels(labels: Sequence[str], width: float, label_w: float, top: float, row_h: float) -> list[str]:
    """Alternate row stripes and right-aligned row labels, shared by the panel plots."""
    out = []
    for n, label in enumerate(labels):
        y = top + row_h * n + row_h / 2
        if n % 2:
            out.append(
                f'<rect x="0" y="{y - row_h / 2:.1f}" width="{width:.0f}" height="{row_h}" fill="#f1f5f9" '
                'fill-opacity="0.8"/>'
            )
        out.append(
            f'<text x="{label_w - 10:.1f}" y="{y + 4:.1f}" font-size="11.5" fill="#0f172a" '
            f'text-anchor="end">{_e(label)}</text>'
        )
    return out


def _label_width(labels: Sequence[str]) -> float:
    return min(480.0, 16 + 6.2 * max((len(s) for s in labels), default=0))


# The page's content width at a 1,400 px window (main: 1,400 - 2 x 32 px padding, less a scrollbar): what a panel
# plot is fitted to, so that its text is drawn at its own size instead of being scaled down to fit.
PAGE_WIDTH = 1320
# At most this many panels in one panel plot: more would be too narrow to read at PAGE_WIDTH (split them).
MAX_PANELS = 4


def _panel_width(label_w: float, n: int, gap: int, widest: int, max_width: float | None, narrowest: int = 150) -> int:
    """``widest``, or narrower (not below ``narrowest``) so that ``n`` panels and the labels fit ``max_width``."""
    if not max_width or n < 1:
        return widest
    return int(max(narrowest, min(widest, (max_width - label_w) / n - gap)))


def rank_intervals_svg(
    labels: Sequence[str], panels: Sequence[RankPanel], *, panel_width: int = 220, max_width: float | None = None
) -> str:
    """Rank intervals per system, one panel per criterion: a bar from the best to the worst plausible rank and a
    dot at the rank. Rows whose bars overlap cannot be told apart; a short bar at 1 is a clear winner.

    ``max_width`` (e.g. ``PAGE_WIDTH``) narrows the panels so that the plot fits it; the panels stacked for a phone
    come with it (``plots_narrow.reflow``)."""
    row_h, top, bottom, gap = 20, 26, 40, 34
    label_w = _label_width(labels)
    panel_width = _panel_width(label_w, len(panels), gap, panel_width, max_width)
    width = label_w + len(panels) * (panel_width + gap)
    y_axis = top + row_h * len(labels)
    h = y_axis + bottom
    out = [
        f'<svg class="ranks" width="{width:.0f}" height="{h}" viewBox="0 0 {width:.0f} {h}" role="img" '
        f'aria-label="{_e("rank intervals: " + ", ".join(p.title for p in panels))}">',
        *_row_labels(labels, width, label_w, top, row_h),
    ]
    for k, p in enumerate(panels):
        x0 = label_w + k * (panel_width + gap)
        x1 = x0 + panel_width
        n = max(p.n, 1)

        def sx(r: float, x0: float = x0, x1: float = x1, n: int = n) -> float:
            return x0 + 8 + (r - 1) / max(n - 1, 1) * (x1 - x0 - 16)

        out.append(
            f'<text x="{(x0 + x1) / 2:.1f}" y="14" font-size="12" font-weight="600" fill="#0f172a" '
            f'text-anchor="middle">{_e(p.title)}</text>'
        )
        inner = nice_ticks(1, n, 6)
        gap_min = (inner[1] - inner[0]) / 2 if len(inner) > 1 else 0.5
        # 1 and n always; a round tick too close to either would print over it
        ticks = sorted({1, n, *(int(t) for t in inner if t == int(t) and 1 + gap_min <= t <= n - gap_min)})
        for t in ticks:
            x = sx(t)
            out.append(
                f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y_axis}" stroke="{GRID}"/>'
                f'<text x="{x:.1f}" y="{y_axis + 14}" font-size="11" fill="{MUTED}" text-anchor="middle">{t}</text>'
            )
        out.append(
            f'<text x="{(x0 + x1) / 2:.1f}" y="{y_axis + 30}" font-size="11" fill="{MUTED}" '
            'text-anchor="middle">rank (1 = best)</text>'
        )
        for i, label in enumerate(labels):
            y = top + row_h * i + row_h / 2
            rank, iv = p.ranks[i], p.intervals[i]
            note = p.notes[i] if p.notes else None
            if note:
                short = note.split(":", 1)[0]
                out.append(
                    f'<text class="note" x="{x0 + 6:.1f}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}">'
                    f"<title>{_e(f'{label} · {p.title}: {note}')}</title>{_e(short)}</text>"
                )
                continue
            if rank is None:
                out.append(f'<text x="{x0 + 6:.1f}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}">not ranked</text>')
                continue
            lo, hi = iv if iv else (rank, rank)
            tip = f"{label} · {p.title}: rank {rank}" + (f" (95% interval {lo}-{hi})" if iv else "")
            out.append(
                f'<g class="rank"><title>{_e(tip)}</title>'
                f'<rect x="{sx(lo) - 5:.1f}" y="{y - 5:.1f}" width="{sx(hi) - sx(lo) + 10:.1f}" height="10" rx="5" '
                f'fill="{ACCENT}" fill-opacity="0.22"/>'
                f'<circle cx="{sx(rank):.1f}" cy="{y:.1f}" r="4" fill="{ACCENT}" stroke="#fff" stroke-width="1"/></g>'
            )
        out.append(f'<line x1="{x0:.1f}" y1="{y_axis}" x2="{x1:.1f}" y2="{y_axis}" stroke="#94a3b8"/>')
    out.append("</svg>")
    from judge.report.plots_narrow import rank_panels, reflow

    return reflow("".join(out), rank_panels(labels, panels))


_KINDS = ("judge", "baseline", "chance", "experts")


def agreement_panels_svg(
    panels: Sequence[AgreementPanel],
    *,
    metric: str = "agreement with the experts",
    panel_width: int = 260,
    max_width: float | None = None,
) -> str:
    """Agreement per judge with its CI, placed between chance (grey, hollow) and the experts' ceiling (a green band:
    the experts' own agreement and its CI), one panel per criterion on one shared axis.

    A judge is as good as an expert where its dot sits in the band, and no better than guessing where its
    interval reaches the chance rows. Rows are the judges in the order given, then the chance rows.
    ``max_width`` (e.g. ``PAGE_WIDTH``) narrows the panels so that the plot fits it; the panels stacked for a phone
    come with it (``plots_narrow.reflow``).
    """
    for p in panels:
        bad = [r.kind for r in p.rows if r.kind not in _KINDS]
        if bad:
            raise ValueError(f"panel {p.title!r}: kind must be one of {_KINDS}, got {bad}")
    seen: dict[str, str] = {}
    for p in panels:
        for r in p.rows:
            if r.kind != "experts":
                seen.setdefault(r.label, r.kind)
    labels = [k for kind in ("judge", "baseline", "chance") for k, v in seen.items() if v == kind]
    nums = [
        v
        for p in panels
        for r in p.rows
        for v in ([r.value] if r.value is not None else []) + (list(r.ci) if r.ci else [])
    ]
    lo = min([0.0, *nums])
    hi = max([0.2, *nums])
    ticks = nice_ticks(lo, hi, 7)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.1
    lo, hi = min(lo, math.floor(lo / step) * step), max(hi, math.ceil(hi / step) * step)
    ticks = nice_ticks(lo, hi, 7)
    row_h, top, bottom, gap = 22, 40, 58, 48
    label_w = _label_width(labels)
    panel_width = _panel_width(label_w, len(panels), gap, panel_width, max_width)
    # at least as wide as the legend under the panels (one narrow panel would cut it off)
    width = max(label_w + len(panels) * (panel_width + gap), label_w + 510)
    y_axis = top + row_h * len(labels)
    h = y_axis + bottom
    out = [
        f'<svg class="agreement" width="{width:.0f}" height="{h}" viewBox="0 0 {width:.0f} {h}" role="img" '
        f'aria-label="{_e(metric + ": " + ", ".join(p.title for p in panels))}">',
        *_row_labels(labels, width, label_w, top, row_h),
    ]
    for k, p in enumerate(panels):
        x0 = label_w + k * (panel_width + gap)
        x1 = x0 + panel_width

        def sx(v: float, x0: float = x0, x1: float = x1) -> float:
            return x0 + (min(max(v, lo), hi) - lo) / (hi - lo) * (x1 - x0)

        out.append(
            f'<text x="{(x0 + x1) / 2:.1f}" y="14" font-size="12" font-weight="600" fill="#0f172a" '
            f'text-anchor="middle">{_e(p.title)}</text>'
        )
        out.append(_axis_x(x0, x1, y_axis, top - 4, lo, hi, ticks))
        if lo < 0 < hi:
            out.append(f'<line x1="{sx(0):.1f}" y1="{top - 4}" x2="{sx(0):.1f}" y2="{y_axis}" stroke="#94a3b8"/>')
        for r in p.rows:
            if r.kind != "experts" or r.value is None:
                continue
            tip = f"experts · {p.title}: {_fmt(r.value)}" + (f" [{_fmt(r.ci[0])}, {_fmt(r.ci[1])}]" if r.ci else "")
            band = ""
            if r.ci:
                a, b = sx(r.ci[0]), sx(r.ci[1])
                band = (
                    f'<rect x="{a:.1f}" y="{top - 4}" width="{max(b - a, 1):.1f}" height="{y_axis - top + 4}" '
                    'fill="#16a34a" fill-opacity="0.13"/>'
                )
            out.append(
                f'<g class="ceiling"><title>{_e(tip)}</title>{band}'
                f'<line x1="{sx(r.value):.1f}" y1="{top - 4}" x2="{sx(r.value):.1f}" y2="{y_axis}" stroke="#16a34a" '
                'stroke-width="1.5" stroke-dasharray="4 2"/>'
                f'<text x="{sx(r.value):.1f}" y="{top - 8}" font-size="10.5" fill="#15803d" '
                'text-anchor="middle">experts</text></g>'
            )
        by_label = {r.label: r for r in p.rows if r.kind != "experts"}
        for i, label in enumerate(labels):
            y = top + row_h * i + row_h / 2
            row = by_label.get(label)
            if row is None or row.value is None:
                out.append(f'<text x="{x0 + 6:.1f}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}">n/a</text>')
                continue
            color = ACCENT if row.kind == "judge" else "#64748b"
            ci = row.ci
            tip = f"{label} · {p.title}: {_fmt(row.value)}" + (f" [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "")
            out.append(f'<g class="{_e(row.kind)}"><title>{_e(tip)}</title>')
            if ci:
                out.append(
                    f'<line x1="{sx(ci[0]):.1f}" y1="{y:.1f}" x2="{sx(ci[1]):.1f}" y2="{y:.1f}" stroke="{color}" '
                    'stroke-width="2" stroke-opacity="0.6"/>'
                )
            fill = color if row.kind == "judge" else "#fff"
            out.append(
                f'<circle cx="{sx(row.value):.1f}" cy="{y:.1f}" r="4.5" fill="{fill}" stroke="{color}" '
                'stroke-width="1.5"/></g>'
            )
        out.append(f'<line x1="{x0:.1f}" y1="{y_axis}" x2="{x1:.1f}" y2="{y_axis}" stroke="#94a3b8"/>')
        out.append(
            f'<text x="{(x0 + x1) / 2:.1f}" y="{y_axis + 30}" font-size="11" fill="{MUTED}" '
            f'text-anchor="middle">{_e(metric)}</text>'
        )
    ly = h - 10
    out.append(
        f'<g class="legend" font-size="11" fill="{MUTED}">'
        f'<circle cx="{label_w + 6:.1f}" cy="{ly - 4}" r="4" fill="{ACCENT}"/>'
        f'<text x="{label_w + 14:.1f}" y="{ly}">judge (95% CI)</text>'
        f'<circle cx="{label_w + 120:.1f}" cy="{ly - 4}" r="4" fill="#fff" stroke="#64748b" stroke-width="1.5"/>'
        f'<text x="{label_w + 128:.1f}" y="{ly}">chance baseline</text>'
        f'<rect x="{label_w + 236:.1f}" y="{ly - 9}" width="14" height="10" fill="#16a34a" fill-opacity="0.25"/>'
        f'<text x="{label_w + 256:.1f}" y="{ly}">experts with each other (ceiling, 95% CI)</text></g>'
    )
    out.append("</svg>")
    from judge.report.plots_narrow import agreement_panels, reflow

    return reflow("".join(out), agreement_panels(panels, metric, lo, hi))


@dataclass(frozen=True)
class ReliabilityBin:
    """Items whose predicted (e.g. calibrated) score falls in ``[low, high)``: their count, mean prediction and
    mean observed (expert) score; ``ci`` is an interval of the observed mean when the caller has one."""

    low: float
    high: float
    n: int
    predicted: float | None
    observed: float | None
    ci: tuple[float, float] | None = None


def reliability_bins(
    predicted: Sequence[float], observed: Sequence[float], low: float, high: float, n_bins: int = 10
) -> list[ReliabilityBin]:
    """Equal-width bins over ``[low, high]`` of the predictions, each with its mean prediction and mean outcome."""
    if len(predicted) != len(observed):
        raise ValueError(f"predicted and observed must have the same length, got {len(predicted)} and {len(observed)}")
    if high <= low or n_bins < 1:
        raise ValueError(f"need low < high and n_bins >= 1, got low={low}, high={high}, n_bins={n_bins}")
    width = (high - low) / n_bins
    acc: list[list[tuple[float, float]]] = [[] for _ in range(n_bins)]
    for p, o in zip(predicted, observed, strict=True):
        k = min(max(int((p - low) / width), 0), n_bins - 1)
        acc[k].append((p, o))
    return [
        ReliabilityBin(
            low=low + k * width,
            high=low + (k + 1) * width,
            n=len(pairs),
            predicted=sum(p for p, _ in pairs) / len(pairs) if pairs else None,
            observed=sum(o for _, o in pairs) / len(pairs) if pairs else None,
        )
        for k, pairs in enumerate(acc)
    ]


def reliability_svg(
    bins: Sequence[ReliabilityBin],
    *,
    low: float,
    high: float,
    x_label: str = "calibrated judge score",
    y_label: str = "expert mean",
    title: str = "",
    size: int = 420,
) -> str:
    """A reliability diagram: mean observed against mean predicted per bin (dot area ~ items), the diagonal of a
    perfectly calibrated score, and the number of items per bin as bars along the bottom."""
    m_left, m_bottom, m_top, m_right, strip = 44, 40, 12, 12, 46
    w, h = size, size + strip
    px0, px1, py0, py1 = m_left, w - m_right, size - m_bottom, m_top
    span = (high - low) or 1.0

    def sx(v: float) -> float:
        return px0 + (min(max(v, low), high) - low) / span * (px1 - px0)

    def sy(v: float) -> float:
        return py0 - (min(max(v, low), high) - low) / span * (py0 - py1)

    ticks = nice_ticks(low, high, 7)
    peak = max((b.n for b in bins), default=0) or 1
    out = [
        f'<svg class="reliability" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="{_e(title or f"reliability: {y_label} against {x_label}")}">'
    ]
    out.append(_axis_x(px0, px1, py0, py1, low, high, ticks, SQUARE_TICK_FONT))
    out.append(_axis_y(px0, px1, ticks, sy, SQUARE_TICK_FONT))
    out.append(
        f'<line x1="{sx(low):.1f}" y1="{sy(low):.1f}" x2="{sx(high):.1f}" y2="{sy(high):.1f}" stroke="#94a3b8" '
        'stroke-dasharray="4 3"><title>perfect calibration</title></line>'
    )
    # (bin, predicted, observed) of the bins that hold items
    filled = [(b, b.predicted, b.observed) for b in bins if b.n and b.predicted is not None and b.observed is not None]
    if len(filled) > 1:
        pts = " ".join(f"{sx(p):.1f},{sy(o):.1f}" for _, p, o in filled)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{ACCENT}" stroke-width="1.5" stroke-opacity="0.6"/>')
    for b, pred, obs in filled:
        tip = f"{_fmt(b.low)}-{_fmt(b.high)}: {b.n} items, predicted {_fmt(pred)}, observed {_fmt(obs)}" + (
            f" [{_fmt(b.ci[0])}, {_fmt(b.ci[1])}]" if b.ci else ""
        )
        out.append(f'<g class="bin"><title>{_e(tip)}</title>')
        if b.ci:
            out.append(
                f'<line x1="{sx(pred):.1f}" y1="{sy(b.ci[0]):.1f}" x2="{sx(pred):.1f}" '
                f'y2="{sy(b.ci[1]):.1f}" stroke="{ACCENT}" stroke-width="1.5" stroke-opacity="0.6"/>'
            )
        r = 3 + 6 * math.sqrt(b.n / peak)
        out.append(
            f'<circle cx="{sx(pred):.1f}" cy="{sy(obs):.1f}" r="{r:.1f}" fill="{ACCENT}" '
            'fill-opacity="0.75" stroke="#fff"/></g>'
        )
    base = h - 8
    for b in bins:
        if not b.n:
            continue
        bh = (strip - 12) * b.n / peak
        out.append(
            f'<rect x="{sx(b.low) + 1:.1f}" y="{base - bh:.1f}" width="{max(sx(b.high) - sx(b.low) - 2, 1):.1f}" '
            f'height="{bh:.1f}" fill="#94a3b8"><title>{b.n} items</title></rect>'
        )
    out.append(f'<line x1="{px0}" y1="{base}" x2="{px1}" y2="{base}" stroke="#94a3b8"/>')
    out.append(
        f'<text x="{(px0 + px1) / 2:.1f}" y="{size - 6}" font-size="{SQUARE_LABEL_FONT:g}" '
        f'text-anchor="middle">{_e(x_label)}</text>'
        f'<text x="{px0 - 6}" y="{base - 2}" font-size="{SQUARE_TICK_FONT:g}" fill="{MUTED}" '
        'text-anchor="end">items</text>'
    )
    out.append(
        f'<text x="12" y="{(py0 + py1) / 2:.1f}" font-size="{SQUARE_LABEL_FONT:g}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(py0 + py1) / 2:.1f})">{_e(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)
