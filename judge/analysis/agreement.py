"""How far each judge stands from the psychologists, with the experts' own agreement as the ceiling.

``agreement_report`` computes, per criterion: the experts' Krippendorff's alpha (the ceiling) with a bootstrap CI;
for each judge, alpha with the judge added as one more rater, Spearman and Kendall tau-b against the expert mean,
system-level Spearman, mean bias with limits of agreement, quadratic-weighted kappa against each expert, ICC(2,1)
(interval criteria) and the alternative annotator test; and rater diagnostics (each expert's bias against the
others, alpha of every pair of experts). ``render_agreement_table`` prints it.

How to read these numbers
-------------------------
*Can this judge replace an expert?* Three numbers answer three different parts of that question.

- **alpha** (Krippendorff) is chance-corrected agreement: 1 is perfect, 0 is what raters guessing from the score
  distribution would reach, below 0 is systematic disagreement. The experts' row is the *ceiling*: psychologists
  rating the same responses do not agree perfectly either, and a judge cannot be expected to agree with them better
  than they agree with each other. ``alpha with experts`` adds the judge as one more rater: if it is close to the
  experts' alpha (CIs overlapping), the judge behaves like one more expert; if it drops, the judge adds noise or
  disagreement. Krippendorff asks for alpha >= 0.8 for firm conclusions and >= 0.667 for tentative ones;
  ``q(alpha<0.667)`` is the share of bootstrap resamples below that line. The CI is over items: with ~200 items
  it is wide, so differences of a few hundredths between judges mean nothing.
- **Spearman / Kendall** against the expert mean say whether the judge *ranks* responses like the experts, whatever
  its scale use; they ignore a constant offset. System-level Spearman asks whether it ranks *systems* the same way,
  which is what a leaderboard needs (and can be high even when item-level agreement is modest).
- **bias** is the judge's mean score minus the experts' mean, in scale points; the limits of agreement [low, high]
  hold 95% of the item-level differences. A judge with a good rank correlation but a large bias can be fixed by
  calibration; wide limits cannot.
- **alt-test** (Calderon et al. 2025) asks directly whether the judge could stand in for one of the experts: leaving
  each expert out in turn, is the judge at least as close to the remaining experts as the left-out expert is (with
  a margin epsilon granted to the cheaper judge)? ``pass`` means it wins against at least half of the experts
  after correcting for multiple tests; ``rho`` (advantage probability) ranks judges. With two ratings per item, as
  in RESORT, every comparison rests on a single remaining expert, so the test is noisy: read it with the CIs.
- **unscored** counts judgments that could not be read (missing data: excluded, never scored 0). Many unscored items
  make every other number less trustworthy, and they may not be missing at random.

Example::

    from judge.analysis.agreement import agreement_report, render_agreement_table
    report = agreement_report(bench, rubrics, judges={"gpt-4o": scores}, n_boot=2000)
    print(render_agreement_table(report))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.stats.alpha import AlphaResult, AlphaUndefinedError, bootstrap_alpha, package_alpha
from judge.analysis.stats.alttest import AltTestResult, AltTestUndefinedError, alt_test
from judge.analysis.stats.correlation import (
    BiasResult,
    Estimate,
    icc_a1,
    kendall_tau_b,
    mean_bias,
    quadratic_kappa,
    spearman,
    system_spearman,
)
from judge.data.benchmark import Benchmark
from judge.data.rubric import Level, Rubric
from judge.errors import InputError, Problem

JudgeScores = Mapping[str, Mapping[str, Mapping[str, float | None]]]  # judge -> criterion -> item -> score


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RaterStats(_Model):
    """One expert's scale use: mean rating, and bias against the other experts on the items they share."""

    rater: str
    n_ratings: int
    mean: float
    bias_vs_others: float | None = Field(description="Mean of (this rating - mean of the others) on shared items.")
    n_shared: int


class PairAlpha(_Model):
    raters: tuple[str, str]
    alpha: float | None
    n_shared: int
    note: str | None = None


class JudgeAgreement(_Model):
    """One judge against the experts on one criterion."""

    alpha_with_experts: AlphaResult
    spearman: Estimate
    kendall: Estimate
    system_spearman: Estimate | None = None
    bias: BiasResult
    kappa: dict[str, Estimate] = Field(default_factory=dict, description="Quadratic-weighted kappa per expert.")
    kappa_note: str | None = None
    icc: Estimate | None = Field(default=None, description="ICC(2,1) of judge vs expert mean (interval only).")
    n_items: int = Field(description="Items with a judge score and at least one expert rating.")
    unscored: int = Field(description="Expert-rated items whose judgment is unscored (missing data, excluded).")
    not_judged: int = Field(default=0, description="Expert-rated items the judge has no judgment for at all.")
    alt_test: AltTestResult | None = None
    alt_test_note: str | None = None


