"""Fit a judge's configuration to expert ratings, validated by nested cross-fitting over posts (``judge align``).

From an existing run's records (no new model calls), per criterion, the search chooses among candidates:

- the **scoring mode** (b): the value the judge answered, or its expected score under its distribution (where the
  run kept one);
- a **map onto the experts' scale** (c): none (``raw``), ``isotonic`` on the score, or a ridge regression of the
  experts' mean on the score (or on the judge's whole distribution) **plus the reply's length** (log characters).

Search budget: at most 7 candidates per criterion (2 scorings x {raw, isotonic, ridge + length}, and the distribution
+ length), each fitted ``inner_k`` times per outer fold: ``7 * (inner_k + 1) * outer_k`` small fits (milliseconds).
The choice is made on inner folds and scored on outer folds (``judge.analysis.stats.crossfit``): the **held-out**
figures are the honest ones; the **in-sample** figures (the best candidate chosen and fitted on every item, scored on
the same items) are shown beside them so the optimism is visible. Beside both: **length alone** (the ridge map on
length, cross-fitted the same way), and whether the judge adds anything beyond length (the held-out gain of the best
judge + length map over length alone, with a CI over posts). The **learning curve** repeats the nested fit with
the training side limited to 5, 10, 20 and all rated posts.

The result is a versioned **aligned-judge file**: the judge (model, parameters), the rubric refs, the framing and
prompt hashes, the choice and its fitted map per criterion, and every post it saw. ``AlignedJudge.apply`` refuses
items of those posts (their experts were used to fit it, so agreement measured on them is in-sample), and
``check_compatible`` refuses another judge, rubric or prompt, as a stale calibrator is refused.

**Few-shot exemplars** (a) need their own judge calls: ``judge exemplars`` chooses rated items of a few posts,
``judge run --exemplars`` runs the judge shown them, and ``judge align --run ZERO --run FEW`` searches both runs
at once: each run is a **prompt variant** whose candidates enter the same nested search, on the items every run
scored (the few-shot run leaves out the exemplars' posts, so every row is on the same items and those posts count
as seen). Search budget: at most 7 candidates per variant and criterion.

Example::

    from judge.analysis.align import align_judge
    aligned, report = align_judge(bench, rubrics, "runs/local", outer_k=5)
    aligned.save("aligned/local.json")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.analysis.calibration import IsotonicMap, fit_map
from judge.analysis.experts import expert_matrix
from judge.analysis.scores import JudgeScores, pick_judge
from judge.analysis.stats.correlation import Estimate
from judge.analysis.stats.crossfit import (
    Candidate,
    nested_cross_fit,
    ridge,
    spearman_ci,
    spearman_gain,
)
from judge.analysis.stats.pairwise import judge_pairs
from judge.data.benchmark import Benchmark
from judge.data.rubric import Rubric
from judge.engine.store import iter_records, load_run_manifest
from judge.errors import InputError, Problem, StaleArtifact, UsageError
from judge.fileio import load_versioned, write_json

FORMAT_VERSION = 1
RUN_ALIGNED_FILE = "aligned.json"  # the copy of the aligned-judge file a run keeps (judge run --aligned)
CURVE_POSTS: tuple[int | None, ...] = (5, 10, 20, None)
Scoring = Literal["answer", "expected"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- features from a run ------------------------------------------------------------------------------------------


class Features:
    """One judge's outputs on one criterion's rated items, as arrays over ``item_ids``."""

    def __init__(
        self, item_ids: list[str], answer: np.ndarray, expected: np.ndarray, dist: np.ndarray, chars: np.ndarray
    ):
        self.item_ids, self.answer, self.expected, self.dist = item_ids, answer, expected, dist
        self.log_length = np.log1p(chars)
        self.has_expected = bool(np.isfinite(expected).any())
        self.has_dist = bool((dist.sum(axis=1) > 0).any())

    def subset(self, ids: Sequence[str]) -> Features:
        """These features on ``ids`` only (each must be one of ``item_ids``), in that order."""
        at = {i: k for k, i in enumerate(self.item_ids)}
        rows = np.array([at[i] for i in ids], dtype=np.int64)
        chars = np.expm1(self.log_length[rows])
        return Features(list(ids), self.answer[rows], self.expected[rows], self.dist[rows], chars)

    def matrix(self, what: str) -> np.ndarray:
        """``(n, p)`` features of a map: ``answer`` / ``expected`` / ``distribution``, ``+length`` appended."""
        base, _, plus = what.partition("+")
        cols: list[np.ndarray] = []
        if base == "distribution":
            cols += list(self.dist.T)
        elif base in ("answer", "expected"):
            cols.append(self.score(base))  # type: ignore[arg-type]
        if plus == "length" or base == "length":
            cols.append(self.log_length)
        return np.column_stack(cols)

    def score(self, scoring: Scoring) -> np.ndarray:
        """The answer, or the expected score where there is one (else the answer: no distribution was kept)."""
        if scoring == "answer":
            return self.answer
        return np.where(np.isfinite(self.expected), self.expected, self.answer)


def run_features(run_dir: str | Path, judge: str, criterion: str, rubric: Rubric, bench: Benchmark) -> Features:
    """Per rated item: the mean over samples of the answer, of the expected score and of the distribution, and the
    rated text's length (items the judge did not score are left out)."""
    points = [f"{v:g}" for v in rubric.points_values()]
    acc: dict[str, list[Any]] = {}
    for j in iter_records(run_dir):
        if j.judge != judge or j.criterion != criterion or j.answer_score is None:
            continue
        d = np.zeros(len(points))
        exp_score = j.score if j.scored_by == "expected" and j.score is not None else math.nan
        if j.distribution:
            d = np.array([float(j.distribution.get(p, 0.0)) for p in points])
            if math.isnan(exp_score) and d.sum() > 0:  # a distribution kept beside an answer-scored judgment
                exp_score = float(d @ np.array(rubric.points_values()) / d.sum())
        acc.setdefault(j.item_id, []).append((float(j.answer_score), exp_score, d))
    ids = [i for i in bench.rated_item_ids(criterion) if i in acc]
    answer = np.array([np.mean([a for a, _, _ in acc[i]]) for i in ids])
    expected = np.array(
        [np.nanmean([e for _, e, _ in acc[i]]) if any(np.isfinite(e) for _, e, _ in acc[i]) else math.nan for i in ids]
    )
    dist = np.array([np.mean([d for _, _, d in acc[i]], axis=0) for i in ids]).reshape(len(ids), len(points))
    chars = np.array([len(bench.items[i].judged_text) for i in ids], dtype=float)
    return Features(ids, answer, expected, dist, chars)


