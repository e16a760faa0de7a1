"""How far each judge stands from the psychologists, with the experts' own agreement as the ceiling and chance as the
floor.

``agreement_report`` computes, per criterion:

- the **headline** for every judge and for the experts, on the same footing: pairwise kappa over judge-expert pairs
  (a judge) or over pairs of two experts' ratings of one item (the experts: the ceiling), with a bootstrap CI
  (``judge.analysis.stats.pairwise``); two **chance rows** computed the same way: ``chance:constant`` (a judge that
  answers the experts' most common rating on every item: exactly 0) and ``chance:permuted`` (the judges' own scores
  shuffled across items: 0 on average, the range shows how far chance alone moves it on this many items);
- Krippendorff's alpha among the experts, with its CI (the classic reliability figure);
- for each judge: Spearman and Kendall tau-b against the expert mean, mean bias with limits of agreement,
  quadratic-weighted kappa against each expert, the item-level ICC(A,1) (interval criteria), system-level agreement
  (ICC(C,1), ICC(A,1), Spearman, Kendall of system means, CIs over posts), the alternative annotator test, the
  judge's self-consistency over repeated samples, and a loud warning when the judge equals one rater;
- rater diagnostics (each expert's bias against the others, alpha of every pair of experts).

Every statistic of a criterion is computed on the same bootstrap resamples of the criterion's rated items (one
block of weights at a time: ``judge.analysis.stats.resample``); a judge's statistics use the resampled copies of the
items it scored. Below 5 items a CI is not computed ("too few").

How to read these numbers
-------------------------
*Can this judge replace an expert?*

- **headline** (pairwise kappa) is chance-corrected agreement with the experts: 1 is perfect, 0 is what a judge that
  ignores the item reaches (see the chance rows), below 0 is systematic disagreement; a shifted scale (bias) counts
  against it. The experts' headline is their agreement with each other on the same footing: the *ceiling*, since a
  judge cannot be expected to agree with experts better than they agree with each other. A judge sits between the
  chance rows and the ceiling; close to the ceiling (CIs overlapping) means it disagrees with experts about as much
  as they disagree with each other. The CI is over items: with ~200 items it is wide.
- **Spearman / Kendall** against the expert mean say whether the judge *ranks* responses like the experts, whatever
  its scale use. System-level agreement asks whether it ranks and scores *systems* like the experts, which is what
  a leaderboard needs (and can be high even when item-level agreement is modest).
- **bias** is the judge's mean score minus the experts' mean, in scale points; the limits of agreement hold 95% of
  the item-level differences. Calibration can remove a bias; it cannot narrow wide limits.
- **alt-test** (Calderon et al. 2025) asks whether the judge could stand in for one of the experts: leaving each
  expert out in turn, is the judge at least as close to the remaining experts as the left-out expert is (with a
  margin epsilon)? With two ratings per item every comparison rests on one remaining expert: read it with the CIs.
- **unscored** counts judgments that could not be read (missing data, never scored 0); **not judged** counts rated
  items the judge has no judgment for. Both are excluded from every statistic.

Example::

    from judge.analysis.agreement import agreement_report
    report = agreement_report(bench, rubrics, judges={"gpt-4o": scores}, n_boot=2000)
    report.criteria["empathy"].judges["gpt-4o"].headline.value
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.experts import RaterMatch, expert_matrix, most_common_rating, rater_matches
from judge.analysis.stats.alpha import AlphaResult, AlphaUndefinedError, bootstrap_alpha, package_alpha
from judge.analysis.stats.alttest import AltTestResult, AltTestUndefinedError, alt_test_matrix
from judge.analysis.stats.correlation import (
    BiasResult,
    Estimate,
    IccEstimate,
    PairGrid,
    bias_point,
    constant_note,
    icc_from_moments,
    kappa_from_moments,
    moments,
)
from judge.analysis.stats.pairwise import (
    Headline,
    PairTable,
    chance_permuted,
    expert_pairs,
    headline,
    judge_pairs,
    permuted_kappas,
)
from judge.analysis.stats.resample import Groups, item_weight_blocks_t, percentile_ci, too_few, unique_rows
from judge.analysis.stats.system import SystemAgreement, system_agreement
from judge.data.benchmark import Benchmark
from judge.data.rubric import Level, Rubric
from judge.errors import InputError, Problem

JudgeScores = Mapping[str, Mapping[str, Mapping[str, float | None]]]  # judge -> criterion -> item -> score
CHANCE_CONSTANT = "chance:constant"
CHANCE_PERMUTED = "chance:permuted"


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


class Consistency(_Model):
    """How a judge's repeated samples of one item agree (items with at least two scored samples)."""

    items: int = Field(description="Items with two or more scored samples.")
    mean_sd: float = Field(description="Mean over those items of the standard deviation across samples.")
    all_agree_rate: float = Field(description="Share of those items where every sample gave the same score.")


