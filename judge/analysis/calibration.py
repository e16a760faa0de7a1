"""Calibration: map a judge's raw score onto the experts' scale, validated on held-out posts.

Judges are biased (on RESORT, GPT-4 rates alignment about 2 points above the psychologists) and compress the scale.
A calibrator is a monotone map fitted from the judge's score (its mean over samples) to the expert mean per item:

- ``isotonic``: the best increasing step map (``scipy.optimize.isotonic_regression``), predicted by linear
  interpolation between the fitted step points, clamped to the fitted range and to the rubric's scale;
- ``linear``: least squares ``a + b * score``, clipped to the rubric's scale.

Honest validation is by K-fold cross-fitting grouped by post: a post's items are never both in the fitting and in the
test fold, so a calibrator never sees the text it is tested on. Held-out metrics (bias, MAE, Spearman, and the
headline: pairwise kappa with the experts, ``judge.analysis.stats.pairwise``) before and after calibration come with
95% bootstrap CIs clustered by post, and so does their change. How to read them: a monotone map can remove bias and
fix a compressed scale (bias, MAE and the headline can improve) but it cannot reorder items, so rank correlation
cannot improve; a judge that ranks badly needs a better judge, not a calibrator. Both maps estimate the expected
expert mean given the judge's score, which shrinks toward the middle of the scale: for a judge that is already
unbiased this can cost a little agreement, and the verdict says so (it never says "helps" when the headline fell).

``held_out_scores`` gives a judge's calibrated scores as a board should show them: each rated item's score from a
map fitted without its post (the calibrator's own folds), so calibrated agreement is never measured in-sample.
The report keeps these cross-fitted predictions item by item (``CriterionReport.held_out``), for a reliability
diagram of the calibrator that is not drawn in-sample either.

A fitted ``Calibrator`` is a versioned JSON artifact naming the judge model, its parameters, the rubrics (``ref``)
and the prompt hash it was fitted for; ``check_compatible`` refuses to apply it to anything else.

Example::

    from judge.analysis.calibration import fit_calibrator, Calibrator
    cal = fit_calibrator(bench, {"empathy": scores}, rubrics, judge="gpt4", judge_model="openai/gpt-4o")
    cal.save("cal/gpt4.json")
    Calibrator.load("cal/gpt4.json").apply("empathy", 4.5)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import isotonic_regression

from judge import __version__
from judge.analysis.experts import expert_matrix
from judge.analysis.stats.heldout import HELD_OUT_EFFECT, Interval, compare_held_out
from judge.analysis.stats.resample import assign_folds as assign_folds
from judge.data.benchmark import Benchmark
from judge.data.rubric import Rubric
from judge.errors import InputError, Problem, StaleArtifact
from judge.fileio import load_versioned, write_json

FORMAT_VERSION = 1
Method = Literal["isotonic", "linear"]
METHODS: tuple[str, ...] = ("isotonic", "linear")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- maps ---------------------------------------------------------------------------------------------------------


class IsotonicMap(_Model):
    """Increasing step points ``(x[i], y[i])``; prediction interpolates between them."""

    kind: Literal["isotonic"] = "isotonic"
    x: list[float] = Field(min_length=1, description="Distinct judge scores seen in fitting, increasing.")
    y: list[float] = Field(min_length=1, description="Fitted expert-scale value at each x (non-decreasing).")
    low: float
    high: float

    def predict(self, scores: np.ndarray) -> np.ndarray:
        # np.interp holds the end values outside [x[0], x[-1]]: no extrapolation beyond the fitted range.
        return np.clip(np.interp(scores, self.x, self.y), self.low, self.high)


class LinearMap(_Model):
    """``intercept + slope * score``, clipped to the rubric's scale."""

    kind: Literal["linear"] = "linear"
    slope: float
    intercept: float
    low: float
    high: float

    def predict(self, scores: np.ndarray) -> np.ndarray:
        return np.clip(self.intercept + self.slope * np.asarray(scores, dtype=float), self.low, self.high)


