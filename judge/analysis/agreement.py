"""How far each judge stands from the psychologists, with the experts' own agreement as the ceiling and chance as the
floor.

``agreement_report`` computes, per criterion:

- the **headline** for every judge and for the experts, on the same footing: pairwise kappa over judge-expert pairs
  (a judge) or over pairs of two experts' ratings of one item (the experts: the ceiling), with a bootstrap CI
  (``judge.analysis.stats.pairwise``); two **chance rows** computed the same way: ``chance:constant`` (a judge that
  answers the experts' most common rating on every item: exactly 0) and ``chance:permuted`` (the judges' own scores
  shuffled across items: 0 on average, the range shows how far chance alone moves it on this many items);
- the **ceiling on the items a row uses**: the experts' headline covers every rated item, but a judge may have
  scored only some; each judge row carries the experts' kappa on *its* items (``ceiling``), and the chance rows
  use the items of the judge whose scores they shuffle, with the ceiling on those. Every row says which items it
  uses (``items``);
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
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge.analysis.experts import expert_matrix, most_common_rating, named_like_raters, rater_warning
from judge.analysis.own_systems import self_note
from judge.analysis.stats.alpha import AlphaResult, bootstrap_alpha
from judge.analysis.stats.alttest import AltTestResult, AltTestUndefinedError, alt_test_matrix
from judge.analysis.stats.baseline import (
    BaselineVerdict,
    PartialRank,
    baseline_point,
    on_scale,
    partial_rank,
    versus_baseline,
)
from judge.analysis.stats.consistency import Consistency as Consistency
from judge.analysis.stats.correlation import BiasResult, Estimate, IccEstimate
from judge.analysis.stats.pairwise import (
    Headline,
    PairTable,
    chance_permuted,
    expert_pairs,
    headline,
    judge_pairs,
    permuted_kappas,
)
from judge.analysis.stats.panel import JudgePanel, judge_panel, panel_statistics, resample_panels
from judge.analysis.stats.raters import PairAlpha, RaterMatch, RaterStats, rater_diagnostics, rater_matches
from judge.analysis.stats.system import SystemAgreement, system_agreement
from judge.data.benchmark import Benchmark, Item, off_scale_note
from judge.data.rubric import Level, Rubric
from judge.engine.identity import JudgeIdentity
from judge.errors import InputError, Problem

JudgeScores = Mapping[str, Mapping[str, Mapping[str, float | None]]]  # judge -> criterion -> item -> score
CHANCE_CONSTANT = "chance:constant"
CHANCE_PERMUTED = "chance:permuted"
LENGTH_CHARS = "baseline:length (characters)"
LENGTH_WORDS = "baseline:length (words)"
LENGTH_ROWS = (LENGTH_CHARS, LENGTH_WORDS)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeAgreement(_Model):
    """One judge (or chance or baseline row) against the experts on one criterion."""

    kind: Literal["judge", "baseline", "chance"] = "judge"
    identity: JudgeIdentity | None = Field(default=None, description="Who the judge is (None: a chance row).")
    description: str | None = Field(default=None, description="What a chance or baseline row is.")
    headline: Headline = Field(description="Pairwise kappa over judge-expert pairs, with its 95% CI.")
    spearman: Estimate | None = None
    kendall: Estimate | None = None
    bias: BiasResult | None = None
    kappa: dict[str, Estimate] = Field(default_factory=dict, description="Quadratic-weighted kappa per expert.")
    kappa_note: str | None = None
    icc: IccEstimate | None = Field(default=None, description="Item-level ICC(A,1), judge vs expert mean (interval).")
    system: SystemAgreement | None = Field(default=None, description="Agreement of system means, CIs over posts.")
    n_items: int = Field(description="Items with a judge score and at least one expert rating.")
    items: str = Field(default="", description="Which items this row uses (and its ceiling): said in every format.")
    ceiling: Headline | None = Field(
        default=None,
        description="The experts' kappa among themselves on the items this row uses: the ceiling for this row (the "
        "experts' row covers every rated item, which may not be the judge's).",
    )
    unscored: int = Field(default=0, description="Expert-rated items whose judgment is unscored (excluded).")
    not_judged: int = Field(default=0, description="Expert-rated items the judge has no judgment for at all.")
    own_system_left_out: int = Field(
        default=0, description="Expert-rated items the judge scored but that its own system wrote (--self): left out."
    )
    alt_test: AltTestResult | None = None
    alt_test_note: str | None = None
    same_as_rater: list[RaterMatch] = Field(
        default_factory=list, description="Raters this judge equals on >= 95% of >= 10 shared items."
    )
    self_consistency: Consistency | None = None
    vs_length: BaselineVerdict | None = Field(
        default=None,
        description="Judges: whether the headline and Spearman CIs clear the length rows on the judge's items "
        "(not_better=True: 'not better than length').",
    )
    partial_length: PartialRank | None = Field(
        default=None, description="Spearman/Kendall with the expert mean, length in characters partialled out."
    )

    @property
    def not_better_than_length(self) -> bool:
        """True when the judge is marked "not better than length" (see ``stats.baseline.versus_baseline``)."""
        return self.vs_length is not None and self.vs_length.not_better is True


class ExpertAgreement(AlphaResult):
    """The experts among themselves: Krippendorff's alpha (the fields of ``AlphaResult``) and the headline."""

    headline: Headline = Field(description="Pairwise kappa over pairs of two experts' ratings of one item.")
    items: str = Field(default="every rated item", description="Which items the experts' row uses.")


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
        default_factory=dict, description="Judges by headline (best first), then the baseline and chance rows."
    )


