"""The model-free half of the pairwise validity benchmark: what the experts' preferences and GPT-4's released
scores say on RESORT, before any pairwise judge is run.

For each criterion: how many pairs of comparable rated replies the experts decide at each margin; the experts'
pairwise ceiling (one expert's preference against another's); and a reference judge's absolute scores (GPT-4's
released judgments) turned into preferences, against the experts' preferences, beside the chance rows. Both on
every comparable pair and on the fixed validity pairs (``judge.analysis.pairwise.validity_pairs``), and on the
pairs the reference judge scored (the ceiling restricted to them: GPT-4's released judgments cover only some items).

Run (after ``judge import resort`` and ``judge import judgments`` of the release's GPT-4 outputs, README tour)::

    python -m benchmarks.validity.pairwise_experts --benchmark bench/resort --reference-run runs/gpt4

Prints a markdown summary (``--json PATH`` also writes every result model); it reads no model and takes seconds.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
from pathlib import Path
from typing import Any

from judge.analysis.inputs import load_inputs
from judge.analysis.pairwise import (
    CriterionPairwise,
    PairwiseRow,
    expert_preferences,
    pairwise_agreement,
    preferences_from_scores,
    validity_pairs,
)
from judge.analysis.scores import read_judges
from judge.analysis.stats.preference import PostEstimate
from judge.fileio import write_json

CRITERIA = ("alignment_with_standards", "empathy")


def measure(
    benchmark: str | Path,
    reference_run: str | Path | None,
    *,
    margin: float = 0.0,
    per_group: int = 3,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Every figure of the summary, as JSON-ready dicts: criterion -> scope -> result."""
    inp = load_inputs(benchmark, criteria=list(CRITERIA))
    bench = inp.bench
    ref = read_judges(reference_run, inp.rubrics, bench=bench)[0] if reference_run else None
    chosen = validity_pairs(bench, per_group=per_group, seed=seed, criteria=CRITERIA)
    out: dict[str, Any] = {"benchmark": bench.name, "margin": margin, "per_group": per_group, "criteria": {}}
    for crit in CRITERIA:
        experts = expert_preferences(bench, crit, margin=margin)
        valid = experts.restricted([(v.item_a, v.item_b) for v in chosen if v.criterion == crit])
        scopes = {"all pairs": experts, "validity pairs": valid}
        prefs = []
        if ref is not None:
            prefs = preferences_from_scores(
                bench,
                ref.scores.get(crit, {}),
                crit,
                judge=ref.name,
                pairs=[(p.item_a, p.item_b) for p in experts.pairs],
            )
            scored = [(p.item_a, p.item_b) for p in prefs if p.verdict_ab is not None]
            scopes[f"pairs {ref.name} scored"] = experts.restricted(scored)
        out["criteria"][crit] = {
            scope: pairwise_agreement(e, prefs, n_boot=n_boot, seed=seed).criteria[0].model_dump(mode="json")
            for scope, e in scopes.items()
        }
    return out


def _f(est: PostEstimate | None) -> str:
    if est is None or est.value is None:
        return "—"

    def num(x: float) -> str:
        return f"{x + 0.0:.2f}".replace("-0.00", "0.00")  # a rounding of a tiny negative is still 0

    ci = f" [{num(est.ci[0])}, {num(est.ci[1])}]" if est.ci else ""
    return f"{num(est.value)}{ci}"


def render(result: dict[str, Any]) -> str:
    lines = [f"# Pairwise validity, model-free: {result['benchmark']} (margin {result['margin']:g})", ""]
    for crit, scopes in result["criteria"].items():
        lines += [f"## {crit}", ""]
        first = CriterionPairwise.model_validate(next(iter(scopes.values())))
        lines += [
            "| margin | pairs | decided (experts' means) | expert x pair | decided (single expert) |",
            "|---|---|---|---|---|",
        ]
        for m in first.by_margin:
            lines.append(f"| {m.margin:g} | {m.n_pairs} | {m.n_decided} | {m.n_rater_pairs} | {m.n_rater_decided} |")
        for scope, data in scopes.items():
            c = CriterionPairwise.model_validate(data)
            lines += [
                "",
                f"### {scope}: {c.n_pairs} pairs ({c.n_decided} decided) from {c.n_posts} posts",
                "",
                "| row | pairs | ties | accuracy | kappa (linear) | Cohen's kappa | kappa vs each expert "
                "| consistency |",
                "|---|---|---|---|---|---|---|---|",
            ]
            rows: list[PairwiseRow] = [c.ceiling, *c.rows]
            for r in rows:
                ties = "—" if r.tie_share is None else f"{r.tie_share:.2f}"
                lines.append(
                    f"| {r.name} | {r.n_pairs - r.n_unscored} | {ties} | {_f(r.accuracy)} | {_f(r.kappa)} | "
                    f"{_f(r.cohen_kappa)} | {_f(r.vs_each_expert)} | {_f(r.consistency)} |"
                )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validity.pairwise_experts", description=__doc__)
    ap.add_argument("--benchmark", required=True)
    ap.add_argument("--reference-run", help="a run of absolute scores to turn into preferences (GPT-4's released)")
    ap.add_argument("--margin", type=float, default=0.0)
    ap.add_argument("--per-group", type=int, default=3, help="validity pairs per post x dimension group")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write every result here")
    args = ap.parse_args(argv)
    result = measure(
        args.benchmark,
        args.reference_run,
        margin=args.margin,
        per_group=args.per_group,
        n_boot=args.n_boot,
        seed=args.seed,
    )
    if args.json:
        write_json(args.json, result)
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
