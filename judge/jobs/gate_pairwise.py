"""The CI gate, pairwise: from a run that asked a judge which of two replies to the same post is better, the
candidate's or the baseline's, did the candidate get worse, per criterion?

Data flow::

    pairwise run (--pairs baseline:SYSTEM) -> its records as preferences, the candidate as A
        -> per pair: pair_score (both orders averaged; a tie is half a win)
        -> win rate of the candidate over the baseline, CI resampling posts -> verdict per criterion

The rule (``docs/ci.md``, "A pairwise gate"):

* Each pair is one input (post + appraisal dimension, and the conversation's context): the candidate's reply and
  the baseline's reply to it, asked in both orders. Its score for the candidate is the mean of the two orders'
  verdicts (1 candidate better, 0.5 tie, 0 baseline better; ``stats.preference.pair_score``), so a judge that
  always picks the reply shown first scores every pair 0.5. A pair unscored in both orders is missing data: counted,
  never a tie.
* The candidate's win rate is the mean pair score; its CI is a percentile bootstrap over posts
  (``stats.preference.win_rates`` on ``PostDraws``), two-sided at ``1 - alpha``.
* A criterion **regresses** when the whole CI lies below ``0.5 - margin`` (``[gate.pairwise]``; default 0.05). It
  **could not be checked** (exit 1 as well) when no pair was scored, when more than ``max_unscored`` of its pairs
  are unscored, or when the pairs are too few for a CI (fewer than 5 pairs or 3 posts).
* One judge judged both sides in one run, so there is no judge, rubric or prompt to pin across runs, and no
  calibrated scale is needed. The judge's position consistency on the run is reported with each criterion.

Example::

    from judge.jobs.gate import GateConfig
    from judge.jobs.gate_pairwise import pairwise_gate
    report = pairwise_gate("out/pairs", GateConfig())
    report.exit_code   # 0 pass, 1 regression or could not be checked
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from judge.analysis.stats.preference import PostEstimate
from judge.errors import UsageError
from judge.jobs.gate import LONGER_NOTE, GateConfig, LengthChange, PairwiseGateConfig, junit_xml, post_of
from judge.report.format import fmt
from judge.report.write import register_layout

BASELINE_PLAN = "baseline:"


class PairwiseCriterionResult(BaseModel):
    """The pairwise gate's verdict on one criterion."""

    criterion: str
    status: Literal["pass", "regression", "no_data"]
    n_pairs: int = Field(description="Pairs scored in at least one order.")
    n_posts: int = 0
    unscored: int = Field(default=0, description="Pairs of the run unscored in both orders (missing, not ties).")
    one_order: int = Field(default=0, description="Of the scored pairs, those with a verdict in one order only.")
    wins: int = Field(default=0, description="Scored pairs whose score favours the candidate.")
    ties: int = 0
    losses: int = 0
    win_rate: float | None = Field(default=None, description="The candidate's mean pair score (ties half).")
    ci_low: float | None = None
    ci_high: float | None = None
    margin: float = Field(description="The CI must lie wholly below 0.5 - margin to fail.")
    consistency: PostEstimate | None = Field(
        default=None, description="Position consistency: share of the pairs scored in both orders whose verdicts agree."
    )
    first_shown: PostEstimate | None = Field(
        default=None, description="Share of decided verdicts for the reply shown first."
    )
    reason: str = ""

    @property
    def floor(self) -> float:
        """The win rate the whole CI must lie below to fail."""
        return 0.5 - self.margin