# -- the maps -----------------------------------------------------------------------------------------------------


class FittedMap(_Model):
    """A chosen candidate, fitted: how to turn the judge's outputs on a new item into a score on the scale."""

    candidate: str = Field(description="e.g. 'raw:expected', 'isotonic:answer', 'ridge:distribution+length'.")
    variant: str | None = Field(
        default=None, description="The prompt variant (run) whose outputs it maps, when several were searched."
    )
    isotonic: IsotonicMap | None = None
    features: str | None = Field(default=None, description="Ridge: the features ('expected+length', ...).")
    intercept: float | None = None
    coef: list[float] | None = None
    mean: list[float] | None = None
    scale: list[float] | None = None
    low: float
    high: float

    def predict(self, f: Features, rows: np.ndarray) -> np.ndarray:
        kind, _, what = self.candidate.partition(":")
        if kind == "raw":
            return f.score(what)[rows]  # type: ignore[arg-type]
        if kind == "isotonic":
            assert self.isotonic is not None
            return self.isotonic.predict(f.score(what)[rows])  # type: ignore[arg-type]
        x = f.matrix(self.features or what)[rows]
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return np.clip(float(self.intercept or 0.0) + z @ np.array(self.coef), self.low, self.high)


def fit_candidate(name: str, f: Features, y: np.ndarray, rows: np.ndarray, rubric: Rubric, alpha: float) -> FittedMap:
    """Fit candidate ``name`` (a map, ``kind:features``) on ``rows``."""
    kind, _, what = name.partition(":")
    low, high = rubric.low, rubric.high
    if kind == "raw":
        return FittedMap(candidate=name, low=low, high=high)
    if kind == "isotonic":
        m = fit_map(f.score(what)[rows], y[rows], "isotonic", low, high)  # type: ignore[arg-type]
        assert isinstance(m, IsotonicMap)
        return FittedMap(candidate=name, isotonic=m, low=low, high=high)
    r = ridge(f.matrix(what)[rows], y[rows], alpha)
    return FittedMap(
        candidate=name,
        features=what,
        intercept=r.intercept,
        coef=r.coef.tolist(),
        mean=r.mean.tolist(),
        scale=r.scale.tolist(),
        low=low,
        high=high,
    )