CriterionMap = Annotated[IsotonicMap | LinearMap, Field(discriminator="kind")]


def fit_map(x: np.ndarray, y: np.ndarray, method: Method, low: float, high: float) -> IsotonicMap | LinearMap:
    """Fit a map from judge scores ``x`` to expert values ``y`` (both shape (n,), n >= 1)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if method == "linear":
        if x.size < 2 or np.ptp(x) == 0.0:
            # No spread in the judge's scores: the best linear map is the constant expert mean.
            return LinearMap(slope=0.0, intercept=float(y.mean()), low=low, high=high)
        slope, intercept = np.polyfit(x, y, 1)
        return LinearMap(slope=float(slope), intercept=float(intercept), low=low, high=high)
    if method != "isotonic":
        raise InputError(Problem("method", f"unknown calibration method {method!r}; expected one of {METHODS}"))
    # Judges give few distinct scores: pool ties first so each step point is one distinct judge score.
    ux, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    y_mean = np.bincount(inverse, weights=y) / counts
    fitted = isotonic_regression(y_mean, weights=counts.astype(float), increasing=True).x
    return IsotonicMap(x=ux.tolist(), y=np.clip(fitted, low, high).tolist(), low=low, high=high)


# -- data ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paired:
    """Items with both expert ratings and a judge score, for one criterion."""

    item_ids: list[str]
    post_ids: list[str]
    experts: np.ndarray  # (raters, items), NaN = not rated
    judge: np.ndarray  # (items,)
    n_rated: int
    n_unscored: int  # rated items the judge scored as None
    n_not_judged: int  # rated items absent from the judge's scores

    @property
    def target(self) -> np.ndarray:
        """The experts' mean per item: what the map predicts."""
        return np.nanmean(self.experts, axis=0)


def paired(bench: Benchmark, judge_scores: Mapping[str, float | None], criterion: str) -> Paired:
    """The rated items the judge scored, with their experts, and the counts of the rest (unscored, not judged)."""
    if not any(r.criterion == criterion for r in bench.ratings):
        raise InputError(Problem(f"benchmark {bench.name}: criterion", f"no expert ratings for {criterion!r}"))
    rated = bench.rated_item_ids(criterion)
    unscored = [i for i in rated if i in judge_scores and judge_scores[i] is None]
    not_judged = [i for i in rated if i not in judge_scores]
    ids = [i for i in rated if judge_scores.get(i) is not None]
    _, _, experts = expert_matrix(bench, criterion, ids)
    judge = np.array([judge_scores[i] for i in ids], dtype=float)
    if not np.all(np.isfinite(judge)):
        bad = next(i for i, v in zip(ids, judge, strict=True) if not np.isfinite(v))
        raise InputError(Problem(f"judge scores for {criterion!r}: item {bad}", "score must be a finite number"))
    return Paired(
        item_ids=ids,
        post_ids=[bench.items[i].post_id for i in ids],
        experts=experts,
        judge=judge,
        n_rated=len(rated),
        n_unscored=len(unscored),
        n_not_judged=len(not_judged),
    )


def cross_fit_predictions(pairs: Paired, folds: list[list[str]], method: Method, low: float, high: float) -> np.ndarray:
    """Each item's calibrated score from a map fitted on the other folds only (items of posts in no fold: NaN)."""
    post = np.array(pairs.post_ids)
    target = pairs.target
    out = np.full(pairs.judge.shape, np.nan)
    for fold in folds:
        test = np.isin(post, fold)
        train = ~test & np.isin(post, [p for f in folds for p in f])
        if not test.any() or not train.any():
            continue
        m = fit_map(pairs.judge[train], target[train], method, low, high)
        out[test] = m.predict(pairs.judge[test])
    return out


# -- metrics ------------------------------------------------------------------------------------------------------