class AgreementReport(_Model):
    benchmark: str
    n_boot: int
    seed: int
    resample: Literal["items", "posts"] = Field(default="items", description="What the item-level CIs resample.")
    epsilon: float
    excluded_raters: list[str] = Field(default_factory=list)
    criteria: dict[str, CriterionAgreement]
    notes: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="Things that make the numbers untrustworthy.")


# -- building blocks -----------------------------------------------------------------------------------------


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


def _judge_fields(
    j: JudgePanel,
    m: np.ndarray,
    raters: list[str],
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
    out = panel_statistics(j, m, raters, level)
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


def permuted_source(panels: Sequence[JudgePanel], m: np.ndarray) -> tuple[str, np.ndarray]:
    """Whose scores the permuted chance row shuffles: one judge, so that its value, its interval and its ``n`` come
    from the same judge and the same items. The judge with the most scored and rated items (the first given on
    ties: a calibrated copy follows its raw judge); with no judge, the experts' first rating of each item (by rater
    name)."""
    if panels:
        best = max(panels, key=lambda j: int((~np.isnan(j.vec) & (~np.isnan(m)).any(axis=0)).sum()))
        return best.name, best.vec
    first = np.full(m.shape[1], np.nan)
    for r in range(m.shape[0] - 1, -1, -1):
        first = np.where(np.isnan(m[r]), first, m[r])
    return "the experts' first rating of each item", first


def _chance_rows(
    panels: list[JudgePanel],
    m: np.ndarray,
    level: Level,
    scale: list[float],
    constant_boot: np.ndarray,
    constant: PairTable | None,
    constant_value: float | None,
    *,
    n_boot: int,
    seed: int,
    ceiling: Headline | None = None,
) -> dict[str, JudgeAgreement]:
    """``chance:constant`` and ``chance:permuted``, each computed exactly like a judge's headline, on the items of the
    judge whose scores are shuffled (every rated item without a judge), with the experts' ``ceiling`` on them."""
    rows: dict[str, JudgeAgreement] = {}
    name, vec = permuted_source(panels, m)
    on = f"the items {name} scored" if panels else "every rated item"
    if constant is not None and constant_value is not None:
        rows[CHANCE_CONSTANT] = JudgeAgreement(
            kind="chance",
            description=f"answers {constant_value:g} (the experts' most common rating) on {on}",
            headline=headline(constant, boot=constant_boot),
            n_items=constant.n_items,
            items=on,
            ceiling=ceiling,
        )
    n_perm = max(n_boot, 200)
    kappas = permuted_kappas(vec, m, level, scale, n_perm=n_perm, seed=seed + 1)
    used = ~np.isnan(vec) & (~np.isnan(m)).any(axis=0)
    whose = f"{name}'s own scores" if panels else name
    if len(panels) > 1:
        whose += " (the judge with the most rated items)"
    rows[CHANCE_PERMUTED] = JudgeAgreement(
        kind="chance",
        description=f"{whose} shuffled across items ({n_perm} shuffles; value = mean, interval = central 95%)",
        headline=chance_permuted(kappas, int(used.sum()), int((~np.isnan(m[:, used])).sum())),
        n_items=int(used.sum()),
        items=on,
        ceiling=ceiling,
    )
    return rows


def covariates(bench: Benchmark, items: Sequence[str], fields: Sequence[str] = ()) -> dict[str, tuple[np.ndarray, str]]:
    """The baseline rows' raw values per item ``(items,)`` (NaN: none) with their descriptions: the rated text's
    length in characters and in words, then each numeric item ``field`` (a top-level item field, else a key of its
    ``meta``).

    Raises:
        InputError: a field that no item has, or a value that is not a finite number (the first few items named).
    """
    texts = [bench.items[i].judged_text for i in items]
    out = {
        LENGTH_CHARS: (np.array([len(t) for t in texts], dtype=float), "characters of the rated text"),
        LENGTH_WORDS: (np.array([len(t.split()) for t in texts], dtype=float), "words of the rated text"),
    }
    for f in fields:
        vec, bad, seen = np.full(len(items), np.nan), [], 0
        for k, i in enumerate(items):
            it = bench.items[i]
            raw = getattr(it, f) if f in Item.model_fields else it.meta.get(f)
            if raw is None:
                continue
            seen += 1
            ok = isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)
            if not ok:
                bad.append((i, raw))
                continue
            vec[k] = float(raw)
        if bad:
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            raise InputError(
                Problem(
                    f"--baseline {f}, item {bad[0][0]!r}",
                    f"value {bad[0][1]!r} is not a finite number; a baseline field must be numeric on every item "
                    f"that has it (non-numeric: {[b[0] for b in bad[:3]]}{more})",
                )
            )
        if not seen:
            raise InputError(
                Problem(
                    f"--baseline {f}",
                    f"no rated item of benchmark {bench.name!r} has a field or meta key {f!r}; expected a numeric "
                    "item field (e.g. dimension_id) or a numeric key of the items' meta",
                )
            )
        out[f"baseline:{f}"] = (vec, f"the item field {f!r}")
    return out