class CriterionAgreement(_Model):
    criterion: str
    level: Level
    rubric: str = Field(description="name@version#hash of the rubric.")
    raters: list[str]
    experts: AlphaResult
    rater_stats: list[RaterStats] = Field(default_factory=list)
    pairs: list[PairAlpha] = Field(default_factory=list)
    judges: dict[str, JudgeAgreement] = Field(default_factory=dict)


class AgreementReport(_Model):
    benchmark: str
    n_boot: int
    seed: int
    epsilon: float
    criteria: dict[str, CriterionAgreement]
    notes: list[str] = Field(default_factory=list)


# -- building blocks -----------------------------------------------------------------------------------------


def expert_matrix(bench: Benchmark, criterion: str) -> tuple[list[str], list[str], np.ndarray]:
    """Raters, items and the ``(raters, items)`` rating matrix of one criterion (NaN = not rated)."""
    ratings = [r for r in bench.ratings if r.criterion == criterion]
    raters = sorted({r.rater for r in ratings})
    items = bench.rated_item_ids(criterion)
    row = {r: i for i, r in enumerate(raters)}
    col = {it: j for j, it in enumerate(items)}
    m = np.full((len(raters), len(items)), np.nan)
    for r in ratings:
        m[row[r.rater], col[r.item_id]] = r.value
    return raters, items, m


def rater_diagnostics(raters: list[str], m: np.ndarray, level: Level) -> tuple[list[RaterStats], list[PairAlpha]]:
    """Each expert's mean and bias against the others, and the alpha of each pair on the items both rated."""
    stats_rows = []
    for i, rater in enumerate(raters):
        own = m[i]
        others = np.delete(m, i, axis=0)
        has_other = (~np.isnan(others)).any(axis=0) if len(others) else np.zeros(m.shape[1], bool)
        shared = ~np.isnan(own) & has_other
        bias = None
        if shared.any():
            bias = float(np.mean(own[shared] - np.nanmean(others[:, shared], axis=0)))
        stats_rows.append(
            RaterStats(
                rater=rater,
                n_ratings=int((~np.isnan(own)).sum()),
                mean=float(np.nanmean(own)),
                bias_vs_others=bias,
                n_shared=int(shared.sum()),
            )
        )
    pairs = []
    for a, b in combinations(range(len(raters)), 2):
        both = ~np.isnan(m[a]) & ~np.isnan(m[b])
        if not both.any():
            continue
        try:
            value: float | None = package_alpha(m[[a, b]][:, both], level)
            note = None
        except AlphaUndefinedError as exc:
            value, note = None, str(exc)
        pairs.append(PairAlpha(raters=(raters[a], raters[b]), alpha=value, n_shared=int(both.sum()), note=note))
    return stats_rows, pairs


def _judge_vector(
    judge: str, criterion: str, scores: Mapping[str, float | None], items: list[str], bench: Benchmark
) -> tuple[np.ndarray, int, int]:
    """Judge scores aligned with ``items`` (NaN where missing), the unscored count and the not-judged count."""
    unknown = [i for i in scores if i not in bench.items]
    bad = [(i, v) for i, v in scores.items() if v is not None and not math.isfinite(v)]
    problems = []
    if unknown:
        problems.append(
            Problem(
                f"judge {judge!r}, criterion {criterion!r}",
                f"{len(unknown)} item id(s) are not in benchmark {bench.name!r} (e.g. {unknown[:3]}); "
                "expected ids of this benchmark: was the run made on another benchmark?",
            )
        )
    if bad:
        problems.append(
            Problem(
                f"judge {judge!r}, criterion {criterion!r}, item {bad[0][0]!r}",
                f"score {bad[0][1]!r} is not a finite number (unscored must be None)",
            )
        )
    if problems:
        raise InputError(problems)
    vec = np.array([np.nan if scores.get(i) is None else float(scores[i]) for i in items])  # type: ignore[arg-type]
    unscored = sum(1 for i in items if i in scores and scores[i] is None)
    not_judged = sum(1 for i in items if i not in scores)
    return vec, unscored, not_judged