class Metric(_Model):
    """A held-out statistic and its bootstrap CI (None when undefined, e.g. no spread)."""

    value: float | None
    ci: tuple[float, float] | None = None


class Metrics(_Model):
    bias: Metric = Field(description="mean(judge - expert mean): positive = the judge rates too high.")
    mae: Metric = Field(description="mean |judge - expert mean|.")
    spearman: Metric = Field(description="Spearman rank correlation of judge and expert mean over items.")
    headline: Metric | None = Field(
        default=None,
        description="Pairwise kappa with the experts at the criterion's level (agreement_level), the headline.",
    )
    # Calibrators written before the headline carried alpha with the judge as one more rater: read, never written.
    alpha_with_experts: Metric | None = Field(default=None, exclude=True)


class Change(_Model):
    """after - before, paired over the same bootstrap resamples."""

    abs_bias: Metric
    mae: Metric
    spearman: Metric
    headline: Metric | None = None
    alpha_with_experts: Metric | None = Field(default=None, exclude=True)


class HeldOut(_Model):
    """The held-out predictions behind a criterion's report, one entry per item in the same order in each list (no
    item ids), rounded to 4 decimals: what a reliability diagram of the calibrator is drawn from."""

    judge: list[float] = Field(description="The judge's raw score (its mean over samples).")
    calibrated: list[float] = Field(description="The calibrated score from the map fitted without the item's post.")
    expert_mean: list[float] = Field(description="The mean of the item's expert ratings (what the map predicts).")


class CriterionReport(_Model):
    """Held-out before/after comparison for one criterion."""

    criterion: str
    method: Method
    n_items: int = Field(description="Items with expert ratings and a judge score (used).")
    n_posts: int
    n_rated: int = Field(description="Items with expert ratings.")
    n_unscored: int = Field(description="Rated items the judge left unscored (missing data, excluded).")
    n_not_judged: int = Field(description="Rated items missing from the judge's scores (excluded).")
    n_folds: int
    folds: list[list[str]] = Field(description="Post ids of each cross-fitting fold.")
    fold_sizes: list[int] = Field(description="Items per fold.")
    agreement_level: str = Field(default="interval", description="Level of measurement of the headline's distance.")
    alpha_level: str | None = Field(default=None, exclude=True)
    n_boot: int
    confidence: float
    before: Metrics
    after: Metrics
    change: Change
    verdict: str
    notes: list[str] = Field(default_factory=list)
    held_out: HeldOut | None = Field(
        default=None, description="The cross-fitted predictions item by item (None in calibrators written before it)."
    )


def _metric(interval: Interval) -> Metric:
    return Metric(value=interval[0], ci=interval[1])


def _verdict(before: Metrics, after: Metrics, change: Change) -> str:
    """Say plainly whether calibration helped absolute agreement, and that it cannot help ranking.

    "helps" needs a clear improvement (a change CI that excludes 0) and no fall of the headline's point estimate:
    a calibration that lowers agreement with the experts is not sold as help, even when the fall is within noise.
    """

    def below0(m: Metric | None) -> bool:
        return m is not None and m.ci is not None and m.ci[1] < 0

    def above0(m: Metric | None) -> bool:
        return m is not None and m.ci is not None and m.ci[0] > 0

    better = [n for n, m in (("|bias|", change.abs_bias), ("MAE", change.mae)) if below0(m)]
    better += ["agreement"] if above0(change.headline) else []
    worse = [n for n, m in (("|bias|", change.abs_bias), ("MAE", change.mae)) if above0(m)]
    worse += ["agreement"] if below0(change.headline) else []
    numbers = (
        f"held-out bias {fmt_metric(before.bias)} -> {fmt_metric(after.bias)}, MAE {fmt_metric(before.mae)} -> "
        f"{fmt_metric(after.mae)}, agreement {fmt_metric(before.headline)} -> {fmt_metric(after.headline)}"
    )
    fell = (
        before.headline is not None
        and after.headline is not None
        and before.headline.value is not None
        and after.headline.value is not None
        and round(after.headline.value, 2) < round(before.headline.value, 2)
    )
    if worse:
        head = (
            f"Calibration does NOT help: {', '.join(worse)} got worse on held-out posts (change CI excludes 0; "
            f"{numbers}); do not use it."
        )
    elif better and fell:
        head = (
            f"Calibration is mixed: {', '.join(better)} improved on held-out posts, but agreement with the experts "
            f"fell ({numbers}; its change CI spans 0); use it only for the scale, not to agree better."
        )
    elif better:
        head = f"Calibration helps absolute agreement: {', '.join(better)} improved on held-out posts ({numbers})."
    else:
        head = f"Calibration does NOT help: no clear change on held-out posts ({numbers}; every change CI spans 0)."
    rank = (
        f" Rank agreement cannot improve under a monotone map: Spearman {fmt_metric(before.spearman)} -> "
        f"{fmt_metric(after.spearman)}; to rank items better, use a better judge."
    )
    return head + rank


