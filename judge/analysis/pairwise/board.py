"""A system leaderboard ranked from a pairwise run (``judge leaderboard --run`` on a run of ``--task pairwise``).

The run's preferences (``runs.run_preferences``) ranked per criterion and judge (``rankings.pairwise_rankings``:
Bradley-Terry strengths with rank intervals, win rates with CIs over posts, and against a baseline system the plain
and length-controlled win rates), and, where the benchmark's experts rated the judged pairs, the judges' agreement
with the experts' preferences beside the experts' ceiling and the chance rows (``runs.run_agreement``). This module
only assembles: every number comes from those functions.

Example::

    from judge.analysis.pairwise.board import pairwise_leaderboard
    board = pairwise_leaderboard("runs/demo-pairs", bench, baseline="demo-generic", n_boot=2000)
    board.rankings.rankings[0].systems[0].system    # the strongest system on the first criterion
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from judge import __version__
from judge.analysis.pairwise.agreement import PairwiseAgreement
from judge.analysis.pairwise.preferences import Model
from judge.analysis.pairwise.rankings import PairwiseRankings, pairwise_rankings
from judge.data.benchmark import Benchmark
from judge.errors import UsageError

FORMAT_VERSION = 1


class PairwiseProvenance(Model):
    """Where a pairwise leaderboard comes from."""

    benchmark: str
    run: str
    judges: list[str]
    criteria: list[str]
    pairs: str = Field(default="", description="The run's pair plan (--pairs).")
    command: str = ""
    created_at: str = Field(description="UTC, ISO 8601.")
    tool_version: str = __version__


class PairwiseLeaderboard(Model):
    """Systems ranked from one pairwise run, per criterion and judge; serialises to the report's JSON."""

    format_version: int = FORMAT_VERSION
    kind: Literal["pairwise"] = "pairwise"
    baseline: str | None = Field(default=None, description="The system the win rates vs baseline are against.")
    rankings: PairwiseRankings
    agreement: PairwiseAgreement | None = Field(
        default=None, description="The judges against the experts' preferences (None: the experts rated no pair)."
    )
    provenance: PairwiseProvenance
    notes: list[str] = Field(default_factory=list)


def pairwise_leaderboard(
    run_dir: str | Path,
    bench: Benchmark,
    *,
    criteria: Collection[str] | None = None,
    judge: str | None = None,
    baseline: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    command: str = "",
) -> PairwiseLeaderboard:
    """Rank the systems of a pairwise run, and measure its judges against the experts where they rated the pairs.

    Args:
        run_dir: a run of ``judge run --task pairwise``.
        bench: the benchmark it judged.
        criteria: only these criteria (default: every criterion of the run).
        judge: only this judge of the run (default: every judge).
        baseline: a system name as the run's items have it (``Item.system_name``): adds each system's plain and
            length-controlled win rates against it.
        n_boot, seed: the resamples of posts behind every CI.
        command: the command line, for the provenance.

    Raises:
        UsageError: no preferences left after the filters, an unknown judge, or a baseline that is not a system of
            the run.
    """
    from judge.analysis.pairwise.runs import run_agreement, run_preferences
    from judge.engine.store import load_run_manifest

    prefs = run_preferences(run_dir, bench)
    judges = sorted({p.judge for p in prefs})
    if judge is not None:
        if judge not in judges:
            raise UsageError(f"--judge {judge!r}: run {run_dir} has the judges {judges}")
        prefs = [p for p in prefs if p.judge == judge]
    if criteria is not None:
        prefs = [p for p in prefs if p.criterion in set(criteria)]
    if not prefs:
        raise UsageError(f"--run {run_dir}: no pairwise verdicts on the criteria asked for ({sorted(criteria or [])})")
    systems = sorted({s for p in prefs for s in (p.system_a, p.system_b)})
    if baseline is not None and baseline not in systems:
        raise UsageError(f"--baseline-system {baseline!r} is not a system of run {run_dir}; its systems: {systems}")
    rankings = pairwise_rankings(prefs, baseline=baseline, n_boot=n_boot, seed=seed)
    crits = sorted({p.criterion for p in prefs})
    agreement = run_agreement(run_dir, bench, n_boot=n_boot, seed=seed)
    notes = []
    if agreement is not None:
        keep = [c for c in agreement.criteria if c.criterion in crits]
        for c in keep:
            # run_agreement measures every judge of the run; keep the rows of the judges shown, and the reference rows
            c.rows = [r for r in c.rows if r.kind != "judge" or judge is None or r.name == judge]
        agreement = agreement.model_copy(update={"criteria": keep}) if keep else None
    if agreement is None:
        notes.append("the experts rated none of the judged pairs: no agreement with the experts' preferences to show")
    for r in rankings.rankings:
        if r.note:
            notes.append(f"{r.judge} on {r.criterion}: {r.note}")
        if r.n_same_system:
            notes.append(f"{r.judge} on {r.criterion}: {r.n_same_system} pairs of two replies of one system left out")
    manifest = load_run_manifest(run_dir)
    return PairwiseLeaderboard(
        baseline=baseline,
        rankings=rankings,
        agreement=agreement,
        provenance=PairwiseProvenance(
            benchmark=bench.name,
            run=str(run_dir),
            judges=sorted({p.judge for p in prefs}),
            criteria=crits,
            pairs=str(manifest.task_options.get("pairs", "")),
            command=command,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        ),
        notes=notes,
    )