class JudgeAgreement(_Model):
    """One judge (or chance row) against the experts on one criterion."""

    kind: Literal["judge", "chance"] = "judge"
    description: str | None = Field(default=None, description="What a chance row is.")
    headline: Headline = Field(description="Pairwise kappa over judge-expert pairs, with its 95% CI.")
    spearman: Estimate | None = None
    kendall: Estimate | None = None
    bias: BiasResult | None = None
    kappa: dict[str, Estimate] = Field(default_factory=dict, description="Quadratic-weighted kappa per expert.")
    kappa_note: str | None = None
    icc: IccEstimate | None = Field(default=None, description="Item-level ICC(A,1), judge vs expert mean (interval).")
    system: SystemAgreement | None = Field(default=None, description="Agreement of system means, CIs over posts.")
    n_items: int = Field(description="Items with a judge score and at least one expert rating.")
    unscored: int = Field(default=0, description="Expert-rated items whose judgment is unscored (excluded).")
    not_judged: int = Field(default=0, description="Expert-rated items the judge has no judgment for at all.")
    alt_test: AltTestResult | None = None
    alt_test_note: str | None = None
    same_as_rater: list[RaterMatch] = Field(
        default_factory=list, description="Raters this judge equals on >= 95% of >= 10 shared items."
    )
    self_consistency: Consistency | None = None


class ExpertAgreement(AlphaResult):
    """The experts among themselves: Krippendorff's alpha (the fields of ``AlphaResult``) and the headline."""

    headline: Headline = Field(description="Pairwise kappa over pairs of two experts' ratings of one item.")


class CriterionAgreement(_Model):
    criterion: str
    level: Level = Field(description="Level of measurement used (the rubric's, unless overridden with --level).")
    rubric_level: Level = Field(description="The level the rubric declares.")
    rubric: str = Field(description="name@version#hash of the rubric.")
    raters: list[str]
    experts: ExpertAgreement
    rater_stats: list[RaterStats] = Field(default_factory=list)
    pairs: list[PairAlpha] = Field(default_factory=list)
    judges: dict[str, JudgeAgreement] = Field(
        default_factory=dict, description="Judges by headline (best first), then the chance rows."
    )


class AgreementReport(_Model):
    benchmark: str
    n_boot: int
    seed: int
    epsilon: float
    excluded_raters: list[str] = Field(default_factory=list)
    criteria: dict[str, CriterionAgreement]
    notes: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="Things that make the numbers untrustworthy.")


# -- building blocks -----------------------------------------------------------------------------------------


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


def judge_vector(
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


@dataclass
class _JudgeWork:
    """One judge's data on one criterion, collapsed for the shared resamples, and the resampled values.

    Items that agree on the judge's score and every expert's rating are interchangeable for every bootstrapped
    statistic, so they are collapsed into patterns first: a resample's item weights become pattern weights with one
    pass, and each statistic is then a small product over patterns.
    """

    name: str
    vec: np.ndarray  # (items,) NaN = no score
    x: np.ndarray  # scored and rated items: judge score
    y: np.ndarray  # ... and the experts' mean
    patterns: Groups  # each item's pattern
    pairs: PairTable  # over patterns
    use: np.ndarray  # (patterns,) scored and rated
    grid: PairGrid | None  # (judge, expert mean) over the used patterns, None when a side is constant
    moments: np.ndarray  # (patterns, 6 * (1 + raters)): judge vs expert mean, then judge vs each expert
    raters: list[str]
    boot: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, key: str, values: np.ndarray) -> None:
        self.boot.setdefault(key, []).append(values)

    def resampled(self, key: str) -> np.ndarray:
        return np.concatenate(self.boot[key]) if key in self.boot else np.empty(0)


