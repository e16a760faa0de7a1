"""A pairwise judge measured on the validity pairs: agreement with the experts' preferences beside their ceiling
and chance, position consistency, and the time per pair (issue 28, point 4's "done when").

The pairs are the fixed stratified validity set (``judge.analysis.pairwise.validity_pairs``: every post x dimension
group of both criteria, balanced over the experts' margin). Each is judged in both orders through the engine
(``judge run --task pairwise``: cached and resumable, so an interrupted measurement continues), then read as
preferences and measured against the experts'. With ``--reference-run`` a judge's absolute scores (e.g. GPT-4's
released judgments) are turned into preferences on the same pairs, for comparison.

Run on a quiet machine (the embedded judge is timed; other work on the cores slows it several-fold)::

    python -m benchmarks.validity.pairwise_judge --benchmark bench/resort --judge local \\
        --reference-run runs/gpt4 --out runs/validity-pairwise --report reports/validity/pairwise.md

``--limit N`` judges the first N pairs only (a smoke test; the report then says so).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judge.analysis.inputs import load_inputs
from judge.analysis.pairwise import (
    PairwiseAgreement,
    PairwiseRow,
    expert_preferences,
    pairwise_agreement,
    preferences_from_scores,
    validity_pairs,
)
from judge.analysis.pairwise.runs import run_preferences, run_records
from judge.analysis.scores import read_judges
from judge.analysis.stats.preference import PostEstimate
from judge.engine.judge_spec import resolve_judges
from judge.engine.pairwise import PairPlan, PairwiseTask
from judge.engine.plan import RunConfig
from judge.engine.runner import run_judging
from judge.fileio import write_text

CRITERIA = ("alignment_with_standards", "empathy")


def measure(
    benchmark: str | Path,
    judge: str,
    out: str | Path,
    *,
    api_base: str | None = None,
    reference_runs: Sequence[str | Path] = (),
    per_group: int = 3,
    limit: int | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    concurrency: int = 1,
    time_note: str = "",
) -> dict[str, Any]:
    """Judge the validity pairs in both orders and measure the judge; returns what ``render`` writes."""
    inp = load_inputs(benchmark, criteria=list(CRITERIA))
    bench = inp.bench
    chosen = validity_pairs(bench, per_group=per_group, seed=seed, criteria=CRITERIA)
    if limit is not None:
        chosen = chosen[:limit]
    ids = list(dict.fromkeys(i for v in chosen for i in (v.item_a, v.item_b)))
    judges = resolve_judges([judge], api_base, {"temperature": 0.0, "max_tokens": 200})
    cfg = RunConfig(
        benchmark=bench,
        rubrics={c: inp.rubrics[c] for c in CRITERIA},
        judges=judges,
        out=Path(out),
        item_ids=ids,
        cache_dir=Path(cache_dir) if cache_dir else None,
        concurrency=concurrency,
        task=PairwiseTask(PairPlan.of([(v.item_a, v.item_b, v.criterion) for v in chosen])),
        command=["python", "-m", "benchmarks.validity.pairwise_judge"],
    )
    t0 = time.monotonic()
    summary = run_judging(cfg)
    wall = time.monotonic() - t0
    prefs = run_preferences(out, bench)
    sets = []
    for crit in CRITERIA:
        mine = [(v.item_a, v.item_b) for v in chosen if v.criterion == crit]
        if mine:
            sets.append(expert_preferences(bench, crit).restricted(mine))
    for reference_run in reference_runs:
        for ref in read_judges(reference_run, inp.rubrics, bench=bench):
            for e in sets:
                prefs += preferences_from_scores(
                    bench, ref.scores.get(e.criterion, {}), e.criterion, judge=f"{ref.name} (scores)",
                    pairs=[(p.item_a, p.item_b) for p in e.pairs],
                )  # fmt: skip
    result = pairwise_agreement(sets, prefs, n_boot=n_boot, seed=seed)
    # The time per pair from the records' own latencies (answers that were really asked, in whichever invocation),
    # so a report re-rendered from the cache keeps the time measured when the calls were made.
    wanted = {(v.item_a, v.item_b, v.criterion) for v in chosen}
    asked = [r for r in run_records(out) if (r.item_a, r.item_b, r.criterion) in wanted and not r.cache_hit]
    calls = len(asked)
    latency = sum(r.latency_s or 0.0 for r in asked)
    return {
        "judge": judges[0].name,
        "model": judges[0].model,
        "pairs": len(chosen),
        "limited": limit is not None,
        "per_group": per_group,
        "judgments": summary.judgments,
        "unscored": summary.unscored,
        "calls": calls,
        "cache_hits": summary.cache_hits,
        "wall_s": round(wall, 2),
        "latency_s": round(latency, 2),
        "s_per_pair": round(latency / len(chosen), 2) if chosen and calls == 2 * len(chosen) else None,
        "time_note": time_note,
        "position": summary.task_summary.get("position", {}),
        "agreement": result.model_dump(mode="json"),
    }


def _f(est: PostEstimate | None) -> str:
    if est is None or est.value is None:
        return "—"
    ci = f" [{est.ci[0] + 0.0:.2f}, {est.ci[1] + 0.0:.2f}]" if est.ci else ""
    return f"{est.value + 0.0:.2f}{ci}"


def render(m: dict[str, Any]) -> str:
    """The report (markdown)."""
    res = PairwiseAgreement.model_validate(m["agreement"])
    scope = f"the first {m['pairs']} validity pairs (--limit: a smoke test, not a result)" if m["limited"] else (
        f"the {m['pairs']} validity pairs ({m['per_group']} per post x dimension group, both criteria)"
    )  # fmt: skip
    timing = (
        f"{m['s_per_pair']:.2f} s per pair (both orders; {m['latency_s']:.1f} s of calls, {m['calls']} calls)"
        + (f"; {m['time_note']}" if m.get("time_note") else "")
        if m["s_per_pair"] is not None
        else f"not measured: {m['calls']} of the {2 * m['pairs']} answers were asked, the others came from a "
        "cache; run with a new --cache-dir"
    )
    lines = [
        f"# Pairwise judge against the experts: {m['judge']} ({m['model']})",
        "",
        f"Measured on {scope}, each asked in both orders: {m['judgments']} verdicts, unscored "
        f"{sum(m['unscored'].values())} ({', '.join(f'{k} {v}' for k, v in m['unscored'].items()) or 'none'}).",
        "",
        f"- Time: {timing}.",
    ]
    for judge, p in m["position"].items():
        share = "—" if p.get("consistency") is None else f"{p['consistency']:.2f}"
        lines.append(
            f"- Position consistency of {judge}: {share} ({p['consistent']} of {p['pairs']} pairs gave the same "
            f"verdict in both orders; the reply shown first chosen {p['first_chosen']} times, second "
            f"{p['second_chosen']}, tie {p['ties']})."
        )
    lines += ["", "Generated by `python -m benchmarks.validity.pairwise_judge`; do not edit by hand.", ""]
    for c in res.criteria:
        lines += [
            f"## {c.criterion}: {c.n_pairs} pairs ({c.n_decided} decided by the experts' means) from {c.n_posts} posts",
            "",
            "| row | pairs | ties | accuracy | kappa (linear) | Cohen's kappa | consistency | first chosen |",
            "|---|---|---|---|---|---|---|---|",
        ]
        rows: list[PairwiseRow] = [c.ceiling, *c.rows]
        for r in rows:
            ties = "—" if r.tie_share is None else f"{r.tie_share:.2f}"
            lines.append(
                f"| {r.name} | {r.n_pairs - r.n_unscored} | {ties} | {_f(r.accuracy)} | {_f(r.kappa)} | "
                f"{_f(r.cohen_kappa)} | {_f(r.consistency)} | {_f(r.first_share)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validity.pairwise_judge", description=__doc__)
    ap.add_argument("--benchmark", required=True, help="the imported RESORT benchmark (judge import resort)")
    ap.add_argument("--judge", default="local", help="judge model string or .toml config (default: local)")
    ap.add_argument("--api-base", help="OpenAI-compatible server of the judge")
    ap.add_argument(
        "--reference-run",
        action="append",
        default=[],
        help="a run of absolute scores to compare, turned into preferences on the same pairs (repeatable: e.g. "
        "GPT-4's released scores, and the same judge's own scores: does asking pairwise beat scoring?)",
    )
    ap.add_argument("--out", required=True, help="the pairwise run directory (resumed if it exists)")
    ap.add_argument("--report", type=Path, help="write the markdown report here (default: print it)")
    ap.add_argument("--per-group", type=int, default=3, help="validity pairs per post x dimension group (3)")
    ap.add_argument("--limit", type=int, help="only the first N pairs (a smoke test)")
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", help="reply cache (a fresh one times every call)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--time-note", default="", help="said beside the time (e.g. what else the machine was doing)")
    args = ap.parse_args(argv)
    m = measure(
        args.benchmark, args.judge, args.out, api_base=args.api_base, reference_runs=args.reference_run,
        per_group=args.per_group, limit=args.limit, n_boot=args.n_boot, seed=args.seed, cache_dir=args.cache_dir,
        concurrency=args.concurrency, time_note=args.time_note,
    )  # fmt: skip
    text = render(m)
    if args.report:
        write_text(args.report, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
