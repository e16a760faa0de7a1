"""A pairwise run summed up (``judge show`` on a run of ``--task pairwise``): verdicts per judge, position
consistency, unscored by reason, cost, and agreement with the experts' preferences where the benchmark has ratings.

The counts come from the run's records (``judge.engine.pairwise.position_counts``); agreement, its CIs, the experts'
ceiling and the chance rows from the analysis (``judge.analysis.pairwise.runs.run_agreement``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judge.data.benchmark import Benchmark
from judge.engine.pairwise import position_counts
from judge.engine.store import load_run_manifest, read_summary


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PairJudgeLine(_Model):
    """One judge of a pairwise run."""

    judge: str
    model: str = ""
    records: int
    scored: int
    unscored: dict[str, int] = Field(default_factory=dict)
    verdicts: dict[str, int] = Field(description="Verdicts as shown: first, second, tie.")
    pairs_both_orders: int = Field(description="Pairs (x criterion x sample) with a verdict in both orders.")
    position_consistency: float | None = Field(description="Of those, the share whose two orders agree.")
    mean_p_first: float | None = Field(default=None, description="Mean P(first is better), where recorded.")
    cost: str = ""


class AgreementLine(_Model):
    """One row of agreement with the experts' preferences on one criterion."""

    criterion: str
    name: str
    kind: str
    n_decided: int
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None = None
    kappa: float | None
    kappa_ci: tuple[float, float] | None = None


class PairwiseRunOverview(_Model):
    """What ``judge show`` prints for a pairwise run."""

    run_dir: str
    task: str
    pairs: dict[str, Any]
    criteria: list[str]
    judges: list[PairJudgeLine]
    agreement: list[AgreementLine] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def pairwise_overview(run_dir: str | Path, bench: Benchmark | None, *, n_boot: int = 1000) -> PairwiseRunOverview:
    """Sum up a pairwise run; with its benchmark, also its agreement with the experts (when they rated the pairs)."""
    from judge.analysis.pairwise.runs import run_agreement, run_records

    manifest = load_run_manifest(run_dir)
    summary = read_summary(run_dir) or {}
    records = run_records(run_dir)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    unscored: dict[str, Counter[str]] = defaultdict(Counter)
    p_first: dict[str, list[float]] = defaultdict(list)
    for r in records:
        c = counts[r.judge]
        c["records"] += 1
        if r.verdict is None:
            unscored[r.judge][r.unscored_reason or "unknown"] += 1
            continue
        c["scored"] += 1
        c[r.verdict] += 1
        if r.p_first is not None:
            p_first[r.judge].append(r.p_first)
    position = position_counts(records)
    judges = [
        PairJudgeLine(
            judge=name,
            model=str(manifest.judges.get(name, {}).get("model", "")),
            records=c["records"],
            scored=c["scored"],
            unscored=dict(sorted(unscored[name].items())),
            verdicts={v: c[v] for v in ("first", "second", "tie")},
            pairs_both_orders=position[name].pairs if name in position else 0,
            position_consistency=position[name].consistency if name in position else None,
            mean_p_first=round(sum(p_first[name]) / len(p_first[name]), 4) if p_first[name] else None,
            cost=str(summary.get("per_judge", {}).get(name, {}).get("cost", "")),
        )
        for name, c in sorted(counts.items())
    ]
    ov = PairwiseRunOverview(
        run_dir=str(run_dir),
        task=manifest.task,
        pairs=manifest.task_options,
        criteria=sorted({r.criterion for r in records}),
        judges=judges,
    )
    if bench is None:
        ov.notes.append("the run's benchmark was not found: pass --benchmark DIR to compare with the experts")
        return ov
    res = run_agreement(run_dir, bench, n_boot=n_boot)
    if res is None:
        ov.notes.append("the experts rated none of the judged pairs on these criteria: no agreement to show")
        return ov
    for crit in res.criteria:
        for row in [*crit.rows, crit.ceiling]:
            ov.agreement.append(
                AgreementLine(
                    criterion=crit.criterion,
                    name=row.name,
                    kind=row.kind,
                    n_decided=row.n_decided,
                    accuracy=row.accuracy.value,
                    accuracy_ci=row.accuracy.ci,
                    kappa=row.kappa.value,
                    kappa_ci=row.kappa.ci,
                )
            )
    return ov


def _num(v: float | None, ci: tuple[float, float] | None = None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def render_pairwise_overview(ov: PairwiseRunOverview) -> str:
    """The overview as terminal text."""
    lines = [
        f"pairwise run: {ov.run_dir}",
        f"  pairs: {ov.pairs.get('pairs', '?')}, each asked in both orders; criteria: {', '.join(ov.criteria) or '-'}",
    ]
    for j in ov.judges:
        unscored = ", ".join(f"{k} {v}" for k, v in j.unscored.items()) or "none"
        share = f"{j.position_consistency:.0%}" if j.position_consistency is not None else "n/a"
        lines += [
            f"  judge {j.judge} ({j.model}): {j.records} verdicts, {j.scored} answered, unscored {unscored}"
            + (f", cost {j.cost}" if j.cost else ""),
            f"    shown first chosen {j.verdicts['first']}, second {j.verdicts['second']}, tie {j.verdicts['tie']}; "
            f"position consistency {share} of {j.pairs_both_orders} pairs in both orders"
            + (f"; mean P(first better) {j.mean_p_first:.2f}" if j.mean_p_first is not None else ""),
        ]
    if ov.agreement:
        lines.append("  agreement with the experts' preferences (accuracy on decided pairs, linear kappa; 95% CI):")
        for a in ov.agreement:
            lines.append(
                f"    {a.criterion:<26} {a.name:<28} n={a.n_decided:<4} accuracy {_num(a.accuracy, a.accuracy_ci)}  "
                f"kappa {_num(a.kappa, a.kappa_ci)}"
            )
    lines += [f"  note: {n}" for n in ov.notes]
    return "\n".join(lines) + "\n"