def _work(name: str, vec: np.ndarray, m: np.ndarray, raters: list[str], level: Level, scale: list[float]) -> _JudgeWork:
    scored = ~np.isnan(vec)
    rated = (~np.isnan(m)).any(axis=0)
    use_items = scored & rated
    # Collapse items into patterns of (judge score, each expert's rating); unscored items share one empty pattern.
    key = np.column_stack([vec, m.T])
    key[~scored] = np.nan
    key = np.where(np.isnan(key), -np.inf, key)
    patterns, inverse = unique_rows(key)
    patterns = np.where(np.isinf(patterns), np.nan, patterns)
    xp, mp = patterns[:, 0], patterns[:, 1:].T
    use = ~np.isnan(xp) & (~np.isnan(mp)).any(axis=0)
    yp = np.full(len(xp), np.nan)
    if use.any():
        yp[use] = np.nanmean(mp[:, use], axis=0)
    blocks = [moments(np.where(use, xp, 0.0), np.where(use, yp, 0.0)) * use[:, None]]
    for r in range(len(raters)):
        both = ~np.isnan(xp) & ~np.isnan(mp[r])
        blocks.append(moments(np.where(both, xp, 0.0), np.where(both, mp[r], 0.0)) * both[:, None])
    x, y = vec[use_items], (np.nanmean(m[:, use_items], axis=0) if use_items.any() else np.empty(0))
    return _JudgeWork(
        name=name,
        vec=vec,
        x=x,
        y=y,
        patterns=Groups(inverse),
        pairs=judge_pairs(xp, mp, level, scale, freq=np.bincount(inverse, minlength=len(xp))),
        use=use,
        grid=PairGrid(xp[use], yp[use]) if constant_note(x, y, "") is None else None,
        moments=np.hstack(blocks),
        raters=raters,
    )


def _resample(
    work: list[_JudgeWork], tables: Mapping[str, PairTable], n_items: int, n_boot: int, seed: int, level: Level
) -> dict[str, np.ndarray]:
    """Every statistic of every judge, and the kappas of ``tables`` (experts, chance), on the same resamples of the
    criterion's rated items (returned: the tables' resampled kappas by name)."""
    boot: dict[str, list[np.ndarray]] = {k: [] for k in tables}
    for wt in item_weight_blocks_t(n_items, n_boot, seed):  # (items, b): how often each item is drawn
        for k, table in tables.items():
            boot[k].append(table.kappa(weights_t=wt))
        for j in work:
            wp = j.patterns.sum_t(wt)  # (b, patterns)
            j.add("headline", j.pairs.kappa(wp))
            sums = wp @ j.moments  # judge vs expert mean, then judge vs each expert
            n, sx, _, sy = sums[:, 0], sums[:, 1], sums[:, 2], sums[:, 3]
            with np.errstate(invalid="ignore", divide="ignore"):
                j.add("bias", (sx - sy) / n)
            if level == "interval":
                j.add("icc", icc_from_moments(sums[:, :6], "A,1"))
            if level != "nominal":
                for r, rater in enumerate(j.raters):
                    j.add(f"kappa:{rater}", kappa_from_moments(sums[:, 6 * (r + 1) : 6 * (r + 2)]))
            if j.grid is not None:
                rho, tau = j.grid.both(wp[:, j.use])
                j.add("spearman", rho)
                j.add("kendall", tau)
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in boot.items()}


def _with_ci(est: Estimate, boot: np.ndarray, n: int) -> Estimate:
    """Attach the CI (or say why not: undefined, or too few items)."""
    if est.value is None:
        return est
    thin = too_few(n)
    if thin:
        est.ci, est.note = None, thin
        return est
    est.ci = percentile_ci(boot) if len(boot) else None
    return est


def _point(fn: str, x: np.ndarray, y: np.ndarray) -> Estimate:
    from scipy import stats

    what = {"spearman": "Spearman's rho", "kendall": "Kendall's tau-b"}[fn]
    note = constant_note(x, y, what)
    if note:
        return Estimate(value=None, n=len(x), note=note)
    value = stats.spearmanr(x, y).statistic if fn == "spearman" else stats.kendalltau(x, y).statistic
    return Estimate(value=float(value), n=len(x))


