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
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from judge import __version__
from judge.report.model import Report, Table

ACCENT = "#2563eb"
MUTED = "#64748b"
GRID = "#e2e8f0"

_CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--accent:#2563eb;--stripe:#f8fafc;--hover:#eff6ff}
*{box-sizing:border-box}
body{margin:0;background:#f1f5f9;color:var(--fg);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1480px;margin:24px auto;padding:28px 36px;background:#fff;border-radius:10px;
 box-shadow:0 1px 3px rgba(15,23,42,.08)}
h1{font-size:22px;margin:0 0 6px;letter-spacing:-.01em}
h2{font-size:16px;margin:32px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 6px}
.summary{color:var(--muted);margin:0 0 18px;max-width:980px}
.wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table.data{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
table.data th,table.data td{padding:4px 9px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.data .num{text-align:right}
table.data thead th{background:#f8fafc;font-weight:600;position:sticky;top:0}
table.data thead tr.cols th{cursor:pointer;user-select:none}
table.data thead tr.cols th:hover{color:var(--accent)}
table.data th.group{text-align:center;border-bottom:2px solid var(--accent);font-weight:600}
table.data th.blank{border-bottom:none}
table.data tbody tr:nth-child(even){background:var(--stripe)}
table.data tbody tr:hover{background:var(--hover)}
table.data th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px;color:var(--accent)}
table.data th[aria-sort=descending]::after{content:" \\25BC";font-size:10px;color:var(--accent)}
.caption,figcaption{color:var(--muted);font-size:12px;margin-top:6px}
.figs{display:flex;flex-wrap:wrap;gap:18px}
figure{margin:0 0 12px}
svg.whiskers{max-width:100%;height:auto}
table.dist td{padding:1px 8px;border-bottom:1px solid var(--line);font-size:12px;white-space:nowrap}
table.dist th{font-size:12px;text-align:center;padding:4px 8px}
ul.notes{color:#92400e;background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 8px 8px 28px}
dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:12px;color:var(--muted)}
dl.prov dt{font-weight:600}
dl.prov dd{margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
footer{margin-top:28px;color:var(--muted);font-size:12px}
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


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.3g}"


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
            attrs = ' class="num"' if c.numeric else ""
            if cell.value is not None:
                attrs += f' data-sort="{_e(cell.value)}"'
            elif c.numeric:
                attrs += ' data-sort=""'
            if cell.title:
                attrs += f' title="{_e(cell.title)}"'
            tds.append(f"<td{attrs}>{_e(cell.text)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    caption = f'<p class="caption">{_e(table.caption)}</p>' if table.caption else ""
    return (
        f'<div class="wrap"><table class="data" data-key="{_e(table.key)}"><thead>{"".join(head)}</thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{caption}"
    )


def render_html(report: Report) -> str:
    """The report as one HTML page with everything inline."""
    parts = [f"<h1>{_e(report.title)}</h1>"]
    if report.summary:
        parts.append(f'<p class="summary">{_e(report.summary)}</p>')
    if report.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    for table in report.tables:
        parts.append(f'<h2 id="{_e(table.key)}">{_e(table.title)}</h2>{render_table(table)}')
    for fig in report.figures:
        caption = f"<figcaption>{_e(fig.caption)}</figcaption>" if fig.caption else ""
        parts.append(
            f'<h2 id="{_e(fig.key)}">{_e(fig.title)}</h2><figure data-key="{_e(fig.key)}">{fig.html}{caption}</figure>'
        )
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


# -- plots -----------------------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, max_ticks: int = 11) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / (max_ticks - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)
    first = math.ceil(low / step - 1e-9) * step
    n = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + k * step, 10) for k in range(n)]


def _axis_x(x0: float, x1: float, y: float, y_top: float, low: float, high: float, ticks: Sequence[float]) -> str:
    """Vertical grid lines and tick labels under them."""
    out = []
    for t in ticks:
        x = x0 + (t - low) / (high - low) * (x1 - x0)
        out.append(f'<line x1="{x:.1f}" y1="{y_top:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{y + 14:.1f}" font-size="11" fill="{MUTED}" '
            f'text-anchor="middle">{_e(_fmt(t))}</text>'
        )
    return "".join(out)


@dataclass(frozen=True)
class Panel:
    """One panel of a dot-and-whisker plot: a criterion's mean and CI per row, on the axis ``low``-``high``."""

    title: str
    means: Sequence[float | None]
    cis: Sequence[tuple[float, float] | None]
    low: float
    high: float
    tooltips: Sequence[str] | None = None


def whisker_panels_svg(labels: Sequence[str], panels: Sequence[Panel], *, panel_width: int = 200) -> str:
    """Several dot-and-whisker panels side by side sharing the row labels (one panel per criterion)."""
    row_h, top, bottom, gap = 20, 26, 30, 34
    label_w = min(480.0, 16 + 6.0 * max((len(s) for s in labels), default=0))
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
    return "".join(out)


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
    size: int = 360,
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
    out.append(_axis_x(px0, px1, py0, py1, lo, hi, ticks))
    for t in ticks:
        out.append(
            f'<line x1="{px0}" y1="{sy(t):.1f}" x2="{px1}" y2="{sy(t):.1f}" stroke="{GRID}"/>'
            f'<text x="{px0 - 6}" y="{sy(t) + 4:.1f}" font-size="11" fill="{MUTED}" '
            f'text-anchor="end">{_e(_fmt(t))}</text>'
        )
    out.append(
        f'<line x1="{sx(lo):.1f}" y1="{sy(lo):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" stroke="#94a3b8" '
        'stroke-dasharray="4 3"><title>y = x</title></line>'
    )
    for a, b in zip(x, y, strict=True):
        out.append(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="3" fill="{ACCENT}" fill-opacity="0.35"/>')
    if curve:
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in sorted(curve))
        out.append(
            f'<polyline class="curve" points="{pts}" fill="none" stroke="#dc2626" stroke-width="2">'
            "<title>calibration curve</title></polyline>"
        )
    out.append(f'<text x="{(px0 + px1) / 2:.1f}" y="{h - 6}" font-size="12" text-anchor="middle">{_e(x_label)}</text>')
    out.append(
        f'<text x="12" y="{(py0 + py1) / 2:.1f}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 12 {(py0 + py1) / 2:.1f})">{_e(y_label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)