def candidate_names(f: Features) -> list[str]:
    """The search space for these features (in order of preference on ties: simpler first)."""
    scorings = ["expected", "answer"] if f.has_expected else ["answer"]
    names = [f"raw:{s}" for s in scorings] + [f"isotonic:{s}" for s in scorings]
    names += [f"ridge:{s}+length" for s in scorings]
    if f.has_dist:
        names.append("ridge:distribution+length")
    return names


def _candidates(names: Sequence[str], f: Features, y: np.ndarray, rubric: Rubric, alpha: float) -> list[Candidate]:
    def make(name: str) -> Candidate:
        return Candidate(name, lambda tr, te: fit_candidate(name, f, y, tr, rubric, alpha).predict(f, te))

    return [make(n) for n in names]


VARIANT_SEP = " / "  # between a prompt variant and a map in a candidate's name: "3-shot / ridge:expected+length"


def _variant_candidates(
    variants: Mapping[str, Features], y: np.ndarray, rubric: Rubric, alpha: float, only: str = ""
) -> list[Candidate]:
    """Every variant's candidates (their maps' names prefixed with the variant when there are several); ``only``:
    the maps whose name ends so (``+length``), or ``length`` for the ridge map on length alone."""
    out: list[Candidate] = []
    for label, f in variants.items():
        names = ["ridge:length"] if only == "length" else [n for n in candidate_names(f) if n.endswith(only)]
        for c in _candidates(names, f, y, rubric, alpha):
            out.append(Candidate(_label(label, c.name, variants), c.fit_predict))
        if only == "length":
            break  # length is the same in every variant
    return out


def _label(variant: str, name: str, variants: Mapping[str, Features]) -> str:
    return name if len(variants) < 2 else f"{variant}{VARIANT_SEP}{name}"


def _split(label: str, variants: Mapping[str, Features]) -> tuple[str, str]:
    """(variant, map name) of a candidate's label."""
    if len(variants) < 2:
        return next(iter(variants)), label
    variant, _, name = label.partition(VARIANT_SEP)
    return variant, name


# -- the result ---------------------------------------------------------------------------------------------------


class CurvePoint(_Model):
    posts: int = Field(description="Rated posts the choice and the fit could use per outer fold (at most).")
    held_out_spearman: Estimate
    gain: Estimate = Field(description="Held-out Spearman minus the raw judge's, CI over posts.")


