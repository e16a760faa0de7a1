"""CI regression gate: did a changed prompt make the responses worse, per criterion, beyond noise?

Data flow::

    baseline (run dir | baseline file) --\\
                                          pair by input (post + dimension) -> d_i = better-direction difference
    candidate run dir ------------------/     -> mean d, post-clustered bootstrap CI -> verdict per criterion

The rule (``docs/ci.md`` explains it for readers of a PR):

* Scores are paired by ``Item.input_key`` (post + appraisal dimension), not by response: a changed prompt changes
  the responses. Only inputs both sides scored are compared; unscored judgments are counted, never filled in.
* ``d_i = candidate_i - baseline_i``, sign-flipped for criteria where lower is better (``Rubric.direction``), so a
  negative mean is always a regression.
* The CI of the mean difference is a percentile bootstrap that resamples *posts* (the inputs of one post are not
  independent), two-sided at level ``1 - alpha``.
* The effective margin is ``max(threshold, noise_floor)``. The noise floor is the standard deviation, due to the
  judge's own re-sampling noise, of one input's paired difference: ``sqrt(v_b/m_b + v_c/m_c)`` with ``v`` the
  pooled within-input variance of repeated samples and ``m`` the mean number of samples per input. It is 0 (and
  reported as unmeasured) when no input has two scored samples.
* A criterion **regresses** when the whole CI lies below ``-margin`` (its upper bound < -margin): the drop is
  both statistically clear and larger than what matters and than what the judge can resolve.

Example::

    from judge.jobs.gate import GateConfig, compare, load_side
    report = compare(load_side("baseline.json"), load_side("runs/pr"), GateConfig())
    report.exit_code   # 0 pass, 1 regression
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from judge import __version__
from judge.analysis.stats.shift import cluster_mean_ci, noise_floor as noise_floor
from judge.data.numbers import Count, Number
from judge.errors import InputError, Problem, UsageError
from judge.fileio import read_document, validated, write_json
from judge.report.format import fmt
from judge.report.write import register_layout

BASELINE_FORMAT = 1
BASELINE_KIND = "reappraisal-judge-baseline"


# -- configuration ------------------------------------------------------------------------------------------------


#: The pairwise gate's default margin: a criterion regresses when the whole CI of the candidate's win rate over the
#: baseline lies below 0.5 - margin (docs/ci.md, "A pairwise gate").
DEFAULT_WIN_MARGIN = 0.05


class PairwiseGateConfig(BaseModel):
    """``[gate.pairwise]`` of judge.toml: the pairwise gate's rule (``judge gate --pairwise RUN``). Margins are in
    win-rate units (0.05: fail when the whole CI lies below a win rate of 0.45)."""

    model_config = ConfigDict(extra="forbid")

    margin: float = Field(default=DEFAULT_WIN_MARGIN, ge=0.0, lt=0.5, description="Every criterion's, unless named.")
    margins: dict[str, float] = Field(default_factory=dict, description="criterion -> its margin.")
    max_unscored: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Share of a criterion's pairs unscored in both orders above which it could not be checked.",
    )

    def margin_of(self, criterion: str) -> float:
        return self.margins.get(criterion, self.margin)


class GateConfig(BaseModel):
    """``[gate]`` of judge.toml. Thresholds are in the criterion's own scale units; ``[gate.pairwise]`` sets the
    pairwise gate's margins (in win-rate units)."""

    model_config = ConfigDict(extra="forbid")

    min_overlap: float = Field(default=0.9, ge=0.0, le=1.0, description="Shared inputs / the larger input set.")
    n_boot: int = Field(default=2000, ge=100)
    seed: int = 0
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5)
    thresholds: dict[str, float] = Field(default_factory=dict)
    # left out of the JSON when not set, so a score gate's report reads as it always has
    pairwise: PairwiseGateConfig | None = Field(default=None, exclude_if=lambda v: v is None)