def _judge_fields(
    j: _JudgeWork,
    m: np.ndarray,
    raters: list[str],
    items: list[str],
    level: Level,
    *,
    systems: np.ndarray | None,
    posts: np.ndarray,
    n_boot: int,
    seed: int,
    epsilon: float,
    min_items: int,
) -> dict[str, Any]:
    """The statistics of one judge (without the unscored counts), as the fields of ``JudgeAgreement``."""
    n = len(j.x)
    out: dict[str, Any] = {"n_items": n}
    out["headline"] = headline(j.pairs, boot=j.resampled("headline"))
    out["spearman"] = _with_ci(_point("spearman", j.x, j.y), j.resampled("spearman"), n)
    out["kendall"] = _with_ci(_point("kendall", j.x, j.y), j.resampled("kendall"), n)
    out["bias"] = _with_ci(bias_point(j.x - j.y), j.resampled("bias"), n)
    if level == "nominal":
        out["kappa_note"] = "weighted kappa is not computed for nominal criteria"
    else:
        kappas = {}
        for r, rater in enumerate(raters):
            both = ~np.isnan(j.vec) & ~np.isnan(m[r])
            k = int(both.sum())
            if k < 2:
                kappas[rater] = Estimate(value=None, n=k, note=f"weighted kappa needs at least 2 shared items, got {k}")
                continue
            value = float(kappa_from_moments(moments(j.vec[both], m[r, both]).sum(axis=0, keepdims=True))[0])
            if np.isnan(value):
                kappas[rater] = Estimate(value=None, n=k, note="weighted kappa is undefined: one same score on both")
                continue
            kappas[rater] = _with_ci(Estimate(value=value, n=k), j.resampled(f"kappa:{rater}"), k)
        out["kappa"] = kappas
    if level == "interval" and n >= 2:
        value = float(icc_from_moments(moments(j.x, j.y).sum(axis=0, keepdims=True), "A,1")[0])
        est = IccEstimate(form="A,1", value=None if np.isnan(value) else value, n=n)
        if est.value is None:
            est.note = "ICC is undefined: every rating is the same"
        out["icc"] = _with_ci(est, j.resampled("icc"), n)
    if systems is not None:
        used = ~np.isnan(j.vec) & (~np.isnan(m)).any(axis=0)
        known = systems[used] >= 0
        out["system"] = system_agreement(
            j.x[known], j.y[known], systems[used][known], posts[used][known], n_boot=n_boot, seed=seed
        )
    try:
        out["alt_test"] = alt_test_matrix(
            j.vec,
            m,
            raters,
            scoring="accuracy" if level == "nominal" else "neg_rmse",
            epsilon=epsilon,
            min_items=min_items,
        )
    except AltTestUndefinedError as exc:
        out["alt_test_note"] = str(exc)
    out["same_as_rater"] = rater_matches(j.vec, m, raters)
    return out


