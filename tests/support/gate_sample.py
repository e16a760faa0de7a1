"""A gate report that takes every branch of the gate's renderers: a regression (with a threshold and a noise floor),
a pass, a criterion with no data, a response-length change and notes. Its files as written before the renderers
moved behind ``judge.report`` are kept in ``gate_golden/``: the move must not change a byte."""

from __future__ import annotations

from pathlib import Path

from judge.jobs.gate import CriterionResult, GateConfig, GateReport, LengthChange
from judge.jobs.gate_pairwise import PairwiseCriterionResult, PairwiseGateReport

GOLDEN = Path(__file__).parent / "gate_golden"


def sample_gate_report() -> GateReport:
    return GateReport(
        baseline="ci/baseline.json",
        candidate="runs/pr <b>&amp;",
        judge={"model": "openai/gpt-4o-mini", "rubrics": {"empathy": "resort/empathy@1"}},
        config=GateConfig(n_boot=500, seed=3, alpha=0.1, thresholds={"empathy": 0.25}),
        inputs_baseline=40,
        inputs_candidate=38,
        inputs_shared=37,
        overlap=0.925,
        results=[
            CriterionResult(
                criterion="empathy",
                direction="higher",
                status="regression",
                n_pairs=37,
                n_posts=12,
                unscored_baseline=1,
                unscored_candidate=2,
                mean_baseline=6.8125,
                mean_candidate=5.9,
                diff=-0.9125,
                improvement=-0.9125,
                ci_low=-1.31,
                ci_high=-0.52,
                threshold=0.25,
                noise_floor=0.4,
                margin=0.4,
                reason="CI [-1.310, -0.520] lies below -0.400",
            ),
            CriterionResult(
                criterion="harmfulness",
                direction="lower",
                status="pass",
                n_pairs=37,
                n_posts=12,
                mean_baseline=1.5,
                mean_candidate=1.25,
                diff=-0.25,
                improvement=0.25,
                ci_low=-0.1,
                ci_high=0.6,
                threshold=0.5,
                noise_floor=None,
                margin=0.5,
            ),
            CriterionResult(
                criterion='alignment "x" <y>',
                direction="higher",
                status="no_data",
                n_pairs=0,
                threshold=0.5,
                margin=0.5,
                reason="no input scored on both sides",
            ),
        ],
        length=LengthChange(n=37, mean_baseline=412.0, mean_candidate=530.5, change=0.2876),
        notes=["responses grew 29% longer while a score rose", "noise floor unmeasured for harmfulness"],
    )


def write_golden() -> None:  # run once, with the code of before the move, to make gate_golden/
    import json

    from judge.jobs.gate import render_json, render_junit, render_markdown

    report = sample_gate_report()
    GOLDEN.mkdir(exist_ok=True)
    (GOLDEN / "gate.md").write_text(render_markdown(report), encoding="utf-8")
    (GOLDEN / "gate.xml").write_text(render_junit(report), encoding="utf-8")
    text = json.dumps(render_json(report), indent=2, ensure_ascii=False, default=str) + "\n"  # as print_json writes
    (GOLDEN / "gate.json").write_text(text, encoding="utf-8")


def sample_pairwise_gate_report() -> PairwiseGateReport:
    """A pairwise gate report taking every branch of its renderers: a regression, a pass, a criterion that could not
    be checked, a length change and notes."""
    from judge.analysis.stats.preference import PostEstimate
    from judge.jobs.gate import PairwiseGateConfig

    def est(value: float, lo: float, hi: float, n: int) -> PostEstimate:
        return PostEstimate(value=value, ci=(lo, hi), n=n, n_posts=12)

    return PairwiseGateReport(
        run="out/pairs <b>&amp;",
        judge={"name": "gpt", "model": "openai/gpt-4o-mini", "params": {"temperature": 0.0}},
        candidate="candidate",
        baseline="baseline",
        generated={
            "candidate": "out/candidates (openai/app / vanilla / app-reply#1a2b)",
            "baseline": "ci/baseline-replies (openai/app / vanilla / app-reply#3c4d)",
        },
        config=GateConfig(n_boot=500, seed=3, alpha=0.1, pairwise=PairwiseGateConfig(margins={"empathy": 0.1})),
        inputs_candidate=24,
        inputs_baseline=25,
        inputs_shared=24,
        overlap=0.96,
        results=[
            PairwiseCriterionResult(
                criterion="empathy",
                status="regression",
                n_pairs=23,
                n_posts=12,
                unscored=1,
                one_order=2,
                wins=4,
                ties=3,
                losses=16,
                win_rate=0.2391,
                ci_low=0.1304,
                ci_high=0.3696,
                margin=0.1,
                consistency=est(0.7143, 0.5238, 0.881, 21),
                first_shown=est(0.55, 0.42, 0.68, 40),
                reason="the whole 90% CI of the win rate [0.130, 0.370] is below 0.400",
            ),
            PairwiseCriterionResult(
                criterion="harmfulness",
                status="pass",
                n_pairs=24,
                n_posts=12,
                wins=2,
                ties=20,
                losses=2,
                win_rate=0.5,
                ci_low=0.4375,
                ci_high=0.5625,
                margin=0.05,
                consistency=est(0.9167, 0.8333, 1.0, 24),
                first_shown=None,
                reason="the 90% CI of the win rate [0.438, 0.562] reaches 0.450 or above",
            ),
            PairwiseCriterionResult(
                criterion='alignment "x" <y>',
                status="no_data",
                n_pairs=3,
                n_posts=2,
                unscored=21,
                wins=1,
                ties=1,
                losses=1,
                win_rate=0.5,
                margin=0.05,
                reason="21 of 24 pairs (88%) are unscored in both orders, more than max_unscored 10%",
            ),
        ],
        length=LengthChange(n=24, mean_baseline=412.0, mean_candidate=530.5, change=0.2876),
        notes=["the run has 3 samples per pair; the gate reads the first (sample 0)"],
    )


def write_pairwise_golden() -> None:  # run once to make gate_golden/pairwise_gate.*; a change of layout re-runs it
    from judge.report.write import render

    report = sample_pairwise_gate_report()
    for fmt, name in (("md", "pairwise_gate.md"), ("junit", "pairwise_gate.xml"), ("json", "pairwise_gate.json")):
        (GOLDEN / name).write_text(render(report, fmt), encoding="utf-8")


if __name__ == "__main__":
    write_golden()