class PairwiseGateReport(BaseModel):
    """The pairwise gate's decision and everything behind it (rendered as markdown, JUnit XML or JSON)."""

    mode: Literal["pairwise"] = "pairwise"
    run: str
    judge: dict[str, Any]
    candidate: str = Field(description="The candidate's system in the run's benchmark.")
    baseline: str = Field(description="The baseline's system (the run's --pairs baseline:SYSTEM).")
    generated: dict[str, str] = Field(
        default_factory=dict,
        description="side -> what generated its replies (a `judge import versus` benchmark: the source directory "
        "and the system, with its hash when `judge generate` recorded one).",
    )
    config: GateConfig
    inputs_candidate: int
    inputs_baseline: int
    inputs_shared: int
    overlap: float
    results: list[PairwiseCriterionResult]
    length: LengthChange | None = None
    notes: list[str] = Field(default_factory=list)

    @property
    def regressions(self) -> list[PairwiseCriterionResult]:
        return [r for r in self.results if r.status == "regression"]

    @property
    def failed(self) -> list[PairwiseCriterionResult]:
        """Regressions, and criteria that could not be checked."""
        return [r for r in self.results if r.status != "pass"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


# -- reading the run -----------------------------------------------------------------------------------------------


def _plan_baseline(run_dir: str | Path, manifest: Any) -> str:
    """The baseline system of a candidate-vs-baseline pairwise run; ``UsageError`` for any other run."""
    how = "judge import versus CANDIDATE BASELINE --out DIR, then judge run --task pairwise --pairs baseline:baseline"
    if manifest.task != "pairwise":
        raise UsageError(
            f"--pairwise {run_dir}: a run of the task {manifest.task!r}; expected a pairwise run of candidate vs "
            f"baseline ({how} --benchmark DIR). A scoring run is gated with --candidate RUN --baseline RUN|FILE"
        )
    plan = str(manifest.task_options.get("pairs", ""))
    if not plan.startswith(BASELINE_PLAN):
        raise UsageError(
            f"--pairwise {run_dir}: its pairs are {plan!r}, not candidate vs baseline; expected a run of --pairs "
            f"baseline:SYSTEM, each reply against the baseline's reply to the same post ({how} --benchmark DIR)"
        )
    return plan[len(BASELINE_PLAN) :]


def _oriented(prefs: list[Any], baseline: str) -> list[Any]:
    """Every preference with the candidate as A and the baseline as B; ``UsageError`` for a pair of two candidates
    or two baselines (a run whose plan says baseline:SYSTEM makes none)."""
    out = []
    for p in prefs:
        q = p.swapped() if p.system_a == baseline else p
        if q.system_b != baseline or q.system_a == baseline:
            raise UsageError(f"pair {p.item_a!r} vs {p.item_b!r}: expected one reply of the baseline {baseline!r}")
        out.append(q)
    return out


def _generated_by(bench: Any, system: str) -> str:
    """What generated a side's replies, from the items' ``meta.versus`` (empty for other benchmarks)."""
    seen = set()
    for it in bench.items.values():
        v = it.meta.get("versus") if it.system_name == system else None
        if isinstance(v, dict):
            parts = [str(x) for x in (v.get("system") or {}).values() if x]
            name = " / ".join(parts) or "unknown"
            hashed = f"#{it.meta['system_hash']}" if it.meta.get("system_hash") else ""
            seen.add(f"{v.get('source', '?')} ({name}{hashed})")
    return "; ".join(sorted(seen))


def _inputs(bench: Any, system: str) -> set[str]:
    from judge.engine.pairwise import comparable_key

    return {comparable_key(it) for it in bench.items.values() if it.system_name == system}


# -- the verdict on one criterion ----------------------------------------------------------------------------------


def judge_criterion(crit: str, prefs: list[Any], cfg: GateConfig) -> PairwiseCriterionResult:
    """The verdict on one criterion from its preferences (candidate as A), by the module docstring's rule."""
    from judge.analysis.pairwise.preferences import code
    from judge.analysis.stats.preference import (
        PostDraws,
        first_share,
        pair_score,
        position_consistency,
        win_rates,
    )

    settings = cfg.pairwise or PairwiseGateConfig()
    margin = settings.margin_of(crit)
    confidence = 1 - cfg.alpha
    ab = np.array([code(p.verdict_ab) for p in prefs], dtype=float)
    ba = np.array([code(p.verdict_ba) for p in prefs], dtype=float)
    score = pair_score(ab, ba)
    scored = ~np.isnan(score)
    n, unscored = int(scored.sum()), int((~scored).sum())
    common: dict[str, Any] = dict(
        criterion=crit,
        margin=margin,
        n_pairs=n,
        unscored=unscored,
        one_order=int((scored & (np.isnan(ab) | np.isnan(ba))).sum()),
        wins=int((score[scored] > 0.5).sum()),
        ties=int((score[scored] == 0.5).sum()),
        losses=int((score[scored] < 0.5).sum()),
    )
    if n == 0:
        reason = "no pair was scored in either order" if prefs else "the run holds no pair judged on it"
        return PairwiseCriterionResult(**common, status="no_data", reason=reason)
    draws = PostDraws.make([p.post_id for p in prefs], cfg.n_boot, cfg.seed)
    zeros = np.zeros(len(prefs), dtype=np.int64)
    win = win_rates(zeros, zeros + 1, score, 2, draws, confidence=confidence)[0]
    lo, hi = win.ci if win.ci is not None else (None, None)
    common.update(
        n_posts=win.n_posts,
        win_rate=win.value,
        ci_low=lo,
        ci_high=hi,
        consistency=position_consistency(ab, ba, draws, confidence=confidence),
        first_shown=first_share(ab, ba, draws, confidence=confidence),
    )
    share = unscored / len(prefs)
    if share > settings.max_unscored:
        reason = (
            f"{unscored} of {len(prefs)} pairs ({share:.0%}) are unscored in both orders, more than max_unscored "
            f"{settings.max_unscored:.0%}: the scored ones may not stand for the rest"
        )
        return PairwiseCriterionResult(**common, status="no_data", reason=reason)
    if lo is None or hi is None:
        return PairwiseCriterionResult(**common, status="no_data", reason=f"no CI: {win.note}")
    level, floor = f"{confidence:.0%}", 0.5 - margin
    if hi < floor:
        reason = f"the whole {level} CI of the win rate [{lo:.3f}, {hi:.3f}] is below {floor:.3f}"
        return PairwiseCriterionResult(**common, status="regression", reason=reason)
    reason = f"the {level} CI of the win rate [{lo:.3f}, {hi:.3f}] reaches {floor:.3f} or above"
    return PairwiseCriterionResult(**common, status="pass", reason=reason)


# -- the gate ------------------------------------------------------------------------------------------------------


def pairwise_gate(
    run_dir: str | Path,
    cfg: GateConfig,
    *,
    judge: str | None = None,
    system: str | None = None,
    benchmarks: Sequence[str | Path] = (),
    known: Sequence[str] = (),
) -> PairwiseGateReport:
    """Decide, per criterion, whether the candidate's replies lost to the baseline's in a pairwise run.

    Args:
        run_dir: a pairwise run of ``--pairs baseline:SYSTEM`` (e.g. on a ``judge import versus`` benchmark).
        judge: the judge, when the run has several.
        system: the candidate system, when the run pairs several systems with the baseline.
        benchmarks: where the run's benchmark may be (``store.resolve_run_benchmark``).
        known: criteria a margin may name besides the run's.

    Raises:
        UsageError: not a pairwise run of candidate vs baseline, several candidates and no ``system``, an unknown
            judge or system, a margin for no criterion, or an overlap of inputs below ``cfg.min_overlap``.
    """
    from judge.analysis.pairwise.preferences import preferences_from_records
    from judge.analysis.pairwise.runs import run_records
    from judge.analysis.scores import pick_judge
    from judge.engine.store import load_run_manifest, resolve_run_benchmark

    manifest = load_run_manifest(run_dir)
    baseline = _plan_baseline(run_dir, manifest)
    settings = cfg.pairwise or PairwiseGateConfig()
    allowed = set(manifest.rubrics) | set(known)
    unknown = sorted(set(settings.margins) - allowed)
    if unknown:
        raise UsageError(f"[gate.pairwise.margins] {unknown}: no such criterion; expected some of {sorted(allowed)}")
    judge_name = pick_judge(manifest.judges, judge, run_dir)
    bench = resolve_run_benchmark(run_dir, benchmarks)
    records = [r for r in run_records(run_dir) if r.judge == judge_name]
    samples = sorted({r.sample for r in records})
    prefs = _oriented(preferences_from_records(bench, [r for r in records if r.sample == 0]), baseline)
    candidates = sorted({p.system_a for p in prefs})
    if system is not None:
        if system not in candidates:
            raise UsageError(f"--system {system!r}: no pair of it with {baseline!r} in {run_dir}; expected one of "
                             f"{candidates}")  # fmt: skip
        candidates = [system]
    elif len(candidates) > 1:
        raise UsageError(
            f"--pairwise {run_dir}: {len(candidates)} systems are paired with the baseline {baseline!r} "
            f"({candidates}); the gate compares one candidate with it: name it with --system"
        )
    if not candidates:
        raise UsageError(f"--pairwise {run_dir}: the run has no pair judged by {judge_name!r} yet")
    candidate = candidates[0]
    prefs = [p for p in prefs if p.system_a == candidate]
    keys_c, keys_b = _inputs(bench, candidate), _inputs(bench, baseline)
    shared = keys_c & keys_b
    overlap = len(shared) / max(len(keys_c), len(keys_b), 1)
    if overlap < cfg.min_overlap:
        raise UsageError(
            f"only {len(shared)} inputs have a reply of both sides ({overlap:.0%} of the larger set: candidate "
            f"{len(keys_c)}, baseline {len(keys_b)}); min_overlap is {cfg.min_overlap:.0%}"
        )
    results = [judge_criterion(c, [p for p in prefs if p.criterion == c], cfg) for c in manifest.rubrics]
    length = _length_change(prefs)
    notes = []
    if length is not None and length.change >= LONGER_NOTE and any((r.win_rate or 0) > 0.5 for r in results):
        notes.append(
            f"the candidate's replies are {length.change:.0%} longer on average and win: LLM judges tend to prefer "
            "longer replies; check the judge with `judge probe --probes length` before crediting the prompt"
        )
    if len(samples) > 1:
        notes.append(f"the run has {len(samples)} samples per pair; the gate reads the first (sample 0)")
    if len({post_of(k) for k in shared}) < 10:
        notes.append("fewer than 10 posts: bootstrap CIs are rough; use more posts for a decisive gate")
    spec = manifest.judges.get(judge_name, {})
    return PairwiseGateReport(
        run=str(run_dir),
        judge={"name": judge_name, "model": spec.get("model"), "params": spec.get("params", {})},
        candidate=candidate,
        baseline=baseline,
        generated={side: got for side in (candidate, baseline) if (got := _generated_by(bench, side))},
        config=cfg,
        inputs_candidate=len(keys_c),
        inputs_baseline=len(keys_b),
        inputs_shared=len(shared),
        overlap=overlap,
        results=results,
        length=length,
        notes=notes,
    )


def _length_change(prefs: list[Any]) -> LengthChange | None:
    """The replies' mean lengths over the pairs (each pair once, whatever its criteria)."""
    lengths = {(p.item_a, p.item_b): (p.len_a, p.len_b) for p in prefs if p.len_a is not None and p.len_b is not None}
    if not lengths:
        return None
    c = sum(a for a, _ in lengths.values()) / len(lengths)
    b = sum(b for _, b in lengths.values()) / len(lengths)
    return LengthChange(n=len(lengths), mean_baseline=b, mean_candidate=c, change=(c - b) / b if b else 0.0)


# -- renderers (the same layouts as the score gate's, registered with the report renderers) -------------------------

_MARK = {"pass": "ok", "regression": "REGRESSION", "no_data": "not checked"}


def _pct(e: PostEstimate | None, *, ci: bool = True) -> str:
    if e is None or e.value is None:
        return "n/a"
    if not ci or e.ci is None:
        return f"{e.value:.0%}"
    return f"{e.value:.0%} [{e.ci[0]:.0%}, {e.ci[1]:.0%}]"


def _verdict(report: PairwiseGateReport) -> str:
    if report.failed:
        return ", ".join(f"{r.criterion} ({r.status})" for r in report.failed)
    return ""


def _intro(report: PairwiseGateReport) -> str:
    made = "; ".join(f"{side}: {how}" for side, how in report.generated.items())
    return (
        f"Candidate `{report.candidate}` against baseline `{report.baseline}`, pair by pair (same post and "
        f"dimension), judge `{report.judge.get('model')}`, both orders; {report.inputs_shared} inputs with both "
        f"replies ({report.overlap:.0%} overlap); {1 - report.config.alpha:.0%} bootstrap CIs over posts."
        + (f" Replies from {made}." if made else "")
    )


_RULE = (
    "Win rate: the candidate's mean pair score (better 1, tie 0.5, worse 0; both orders averaged). A criterion fails "
    "when its whole CI lies below 0.5 - margin. Consistent: pairs whose two orders agree (position consistency)."
)


@register_layout(PairwiseGateReport, "md")
def render_markdown(report: PairwiseGateReport) -> str:
    """A summary for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    failed = _verdict(report)
    verdict = f"**FAIL**: {failed}" if failed else "**PASS**: the candidate lost to the baseline on no criterion"
    lines = [
        "## Reappraisal judge gate (pairwise)",
        "",
        verdict,
        "",
        _intro(report),
        "",
        "| criterion | win rate | CI | fails below | won / tied / lost | pairs | unscored | consistent | |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        lines.append(
            f"| {r.criterion} | {fmt(r.win_rate, '.3f')} | [{fmt(r.ci_low, '.3f')}, {fmt(r.ci_high, '.3f')}] | "
            f"{r.floor:.3f} | {r.wins} / {r.ties} / {r.losses} | {r.n_pairs} | {r.unscored} | "
            f"{_pct(r.consistency)} | {_MARK[r.status]} |"
        )
    if report.length is not None:
        lc = report.length
        lines += [
            "",
            f"Mean reply length over {lc.n} pairs: baseline {lc.mean_baseline:.0f}, candidate "
            f"{lc.mean_candidate:.0f} characters ({lc.change:+.0%}).",
        ]
    lines += ["", _RULE]
    lines += [f"- {r.criterion}: {r.reason}" for r in report.results if r.status != "pass"]
    lines += [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def render_text(report: PairwiseGateReport, width: int) -> str:
    """What ``judge gate --pairwise`` prints on a terminal: the markdown summary laid out for ``width`` columns."""
    from judge.report.model import Cell, Column, Table
    from judge.report.text import render_table_text, wrap

    failed = _verdict(report)
    verdict = f"FAIL: {failed}" if failed else "PASS: the candidate lost to the baseline on no criterion"
    cols = [
        Column(key="criterion", label="criterion"),
        Column(key="result", label="result"),
        Column(key="win", label="win rate", numeric=True),
        Column(key="ci", label="CI", numeric=True),
        Column(key="consistent", label="consistent", numeric=True),
        Column(key="floor", label="fails below", numeric=True),
        Column(key="wtl", label="won/tied/lost", numeric=True),
        Column(key="pairs", label="pairs", numeric=True),
        Column(key="unscored", label="unscored", numeric=True),
    ]
    rows = [
        [
            Cell(text=r.criterion),
            Cell(text=_MARK[r.status]),
            Cell(text=fmt(r.win_rate, ".3f")),
            Cell(text=f"[{fmt(r.ci_low, '.3f')}, {fmt(r.ci_high, '.3f')}]"),
            Cell(text=_pct(r.consistency, ci=False)),
            Cell(text=f"{r.floor:.3f}"),
            Cell(text=f"{r.wins}/{r.ties}/{r.losses}"),
            Cell(text=str(r.n_pairs)),
            Cell(text=str(r.unscored)),
        ]
        for r in report.results
    ]
    out = ["Reappraisal judge gate (pairwise)", "", *wrap(verdict, width), ""]
    out += wrap(_intro(report).replace("`", ""), width, hanging="")
    table = Table(key="gate", title="gate", columns=cols, rows=rows)
    out += ["", render_table_text(table, width, more="--json")]
    if report.length is not None:
        lc = report.length
        out += ["", *wrap(
            f"Mean reply length over {lc.n} pairs: baseline {lc.mean_baseline:.0f}, candidate {lc.mean_candidate:.0f} "
            f"characters ({lc.change:+.0%}).", width, hanging="")]  # fmt: skip
    out += ["", *wrap(_RULE, width, hanging="")]
    for r in report.results:
        if r.status != "pass":
            out += wrap(f"{r.criterion}: {r.reason}", width, indent="- ", hanging="  ")
    for n in report.notes:
        out += wrap(n, width, indent="- ", hanging="  ")
    return "\n".join(out) + "\n"


@register_layout(PairwiseGateReport, "junit")
def render_junit(report: PairwiseGateReport) -> str:
    """JUnit XML: one testcase per criterion, a ``failure`` element on regression or when it could not be checked."""

    def summary(r: PairwiseCriterionResult) -> str:
        return (
            f"win rate {fmt(r.win_rate, '.3f')} CI [{fmt(r.ci_low, '.3f')}, {fmt(r.ci_high, '.3f')}] fails below "
            f"{r.floor:.3f}; won {r.wins} tied {r.ties} lost {r.losses}; position consistency {_pct(r.consistency)}"
        )

    return junit_xml("reappraisal-judge-gate-pairwise", "gate.pairwise", report.results, summary)


def render_json(report: PairwiseGateReport) -> dict[str, Any]:
    """The report as JSON data, with the exit code it gives."""
    return {**report.model_dump(mode="json"), "exit_code": report.exit_code}


@register_layout(PairwiseGateReport, "json")
def json_file(report: PairwiseGateReport) -> str:
    """``render_json`` as the text ``judge gate --pairwise --json`` prints."""
    return json.dumps(render_json(report), indent=2, ensure_ascii=False, default=str) + "\n"