def judge_agreement(
    judge_vec: np.ndarray,
    m: np.ndarray,
    raters: list[str],
    items: list[str],
    rubric: Rubric,
    *,
    systems: Mapping[str, str] | None,
    n_boot: int,
    seed: int,
    epsilon: float,
    min_items: int = 10,
) -> dict[str, object]:
    """The statistics of one judge (without the unscored counts), as the fields of ``JudgeAgreement``."""
    level = rubric.level
    scale = rubric.points_values()
    out: dict[str, object] = {}
    rated = (~np.isnan(m)).any(axis=0)
    use = rated & ~np.isnan(judge_vec)
    # Only the items the judge scored: with the rest included, expert-expert pairs on items the judge never saw
    # would dominate the statistic and make any judge look as good as the experts.
    out["alpha_with_experts"] = bootstrap_alpha(
        np.vstack([m[:, use], judge_vec[use]]), level, scale=scale, n_boot=n_boot, seed=seed
    )
    x = judge_vec[use]
    y = np.nanmean(m[:, use], axis=0) if use.any() else np.empty(0)
    out["n_items"] = int(use.sum())
    out["spearman"] = spearman(x, y, n_boot=n_boot, seed=seed)
    out["kendall"] = kendall_tau_b(x, y, n_boot=n_boot, seed=seed)
    out["bias"] = mean_bias(x, y, n_boot=n_boot, seed=seed)
    if systems is not None:
        out["system_spearman"] = _system_level(x, y, [items[k] for k in np.nonzero(use)[0]], systems)
    if level == "nominal":
        out["kappa_note"] = "weighted kappa is not computed for nominal criteria"
    else:
        kappas = {}
        for r, rater in enumerate(raters):
            both = ~np.isnan(m[r]) & ~np.isnan(judge_vec)
            kappas[rater] = quadratic_kappa(judge_vec[both], m[r, both], n_boot=n_boot, seed=seed)
        out["kappa"] = kappas
    if level == "interval" and len(x) >= 2:
        out["icc"] = icc_a1(np.column_stack([x, y]), n_boot=n_boot, seed=seed)
    experts = {
        rater: {items[k]: float(m[r, k]) for k in np.nonzero(~np.isnan(m[r]))[0]} for r, rater in enumerate(raters)
    }
    judge_map = {items[k]: float(judge_vec[k]) for k in np.nonzero(~np.isnan(judge_vec))[0]}
    try:
        out["alt_test"] = alt_test(
            judge_map,
            experts,
            scoring="accuracy" if level == "nominal" else "neg_rmse",
            epsilon=epsilon,
            min_items=min_items,
        )
    except AltTestUndefinedError as exc:
        out["alt_test_note"] = str(exc)
    return out


def _system_level(x: np.ndarray, y: np.ndarray, items: list[str], systems: Mapping[str, str]) -> Estimate:
    judge_sum: dict[str, list[float]] = {}
    expert_sum: dict[str, list[float]] = {}
    for xi, yi, item in zip(x, y, items, strict=True):
        s = systems.get(item)
        if s is None:
            continue
        judge_sum.setdefault(s, []).append(float(xi))
        expert_sum.setdefault(s, []).append(float(yi))
    return system_spearman(
        {s: float(np.mean(v)) for s, v in judge_sum.items()}, {s: float(np.mean(v)) for s, v in expert_sum.items()}
    )


# -- the report ----------------------------------------------------------------------------------------------