def load_gate_config(path: str | Path | None) -> GateConfig:
    """Read ``[gate]`` (and ``[gate.thresholds]``) from a TOML file; other tables (e.g. judges) are ignored."""
    if path is None:
        return GateConfig()
    p = Path(path)
    table = read_document(p, "gate config", fmt="toml").get("gate", {})
    if not isinstance(table, dict):
        raise InputError(Problem(f"{p}: gate", f"expected a [gate] table, got {type(table).__name__}"))
    return validated(GateConfig, table, f"{p}: gate")


def default_threshold(low: float, high: float, n_points: int) -> float:
    """The smallest drop worth failing a build for, when the config sets none: 0.05 per scale point on scales of
    five or more points (1-10: 0.5, 1-5: 0.25), else 5% of the range (0/1: 0.05)."""
    return 0.05 * n_points if n_points >= 5 else 0.05 * (high - low)


# -- the two sides ------------------------------------------------------------------------------------------------


class CriterionInfo(BaseModel):
    rubric: str = Field(description="name@version#hash")
    direction: Literal["higher", "lower"] = "higher"
    low: Number
    high: Number
    n_points: Count


class Side(BaseModel):
    """One side of a comparison, from a run directory or a baseline file (which is this model, saved)."""

    format_version: int = BASELINE_FORMAT
    kind: Literal["reappraisal-judge-baseline"] = "reappraisal-judge-baseline"
    source: str = Field(default="", description="Where it was read from (run dir or file).")
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    tool_version: str = __version__
    judge: dict[str, Any] = Field(description="name, model, params of the one judge compared.")
    prompt_hash: str = ""
    system: dict[str, Any] = Field(default_factory=dict, description="What generated the responses.")
    criteria: dict[str, CriterionInfo]
    scores: dict[str, dict[str, list[Number | None]]] = Field(
        description="criterion -> input_key (post|dimension) -> the judge's samples (None = unscored)."
    )
    response_chars: dict[str, Count] = Field(
        default_factory=dict,
        description="input_key -> length of the response judged, in characters (empty in baselines written before "
        "lengths were recorded).",
    )


def _rubric_info(ref: str, rubrics: dict[str, Any], crit: str) -> CriterionInfo:
    r = rubrics.get(crit)
    if r is not None and r.ref == ref:
        return CriterionInfo(rubric=ref, direction=r.direction, low=r.low, high=r.high, n_points=len(r.scale))
    raise InputError(
        Problem(
            f"rubric {crit}",
            f"the run used {ref!r} but the rubric files give {r.ref if r else 'nothing'!r}; pass --rubrics with the "
            "rubric version the run used",
        )
    )