def _chance_rows(
    work: list[_JudgeWork],
    m: np.ndarray,
    level: Level,
    scale: list[float],
    constant_boot: np.ndarray,
    constant: PairTable | None,
    constant_value: float | None,
    *,
    n_boot: int,
    seed: int,
) -> dict[str, JudgeAgreement]:
    """``chance:constant`` and ``chance:permuted``, each computed exactly like a judge's headline."""
    rows: dict[str, JudgeAgreement] = {}
    if constant is not None and constant_value is not None:
        rows[CHANCE_CONSTANT] = JudgeAgreement(
            kind="chance",
            description=f"answers {constant_value:g} (the experts' most common rating) on every rated item",
            headline=headline(constant, boot=constant_boot),
            n_items=constant.n_items,
        )
    # With no judge, the scores shuffled are one expert rating per item (the first rater's, by name).
    if work:
        sources = [(j.name, j.vec) for j in work]
    else:
        first = np.full(m.shape[1], np.nan)
        for r in range(m.shape[0] - 1, -1, -1):
            first = np.where(np.isnan(m[r]), first, m[r])
        sources = [("the experts' first rating of each item", first)]
    n_perm = max(n_boot, 200)
    per = [n_perm // len(sources) + (k < n_perm % len(sources)) for k in range(len(sources))]
    kappas = np.concatenate(
        [
            permuted_kappas(vec, m, level, scale, n_perm=p, seed=seed + 1 + k)
            for k, ((_, vec), p) in enumerate(zip(sources, per, strict=True))
        ]
    )
    used = [(~np.isnan(vec) & (~np.isnan(m)).any(axis=0)) for _, vec in sources]
    n_items = max(int(u.sum()) for u in used)
    n_pairs = max(int((~np.isnan(m[:, u])).sum()) for u in used)
    names = ", ".join(name for name, _ in sources)
    whose = f"{names}'s own scores" if work else names
    rows[CHANCE_PERMUTED] = JudgeAgreement(
        kind="chance",
        description=f"{whose} shuffled across items ({n_perm} shuffles; value = mean, interval = central 95%)",
        headline=chance_permuted(kappas, n_items, n_pairs),
        n_items=n_items,
    )
    return rows


def _sort_key(item: tuple[str, JudgeAgreement]) -> tuple[int, float, str]:
    name, ja = item
    v = ja.headline.value
    return (1, 0.0, name) if v is None else (0, -v, name)


def _consistency(data: Mapping[str, Any] | None) -> Consistency | None:
    if not data:
        return None
    return Consistency(
        items=int(data["items"]), mean_sd=float(data["mean_sd"]), all_agree_rate=float(data["all_agree_rate"])
    )


# -- the report ----------------------------------------------------------------------------------------------


def check_rubric_set(bench: Benchmark, rubrics: Mapping[str, Rubric], selected: Sequence[str]) -> None:
    """Refuse a rubric set that matches none of the benchmark's rated criteria (``InputError`` naming both sides)."""
    rated = sorted({r.criterion for r in bench.ratings})
    if not rated:
        raise InputError(
            Problem(
                f"benchmark {bench.name!r}",
                "has no expert ratings (ratings.jsonl): there is nothing to compare judges with",
            )
        )
    if not set(rated) & set(rubrics):
        raise InputError(
            Problem(
                f"benchmark {bench.name!r}",
                f"no rated criterion has a rubric: the ratings are on {rated}, the rubrics are {sorted(rubrics)}; "
                "pass the rubric set the benchmark was rated with (--rubrics)",
            )
        )
    unrated = [c for c in selected if c not in rated]
    if unrated and len(unrated) == len(selected):
        raise InputError(
            Problem("--criteria", f"{unrated}: benchmark {bench.name!r} has no expert ratings on them; rated: {rated}")
        )


def agreement_report(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    judges: JudgeScores | None = None,
    systems: Mapping[str, str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    epsilon: float = 0.2,
    min_items: int = 10,
    *,
    criteria: Sequence[str] | None = None,
    levels: Mapping[str, Level] | None = None,
    self_consistency: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    excluded_raters: Sequence[str] = (),
) -> AgreementReport:
    """Agreement of experts with each other and of each judge with the experts, per criterion.

    Args:
        bench: the benchmark with its expert ratings.
        rubrics: criterion -> rubric (its ``level`` picks the distances, its scale the value domain): the whole set,
            so that ratings on unselected criteria are not mistaken for ratings without a rubric.
        judges: judge -> criterion -> item id -> aggregated score (None = unscored: excluded and counted).
        systems: item id -> system name, for system-level agreement (with posts from the benchmark).
        n_boot: bootstrap resamples for every CI (and shuffles of the permuted chance row, at least 200).
        seed: seed of the resampling.
        epsilon: the alt-test's cost-benefit margin.
        min_items: the alt-test leaves out experts with fewer usable items.
        criteria: analyse only these criteria (default: every rubric).
        levels: criterion -> level of measurement to use instead of the rubric's (the rubric is unchanged).
        self_consistency: judge -> criterion -> ``{items, mean_sd, all_agree_rate}`` (from the run summary).
        excluded_raters: raters already left out of ``bench`` (reported only).

    Raises:
        InputError: no rated criterion has a rubric; a judge's item ids are not in the benchmark; a score is not a
            finite number.
    """
    judges = judges or {}
    levels = levels or {}
    selected = list(criteria) if criteria is not None else list(rubrics)
    check_rubric_set(bench, rubrics, selected)
    notes: list[str] = []
    warnings: list[str] = []
    rated_criteria = {r.criterion for r in bench.ratings}
    for c in sorted(rated_criteria - set(rubrics)):
        notes.append(f"expert ratings on criterion {c!r} are ignored: no rubric for it")
    for j, per_c in judges.items():
        for c in sorted(set(per_c) - set(rubrics)):
            notes.append(f"judge {j!r}: scores on criterion {c!r} are ignored: no rubric for it")
    if any("(calibrated, cross-fitted)" in j for j in judges):
        notes.append(
            "calibrated, cross-fitted: each rated item is scored by the calibrator's method refitted without its post "
            "(the calibrator's folds), so nothing is measured in-sample. Pooling the folds' maps adds their "
            "differences to the disagreement, so these rows understate the deployed map, most for rank statistics "
            "(a monotone map cannot change ranks); 'judge calibrate' reports before/after within folds"
        )
    # Systems and posts as integer codes (-1: no system given), so system-level agreement works on arrays.
    system_code = {}
    if systems is not None:
        names = {s: k for k, s in enumerate(sorted(set(systems.values())))}
        system_code = {i: names[s] for i, s in systems.items()}
    post_names = {p: k for k, p in enumerate(sorted({it.post_id for it in bench.items.values()}))}
    out = {}
    for name in selected:
        rubric = rubrics[name]
        level = levels.get(name, rubric.level)
        scale = rubric.points_values()
        raters, items, m = expert_matrix(bench, name)
        alpha = bootstrap_alpha(m, level, scale=scale, n_boot=n_boot, seed=seed)
        if not items:
            alpha.note = f"no expert ratings for criterion {name!r} in benchmark {bench.name!r}"
        rater_stats, pairs = rater_diagnostics(raters, m, level)
        sys_codes = np.array([system_code.get(i, -1) for i in items], dtype=np.int64) if systems is not None else None
        post_codes = np.array([post_names[bench.items[i].post_id] for i in items], dtype=np.int64)
        work, counts = [], {}
        for j, per_c in judges.items():
            if name not in per_c:
                continue
            vec, unscored, not_judged = judge_vector(j, name, per_c[name], items, bench)
            work.append(_work(j, vec, m, raters, level, scale))
            counts[j] = (unscored, not_judged)
        experts = expert_pairs(m, level, scale)
        constant_value = most_common_rating(m)
        constant = None
        if constant_value is not None:
            const_vec = np.where((~np.isnan(m)).any(axis=0), constant_value, np.nan)
            constant = judge_pairs(const_vec, m, level, scale)
        tables = {"experts": experts} if constant is None else {"experts": experts, "constant": constant}
        boot = _resample(work, tables, len(items), n_boot, seed, level)
        per_judge = {}
        for jw in work:
            fields = _judge_fields(
                jw,
                m,
                raters,
                items,
                level,
                systems=sys_codes,
                posts=post_codes,
                n_boot=n_boot,
                seed=seed,
                epsilon=epsilon,
                min_items=min_items,
            )
            unscored, not_judged = counts[jw.name]
            sc = _consistency((self_consistency or {}).get(jw.name, {}).get(name))
            per_judge[jw.name] = JudgeAgreement.model_validate(
                {**fields, "unscored": unscored, "not_judged": not_judged, "self_consistency": sc}
            )
            for match in per_judge[jw.name].same_as_rater:
                warnings.append(
                    f"{name}: judge {jw.name!r} gives the same score as rater {match.rater!r} on "
                    f"{match.share:.0%} of {match.n_shared} shared items: is the judge that rater? Its agreement is "
                    f"then agreement with itself; leave the rater out with --exclude-rater {match.rater}"
                )
        ordered = dict(sorted(per_judge.items(), key=_sort_key))
        ordered.update(
            _chance_rows(
                work,
                m,
                level,
                scale,
                boot.get("constant", np.empty(0)),
                constant,
                constant_value,
                n_boot=n_boot,
                seed=seed,
            )
        )
        out[name] = CriterionAgreement(
            criterion=name,
            level=level,
            rubric_level=rubric.level,
            rubric=rubric.ref,
            raters=raters,
            experts=ExpertAgreement(**alpha.model_dump(), headline=headline(experts, boot=boot["experts"])),
            rater_stats=rater_stats,
            pairs=pairs,
            judges=ordered,
        )
    return AgreementReport(
        benchmark=bench.name,
        n_boot=n_boot,
        seed=seed,
        epsilon=epsilon,
        excluded_raters=list(excluded_raters),
        criteria=out,
        notes=notes,
        warnings=warnings,
    )