class CriterionAlignment(_Model):
    criterion: str
    n_items: int
    n_posts: int
    candidates: list[str]
    chosen: FittedMap = Field(description="The choice made on every post (inner folds), fitted on every item.")
    outer_choices: list[str] = Field(description="What each outer fold's inner search chose.")
    raw: Estimate = Field(description="Spearman of the run's own score (no fitting), CI over posts.")
    raw_headline: float | None = None
    variant_raw: dict[str, Estimate] = Field(
        default_factory=dict,
        description="Each further prompt variant's own score (e.g. few-shot, no map), Spearman with a CI over posts.",
    )
    variant_raw_headline: dict[str, float | None] = Field(default_factory=dict)
    held_out: Estimate = Field(description="Spearman of the pooled outer-fold predictions, CI over posts.")
    held_out_headline: float | None = Field(
        default=None, description="Pairwise kappa of the held-out predictions rounded to the scale (point)."
    )
    gain: Estimate = Field(description="Held-out minus raw Spearman, CI over posts (paired).")
    in_sample: Estimate = Field(description="The best candidate chosen, fitted and scored on every item.")
    in_sample_candidate: str
    in_sample_gain: float | None = None
    length_only: Estimate = Field(description="The ridge map on length alone, cross-fitted the same way.")
    beyond_length: Estimate = Field(description="Held-out judge + length minus held-out length alone, CI over posts.")
    judge_adds_beyond_length: bool | None = Field(description="True: the CI of beyond_length clears 0.")
    beats_length: bool | None = Field(description="True: the CI of (held-out - length only) clears 0.")
    learning_curve: list[CurvePoint]


class AlignedVariant(_Model):
    """One prompt variant searched (a run): the judge configuration it ran and its prompt hash."""

    run: str
    prompt_hash: str
    judge_spec: dict[str, Any] = Field(description="The run's judge configuration (JudgeSpec), exemplars included.")


class AlignedJudge(_Model):
    """A judge configuration fitted to expert ratings (saved as JSON; ``judge align --out``)."""

    format_version: int = FORMAT_VERSION
    kind: Literal["aligned-judge"] = "aligned-judge"
    judge: str
    judge_model: str
    judge_params: dict[str, Any] = Field(default_factory=dict)
    rubrics: dict[str, str] = Field(description="criterion -> rubric ref it was fitted for.")
    framing_hash: str = ""
    prompt_hash: str = ""
    benchmark: str
    run: str
    posts_seen: list[str] = Field(description="Every post whose items' expert ratings were used (sorted).")
    folds: dict[str, int] = Field(description="outer_k, inner_k, seed.")
    search: str = Field(description="What was searched, and the budget.")
    criteria: dict[str, CriterionAlignment]
    variants: dict[str, AlignedVariant] = Field(
        default_factory=dict,
        description="Prompt variant -> its run; each criterion's choice names the variant it maps (chosen.variant).",
    )
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool_version: str = __version__

    def check_unseen(self, bench: Benchmark, item_ids: Sequence[str]) -> None:
        """Refuse items of posts this judge was fitted on (``StaleArtifact`` naming a few and the count)."""
        seen = set(self.posts_seen)
        bad = [i for i in item_ids if i in bench.items and bench.items[i].post_id in seen]
        if bad:
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            raise StaleArtifact(
                f"aligned judge {self.judge!r} was fitted on the expert ratings of the posts of items {bad[:3]}{more}: "
                "agreement measured on them would be in-sample; use items of other posts (the held-out figures of "
                "'judge align' are the honest ones for these)"
            )

    def prompt_of(self, criterion: str) -> str:
        """The prompt hash of the runs the criterion's choice maps (its variant's)."""
        variant = self.criteria[criterion].chosen.variant
        if variant is not None and variant in self.variants:
            return self.variants[variant].prompt_hash
        return self.prompt_hash

    def criteria_for(self, prompt_hash: str) -> list[str]:
        """The criteria whose chosen configuration maps the outputs of a judge sent this prompt."""
        return [c for c in self.criteria if self.prompt_of(c) == prompt_hash]

    def spec_for(self, criteria: Sequence[str]) -> dict[str, Any]:
        """The judge configuration to run for ``criteria`` (``UsageError`` when they chose different prompts)."""
        chosen = {c: self.criteria[c].chosen.variant for c in criteria if c in self.criteria}
        if not chosen:
            raise UsageError(f"aligned judge {self.judge!r} was fitted for {', '.join(self.criteria)}, none of these")
        used = sorted({str(v) for v in chosen.values()})
        if len(used) > 1:
            raise UsageError(
                f"aligned judge {self.judge!r}: the criteria chose different prompts ("
                + ", ".join(f"{c}: {v}" for c, v in chosen.items())
                + "); run each with --criteria"
            )
        variant = next(iter(chosen.values()))
        if variant is None or variant not in self.variants:
            raise UsageError(f"aligned judge {self.judge!r}: the file records no judge configuration; refit it")
        return self.variants[variant].judge_spec

    def check_compatible(self, judge_model: str, rubric_refs: Mapping[str, str], prompt_hash: str) -> None:
        """Refuse another judge model, rubric version or prompt (``StaleArtifact`` naming each difference)."""
        diffs = []
        if judge_model != self.judge_model:
            diffs.append(f"judge model: fitted for {self.judge_model!r}, got {judge_model!r}")
        for c in self.criteria:
            if c in rubric_refs and rubric_refs[c] != self.rubrics.get(c):
                diffs.append(f"rubric {c}: fitted for {self.rubrics.get(c)!r}, got {rubric_refs[c]!r}")
        if not self.criteria_for(prompt_hash):
            fitted = sorted({self.prompt_of(c) for c in self.criteria})
            diffs.append(f"prompt hash: fitted for {' or '.join(map(repr, fitted))}, got {prompt_hash!r}")
        if diffs:
            raise StaleArtifact(
                f"aligned judge {self.judge!r} does not match; refit it (judge align):\n"
                + "\n".join(f"  - {d}" for d in diffs)
            )

    def apply(self, bench: Benchmark, criterion: str, f: Features) -> dict[str, float]:
        """The aligned scores of items of unseen posts (refuses seen ones: ``check_unseen``)."""
        self.check_unseen(bench, f.item_ids)
        pred = self.criteria[criterion].chosen.predict(f, np.arange(len(f.item_ids)))
        return {i: float(v) for i, v in zip(f.item_ids, pred, strict=True)}

    def save(self, path: str | Path) -> Path:
        write_json(path, self.model_dump(mode="json"))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> AlignedJudge:
        return load_versioned(
            path, cls, "aligned judge", version=FORMAT_VERSION, kind="aligned-judge", written_by="judge align --out"
        )


