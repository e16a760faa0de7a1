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
from judge.analysis.agreement import AgreementReport, agreement_report
from judge.analysis.scores import JudgeScores
from judge.data.benchmark import Benchmark
from judge.data.rubric import Rubric


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
