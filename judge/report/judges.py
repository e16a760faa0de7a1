"""The judge leaderboard as a ``Report``: one row per judge against the experts' ceiling, and a judge-vs-expert
scatter per criterion (with the calibration curve where a calibrator was given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from judge.analysis import JudgeLeaderboard, JudgeScores
from judge.data import Benchmark
from judge.report.model import Cell, Column, Figure, Report, Table


def _f(x: float | None, d: int = 2, sign: bool = False) -> str:
    if x is None:
        return "–"
    return f"{x:+.{d}f}" if sign else f"{x:.{d}f}"


def judge_report(
    board: JudgeLeaderboard, judges: Sequence[JudgeScores], bench: Benchmark, curves: Mapping[str, Any] | None = None
) -> Report:
    """The judge leaderboard as a ``Report`` (table + judge-vs-expert scatter per criterion)."""
    cols = [Column(key="judge", label="judge")]
    for c in board.criteria:
        cols += [
            Column(
                key=f"{c}_alpha",
                label="alpha [95% CI]",
                numeric=True,
                group=c,
                help="Krippendorff's alpha with the judge added to the experts as one more rater",
            ),
            Column(key=f"{c}_bias", label="bias", numeric=True, group=c, help="mean(judge - expert mean)"),
            Column(key=f"{c}_spearman", label="Spearman", numeric=True, group=c),
            Column(key=f"{c}_alt", label="alt-test", group=c, help="alternative annotator test (Calderon et al.)"),
            Column(key=f"{c}_unscored", label="unscored", numeric=True, group=c),
        ]
    cols += [Column(key="cost", label="$ / 100", numeric=True), Column(key="time", label="s / 100", numeric=True)]
    rows = []
    for r in board.rows:
        cells = [Cell(text=r.judge, value=r.judge)]
        for c in board.criteria:
            jc = r.criteria.get(c)
            if jc is None:
                cells += [Cell(text="–")] * 5
                continue
            a = _f(jc.alpha) + (f" [{_f(jc.alpha_ci[0])}, {_f(jc.alpha_ci[1])}]" if jc.alpha_ci else "")
            cells += [
                Cell(text=a, value=jc.alpha),
                Cell(text=_f(jc.bias, sign=True), value=jc.bias),
                Cell(text=_f(jc.spearman), value=jc.spearman),
                Cell(
                    text=jc.alt_test or ("–" if r.kind == "experts" else "n/a"),
                    value=jc.alt_test,
                    title=jc.alt_test_note or "",
                ),
                Cell(text="–" if jc.unscored_rate is None else f"{jc.unscored_rate:.1%}", value=jc.unscored_rate),
            ]
        cells += [
            Cell(text=_f(r.cost_per_100, 4), value=r.cost_per_100),
            Cell(text=_f(r.seconds_per_100, 1), value=r.seconds_per_100),
        ]
        rows.append(cells)
    table = Table(
        key="judges",
        title="Judges compared with the experts",
        columns=cols,
        rows=rows,
        caption="The experts row is the ceiling: their agreement with each other.",
    )
    return Report(
        title=f"Judge leaderboard: {board.benchmark}",
        tables=[table],
        figures=_scatters(board, judges, bench, curves or {}),
        provenance=[(k, str(v)) for k, v in board.provenance.items()],
    )


def _scatters(
    board: JudgeLeaderboard, judges: Sequence[JudgeScores], bench: Benchmark, curves: Mapping[str, Any]
) -> list[Figure]:
    """Judge score vs expert mean per item, per criterion and raw judge, with the calibration curve of the judge's
    calibrator (``curves``: judge name -> Calibrator) where one was given."""
    from collections import defaultdict

    from judge.report.html import scatter_svg

    experts: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in bench.ratings:
        experts[r.criterion][r.item_id].append(r.value)
    figs = []
    for js in judges:
        if js.calibrator:
            continue  # calibrated scores are shown as the curve on their raw judge's plot
        cal = curves.get(js.name)
        for c in board.criteria:
            pairs = [
                (s, sum(experts[c][i]) / len(experts[c][i]))
                for i, s in js.scores.get(c, {}).items()
                if s is not None and experts[c].get(i)
            ]
            if len(pairs) < 2:
                continue
            xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
            low, high = min(min(xs), min(ys)), max(max(xs), max(ys))
            curve = None
            if cal is not None and c in cal.maps:
                grid = [low + (high - low) * k / 40 for k in range(41)]
                curve = list(zip(grid, (cal.apply(c, g) for g in grid), strict=True))
            svg = scatter_svg(xs, ys, curve, low=low, high=high, x_label=f"{js.name} score", y_label="expert mean")
            figs.append(
                Figure(
                    key=f"scatter-{js.name}-{c}",
                    title=f"{js.name}: {c}",
                    html=svg,
                    caption=f"{len(pairs)} items; diagonal: perfect agreement"
                    + ("; curve: the calibration map" if curve else ""),
                )
            )
    return figs
