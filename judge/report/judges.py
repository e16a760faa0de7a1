"""The judge leaderboard as a ``Report``: one row per judge against the experts' ceiling, and a judge-vs-expert
scatter per criterion (with the calibration curve where a calibrator was given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from judge.analysis import JudgeLeaderboard, JudgeScores
from judge.analysis.experts import expert_means
from judge.analysis.judge_board import JudgeCriterion
from judge.data import Benchmark
from judge.engine.store import IMPORTED_COST
from judge.report.agreement import CEILING_HELP, HEADLINE_HELP, LENGTH_HELP, agreement_figures
from judge.report.format import DASH, num, pct, with_ci
from judge.report.html import AgreementPanel, AgreementRow
from judge.report.model import Cell, Column, Figure, Report, Table
from judge.report.viewer import link_viewer, viewer_href


def judge_report(
    board: JudgeLeaderboard,
    judges: Sequence[JudgeScores],
    bench: Benchmark,
    curves: Mapping[str, Any] | None = None,
    viewer: str | None = None,
) -> Report:
    """The judge leaderboard as a ``Report``: the table, the agreement plot (each judge between the chance rows and
    the experts' ceiling, per criterion) and the judge-vs-expert scatters of each judge side by side.

    Args:
        board: the judge leaderboard.
        judges: the judges' scores (for the scatters); calibrated copies are drawn as their judge's curve.
        bench: the benchmark (expert means for the scatters).
        curves: judge name -> its calibrator, whose map is drawn on the judge's scatters.
        viewer: relative path of an item viewer of the same runs (``judge leaderboard --judges --viewer``): the
            report links to it, and each judge to its items sorted by disagreement with the experts.
    """
    not_judged = {c for c in board.criteria if any(r.criteria.get(c) and r.criteria[c].not_judged for r in board.rows)}
    sampled = {
        c
        for c in board.criteria
        if any(r.criteria.get(c) and r.criteria[c].samples_agree is not None for r in board.rows)
    }
    cols = [Column(key="judge", label="judge")]
    for c in board.criteria:
        cols += [
            Column(key=f"{c}_kappa", label="kappa [95% CI]", numeric=True, group=c, help=HEADLINE_HELP),
            Column(key=f"{c}_ceiling", label="experts on its items", numeric=True, group=c, help=CEILING_HELP),
            Column(key=f"{c}_bias", label="bias", numeric=True, group=c, help="mean(judge - expert mean)"),
            Column(key=f"{c}_spearman", label="Spearman", numeric=True, group=c),
            Column(key=f"{c}_vs_length", label="vs length", group=c, help=LENGTH_HELP),
            Column(key=f"{c}_alt", label="alt-test", group=c, help="alternative annotator test (Calderon et al.)"),
            Column(key=f"{c}_unscored", label="unscored", numeric=True, group=c, help="judged, answer unreadable"),
        ]
        if c in not_judged:
            cols.append(
                Column(key=f"{c}_not_judged", label="not judged", numeric=True, group=c, help="rated, never judged")
            )
        if c in sampled:
            cols.append(
                Column(key=f"{c}_samples", label="samples agree", numeric=True, group=c, help="self-consistency")
            )
    cols += [Column(key="cost", label="$ / 100", numeric=True), Column(key="time", label="s / 100", numeric=True)]
    by_name = {js.name: js for js in judges}
    rows = []
    for r in board.rows:
        judge = r.kind == "judge"
        href = _viewer_link(by_name[r.judge], viewer) if viewer and r.judge in by_name else ""
        cells = [Cell(text=r.judge, value=r.judge, title=r.description, href=href)]
        for c in board.criteria:
            jc = r.criteria.get(c)
            width = 6 + (c in not_judged) + (c in sampled)
            if jc is None:
                cells += [Cell(text=DASH)] * width
                continue
            h = jc.headline
            cells += [
                Cell(text=with_ci(h.value, h.ci, note=h.note, missing=DASH), value=h.value, title=h.note or ""),
                _ceiling(jc),
                Cell(text=num(jc.bias, sign=True), value=jc.bias),
                Cell(text=num(jc.spearman), value=jc.spearman),
                Cell(
                    text=_vs_length(jc.not_better_than_length) if judge else DASH,
                    value=jc.not_better_than_length,
                    title=jc.vs_length or "",
                ),
                Cell(text=jc.alt_test or ("n/a" if judge else DASH), value=jc.alt_test, title=jc.alt_test_note or ""),
                Cell(text=pct(jc.unscored_rate), value=jc.unscored_rate, title=f"{jc.unscored} unscored"),
            ]
            if c in not_judged:
                cells.append(Cell(text=str(jc.not_judged) if judge else DASH, value=jc.not_judged if judge else None))
            if c in sampled:
                cells.append(
                    Cell(text=pct(jc.samples_agree, 0), value=jc.samples_agree, title=f"sd {num(jc.samples_sd)}")
                )
        cost_text = num(r.cost_per_100, 4) if r.cost_per_100 is not None else ("n/a" if judge else DASH)
        if r.cost_note and r.cost_note.startswith(IMPORTED_COST):
            cost_text = IMPORTED_COST  # as every other place says it (judge show, judge import, the run summary)
        cells += [
            Cell(text=cost_text, value=r.cost_per_100, title=r.cost_note or ""),
            Cell(
                text=num(r.seconds_per_100, 1) if r.seconds_per_100 is not None else ("n/a" if judge else DASH),
                value=r.seconds_per_100,
            ),
        ]
        rows.append(cells)
    table = Table(
        key="judges",
        title="Judges compared with the experts",
        columns=cols,
        rows=rows,
        caption="kappa: pairwise agreement with the experts, the same statistic for every row. The experts row is the "
        "ceiling (their agreement with each other), the chance rows the floor (a constant judge; the judges' scores "
        "shuffled across items); the baseline rows are trivial judges (the reply's length on the experts' scale by "
        "rank), and 'vs length' says whether a judge's CIs clear them on its items. "
        f"Rows by the {board.criteria[0] if board.criteria else ''} kappa, best first. "
        "Calibrated rows are cross-fitted: each item is scored by a map fitted without its post. "
        f"{_items_caption(board)} "
        "Cost n/a: imported or unpriced judges.",
    )
    report = Report(
        title=f"Judge leaderboard: {board.benchmark}",
        tables=[table],
        figures=[*agreement_figures(agreement_panels(board)), *_scatters(board, judges, bench, curves or {})],
        notes=board.notes,
        provenance=[(k, str(v)) for k, v in board.provenance.items()],
    )
    return link_viewer(report, viewer) if viewer else report


def _vs_length(not_better: bool | None) -> str:
    return {True: "not better", False: "better", None: "?"}[not_better]


def _ceiling(jc: JudgeCriterion) -> Cell:
    e = jc.ceiling
    if e is None:
        return Cell(text=DASH)
    return Cell(text=with_ci(e.value, e.ci, note=e.note, missing=DASH), value=e.value, title=jc.items)


def _items_caption(board: JudgeLeaderboard) -> str:
    """Which items each row uses, said in the table itself (every format shows the caption)."""
    chance = next((r for r in board.rows if r.kind == "chance"), None)
    on = ""
    if chance is not None and board.criteria and (cc := chance.criteria.get(board.criteria[0])) is not None:
        on = f"; the chance rows: {cc.items}"
    return (
        "Items: the experts row uses every rated item; each judge's row, and its 'experts on its items' (the "
        f"ceiling on the same items), the items it scored{on}."
    )


def _viewer_link(js: JudgeScores, viewer: str) -> str:
    """A judge's items in the viewer, largest disagreement with the experts first (a calibrated copy: by its
    calibrated score, which the viewer shows beside the raw one when it was written with the calibrator)."""
    return viewer_href(viewer, judge=js.run_judge, sort="calibrated" if js.calibrator else "experts")


def agreement_panels(board: JudgeLeaderboard) -> list[AgreementPanel]:
    """One panel per criterion from the board's headline: the experts' row as the ceiling band, then the judges and
    the chance rows in board order."""
    panels = []
    for c in board.criteria:
        rows = [
            AgreementRow(r.judge, jc.headline.value, jc.headline.ci, r.kind)
            for r in board.rows
            if (jc := r.criteria.get(c)) is not None
        ]
        panels.append(AgreementPanel(title=c, rows=rows))
    return panels


def _scatters(
    board: JudgeLeaderboard, judges: Sequence[JudgeScores], bench: Benchmark, curves: Mapping[str, Any]
) -> list[Figure]:
    """Judge score vs expert mean per item, per criterion and raw judge, with the calibration curve of the judge's
    calibrator (``curves``: judge name -> Calibrator) where one was given."""
    from judge.report.html import scatter_svg

    means = expert_means(bench)
    figs = []
    for js in judges:
        if js.calibrator:
            continue  # calibrated scores are shown as the curve on their raw judge's plot
        cal = curves.get(js.name)
        group = f"{js.name}: judge score against the experts' mean, per item"
        for c in board.criteria:
            pairs = [
                (s, means[c][i]) for i, s in js.scores.get(c, {}).items() if s is not None and i in means.get(c, {})
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
                    title=c,
                    html=svg,
                    caption=f"{len(pairs)} items (a dot per distinct pair, its area the number of items); diagonal: "
                    "perfect agreement" + ("; curve: the calibration map" if curve else ""),
                    group=group,
                )
            )
    return figs