def side_from_run(
    run_dir: str | Path,
    judge: str | None = None,
    rubrics_dir: str | Path | None = None,
    benchmarks: Sequence[str | Path] = (),
) -> Side:
    """Read a run directory: its one judge (or ``judge``), per-input samples, rubric refs and the generating system.

    The run's benchmark gives each item's input key. It is found wherever the run is read from, also after the run
    was copied: among ``benchmarks`` (``--benchmark``) by the content hash the run recorded, else where the run
    recorded it (``judge.engine.store.resolve_run_benchmark``).
    """
    from judge.analysis.scores import pick_judge
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.store import load_run_manifest, resolve_run_benchmark, stream_records

    manifest = load_run_manifest(run_dir)
    if manifest.task != "score":
        raise UsageError(
            f"{run_dir}: a run of the task {manifest.task!r} has no scores to gate on; a pairwise run of candidate "
            f"vs baseline is gated with: judge gate --pairwise {run_dir}"
        )
    judge_name = pick_judge(manifest.judges, judge, run_dir)
    bench = resolve_run_benchmark(run_dir, benchmarks)
    bench_path = bench.path or Path(str(manifest.benchmark.get("path", "")))
    rubrics = load_rubric_set(rubrics_dir or default_rubrics_dir())
    criteria = {c: _rubric_info(ref, rubrics, c) for c, ref in manifest.rubrics.items()}
    scores: dict[str, dict[str, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for j in stream_records(run_dir):
        if j.judge != judge_name or j.criterion not in criteria:
            continue
        item = bench.items.get(j.item_id)
        if item is None:
            raise InputError(Problem(f"{run_dir}: item {j.item_id}", f"not in the run's benchmark {bench_path}"))
        scores[j.criterion][item.input_key].append(j.score)
    judged = {j for c in scores.values() for j in c}
    chars = {it.input_key: len(it.judged_text) for it in bench.items.values() if it.input_key in judged}
    systems = sorted({json.dumps(it.system, sort_keys=True) for it in bench.items.values()})
    system: dict[str, Any] = (
        json.loads(systems[0]) if len(systems) == 1 else {"systems": [json.loads(s) for s in systems]}
    )
    generation = bench_path / "generation.json"  # written by `judge generate`: the full prompt configuration
    if generation.exists():
        gen = read_document(generation, "generation manifest", fmt="json")
        if not isinstance(gen, dict):
            raise InputError(Problem(str(generation), f"expected a JSON object, got {type(gen).__name__}"))
        system = {**system, "system_hash": gen.get("system_hash"), "config": gen.get("system")}
    spec = manifest.judges[judge_name]
    side = Side(
        source=str(run_dir),
        judge={"name": judge_name, "model": spec.get("model"), "params": spec.get("params", {})},
        prompt_hash=manifest.prompt_hash,
        system=system,
        criteria=criteria,
        scores={c: dict(v) for c, v in scores.items()},
        response_chars=chars,
    )
    check_scale(side, f"{Path(run_dir) / 'judgments.jsonl'}")
    return side


def load_side(
    path: str | Path,
    judge: str | None = None,
    rubrics_dir: str | Path | None = None,
    benchmarks: Sequence[str | Path] = (),
) -> Side:
    """A run directory (its benchmark found as :func:`side_from_run` says), or a baseline file written by
    :func:`write_baseline`."""
    p = Path(path)
    if p.is_dir():
        return side_from_run(p, judge, rubrics_dir, benchmarks)
    if not p.exists():
        raise InputError(Problem(str(p), "not a run directory or baseline file: No such file or directory"))
    data = read_document(p, "baseline file", fmt="json")
    if not isinstance(data, dict) or data.get("kind") != BASELINE_KIND:
        raise InputError(Problem(f"{p}: kind", f"expected {BASELINE_KIND!r} (a file from judge gate --write-baseline)"))
    if data.get("format_version") != BASELINE_FORMAT:
        got = data.get("format_version")
        raise InputError(Problem(f"{p}: format_version", f"expected {BASELINE_FORMAT}, got {got!r}"))
    side = validated(Side, data, str(p))
    check_scale(side, str(p))
    return side.model_copy(update={"source": str(p)})


def check_scale(side: Side, source: str) -> None:
    """Refuse scores off their criterion's scale (a baseline holding 40 on a 1-5 criterion would pass any gate),
    and scores of a criterion the side does not describe.

    Raises:
        InputError: naming the source, the criterion, the input and the value (the first few, with a count).
    """
    problems: list[Problem] = []
    for crit, by_input in side.scores.items():
        info = side.criteria.get(crit)
        if info is None:
            problems.append(Problem(f"{source}: scores.{crit}", f"no criterion {crit!r} in criteria"))
            continue
        if not (math.isfinite(info.low) and math.isfinite(info.high) and info.low < info.high):
            problems.append(Problem(f"{source}: criteria.{crit}", f"low {info.low} and high {info.high}: no scale"))
            continue
        off = [
            (key, v)
            for key, values in by_input.items()
            for v in values
            if v is not None and not (math.isfinite(v) and info.low <= v <= info.high)
        ]
        if off:
            (key, v), more = off[0], f" ... and {len(off) - 1} more" if len(off) > 1 else ""
            problems.append(
                Problem(
                    f"{source}: scores.{crit}",
                    f"{v!r} (input {key!r}) is outside the {crit} scale ({info.low:g} to {info.high:g}){more}",
                )
            )
    if problems:
        raise InputError(problems, source=source)


def write_baseline(side: Side, path: str | Path) -> Path:
    """Save a side as a small committed baseline file (JSON, atomically)."""
    write_json(path, side.model_dump(mode="json"))
    return Path(path)


# -- statistics ---------------------------------------------------------------------------------------------------


def post_of(input_key: str) -> str:
    return input_key.rsplit("|", 1)[0]


class CriterionResult(BaseModel):
    criterion: str
    direction: Literal["higher", "lower"]
    status: Literal["pass", "regression", "no_data"]
    n_pairs: int = Field(description="Inputs compared (scored on both sides).")
    n_posts: int = 0
    unscored_baseline: int = Field(default=0, description="Shared inputs left out: the baseline never scored them.")
    unscored_candidate: int = 0
    mean_baseline: float | None = None
    mean_candidate: float | None = None
    diff: float | None = Field(default=None, description="Mean candidate - baseline, in scale units (raw sign).")
    improvement: float | None = Field(default=None, description="diff, sign-flipped so that negative = worse.")
    ci_low: float | None = None
    ci_high: float | None = None
    threshold: float
    noise_floor: float | None = None
    margin: float = Field(description="max(threshold, noise floor): the drop the CI must clear to fail.")
    reason: str = ""


class LengthChange(BaseModel):
    """Mean length of the responses judged, on the shared inputs: a score that rises only because responses grew
    longer is the verbosity bias of LLM judges, not a better prompt (``judge probe --probes length`` measures it)."""

    n: int
    mean_baseline: float
    mean_candidate: float
    change: float = Field(description="Relative change of the mean length (0.25 = 25% longer).")


class GateReport(BaseModel):
    """The gate's decision and everything behind it (rendered as markdown, JUnit XML or JSON)."""

    baseline: str
    candidate: str
    judge: dict[str, Any]
    config: GateConfig
    inputs_baseline: int
    inputs_candidate: int
    inputs_shared: int
    overlap: float
    results: list[CriterionResult]
    length: LengthChange | None = Field(default=None, description="Response length on the shared inputs, if known.")
    notes: list[str] = Field(default_factory=list)

    @property
    def regressions(self) -> list[CriterionResult]:
        return [r for r in self.results if r.status == "regression"]

    @property
    def failed(self) -> list[CriterionResult]:
        """Regressions, and criteria that could not be checked (no input scored on both sides): a candidate whose
        every judgment is unscored must not pass by default."""
        return [r for r in self.results if r.status != "pass"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _scored(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def compare_criterion(
    crit: str,
    info: CriterionInfo,
    base: dict[str, list[float | None]],
    cand: dict[str, list[float | None]],
    shared: list[str],
    cfg: GateConfig,
) -> CriterionResult:
    """The verdict on one criterion over the shared inputs (see the module docstring for the rule)."""
    threshold = cfg.thresholds.get(crit, default_threshold(info.low, info.high, info.n_points))
    pairs = [(k, _scored(base.get(k, [])), _scored(cand.get(k, []))) for k in shared]
    unscored_b = sum(not b for _, b, _ in pairs)
    unscored_c = sum(not c for _, _, c in pairs)
    pairs = [(k, b, c) for k, b, c in pairs if b and c]
    common: dict[str, Any] = dict(
        criterion=crit,
        direction=info.direction,
        threshold=threshold,
        unscored_baseline=unscored_b,
        unscored_candidate=unscored_c,
    )
    if not pairs:
        return CriterionResult(
            **common, status="no_data", n_pairs=0, margin=threshold, reason="no input was scored on both sides"
        )
    mb = np.array([float(np.mean(b)) for _, b, _ in pairs])
    mc = np.array([float(np.mean(c)) for _, _, c in pairs])
    sign = 1.0 if info.direction == "higher" else -1.0
    d = sign * (mc - mb)
    clusters = [post_of(k) for k, _, _ in pairs]
    improvement, ci = cluster_mean_ci(d, clusters, cfg.n_boot, cfg.seed, 1 - cfg.alpha)
    lo, hi = ci if ci is not None else (math.nan, math.nan)
    floor = noise_floor([b for _, b, _ in pairs], [c for _, _, c in pairs])
    margin = max(threshold, floor or 0.0)
    regressed = hi < -margin
    reason = (
        f"the whole {1 - cfg.alpha:.0%} CI [{lo:+.3f}, {hi:+.3f}] is below -{margin:.3f}"
        if regressed
        else f"the {1 - cfg.alpha:.0%} CI [{lo:+.3f}, {hi:+.3f}] reaches above -{margin:.3f}"
    )
    return CriterionResult(
        **common,
        status="regression" if regressed else "pass",
        n_pairs=len(pairs),
        n_posts=len(set(clusters)),
        mean_baseline=float(mb.mean()),
        mean_candidate=float(mc.mean()),
        diff=float((mc - mb).mean()),
        improvement=improvement,
        ci_low=lo,
        ci_high=hi,
        noise_floor=floor,
        margin=margin,
        reason=reason,
    )


def check_comparable(base: Side, cand: Side) -> list[str]:
    """Criteria both sides share; ``UsageError`` naming every difference of judge or rubric version."""
    diffs: list[str] = []
    for key in ("model", "params"):
        b, c = base.judge.get(key), cand.judge.get(key)
        if json.dumps(b, sort_keys=True, default=str) != json.dumps(c, sort_keys=True, default=str):
            diffs.append(f"judge {key}: baseline {b!r}, candidate {c!r}")
    if base.prompt_hash and cand.prompt_hash and base.prompt_hash != cand.prompt_hash:
        diffs.append(f"judge prompt template: baseline {base.prompt_hash}, candidate {cand.prompt_hash}")
    shared = [c for c in base.criteria if c in cand.criteria]
    if not shared:
        diffs.append(f"criteria: baseline has {sorted(base.criteria)}, candidate {sorted(cand.criteria)}")
    for c in shared:
        if base.criteria[c].rubric != cand.criteria[c].rubric:
            diffs.append(f"rubric {c}: baseline {base.criteria[c].rubric}, candidate {cand.criteria[c].rubric}")
    if diffs:
        raise UsageError(
            "refusing to compare runs judged differently (re-judge one side, or refresh the baseline on purpose):\n"
            + "\n".join(f"  - {d}" for d in diffs)
        )
    return shared


def compare(base: Side, cand: Side, cfg: GateConfig, known: Sequence[str] = ()) -> GateReport:
    """Compare a candidate with a baseline on every shared criterion.

    Args:
        known: criteria a threshold may name besides the two sides' (the rubric set's: one config may serve runs
            of different criteria).

    Raises:
        UsageError: different judges or rubric versions, no shared input, overlap below ``cfg.min_overlap``, or a
            threshold for a criterion nobody defines.
    """
    criteria = check_comparable(base, cand)
    allowed = set(base.criteria) | set(cand.criteria) | set(known)
    unknown = sorted(set(cfg.thresholds) - allowed)
    if unknown:  # a misspelt criterion would keep its default threshold while the config seems to set one
        raise UsageError(f"[gate.thresholds] {unknown}: no such criterion; expected some of {sorted(allowed)}")
    keys_b = {k for c in criteria for k in base.scores.get(c, {})}
    keys_c = {k for c in criteria for k in cand.scores.get(c, {})}
    shared = sorted(keys_b & keys_c)
    overlap = len(shared) / max(len(keys_b), len(keys_c), 1)
    if not shared:
        raise UsageError(
            f"the baseline ({len(keys_b)} inputs) and the candidate ({len(keys_c)} inputs) share no input "
            "(post + dimension); were they generated from the same posts with the same strategy?"
        )
    if overlap < cfg.min_overlap:
        raise UsageError(
            f"only {len(shared)} inputs are shared ({overlap:.0%} of the larger set: baseline {len(keys_b)}, "
            f"candidate {len(keys_c)}); min_overlap is {cfg.min_overlap:.0%}"
        )
    results = [
        compare_criterion(c, base.criteria[c], base.scores.get(c, {}), cand.scores.get(c, {}), shared, cfg)
        for c in criteria
    ]
    length = _length_change(base, cand, shared)
    notes = []
    if length is not None and length.change >= LONGER_NOTE and any((r.improvement or 0) > 0 for r in results):
        notes.append(
            f"responses are {length.change:.0%} longer on average while scores rose: LLM judges tend to reward "
            "length; check the judge with `judge probe --probes length` before crediting the prompt"
        )
    if any(r.noise_floor is None for r in results):
        notes.append("judge noise floor unmeasured (one sample per input): judge with --samples 3 to measure it")
    if len({post_of(k) for k in shared}) < 10:
        notes.append("fewer than 10 posts: bootstrap CIs are rough; use more posts for a decisive gate")
    return GateReport(
        baseline=base.source,
        candidate=cand.source,
        judge=cand.judge,
        config=cfg,
        inputs_baseline=len(keys_b),
        inputs_candidate=len(keys_c),
        inputs_shared=len(shared),
        overlap=overlap,
        results=results,
        length=length,
        notes=notes,
    )


LONGER_NOTE = 0.2  # responses this much longer (relative) next to a rising score get a note


def _length_change(base: Side, cand: Side, shared: list[str]) -> LengthChange | None:
    keys = [k for k in shared if k in base.response_chars and k in cand.response_chars]
    if not keys:
        return None
    b = sum(base.response_chars[k] for k in keys) / len(keys)
    c = sum(cand.response_chars[k] for k in keys) / len(keys)
    return LengthChange(n=len(keys), mean_baseline=b, mean_candidate=c, change=(c - b) / b if b else 0.0)


# -- renderers ----------------------------------------------------------------------------------------------------
# The gate's files keep layouts of their own (a PR summary, JUnit XML for CI, JSON with the exit code), registered
# with the report renderers: ``judge.report.render(report, "junit")`` and ``write_report(report, ..., ("md",
# "junit", "json"), stem="gate")`` write them.


@register_layout(GateReport, "md")
def render_markdown(report: GateReport) -> str:
    """A summary for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    verdict = (
        f"**FAIL**: {', '.join(f'{r.criterion} ({r.status})' for r in report.failed)}"
        if report.failed
        else "**PASS**: no criterion regressed beyond its threshold"
    )
    lines = [
        "## Reappraisal judge gate",
        "",
        verdict,
        "",
        f"Judge `{report.judge.get('model')}`; {report.inputs_shared} shared inputs "
        f"({report.overlap:.0%} overlap); {1 - report.config.alpha:.0%} post-clustered bootstrap CIs.",
        "",
        "| criterion | better | baseline | candidate | change (better +) | CI | margin | pairs | unscored b/c | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        mark = {"pass": "ok", "regression": "REGRESSION", "no_data": "no data"}[r.status]
        lines.append(
            f"| {r.criterion} | {r.direction} | {fmt(r.mean_baseline, '.2f')} | {fmt(r.mean_candidate, '.2f')} | "
            f"{fmt(r.improvement, '+.3f')} | [{fmt(r.ci_low, '+.3f')}, {fmt(r.ci_high, '+.3f')}] | "
            f"{r.margin:.3f} | {r.n_pairs} | "
            f"{r.unscored_baseline}/{r.unscored_candidate} | {mark} |"
        )
    if report.length is not None:
        lc = report.length
        lines += [
            "",
            f"Mean response length on {lc.n} shared inputs: {lc.mean_baseline:.0f} -> {lc.mean_candidate:.0f} "
            f"characters ({lc.change:+.0%}).",
        ]
    lines += ["", "A criterion fails when its whole CI lies below -margin; margin = max(threshold, judge noise floor)."]
    lines += [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def render_text(report: GateReport, width: int) -> str:
    """What ``judge gate`` prints on a terminal: the markdown summary's content laid out for ``width`` columns (the
    markdown itself goes to files and PR comments: ``--markdown FILE``)."""
    from judge.report.model import Cell, Column, Table
    from judge.report.text import render_table_text, wrap

    verdict = (
        f"FAIL: {', '.join(f'{r.criterion} ({r.status})' for r in report.failed)}"
        if report.failed
        else "PASS: no criterion regressed beyond its threshold"
    )
    cols = [
        Column(key="criterion", label="criterion"),
        Column(key="result", label="result"),
        Column(key="change", label="change (better +)", numeric=True),
        Column(key="ci", label="CI", numeric=True),
        Column(key="margin", label="margin", numeric=True),
        Column(key="baseline", label="baseline", numeric=True),
        Column(key="candidate", label="candidate", numeric=True),
        Column(key="better", label="better"),
        Column(key="pairs", label="pairs", numeric=True),
        Column(key="unscored", label="unscored b/c", numeric=True),
    ]
    rows = [
        [
            Cell(text=r.criterion),
            Cell(text={"pass": "ok", "regression": "REGRESSION", "no_data": "no data"}[r.status]),
            Cell(text=fmt(r.improvement, "+.3f")),
            Cell(text=f"[{fmt(r.ci_low, '+.3f')}, {fmt(r.ci_high, '+.3f')}]"),
            Cell(text=f"{r.margin:.3f}"),
            Cell(text=fmt(r.mean_baseline, ".2f")),
            Cell(text=fmt(r.mean_candidate, ".2f")),
            Cell(text=r.direction),
            Cell(text=str(r.n_pairs)),
            Cell(text=f"{r.unscored_baseline}/{r.unscored_candidate}"),
        ]
        for r in report.results
    ]
    out = ["Reappraisal judge gate", "", *wrap(verdict, width), ""]
    out += wrap(
        f"Judge {report.judge.get('model')}; {report.inputs_shared} shared inputs ({report.overlap:.0%} overlap); "
        f"{1 - report.config.alpha:.0%} post-clustered bootstrap CIs.",
        width,
        hanging="",
    )
    out += ["", render_table_text(Table(key="gate", title="gate", columns=cols, rows=rows), width, more="--json")]
    if report.length is not None:
        lc = report.length
        out += ["", *wrap(
            f"Mean response length on {lc.n} shared inputs: {lc.mean_baseline:.0f} -> {lc.mean_candidate:.0f} "
            f"characters ({lc.change:+.0%}).", width, hanging="")]  # fmt: skip
    out += ["", *wrap("A criterion fails when its whole CI lies below -margin; margin = max(threshold, judge noise "
                      "floor).", width, hanging="")]  # fmt: skip
    for n in report.notes:
        out += wrap(n, width, indent="- ", hanging="  ")
    return "\n".join(out) + "\n"


def junit_xml(suite_name: str, classname: str, results: Sequence[Any], summary: Callable[[Any], str]) -> str:
    """JUnit XML, one testcase per criterion result (``criterion``, ``status``, ``reason``): a ``failure`` element on
    regression (with the result as JSON) or when it could not be checked; ``summary(result)`` is its system-out.
    Both gates (scores and pairwise) write theirs with it."""
    from xml.etree import ElementTree as ET

    failed = sum(r.status != "pass" for r in results)
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(results)), failures=str(failed), errors="0")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=classname, name=r.criterion)
        if r.status == "regression":
            fail = ET.SubElement(case, "failure", message=f"{r.criterion} regressed: {r.reason}")
            fail.text = json.dumps(r.model_dump(mode="json"), indent=2)
        elif r.status == "no_data":
            ET.SubElement(case, "failure", message=f"{r.criterion} could not be checked: {r.reason}")
        ET.SubElement(case, "system-out").text = summary(r)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


@register_layout(GateReport, "junit")
def render_junit(report: GateReport) -> str:
    """JUnit XML: one testcase per criterion, a ``failure`` element on regression or when there is no data."""

    def summary(r: CriterionResult) -> str:
        ci = f"[{fmt(r.ci_low, '+.3f')}, {fmt(r.ci_high, '+.3f')}]"
        return f"change {fmt(r.improvement, '+.3f')} CI {ci} margin {r.margin:.3f}"

    return junit_xml("reappraisal-judge-gate", "gate", report.results, summary)


def render_json(report: GateReport) -> dict[str, Any]:
    """The report as JSON data, with the exit code it gives."""
    return {**report.model_dump(mode="json"), "exit_code": report.exit_code}


@register_layout(GateReport, "json")
def json_file(report: GateReport) -> str:
    """``render_json`` as the text ``judge gate --json`` prints."""
    return json.dumps(render_json(report), indent=2, ensure_ascii=False, default=str) + "\n"