def fmt_metric(m: Metric | None) -> str:
    """A metric's value with two decimals (``n/a`` when undefined)."""
    return "n/a" if m is None or m.value is None else f"{round(m.value, 2) + 0.0:.2f}"


def _held_out(judge: np.ndarray, calibrated: np.ndarray, target: np.ndarray) -> HeldOut:
    keep = np.isfinite(calibrated)  # items of posts in no fold have no held-out prediction

    def rounded(a: np.ndarray) -> list[float]:
        return [float(v) for v in np.round(a[keep], 4)]

    return HeldOut(judge=rounded(judge), calibrated=rounded(calibrated), expert_mean=rounded(target))


def cross_fit(
    bench: Benchmark,
    judge_scores: Mapping[str, float | None],
    rubric: Rubric,
    method: Method = "isotonic",
    *,
    k: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    confidence: float = 0.95,
    level: str | None = None,
) -> tuple[CriterionReport, IsotonicMap | LinearMap]:
    """Cross-fit a calibrator for one criterion and report held-out agreement before and after.

    Args:
        bench: benchmark with expert ratings on ``rubric.name``; the target per item is the mean of its experts.
        judge_scores: item_id -> the judge's aggregated score (None = unscored: excluded and counted).
        rubric: the criterion's rubric (scale bounds and level of measurement).
        method: ``isotonic`` or ``linear``.
        k: folds, grouped by post (fewer if there are fewer posts).
        seed: fixes the fold assignment and the bootstrap.
        n_boot: bootstrap resamples (clustered by post) for the CIs.
        confidence: CI level.
        level: the level of measurement to use instead of the rubric's (``--level``); nominal is refused.

    Returns:
        The report (with the held-out predictions item by item in ``held_out``, for a reliability diagram) and the
        map fitted on all paired items (what a ``Calibrator`` stores).
    """
    level = level or rubric.level
    if level == "nominal":
        raise InputError(Problem(f"rubric {rubric.ref}: level", "calibration needs an ordered scale, got 'nominal'"))
    if method not in METHODS:
        raise InputError(Problem("method", f"unknown calibration method {method!r}; expected one of {METHODS}"))
    pairs = paired(bench, judge_scores, rubric.name)
    if not pairs.item_ids:
        raise InputError(Problem(f"judge scores for {rubric.name!r}", "no rated item has a judge score"))
    folds = assign_folds(pairs.post_ids, k, seed)
    calibrated = cross_fit_predictions(pairs, folds, method, rubric.low, rubric.high)
    target = pairs.target
    fold_of = np.array([next(i for i, f in enumerate(folds) if p in f) for p in pairs.post_ids])
    held = compare_held_out(
        pairs.experts,
        pairs.judge,
        calibrated,
        target,
        fold_of,
        pairs.post_ids,
        n_boot=n_boot,
        seed=seed,
        confidence=confidence,
        level=level,  # type: ignore[arg-type]
    )
    before = Metrics(**{n: _metric(v) for n, v in held.before.items()})
    after = Metrics(**{n: _metric(v) for n, v in held.after.items()})
    change = Change(**{n: _metric(v) for n, v in held.change.items()})
    notes = []
    if len(folds) < k:
        notes.append(f"only {len(folds)} folds: the items come from {len(folds)} posts")
    notes.append(f"{HELD_OUT_EFFECT} (here: {level})")
    notes.append(
        "Spearman and agreement (before and after alike) are computed within each fold and averaged by fold size, "
        "so they differ from the pooled values of 'judge agree'"
    )
    notes.append("CIs resample posts (clusters) over the held-out predictions; they do not refit the folds")
    report = CriterionReport(
        criterion=rubric.name,
        method=method,
        n_items=len(pairs.item_ids),
        n_posts=len(set(pairs.post_ids)),
        n_rated=pairs.n_rated,
        n_unscored=pairs.n_unscored,
        n_not_judged=pairs.n_not_judged,
        n_folds=len(folds),
        folds=folds,
        fold_sizes=[sum(p in set(f) for p in pairs.post_ids) for f in folds],
        agreement_level=level,
        n_boot=n_boot,
        confidence=confidence,
        before=before,
        after=after,
        change=change,
        verdict=_verdict(before, after, change),
        notes=notes,
        held_out=_held_out(pairs.judge, calibrated, target),
    )
    return report, fit_map(pairs.judge, target, method, rubric.low, rubric.high)


