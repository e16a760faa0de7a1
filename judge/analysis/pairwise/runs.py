"""Pairwise runs read for the analysis: their records as ``Preference`` rows, and their agreement with the experts.

A pairwise run (``judge run --task pairwise``) records one ``judge.engine.pairwise.PairJudgment`` per judge, pair,
criterion, order and sample. ``run_preferences`` turns the latest records of one sample into preferences (the two
orders of a pair into one row, each verdict mapped back to the pair's A/B); ``run_agreement`` measures them against
the experts' preferences on the same pairs, beside the experts' ceiling and the chance rows.

Example::

    from judge.analysis.pairwise.runs import run_agreement, run_preferences
    prefs = run_preferences("runs/demo-pairs", bench)
    res = run_agreement("runs/demo-pairs", bench, n_boot=1000)   # None when the experts rated none of the pairs
"""

from __future__ import annotations

from pathlib import Path

from judge.analysis.pairwise.agreement import PairwiseAgreement, pairwise_agreement
from judge.analysis.pairwise.experts import expert_preferences
from judge.analysis.pairwise.preferences import Preference, preferences_from_records
from judge.data.benchmark import Benchmark
from judge.engine.pairwise import PairJudgment
from judge.engine.store import load_run_manifest, stream_task_records


def run_records(run_dir: str | Path) -> list[PairJudgment]:
    """The pairwise records of a run (the latest of each key)."""
    out: list[PairJudgment] = []
    for r in stream_task_records(run_dir):
        if isinstance(r, PairJudgment):
            out.append(r)
    return out


def run_preferences(run_dir: str | Path, bench: Benchmark, *, sample: int = 0) -> list[Preference]:
    """The run's preferences: one row per judge, criterion and pair, from the records of ``sample`` (each sample is
    a separate set of verdicts; the first by default)."""
    return preferences_from_records(bench, [r for r in run_records(run_dir) if r.sample == sample])


def run_agreement(
    run_dir: str | Path, bench: Benchmark, *, n_boot: int = 1000, seed: int = 0, margin: float = 0.0
) -> PairwiseAgreement | None:
    """The run's judges against the experts' preferences on the pairs the run judged (None when no criterion of the
    run has expert ratings on any of its pairs)."""
    prefs = run_preferences(run_dir, bench)
    lower = {c for c, d in load_run_manifest(run_dir).directions.items() if d == "lower"}
    sets = []
    for crit in sorted({p.criterion for p in prefs}):
        if not bench.rated_item_ids(crit):
            continue
        judged = [(p.item_a, p.item_b) for p in prefs if p.criterion == crit]
        # the judge was asked which reply is better: on a lower-is-better criterion the experts prefer the lower
        experts = expert_preferences(bench, crit, margin=margin, lower_is_better=crit in lower).restricted(judged)
        if experts.pairs:
            sets.append(experts)
    if not sets:
        return None
    keep = {e.criterion for e in sets}
    return pairwise_agreement(sets, [p for p in prefs if p.criterion in keep], n_boot=n_boot, seed=seed)
