"""The panel plots again, laid out for a phone: one panel per criterion, stacked, each row's name on its own line
above its mark, drawn at ``NARROW_WIDTH`` so that nothing is scaled down.

A panel plot is several criteria side by side sharing the row names on the left: 1,000 px and more. Shrunk to a
390 px screen its text would be drawn at 3 px. The page carries both layouts (``reflow``) and its CSS shows the
side-by-side one on wide screens and these stacked panels on narrow ones. The narrow marks carry no class names of
their own: counting a plot's marks in the page counts the wide layout's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from judge.report.plot_parts import (
    ACCENT,
    GRID,
    MUTED,
    AgreementPanel,
    AgreementRow,
    Panel,
    RankPanel,
    _e,
    _fmt,
    nice_ticks,
)

# A phone's content width: 390 px less the page's side padding (12 px each side) and a little air.
NARROW_WIDTH = 350
_ROW, _TOP, _X0, _X1 = 36, 30, 10, NARROW_WIDTH - 14
_LABEL_CHARS = 52  # about what fits NARROW_WIDTH at 12 px


def reflow(wide: str, narrow: Sequence[str]) -> str:
    """Both layouts of one plot: the wide one (side by side) and the stacked narrow panels; CSS shows one."""
    return f'<div class="plot"><div class="wide">{wide}</div><div class="narrow">{"".join(narrow)}</div></div>'


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"


def _panel(
    cls: str,
    title: str,
    labels: Sequence[str],
    low: float,
    high: float,
    ticks: Sequence[float],
    mark: Callable[[int, float, Callable[[float], float]], str],
    *,
    axis_label: str = "",
    tick_text: Callable[[float], str] = _fmt,
    behind: Callable[[float, float, Callable[[float], float]], str] | None = None,
    legend: Sequence[str] = (),
) -> str:
    """One criterion as a stacked panel: a row per label (its name, then its mark on the shared axis).

    Args:
        mark: ``(row, y, sx) -> markup`` for row ``row`` at height ``y``; ``sx`` maps a value to x.
        behind: ``(y_top, y_axis, sx) -> markup`` drawn under the rows (e.g. the experts' ceiling band).
        legend: lines of text under the axis.
    """
    span = (high - low) or 1.0

    def sx(v: float) -> float:
        return _X0 + (min(max(v, low), high) - low) / span * (_X1 - _X0)

    y_axis = _TOP + _ROW * len(labels)
    h = y_axis + 22 + (16 if axis_label else 0) + 16 * len(legend)
    out = [
        f'<svg class="{cls} narrow" width="{NARROW_WIDTH}" height="{h}" viewBox="0 0 {NARROW_WIDTH} {h}" role="img" '
        f'aria-label="{_e(title)}">',
        f'<text x="0" y="15" font-size="13" font-weight="600" fill="#0f172a">{_e(title)}</text>',
    ]
    for t in ticks:
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" y1="{_TOP - 4}" x2="{x:.1f}" y2="{y_axis}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{x:.1f}" y="{y_axis + 15}" font-size="11" fill="{MUTED}" '
            f'text-anchor="middle">{_e(tick_text(t))}</text>'
        )
    if behind is not None:
        out.append(behind(_TOP - 4, y_axis, sx))
    for i, label in enumerate(labels):
        y0 = _TOP + _ROW * i
        if i % 2:
            out.append(
                f'<rect x="0" y="{y0}" width="{NARROW_WIDTH}" height="{_ROW}" fill="#f1f5f9" fill-opacity="0.8"/>'
            )
        out.append(f'<text x="2" y="{y0 + 13}" font-size="12" fill="#0f172a">{_e(_short(label))}</text>')
        out.append(mark(i, y0 + 25, sx))
    out.append(f'<line x1="{_X0}" y1="{y_axis}" x2="{_X1}" y2="{y_axis}" stroke="#94a3b8"/>')
    y = y_axis + 15
    if axis_label:
        y += 16
        out.append(
            f'<text x="{(_X0 + _X1) / 2:.1f}" y="{y}" font-size="11" fill="{MUTED}" '
            f'text-anchor="middle">{_e(axis_label)}</text>'
        )
    for line in legend:
        y += 16
        out.append(line.replace("{y}", str(y)))
    out.append("</svg>")
    return "".join(out)


def _note(x: float, y: float, text: str, tip: str = "") -> str:
    title = f"<title>{_e(tip)}</title>" if tip else ""
    return f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="11" fill="{MUTED}">{title}{_e(text)}</text>'


def whisker_panels(labels: Sequence[str], panels: Sequence[Panel]) -> list[str]:
    """The means-and-CIs plot, one stacked panel per criterion."""
    out = []
    for p in panels:

        def mark(i: int, y: float, sx: Callable[[float], float], p: Panel = p) -> str:
            m, ci = p.means[i], p.cis[i]
            tip = p.tooltips[i] if p.tooltips else labels[i]
            if m is None:
                return _note(_X0, y, "no scores", tip)
            parts = [f"<g><title>{_e(tip)}</title>"]
            if ci:
                a, b = sx(ci[0]), sx(ci[1])
                parts.append(
                    f'<line x1="{a:.1f}" y1="{y:.1f}" x2="{b:.1f}" y2="{y:.1f}" stroke="{ACCENT}" stroke-width="2" '
                    'stroke-opacity="0.55"/>'
                )
                parts += [
                    f'<line x1="{xe:.1f}" y1="{y - 4:.1f}" x2="{xe:.1f}" y2="{y + 4:.1f}" stroke="{ACCENT}" '
                    'stroke-width="1.5" stroke-opacity="0.7"/>'
                    for xe in (a, b)
                ]
            parts.append(f'<circle cx="{sx(m):.1f}" cy="{y:.1f}" r="4.5" fill="{ACCENT}" stroke="#fff"/></g>')
            return "".join(parts)

        out.append(_panel("whiskers", p.title, labels, p.low, p.high, nice_ticks(p.low, p.high, 6), mark))
    return out


def rank_panels(labels: Sequence[str], panels: Sequence[RankPanel]) -> list[str]:
    """The rank-interval plot, one stacked panel per criterion (rank 1, the best, on the left)."""
    out = []
    for p in panels:
        n = max(p.n, 1)
        inner = nice_ticks(1, n, 6)
        step = (inner[1] - inner[0]) / 2 if len(inner) > 1 else 0.5
        ticks = sorted({1, n, *(int(t) for t in inner if t == int(t) and 1 + step <= t <= n - step)})

        def mark(i: int, y: float, sx: Callable[[float], float], p: RankPanel = p) -> str:
            rank, iv = p.ranks[i], p.intervals[i]
            note = p.notes[i] if p.notes else None
            if note:
                return _note(_X0, y, note.split(":", 1)[0], f"{labels[i]} · {p.title}: {note}")
            if rank is None:
                return _note(_X0, y, "not ranked")
            lo, hi = iv if iv else (rank, rank)
            tip = f"{labels[i]} · {p.title}: rank {rank}" + (f" (95% interval {lo}-{hi})" if iv else "")
            return (
                f"<g><title>{_e(tip)}</title>"
                f'<rect x="{sx(lo) - 5:.1f}" y="{y - 5:.1f}" width="{sx(hi) - sx(lo) + 10:.1f}" height="10" rx="5" '
                f'fill="{ACCENT}" fill-opacity="0.22"/>'
                f'<circle cx="{sx(rank):.1f}" cy="{y:.1f}" r="4.5" fill="{ACCENT}" stroke="#fff"/></g>'
            )

        out.append(
            _panel(
                "ranks",
                p.title,
                labels,
                1,
                max(n, 2),
                ticks,
                mark,
                axis_label="rank (1 = best)",
                tick_text=lambda t: str(int(t)),
            )
        )
    return out


def agreement_panels(panels: Sequence[AgreementPanel], metric: str, lo: float, hi: float) -> list[str]:
    """The agreement plot, one stacked panel per criterion: judges and chance rows, the experts' ceiling band."""
    seen: dict[str, str] = {}
    for p in panels:
        for r in p.rows:
            if r.kind != "experts":
                seen.setdefault(r.label, r.kind)
    labels = [k for kind in ("judge", "baseline", "chance") for k, v in seen.items() if v == kind]
    ticks = nice_ticks(lo, hi, 5)
    legend = [
        f'<circle cx="6" cy="{{y}}" r="4" fill="{ACCENT}" transform="translate(0,-4)"/>'
        f'<text x="14" y="{{y}}" font-size="11" fill="{MUTED}">judge (95% CI)</text>'
        f'<circle cx="124" cy="{{y}}" r="4" fill="#fff" stroke="#64748b" stroke-width="1.5" '
        'transform="translate(0,-4)"/>'
        f'<text x="132" y="{{y}}" font-size="11" fill="{MUTED}">chance baseline</text>',
        f'<rect x="0" y="{{y}}" width="14" height="10" fill="#16a34a" fill-opacity="0.25" transform="translate(0,-9)"/>'
        f'<text x="20" y="{{y}}" font-size="11" fill="{MUTED}">experts with each other (ceiling, 95% CI)</text>',
    ]
    out = []
    for p in panels:
        by_label = {r.label: r for r in p.rows if r.kind != "experts"}
        experts = next((r for r in p.rows if r.kind == "experts" and r.value is not None), None)

        def behind(y_top: float, y_axis: float, sx: Callable[[float], float], e: AgreementRow | None = experts) -> str:
            if e is None or e.value is None:
                return ""
            band = ""
            if e.ci:
                a, b = sx(e.ci[0]), sx(e.ci[1])
                band = (
                    f'<rect x="{a:.1f}" y="{y_top}" width="{max(b - a, 1):.1f}" height="{y_axis - y_top}" '
                    'fill="#16a34a" fill-opacity="0.13"/>'
                )
            x = sx(e.value)
            return (
                f"<g><title>experts with each other: {_e(_fmt(e.value))}</title>{band}"
                f'<line x1="{x:.1f}" y1="{y_top}" x2="{x:.1f}" y2="{y_axis}" stroke="#16a34a" stroke-width="1.5" '
                'stroke-dasharray="4 2"/></g>'
            )

        def mark(i: int, y: float, sx: Callable[[float], float], by_label: dict[str, AgreementRow] = by_label) -> str:
            row = by_label.get(labels[i])
            if row is None or row.value is None:
                return _note(_X0, y, "n/a")
            color = ACCENT if row.kind == "judge" else "#64748b"
            ci = row.ci
            tip = f"{labels[i]}: {_fmt(row.value)}" + (f" [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "")
            line = (
                f'<line x1="{sx(ci[0]):.1f}" y1="{y:.1f}" x2="{sx(ci[1]):.1f}" y2="{y:.1f}" stroke="{color}" '
                'stroke-width="2" stroke-opacity="0.6"/>'
                if ci
                else ""
            )
            fill = color if row.kind == "judge" else "#fff"
            return (
                f"<g><title>{_e(tip)}</title>{line}"
                f'<circle cx="{sx(row.value):.1f}" cy="{y:.1f}" r="4.5" fill="{fill}" stroke="{color}" '
                'stroke-width="1.5"/></g>'
            )

        out.append(
            _panel("agreement", p.title, labels, lo, hi, ticks, mark, axis_label=metric, behind=behind, legend=legend)
        )
    return out