# -- the search ---------------------------------------------------------------------------------------------------


def _headline(pred: np.ndarray, ids: list[str], rubric: Rubric, bench: Benchmark, criterion: str) -> float | None:
    """Pairwise kappa of predictions rounded to the nearest scale point, against the experts' ratings."""
    _, items, m = expert_matrix(bench, criterion)
    points = np.array(rubric.points_values())
    col = {i: k for k, i in enumerate(items)}
    vec = np.full(len(items), np.nan)
    for i, v in zip(ids, pred, strict=True):
        if np.isfinite(v):
            vec[col[i]] = points[np.argmin(np.abs(points - v))]
    k = float(judge_pairs(vec, m, rubric.level, rubric.points_values()).kappa()[0])
    return None if math.isnan(k) else k


def align_criterion(
    bench: Benchmark,
    rubric: Rubric,
    f: Features | Mapping[str, Features],
    *,
    outer_k: int = 5,
    inner_k: int = 4,
    seed: int = 0,
    n_boot: int = 1000,
    alpha: float = 1.0,
    curve: Sequence[int | None] = CURVE_POSTS,
) -> CriterionAlignment:
    """Nested cross-fitting of the candidates on one criterion (see the module docstring).

    Args:
        f: the judge's features, or prompt variant -> features on the same items (the first is the raw baseline).
    """
    variants: Mapping[str, Features] = {"": f} if isinstance(f, Features) else f
    base = next(iter(variants.values()))
    if any(v.item_ids != base.item_ids for v in variants.values()):
        raise ValueError("every prompt variant's features must be on the same items, in the same order")
    c = rubric.name
    means = _expert_means(bench, c)
    y = np.array([means[i] for i in base.item_ids])
    post_names = sorted({bench.items[i].post_id for i in base.item_ids})
    code = {p: k for k, p in enumerate(post_names)}
    posts = np.array([code[bench.items[i].post_id] for i in base.item_ids], dtype=np.int64)
    if len(post_names) < 3:
        raise InputError(
            Problem(f"criterion {c!r}", f"nested cross-fitting needs items of at least 3 posts, got {len(post_names)}")
        )
    cands = _variant_candidates(variants, y, rubric, alpha)
    names = [cand.name for cand in cands]
    rows = np.arange(len(y))

    def fit(label: str, on: np.ndarray) -> FittedMap:
        variant, name = _split(label, variants)
        fitted = fit_candidate(name, variants[variant], y, on, rubric, alpha)
        return fitted.model_copy(update={"variant": variant or None})

    def raw_of(v: Features) -> np.ndarray:
        return v.score("expected" if v.has_expected else "answer")

    raw = raw_of(base)
    nested = nested_cross_fit(cands, y, posts, outer_k=outer_k, inner_k=inner_k, seed=seed)
    held = nested.held_out
    length = nested_cross_fit(
        _variant_candidates(variants, y, rubric, alpha, "length"), y, posts, outer_k=outer_k, inner_k=inner_k, seed=seed
    )
    with_length = nested_cross_fit(
        _variant_candidates(variants, y, rubric, alpha, "+length"),
        y,
        posts,
        outer_k=outer_k,
        inner_k=inner_k,
        seed=seed,
    )
    in_sample = {}
    for label in names:
        variant = variants[_split(label, variants)[0]]
        in_sample[label] = spearman_ci(fit(label, rows).predict(variant, rows), y, posts, n_boot=0, seed=seed)
    rho_of = {n: -2.0 if e.value is None else e.value for n, e in in_sample.items()}
    best = max(names, key=lambda n: rho_of[n])
    raw_rho = spearman_ci(raw, y, posts, n_boot=n_boot, seed=seed)
    beyond = spearman_gain(with_length.held_out, length.held_out, y, posts, n_boot=n_boot, seed=seed)
    vs_length = spearman_gain(held, length.held_out, y, posts, n_boot=n_boot, seed=seed)
    points = []
    for limit in curve:
        if limit is not None and limit >= min(nested.train_posts):
            continue  # as many posts as every fold has: the "all" point
        r = (
            nested
            if limit is None
            else nested_cross_fit(cands, y, posts, outer_k=outer_k, inner_k=inner_k, seed=seed, max_posts=limit)
        )
        points.append(
            CurvePoint(
                posts=max(r.train_posts),
                held_out_spearman=spearman_ci(r.held_out, y, posts, n_boot=n_boot, seed=seed),
                gain=spearman_gain(r.held_out, raw, y, posts, n_boot=n_boot, seed=seed),
            )
        )
    final = _choose_all(cands, y, posts, outer_k, seed)
    others = {label: v for label, v in variants.items() if v is not base}
    return CriterionAlignment(
        criterion=c,
        n_items=len(y),
        n_posts=len(post_names),
        candidates=names,
        chosen=fit(final, rows),
        outer_choices=nested.choices,
        raw=raw_rho,
        raw_headline=_headline(raw, base.item_ids, rubric, bench, c),
        variant_raw={label: spearman_ci(raw_of(v), y, posts, n_boot=n_boot, seed=seed) for label, v in others.items()},
        variant_raw_headline={label: _headline(raw_of(v), v.item_ids, rubric, bench, c) for label, v in others.items()},
        held_out=spearman_ci(held, y, posts, n_boot=n_boot, seed=seed),
        held_out_headline=_headline(held, base.item_ids, rubric, bench, c),
        gain=spearman_gain(held, raw, y, posts, n_boot=n_boot, seed=seed),
        in_sample=in_sample[best],
        in_sample_candidate=best,
        in_sample_gain=None if in_sample[best].value is None or raw_rho.value is None else rho_of[best] - raw_rho.value,
        length_only=spearman_ci(length.held_out, y, posts, n_boot=n_boot, seed=seed),
        beyond_length=beyond,
        judge_adds_beyond_length=_clears(beyond),
        beats_length=_clears(vs_length),
        learning_curve=points,
    )


