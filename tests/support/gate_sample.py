"""A gate report that takes every branch of the gate's renderers: a regression (with a threshold and a noise floor),
a pass, a criterion with no data, a response-length change and notes. Its files as written before the renderers
moved behind ``judge.report`` are kept in ``gate_golden/``: the move must not change a byte."""

from __future__ import annotations

from pathlib import Path

from judge.jobs.gate import CriterionResult, GateConfig, GateReport, LengthChange

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


if __name__ == "__main__":
    write_golden()
