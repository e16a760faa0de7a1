"""The judge leaderboard: judges compared with the experts, one row per judge, the experts' ceiling as a row.

Per criterion: alpha with the experts (judge as one more rater), bias, Spearman, the alternative-annotator test
verdict, and the unscored rate; per judge: cost and time per 100 judgments from the run summary.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.agreement import AgreementReport, agreement_report
from judge.benchmark import Benchmark
from judge.report import Cell, Column, Figure, Report, Table
from judge.rubric import Rubric
from judge.scores import JudgeScores


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeCriterion(_Model):
    alpha: float | None
    alpha_ci: tuple[float, float] | None = None
    bias: float | None = None
    spearman: float | None = None
    alt_test: str | None = Field(default=None, description="'pass' / 'fail', or None when it cannot be run.")
    alt_test_note: str | None = None
    n_items: int = 0
    unscored: int = 0
    unscored_rate: float | None = None


class JudgeRow(_Model):
    judge: str
    kind: str = Field(description="'experts' for the ceiling row, 'judge' otherwise.")
    model: str = ""
    run: str = ""
    calibrator: str | None = None
    criteria: dict[str, JudgeCriterion]
    judgments: int | None = None
    cost_per_100: float | None = None
    seconds_per_100: float | None = None


class JudgeLeaderboard(_Model):
    kind: str = "judges"
    benchmark: str
    criteria: list[str]
    rows: list[JudgeRow]
    provenance: dict[str, Any]


def _per_100(js: JudgeScores) -> tuple[int | None, float | None, float | None]:
    s = (js.summary or {}).get("per_judge", {}).get(js.name.removesuffix(" (calibrated)"))
    if not s or not s.get("judgments"):
        return None, None, None
    n = int(s["judgments"])
    live = n - int(s.get("cache_hits", 0))
    secs = 100 * float(s.get("latency_s_total", 0.0)) / live if live else None
    return n, round(100 * float(s.get("cost_usd", 0.0)) / n, 6), round(secs, 2) if secs is not None else None


def judge_leaderboard(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    judges: Sequence[JudgeScores],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    command: str = "",
) -> tuple[JudgeLeaderboard, AgreementReport]:
    """Rank judges by how well they stand in for the experts (rows in the order given; the ceiling first)."""
    report = agreement_report(bench, rubrics, judges={j.name: j.scores for j in judges}, n_boot=n_boot, seed=seed)
    crits = list(report.criteria)
    ceiling = JudgeRow(
        judge="experts (ceiling)",
        kind="experts",
        criteria={
            c: JudgeCriterion(alpha=ca.experts.alpha, alpha_ci=ca.experts.ci, n_items=ca.experts.n_items)
            for c, ca in report.criteria.items()
        },
    )
    rows = [ceiling]
    for js in judges:
        cells = {}
        for c, ca in report.criteria.items():
            ja = ca.judges.get(js.name)
            if ja is None:
                continue
            total = ja.n_items + ja.unscored
            cells[c] = JudgeCriterion(
                alpha=ja.alpha_with_experts.alpha,
                alpha_ci=ja.alpha_with_experts.ci,
                bias=ja.bias.value,
                spearman=ja.spearman.value,
                alt_test=None if ja.alt_test is None else ("pass" if ja.alt_test.passed else "fail"),
                alt_test_note=ja.alt_test_note,
                n_items=ja.n_items,
                unscored=ja.unscored,
                unscored_rate=round(ja.unscored / total, 4) if total else None,
            )
        n, cost, secs = _per_100(js)
        rows.append(
            JudgeRow(
                judge=js.name,
                kind="judge",
                model=js.model,
                run=str(js.run_dir),
                calibrator=js.calibrator,
                criteria=cells,
                judgments=n,
                cost_per_100=cost,
                seconds_per_100=secs,
            )
        )
    board = JudgeLeaderboard(
        benchmark=bench.name,
        criteria=crits,
        rows=rows,
        provenance={
            "benchmark": bench.name,
            "rubrics": {c: rubrics[c].ref for c in crits},
            "judges": {j.name: {"model": j.model, "params": j.params, "run": str(j.run_dir)} for j in judges},
            "calibrators": sorted({j.calibrator for j in judges if j.calibrator}),
            "command": command,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool_version": __version__,
            "bootstrap": {"n_boot": n_boot, "seed": seed},
        },
    )
    return board, report


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
