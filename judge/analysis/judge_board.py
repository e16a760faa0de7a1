"""The judge leaderboard: judges compared with the experts, one row per judge, between the chance rows and the
experts' ceiling.

Per criterion: the headline (pairwise kappa with the experts, the same statistic as the experts' row: see
``judge.analysis.stats.pairwise``), bias, Spearman, the alternative-annotator test verdict, unscored and not-judged
counts, and self-consistency over repeated samples; per judge: cost and time per 100 judgments from the run summary
(n/a for imported or unpriced judges). Rows: the experts first, then judges and chance rows by the headline of the
first criterion, best first. Calibrated judges are scored cross-fitted on held-out posts (their name says so).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.analysis.agreement import AgreementReport, JudgeAgreement, agreement_report
from judge.analysis.scores import JudgeScores
from judge.analysis.stats.pairwise import Headline
from judge.data.benchmark import Benchmark
from judge.data.rubric import Level, Rubric
from judge.engine.identity import JudgeIdentity


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeCriterion(_Model):
    headline: Headline = Field(description="Pairwise kappa with the experts (experts' row: among themselves).")
    alpha: float | None = Field(default=None, description="Experts' row only: Krippendorff's alpha among them.")
    alpha_ci: tuple[float, float] | None = None
    bias: float | None = None
    spearman: float | None = None
    alt_test: str | None = Field(default=None, description="'pass' / 'fail', or None when it cannot be run.")
    alt_test_note: str | None = None
    n_items: int = 0
    unscored: int = 0
    not_judged: int = 0
    unscored_rate: float | None = Field(default=None, description="unscored / (n_items + unscored).")
    samples_agree: float | None = Field(
        default=None, description="Share of items whose repeated samples all gave the same score (None: one sample)."
    )
    samples_sd: float | None = Field(default=None, description="Mean SD across samples of one item.")


class JudgeRow(_Model):
    judge: str = Field(description="The name shown (a judge's is rendered from its identity).")
    kind: Literal["experts", "judge", "chance"] = Field(description="The ceiling, a judge, or a chance row.")
    identity: JudgeIdentity | None = Field(default=None, description="Who the judge is (judges only).")
    description: str = ""
    model: str = ""
    run: str = ""
    calibrator: str | None = None
    criteria: dict[str, JudgeCriterion]
    judgments: int | None = None
    cost_per_100: float | None = Field(default=None, description="None when no cost was measured (see cost_note).")
    cost_note: str | None = None
    seconds_per_100: float | None = None


class JudgeLeaderboard(_Model):
    kind: str = "judges"
    benchmark: str
    criteria: list[str]
    rows: list[JudgeRow]
    provenance: dict[str, Any]
    notes: list[str] = Field(default_factory=list)


def _per_100(js: JudgeScores) -> tuple[int | None, float | None, str | None, float | None]:
    """Judgments, cost per 100 (None when not measured, with the reason) and seconds per 100 live calls."""
    s = (js.summary or {}).get("per_judge", {}).get(js.run_judge)
    if js.imported:
        n = int(s["judgments"]) if s and s.get("judgments") else None
        return n, None, "imported judgments: no cost or time was measured", None
    if not s or not s.get("judgments"):
        return None, None, "no run summary", None
    n = int(s["judgments"])
    live = n - int(s.get("cache_hits", 0))
    secs = 100 * float(s.get("latency_s_total", 0.0)) / live if live else None
    cost = float(s.get("cost_usd") or 0.0)
    if live == 0:
        return n, None, "every judgment came from the cache: nothing was spent in this run", None
    secs_100 = round(secs, 2) if secs is not None else None
    if s.get("unpriced_calls"):  # the engine records calls of a model with no known price as unpriced
        return n, None, f"unpriced: {s['unpriced_calls']} call(s) of a model with no known price", secs_100
    if cost == 0.0:
        why = "free: the embedded local judge" if s.get("cost") == "free (local)" else "nothing was spent"
        return n, None, why, secs_100
    return n, round(100 * cost / n, 6), None, secs_100


def _cell(ja: JudgeAgreement) -> JudgeCriterion:
    total = ja.n_items + ja.unscored
    sc = ja.self_consistency
    return JudgeCriterion(
        headline=ja.headline,
        bias=None if ja.bias is None else ja.bias.value,
        spearman=None if ja.spearman is None else ja.spearman.value,
        alt_test=None if ja.alt_test is None else ("pass" if ja.alt_test.passed else "fail"),
        alt_test_note=ja.alt_test_note,
        n_items=ja.n_items,
        unscored=ja.unscored,
        not_judged=ja.not_judged,
        unscored_rate=round(ja.unscored / total, 4) if total and ja.kind == "judge" else None,
        samples_agree=None if sc is None else sc.all_agree_rate,
        samples_sd=None if sc is None else sc.mean_sd,
    )


def _order(row: JudgeRow, first: str | None) -> tuple[int, float, str]:
    if row.kind == "experts":
        return (0, 0.0, "")
    cell = row.criteria.get(first) if first else None
    v = None if cell is None else cell.headline.value
    return (2, 0.0, row.judge) if v is None else (1, -v, row.judge)


def judge_leaderboard(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    judges: Sequence[JudgeScores],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    command: str = "",
    criteria: Sequence[str] | None = None,
    levels: Mapping[str, Level] | None = None,
    excluded_raters: Sequence[str] = (),
) -> tuple[JudgeLeaderboard, AgreementReport]:
    """Rank judges by how well they stand in for the experts: the ceiling first, then by the first criterion's
    headline (chance rows included, so every judge is seen between chance and the ceiling).

    Args:
        bench, rubrics, n_boot, seed, criteria, levels, excluded_raters: as for ``agreement_report``.
        judges: the judges (calibrated copies included, as ``scores.judges_with_calibrators`` gives them).
        command: the command line (provenance).
    """
    report = agreement_report(
        bench,
        rubrics,
        judges={j.name: j.scores for j in judges},
        n_boot=n_boot,
        seed=seed,
        criteria=criteria,
        levels=levels,
        self_consistency={j.name: j.self_consistency for j in judges},
        excluded_raters=excluded_raters,
        identities={j.name: j.identity for j in judges},
    )
    crits = list(report.criteria)
    ceiling = JudgeRow(
        judge="experts (ceiling)",
        kind="experts",
        description="the experts' agreement with each other, on the same footing as the judges'",
        criteria={
            c: JudgeCriterion(
                headline=ca.experts.headline, alpha=ca.experts.alpha, alpha_ci=ca.experts.ci, n_items=ca.experts.n_items
            )
            for c, ca in report.criteria.items()
        },
    )
    rows = [ceiling]
    for js in judges:
        cells = {c: _cell(ca.judges[js.name]) for c, ca in report.criteria.items() if js.name in ca.judges}
        n, cost, cost_note, secs = _per_100(js)
        rows.append(
            JudgeRow(
                judge=js.name,
                kind="judge",
                identity=js.identity,
                model=js.model,
                run=str(js.run_dir),
                calibrator=js.calibrator,
                criteria=cells,
                judgments=n,
                cost_per_100=cost,
                cost_note=cost_note,
                seconds_per_100=secs,
            )
        )
    for name in ("chance:constant", "chance:permuted"):
        cells = {c: _cell(ca.judges[name]) for c, ca in report.criteria.items() if name in ca.judges}
        descriptions = [ca.judges[name].description or "" for ca in report.criteria.values() if name in ca.judges]
        rows.append(
            JudgeRow(
                judge=name,
                kind="chance",
                description=descriptions[0] if len(set(descriptions)) == 1 else "; ".join(dict.fromkeys(descriptions)),
                criteria=cells,
            )
        )
    rows.sort(key=lambda r: _order(r, crits[0] if crits else None))
    board = JudgeLeaderboard(
        benchmark=bench.name,
        criteria=crits,
        rows=rows,
        provenance={
            "benchmark": bench.name,
            "rubrics": {c: rubrics[c].ref for c in crits},
            "levels": {c: ca.level for c, ca in report.criteria.items()},
            "judges": {
                j.name: {"model": j.model, "params": j.params, "run": str(j.run_dir), "identity": j.identity}
                for j in judges
            },
            "calibrators": sorted({j.calibrator for j in judges if j.calibrator}),
            "excluded_raters": list(excluded_raters),
            "command": command,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool_version": __version__,
            "bootstrap": {"n_boot": n_boot, "seed": seed},
        },
        notes=[f"WARNING: {w}" for w in report.warnings] + report.notes,
    )
    return board, report
