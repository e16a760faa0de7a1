"""The judge leaderboard: judges compared with the experts, one row per judge, between the chance rows and the
experts' ceiling, beside the baseline rows (the reply's length; a named item field), with each judge marked when it is
not better than length.

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
from judge.engine.store import IMPORTED_COST


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
    items: str = Field(default="", description="Which items the row uses on this criterion.")
    ceiling: Headline | None = Field(default=None, description="The experts' kappa on the items this row uses.")
    own_system_left_out: int = Field(default=0, description="Rated items of the judge's own system left out (--self).")
    unscored: int = 0
    not_judged: int = 0
    unscored_rate: float | None = Field(default=None, description="unscored / (n_items + unscored).")
    samples_agree: float | None = Field(
        default=None, description="Share of items whose repeated samples all gave the same score (None: one sample)."
    )
    samples_sd: float | None = Field(default=None, description="Mean SD across samples of one item.")
    not_better_than_length: bool | None = Field(
        default=None,
        description="Judges: True when the headline's or Spearman's CI does not clear the length rows on the judge's "
        "items ('not better than length'), False when both clear, None without a CI (or not a judge).",
    )
    vs_length: str | None = Field(default=None, description="Why (the CIs and the length values compared).")


class JudgeRow(_Model):
    judge: str = Field(description="The name shown (a judge's is rendered from its identity).")
    kind: Literal["experts", "judge", "baseline", "chance"] = Field(
        description="The ceiling, a judge, a baseline row (length, a named item field) or a chance row."
    )
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
        return n, None, f"{IMPORTED_COST}: no call was made, so no cost or time was measured", None
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
        items=ja.items,
        ceiling=ja.ceiling,
        own_system_left_out=ja.own_system_left_out,
        unscored=ja.unscored,
        not_judged=ja.not_judged,
        unscored_rate=round(ja.unscored / total, 4) if total and ja.kind == "judge" else None,
        samples_agree=None if sc is None else sc.all_agree_rate,
        samples_sd=None if sc is None else sc.mean_sd,
        not_better_than_length=None if ja.vs_length is None else ja.vs_length.not_better,
        vs_length=None if ja.vs_length is None else ja.vs_length.reason,
    )


def _reference_rows(report: AgreementReport, kind: Literal["baseline", "chance"]) -> list[JudgeRow]:
    """The rows of one kind that are not judges (the baselines, the chance rows), in the report's order."""
    names = list(dict.fromkeys(n for ca in report.criteria.values() for n, ja in ca.judges.items() if ja.kind == kind))
    rows = []
    for name in names:
        cells = {c: _cell(ca.judges[name]) for c, ca in report.criteria.items() if name in ca.judges}
        descriptions = [ca.judges[name].description or "" for ca in report.criteria.values() if name in ca.judges]
        rows.append(
            JudgeRow(
                judge=name,
                kind=kind,
                description=descriptions[0] if len(set(descriptions)) == 1 else "; ".join(dict.fromkeys(descriptions)),
                criteria=cells,
            )
        )
    return rows


def held_out_notes(judges: Sequence[JudgeScores], levels: Mapping[str, str], benchmark: str) -> list[str]:
    """The held-out effect of each calibrated judge, per criterion, as ``judge calibrate`` measured it (the numbers
    its calibrator file records: one definition, ``stats.heldout.HELD_OUT_EFFECT``). The calibrated rows above are
    pooled over folds, which is why they differ from it."""
    from judge.analysis.calibration import Calibrator
    from judge.analysis.stats.heldout import HELD_OUT_EFFECT

    out = []
    for js in judges:
        if not js.calibrator:
            continue
        cal = Calibrator.load(js.calibrator)
        for c, level in levels.items():
            fit = cal.fit.get(c)
            if fit is None or fit.before.headline is None or fit.after.headline is None:
                continue
            change = fit.change.headline
            b, a = fit.before.headline.value, fit.after.headline.value
            text = (
                f"{js.name}, {c}: held-out effect kappa {_two(b)} -> {_two(a)}, change "
                f"{_two(change.value if change else None, sign=True)}"
                + (
                    f" [{_two(change.ci[0], sign=True)}, {_two(change.ci[1], sign=True)}]"
                    if change and change.ci
                    else ""
                )
                + f" ({fit.agreement_level}; fitted on {cal.benchmark!r})"
            )
            if fit.agreement_level != level:
                text += f": measured at the {fit.agreement_level} level, not {level}; refit with 'judge calibrate'"
            elif cal.benchmark != benchmark:
                text += f", not on {benchmark!r}"
            out.append(text)
    if out:
        out.insert(0, f"{HELD_OUT_EFFECT}; the calibrated rows are pooled over folds, so they differ from it")
    return out


def _two(v: float | None, *, sign: bool = False) -> str:
    if v is None:
        return "n/a"
    r = round(v, 2) + 0.0  # never "-0.00"
    return f"{r:+.2f}" if sign else f"{r:.2f}"


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
    baselines: Sequence[str] = (),
    own_systems: Mapping[str, tuple[Sequence[str], set[str]]] | None = None,
) -> tuple[JudgeLeaderboard, AgreementReport]:
    """Rank judges by how well they stand in for the experts: the ceiling first, then by the first criterion's
    headline (chance rows included, so every judge is seen between chance and the ceiling).

    Args:
        bench, rubrics, n_boot, seed, criteria, levels, excluded_raters, baselines, own_systems: as for
            ``agreement_report``.
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
        baselines=baselines,
        own_systems=own_systems,
    )
    crits = list(report.criteria)
    ceiling = JudgeRow(
        judge="experts (ceiling)",
        kind="experts",
        description="the experts' agreement with each other, on the same footing as the judges'",
        criteria={
            c: JudgeCriterion(
                headline=ca.experts.headline,
                alpha=ca.experts.alpha,
                alpha_ci=ca.experts.ci,
                n_items=ca.experts.n_items,
                items=ca.experts.items,
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
    rows += _reference_rows(report, "baseline") + _reference_rows(report, "chance")
    rows.sort(key=lambda r: _order(r, crits[0] if crits else None))
    held_out = held_out_notes(judges, {c: ca.level for c, ca in report.criteria.items()}, bench.name)
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
        notes=[f"WARNING: {w}" for w in report.warnings] + report.notes + held_out,
    )
    return board, report