def _baseline_rows(
    panels: list[JudgePanel],
    rank_panels: Mapping[str, JudgePanel],
    descriptions: Mapping[str, str],
    m: np.ndarray,
    raters: list[str],
    level: Level,
    fields: Mapping[str, Any],
) -> dict[str, JudgeAgreement]:
    """The baseline rows (length, named item fields), each computed exactly like a judge's row from its values on
    the scale, except Spearman and Kendall: those of the raw covariate (``rank_panels``, on the same resamples)."""
    rows = {}
    for p in panels:
        f = _judge_fields(p, m, raters, level, **fields)
        ranks = panel_statistics(rank_panels[p.name], m, raters, "interval")
        f["spearman"], f["kendall"] = ranks["spearman"], ranks["kendall"]
        rows[p.name] = JudgeAgreement.model_validate(
            {
                **f,
                "kind": "baseline",
                "description": f"{descriptions[p.name]}, put on the experts' scale by rank (stats.baseline.on_scale)",
                "not_judged": int(((~np.isnan(m)).any(axis=0) & np.isnan(p.vec)).sum()),
            }
        )
    return dict(sorted(rows.items(), key=_sort_key))


def _mark_vs_length(
    row: JudgeAgreement,
    panel: JudgePanel,
    length: Mapping[str, tuple[np.ndarray, np.ndarray]],
    raw_chars: np.ndarray,
    m: np.ndarray,
    level: Level,
    scale: list[float],
    *,
    partial: bool,
    n_boot: int,
    seed: int,
) -> None:
    """Set a judge row's "not better than length" verdict and, if asked, its agreement with length partialled out."""
    points = [baseline_point(name, vec, raw, panel.vec, m, level, scale) for name, (vec, raw) in length.items()]
    row.vs_length = versus_baseline(row.headline, row.spearman, points)
    if partial:
        use = ~np.isnan(panel.vec) & (~np.isnan(m)).any(axis=0)
        row.partial_length = partial_rank(
            panel.x, panel.y, raw_chars[use], covariate="length in characters", n_boot=n_boot, seed=seed
        )