# -- artifact -----------------------------------------------------------------------------------------------------


def _canon(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True, default=str)


class Calibrator(_Model):
    """A fitted, versioned calibrator for one judge configuration (saved as JSON)."""

    format_version: int = FORMAT_VERSION
    judge: str = Field(description="Judge name in the run it was fitted on.")
    judge_model: str
    judge_params: dict[str, Any] = Field(default_factory=dict, description="Model parameters (temperature...).")
    rubrics: dict[str, str] = Field(description="criterion -> rubric ref (name@version#hash) it was fitted for.")
    prompt_hash: str = ""
    benchmark: str
    method: Method
    maps: dict[str, CriterionMap]
    fit: dict[str, CriterionReport] = Field(default_factory=dict, description="Held-out before/after per criterion.")
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool_version: str = __version__

    def check_compatible(
        self, judge_model: str, params: Mapping[str, Any], rubric_refs: Mapping[str, str], prompt_hash: str
    ) -> None:
        """Raise ``StaleArtifact`` naming every difference between this calibrator and the judge it is applied to.

        Only the criteria both sides know are compared; at least one must be shared.
        """
        diffs: list[str] = []
        if judge_model != self.judge_model:
            diffs.append(f"judge model: calibrator fitted for {self.judge_model!r}, got {judge_model!r}")
        if _canon(params) != _canon(self.judge_params):
            keys = sorted(set(params) | set(self.judge_params))
            for key in keys:
                mine, theirs = self.judge_params.get(key, "<unset>"), params.get(key, "<unset>")
                if _canon({"v": mine}) != _canon({"v": theirs}):
                    diffs.append(f"judge params.{key}: calibrator fitted with {mine!r}, got {theirs!r}")
        shared = [c for c in self.maps if c in rubric_refs]
        if not shared:
            diffs.append(f"criteria: calibrator covers {sorted(self.maps)}, got {sorted(rubric_refs)}")
        for c in shared:
            if rubric_refs[c] != self.rubrics.get(c):
                diffs.append(f"rubric {c}: calibrator fitted for {self.rubrics.get(c)!r}, got {rubric_refs[c]!r}")
        if prompt_hash != self.prompt_hash:
            diffs.append(f"prompt hash: calibrator fitted for {self.prompt_hash!r}, got {prompt_hash!r}")
        if diffs:
            raise StaleArtifact(
                f"calibrator for judge {self.judge!r} does not match; refit it (judge calibrate):\n"
                + "\n".join(f"  - {d}" for d in diffs)
            )

    def apply(self, criterion: str, score: float) -> float:
        """Map one raw judge score onto the experts' scale."""
        if criterion not in self.maps:
            raise InputError(Problem("criterion", f"calibrator has no map for {criterion!r}; has {sorted(self.maps)}"))
        return float(self.maps[criterion].predict(np.array([score], dtype=float))[0])

    def apply_scores(self, criterion: str, scores: Mapping[str, float | None]) -> dict[str, float | None]:
        """Map item_id -> score; unscored (None) stays None."""
        return {i: None if s is None else self.apply(criterion, s) for i, s in scores.items()}

    def save(self, path: str | Path) -> Path:
        """Write atomically as JSON; returns the path."""
        write_json(path, self.model_dump(mode="json"))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Calibrator:
        """Read and validate a calibrator file; ``InputError`` names the file and the bad field."""
        return load_versioned(path, cls, "calibrator", version=FORMAT_VERSION)