def _clears(e: Estimate) -> bool | None:
    return None if e.ci is None else e.ci[0] > 0


def _choose_all(cands: list[Candidate], y: np.ndarray, posts: np.ndarray, k: int, seed: int) -> str:
    from judge.analysis.stats.crossfit import choose

    return choose(cands, y, posts, np.arange(len(y)), k, seed)


def _expert_means(bench: Benchmark, criterion: str) -> dict[str, float]:
    _, items, m = expert_matrix(bench, criterion)
    rated = ~np.isnan(m).all(axis=0)
    return {i: float(np.nanmean(m[:, k])) for k, i in enumerate(items) if rated[k]}


def _variant_label(spec: Mapping[str, Any]) -> str:
    shots = (spec.get("exemplars") or {}).get("exemplars") or []
    return f"{len(shots)}-shot" if shots else "zero-shot"


def align_judge(
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
    run_dir: str | Path | Sequence[str | Path],
    *,
    judge: str | None = None,
    criteria: Sequence[str] | None = None,
    outer_k: int = 5,
    inner_k: int = 4,
    seed: int = 0,
    n_boot: int = 1000,
    alpha: float = 1.0,
) -> AlignedJudge:
    """Align one judge to the benchmark's experts on each rated criterion it scored.

    Args:
        run_dir: its run, or several runs of the same judge model with different prompts (e.g. without and with
            few-shot exemplars): each is a prompt variant searched on the items every run scored.

    Raises:
        InputError: no criterion with both the judge's scores and expert ratings; fewer than 3 posts.
        UsageError: the run has several judges and none is named; the runs judge with different models.
    """
    runs = [run_dir] if isinstance(run_dir, str | Path) else list(run_dir)
    manifests = [load_run_manifest(r) for r in runs]
    names = [pick_judge(m.judges, judge, r) for m, r in zip(manifests, runs, strict=True)]
    specs = [dict(m.judges.get(n, {}) or {}) for m, n in zip(manifests, names, strict=True)]
    models = sorted({str(spec.get("model", n)) for spec, n in zip(specs, names, strict=True)})
    if len(models) > 1:
        raise UsageError(f"--run: the runs judge with different models ({', '.join(models)}); align one model")
    labels: list[str] = []
    for spec, r in zip(specs, runs, strict=True):
        label = _variant_label(spec)
        labels.append(label if label not in labels else f"{label} ({Path(r).name})")
    rated = {r.criterion for r in bench.ratings}
    wanted = [c for c in (criteria or list(rubrics)) if c in rubrics and c in rated]
    out = {}
    for c in wanted:
        feats = {
            label: run_features(r, n, c, rubrics[c], bench) for label, r, n in zip(labels, runs, names, strict=True)
        }
        scored = [set(f.item_ids) for f in feats.values()]
        common = [i for i in feats[labels[0]].item_ids if all(i in s for s in scored)]
        if not common:
            continue
        out[c] = align_criterion(
            bench,
            rubrics[c],
            {label: f.subset(common) for label, f in feats.items()},
            outer_k=outer_k,
            inner_k=inner_k,
            seed=seed,
            n_boot=n_boot,
            alpha=alpha,
        )
    if not out:
        raise InputError(
            Problem(
                f"--run {runs[0]}",
                f"judge {names[0]!r} scored no rated item of the criteria {wanted or sorted(rubrics)}"
                + (" in every run" if len(runs) > 1 else ""),
            )
        )
    seen = {bench.items[i].post_id for c in out for i in bench.rated_item_ids(c)}
    for spec in specs:  # the exemplars' posts: their ratings were shown to the judge
        seen |= {e["item"]["post_id"] for e in (spec.get("exemplars") or {}).get("exemplars") or []}
    framing = next(iter(rubrics.values())).framing.content_hash if rubrics else ""
    variants = {
        label: AlignedVariant(run=str(r), prompt_hash=m.prompt_hash, judge_spec=spec)
        for label, r, m, spec in zip(labels, runs, manifests, specs, strict=True)
    }
    what = "scoring (answer, expected) x map (raw, isotonic, ridge on score + log length; ridge on the whole "
    what += "distribution + log length): at most 7 candidates per prompt variant"
    if len(runs) > 1:
        what = f"prompt ({', '.join(labels)}) x {what}, {7 * len(runs)} at most"
    return AlignedJudge(
        judge=names[0],
        judge_model=models[0],
        judge_params=dict(specs[0].get("params", {}) or {}),
        rubrics={c: rubrics[c].ref for c in out},
        framing_hash=framing,
        prompt_hash=manifests[0].prompt_hash,
        benchmark=bench.name,
        run=str(runs[0]),
        posts_seen=sorted(seen),
        folds={"outer_k": outer_k, "inner_k": inner_k, "seed": seed},
        search=f"{what}; {outer_k} outer x {inner_k} inner folds of whole posts",
        criteria=out,
        variants=variants,
    )