def agreement_report(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    judges: JudgeScores | None = None,
    systems: Mapping[str, str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    epsilon: float = 0.2,
    min_items: int = 10,
) -> AgreementReport:
    """Agreement of experts with each other and of each judge with the experts, per criterion.

    Args:
        bench: the benchmark with its expert ratings.
        rubrics: criterion -> rubric (its ``level`` picks the alpha metric, its scale the value domain).
        judges: judge -> criterion -> item id -> aggregated score (None = unscored: excluded and counted).
        systems: item id -> system name, for system-level Spearman.
        n_boot: bootstrap resamples for every CI.
        seed: seed of the resampling.
        epsilon: the alt-test's cost-benefit margin.
        min_items: the alt-test leaves out experts with fewer usable items.

    Raises:
        InputError: a judge's item ids are not in the benchmark, or a score is not a finite number.
    """
    judges = judges or {}
    notes: list[str] = []
    rated_criteria = {r.criterion for r in bench.ratings}
    for c in sorted(rated_criteria - set(rubrics)):
        notes.append(f"expert ratings on criterion {c!r} are ignored: no rubric for it")
    for j, per_c in judges.items():
        for c in sorted(set(per_c) - set(rubrics)):
            notes.append(f"judge {j!r}: scores on criterion {c!r} are ignored: no rubric for it")
    criteria = {}
    for name, rubric in rubrics.items():
        raters, items, m = expert_matrix(bench, name)
        experts = bootstrap_alpha(m, rubric.level, scale=rubric.points_values(), n_boot=n_boot, seed=seed)
        if not items:
            experts.note = f"no expert ratings for criterion {name!r} in benchmark {bench.name!r}"
        rater_stats, pairs = rater_diagnostics(raters, m, rubric.level)
        per_judge = {}
        for j, per_c in judges.items():
            if name not in per_c:
                continue
            vec, unscored, not_judged = _judge_vector(j, name, per_c[name], items, bench)
            fields = judge_agreement(
                vec,
                m,
                raters,
                items,
                rubric,
                systems=systems,
                n_boot=n_boot,
                seed=seed,
                epsilon=epsilon,
                min_items=min_items,
            )
            per_judge[j] = JudgeAgreement.model_validate({**fields, "unscored": unscored, "not_judged": not_judged})
        criteria[name] = CriterionAgreement(
            criterion=name,
            level=rubric.level,
            rubric=rubric.ref,
            raters=raters,
            experts=experts,
            rater_stats=rater_stats,
            pairs=pairs,
            judges=per_judge,
        )
    return AgreementReport(
        benchmark=bench.name, n_boot=n_boot, seed=seed, epsilon=epsilon, criteria=criteria, notes=notes
    )


# -- rendering -----------------------------------------------------------------------------------------------


def _f(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _with_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{v:.2f}"


def _alt(j: JudgeAgreement) -> str:
    a = j.alt_test
    if a is None:
        return "n/a"
    return f"{'pass' if a.passed else 'fail'} w={a.winning_rate:.2f} rho={a.advantage_prob:.2f}"


def _criterion_table(c: CriterionAgreement) -> list[str]:
    w = max([22, *(len(n) for n in c.judges)])
    head = (
        f"{'':<{w}} {'alpha [95% CI]':<22} {'Spearman [95% CI]':<22} {'Kendall':<8} {'bias [LoA]':<22} "
        f"{'alt-test':<24} {'n':>5} {'unscored':>8}"
    )
    e = c.experts
    q = f" q<.667={e.q_below_tentative:.2f}" if e.q_below_tentative is not None else ""
    lines = [
        f"{c.criterion} ({c.level}; {len(c.raters)} experts)",
        head,
        f"{'experts (ceiling)':<{w}} {_with_ci(e.alpha, e.ci):<22} {'':<22} {'':<8} {'':<22} {q.strip():<24} "
        f"{e.n_items:>5} {'':>8}",
    ]
    if e.note:
        lines.append(f"  note: {e.note}")
    for name, j in c.judges.items():
        b = j.bias
        bias = (
            "n/a" if b.value is None else f"{b.value:+.2f}" + (f" [{b.loa[0]:+.1f}, {b.loa[1]:+.1f}]" if b.loa else "")
        )
        a = j.alpha_with_experts
        lines.append(
            f"{name[:w]:<{w}} {_with_ci(a.alpha, a.ci):<22} {_with_ci(j.spearman.value, j.spearman.ci):<22} "
            f"{_f(j.kendall.value):<8} {bias:<22} {_alt(j):<24} {j.n_items:>5} {j.unscored:>8}"
        )
        extra = []
        if j.system_spearman is not None:
            extra.append(f"system Spearman {_f(j.system_spearman.value)} (n={j.system_spearman.n})")
        if j.icc is not None:
            extra.append(f"ICC(2,1) {_with_ci(j.icc.value, j.icc.ci)}")
        if j.kappa:
            extra.append("kappa_w " + ", ".join(f"{r}={_f(k.value)}" for r, k in j.kappa.items()))
        if j.not_judged:
            extra.append(f"{j.not_judged} rated item(s) not judged")
        if j.alt_test_note:
            extra.append(f"alt-test: {j.alt_test_note}")
        if extra:
            lines.append("    " + "; ".join(extra))
    if c.rater_stats:
        lines.append(
            "  raters: "
            + "; ".join(
                f"{r.rater} n={r.n_ratings} mean={r.mean:.2f} bias={_f(r.bias_vs_others, 2)}" for r in c.rater_stats
            )
        )
    if c.pairs:
        lines.append(
            "  pairs:  "
            + "; ".join(f"{a}-{b} alpha={_f(p.alpha)} (n={p.n_shared})" for p in c.pairs for a, b in [p.raters])
        )
    return lines


def render_agreement_table(report: AgreementReport) -> str:
    """A terminal table per criterion: the experts' row (the ceiling), one row per judge, then rater diagnostics."""
    lines = [
        f"Agreement on {report.benchmark} (bootstrap {report.n_boot} resamples over items, seed {report.seed}; "
        f"alt-test epsilon {report.epsilon:g})",
        "",
    ]
    for c in report.criteria.values():
        lines += _criterion_table(c)
        lines.append("")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines).rstrip() + "\n"