def fit_calibrator(
    bench: Benchmark,
    scores: Mapping[str, Mapping[str, float | None]],
    rubrics: Mapping[str, Rubric],
    *,
    judge: str,
    judge_model: str,
    judge_params: Mapping[str, Any] | None = None,
    prompt_hash: str = "",
    method: Method = "isotonic",
    k: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    levels: Mapping[str, str] | None = None,
) -> Calibrator:
    """Cross-fit and fit a calibrator for every criterion in ``scores``.

    Args:
        bench: benchmark with expert ratings.
        scores: criterion -> item_id -> the judge's aggregated score (None = unscored).
        rubrics: criterion -> rubric; each criterion in ``scores`` must have one.
        judge, judge_model, judge_params, prompt_hash: what the calibrator is valid for.
        method, k, seed, n_boot: see ``cross_fit``.
        levels: criterion -> level of measurement overriding the rubric's (``--level``).
    """
    missing = [c for c in scores if c not in rubrics]
    if missing:
        raise InputError(Problem("rubrics", f"no rubric for criterion {missing}; have {sorted(rubrics)}"))
    maps: dict[str, IsotonicMap | LinearMap] = {}
    fit: dict[str, CriterionReport] = {}
    for c, crit_scores in scores.items():
        fit[c], maps[c] = cross_fit(
            bench, crit_scores, rubrics[c], method, k=k, seed=seed, n_boot=n_boot, level=(levels or {}).get(c)
        )
    return Calibrator(
        judge=judge,
        judge_model=judge_model,
        judge_params=dict(judge_params or {}),
        rubrics={c: rubrics[c].ref for c in scores},
        prompt_hash=prompt_hash,
        benchmark=bench.name,
        method=method,
        maps=maps,
        fit=fit,
    )


def held_out_scores(
    cal: Calibrator, bench: Benchmark, criterion: str, scores: Mapping[str, float | None], rubric: Rubric
) -> tuple[dict[str, float | None], bool]:
    """The judge's calibrated scores as a board should show them, and whether they are held out.

    Every item gets the calibrator's map, except the rated items of posts the calibrator was fitted on: those get
    the map refitted (same method, the calibrator's own folds) without their post, so no item is scored by a map
    that saw its experts. Returns ``(scores, held_out)``; ``held_out`` is False only when the calibrator carries no
    fit report (folds) for the criterion, so that its items may have been seen in fitting.
    """
    out = cal.apply_scores(criterion, scores)
    fit = cal.fit.get(criterion)
    if fit is None:
        return out, False
    if not any(r.criterion == criterion for r in bench.ratings):
        return out, True
    pairs = paired(bench, scores, criterion)
    if pairs.item_ids:
        pred = cross_fit_predictions(pairs, fit.folds, cal.method, rubric.low, rubric.high)
        for item, value in zip(pairs.item_ids, pred, strict=True):
            if not np.isnan(value):
                out[item] = float(value)
    return out, True