# -- in analysis --------------------------------------------------------------------------------------------------


def aligned_copy(
    js: JudgeScores, aligned: AlignedJudge, bench: Benchmark, rubrics: Mapping[str, Rubric]
) -> JudgeScores:
    """The judge's aligned scores on the benchmark's rated items, named ``NAME (aligned)``.

    Raises:
        StaleArtifact: the file was fitted for another judge model, rubric version or prompt, or on the posts of
            some of these items (agreement measured on them would be in-sample).
    """
    aligned.check_compatible(js.model, js.manifest.rubrics, js.manifest.prompt_hash)
    scores: dict[str, dict[str, float | None]] = {}
    mine = set(aligned.criteria_for(js.manifest.prompt_hash))  # a criterion fitted on another prompt is not mapped
    for c in js.scores:
        if c in mine and c in rubrics:
            f = run_features(js.run_dir, js.run_judge, c, rubrics[c], bench)
            scores[c] = dict(aligned.apply(bench, c, f))
    identity = js.identity.model_copy(update={"name": f"{js.run_judge} (aligned)"})
    return replace(
        js, identity=identity, scores=scores, notes=[f"aligned: {aligned.criteria[c].chosen.candidate}" for c in scores]
    )


def recorded_aligned(run_dirs: Sequence[str | Path]) -> list[Path]:
    """The aligned-judge files the runs recorded (``judge run --aligned`` keeps a copy in the run)."""
    return [Path(r) / RUN_ALIGNED_FILE for r in run_dirs if (Path(r) / RUN_ALIGNED_FILE).is_file()]


def judges_with_aligned(
    judges: Sequence[JudgeScores], paths: Sequence[str | Path], bench: Benchmark, rubrics: Mapping[str, Rubric]
) -> list[JudgeScores]:
    """The judges, each followed by its aligned copy when an aligned-judge file (``--aligned``, or one a run
    recorded: ``recorded_aligned``) names it.

    Raises:
        UsageError: a file fits no judge of the runs. StaleArtifact, InputError: as ``aligned_copy``, ``load``.
    """
    out = list(judges)
    for p in paths:
        aligned = AlignedJudge.load(p)
        match = [js for js in judges if js.identity.calibration is None and js.run_judge == aligned.judge]
        # a run's own copy (judge run --aligned) belongs to that run's judge
        match.sort(key=lambda js: Path(js.run_dir).resolve() != Path(p).resolve().parent)
        if not match:
            raise UsageError(f"--aligned {p}: fitted for judge {aligned.judge!r}, which no --run has")
        out.insert(out.index(match[0]) + 1, aligned_copy(match[0], aligned, bench, rubrics))
    return out