def _only(m: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The ratings ``m`` (raters x items) of the items in ``keep`` only (the others as not rated)."""
    return np.where(keep[np.newaxis, :], m, np.nan)


def _sort_key(item: tuple[str, JudgeAgreement]) -> tuple[int, float, str]:
    name, ja = item
    v = ja.headline.value
    return (1, 0.0, name) if v is None else (0, -v, name)


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
    self_consistency: Mapping[str, Mapping[str, Consistency]] | None = None,
    excluded_raters: Sequence[str] = (),
    identities: Mapping[str, JudgeIdentity] | None = None,
    baselines: Sequence[str] = (),
    partial_length: bool = False,
    resample: Literal["items", "posts"] = "items",
    own_systems: Mapping[str, tuple[Sequence[str], set[str]]] | None = None,
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
        self_consistency: judge -> criterion -> how its repeated samples agree (``JudgeScores.self_consistency``).
        excluded_raters: raters already left out of ``bench`` (reported only).
        identities: judge -> who it is (``JudgeScores.identity``), carried into each judge's row; a judge whose name
            in its run or model id is a rater's name is warned about, like one that answers like a rater
            (``experts.rater_warning``).
        baselines: numeric item fields shown as baseline rows beside the length rows (always there).
        partial_length: also give each judge's Spearman and Kendall with length in characters partialled out.
        resample: what the item-level CIs resample: rated items (the default), or whole posts (items of one post
            are not independent; the validity benchmark's CIs say "over posts").
        own_systems: judge -> (its own systems, their item ids): left out of that judge's row only (``--self``;
            ``judge.analysis.own_systems``), counted and said in its ``items`` and in the notes.

    Raises:
        InputError: no rated criterion has a rubric; a judge's item ids are not in the benchmark; a score is not a
            finite number; a baseline field is not numeric or is on no item.
    """
    judges = judges or {}
    levels = levels or {}
    selected = list(criteria) if criteria is not None else list(rubrics)
    check_rubric_set(bench, rubrics, selected)
    notes: list[str] = []
    warnings: list[str] = []
    identities = identities or {}
    for j in judges:
        also = [identities[j].name, identities[j].model] if j in identities else []
        warnings += [rater_warning(j, r) for r in named_like_raters([j, *also], bench.raters())]
    rated_criteria = {r.criterion for r in bench.ratings}
    if bench.manifest.off_scale_missing:
        notes.append(off_scale_note(bench.manifest.off_scale_missing))
    for c in sorted(rated_criteria - set(rubrics)):
        notes.append(f"expert ratings on criterion {c!r} are ignored: no rubric for it")
    for j, per_c in judges.items():
        for c in sorted(set(per_c) - set(rubrics)):
            notes.append(f"judge {j!r}: scores on criterion {c!r} are ignored: no rubric for it")
    if any(i.calibration is not None and i.calibration.how == "cross-fitted" for i in identities.values()):
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
    own_counts: dict[str, dict[str, int]] = {}
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
        work, counts, dropped = [], {}, {}
        for j, per_c in judges.items():
            if name not in per_c:
                continue
            scores, own = per_c[name], (own_systems or {}).get(j)
            if own is not None:
                dropped[j] = sum(1 for i in items if i in own[1] and i in scores)
                scores = {i: v for i, v in scores.items() if i not in own[1]}
                own_counts.setdefault(j, {})[name] = dropped[j]
            vec, unscored, not_judged = judge_vector(j, name, scores, items, bench)
            work.append(judge_panel(j, vec, m, raters, level, scale))
            counts[j] = (unscored, not_judged - dropped.get(j, 0))
        experts = expert_pairs(m, level, scale)
        # The chance rows use the items of the judge whose scores are shuffled; every ceiling, the experts on the
        # items a row uses (one more pair table on the same resamples).
        rated = (~np.isnan(m)).any(axis=0)
        basis = rated & ~np.isnan(permuted_source(work, m)[1]) if work else rated
        constant_value = most_common_rating(m[:, basis])
        tables = {"experts": experts}
        if constant_value is not None:
            tables["constant"] = judge_pairs(np.where(basis, constant_value, np.nan), m, level, scale)
        for jw in work:
            tables[f"ceiling:{jw.name}"] = expert_pairs(_only(m, ~np.isnan(jw.vec)), level, scale)
        tables["ceiling:chance"] = expert_pairs(_only(m, basis), level, scale)
        covs = covariates(bench, items, baselines) if items else {}  # no rated item: no row to compare with
        on_ratings = {b: on_scale(raw, m) for b, (raw, _) in covs.items()}
        base_panels = [judge_panel(b, vec, m, raters, level, scale) for b, vec in on_ratings.items()]
        by_post = post_codes if resample == "posts" else None
        boot = resample_panels(work + base_panels, tables, len(items), n_boot, seed, level, by_post)
        # The raw covariates' rank statistics, on the same draws (same items, same seed); interval: the moments of
        # the pairs, not a table over hundreds of distinct lengths.
        rank_panels = {b: judge_panel(b, raw, m, raters, "interval", []) for b, (raw, _) in covs.items()}
        resample_panels(list(rank_panels.values()), {}, len(items), n_boot, seed, "interval", by_post)
        constant = tables.get("constant")
        ceilings = {k: headline(t, boot=boot[k]) for k, t in tables.items() if k.startswith("ceiling:")}
        common: dict[str, Any] = {
            "systems": sys_codes,
            "posts": post_codes,
            "n_boot": n_boot,
            "seed": seed,
            "epsilon": epsilon,
            "min_items": min_items,
        }
        per_judge = {}
        for jw in work:
            fields = _judge_fields(jw, m, raters, level, **common)
            unscored, not_judged = counts[jw.name]
            sc = (self_consistency or {}).get(jw.name, {}).get(name)
            per_judge[jw.name] = JudgeAgreement.model_validate(
                {
                    **fields,
                    "identity": identities.get(jw.name),
                    "unscored": unscored,
                    "not_judged": not_judged,
                    "self_consistency": sc,
                    "items": f"the items {jw.name} scored"
                    + (
                        f", less the {dropped[jw.name]} of its own system(s) {list(own_systems[jw.name][0])}"
                        if own_systems and jw.name in dropped
                        else ""
                    ),
                    "own_system_left_out": dropped.get(jw.name, 0),
                    "ceiling": ceilings[f"ceiling:{jw.name}"],
                }
            )
            warnings += [rater_warning(jw.name, x.rater, name, x) for x in per_judge[jw.name].same_as_rater]
            if not covs:
                continue
            _mark_vs_length(
                per_judge[jw.name],
                jw,
                {b: (on_ratings[b], covs[b][0]) for b in LENGTH_ROWS},
                covs[LENGTH_CHARS][0],
                m,
                level,
                scale,
                partial=partial_length,
                n_boot=n_boot,
                seed=seed,
            )
        ordered = dict(sorted(per_judge.items(), key=_sort_key))
        descriptions = {b: d for b, (_, d) in covs.items()}
        ordered.update(_baseline_rows(base_panels, rank_panels, descriptions, m, raters, level, common))
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
                ceiling=ceilings["ceiling:chance"],
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
    for j, per in own_counts.items():
        notes.append(self_note(j, (own_systems or {})[j][0], per))
    return AgreementReport(
        benchmark=bench.name,
        n_boot=n_boot,
        seed=seed,
        resample=resample,
        epsilon=epsilon,
        excluded_raters=list(excluded_raters),
        criteria=out,
        notes=notes,
        warnings=warnings,
    )
