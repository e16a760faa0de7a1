"""Run the validity benchmark: ``python -m benchmarks.validity --benchmark bench/resort --reference-run runs/gpt4``.

See ``benchmarks/validity/__init__.py`` for what is measured. Writes ``reports/validity/validity.{json,md}``.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import platform
import time
from pathlib import Path
from typing import Any

from benchmarks.validity import Scores, cross_fitted_choice, histogram, select_items, strata_counts
from judge.analysis.agreement import agreement_report
from judge.analysis.experts import expert_means
from judge.analysis.scores import read_judges
from judge.data import Benchmark
from judge.data.benchmark import load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.cache import default_cache_dir
from judge.engine.judge_spec import judge_from_model
from judge.engine.plan import RunConfig
from judge.engine.prompt import COMPACT_VARIANTS, DEFAULT_COMPACT_VARIANT
from judge.engine.runner import run_judging
from judge.engine.store import iter_records
from judge.fileio import write_json, write_text

OUT = Path(__file__).resolve().parents[2] / "reports" / "validity"


def subset(bench: Benchmark, ids: list[str]) -> Benchmark:
    keep = set(ids)
    return bench.model_copy(
        update={
            "items": {i: it for i, it in bench.items.items() if i in keep},
            "ratings": [r for r in bench.ratings if r.item_id in keep],
        }
    )


def run_variant(
    bench: Benchmark, rubrics: dict[str, Any], ids: list[str], model: str, variant: str, runs: Path
) -> tuple[dict[str, dict[str, Scores]], dict[str, Any]]:
    """Judge the items with one prompt variant; returns scoring -> criterion -> item -> score, and timing."""
    spec = judge_from_model(model).model_copy(update={"prompt_variant": variant, "name": f"{model}:{variant}"})
    out = runs / f"{model.replace('/', '_')}-{variant}"
    t0 = time.monotonic()
    summary = run_judging(
        RunConfig(benchmark=bench, rubrics=rubrics, judges=[spec], out=out, item_ids=ids, concurrency=4)
    )
    seconds = time.monotonic() - t0
    by: dict[str, dict[str, Scores]] = {"answer": {}, "expected": {}}
    for j in iter_records(out):
        if j.item_id not in set(ids):
            continue
        by["answer"].setdefault(j.criterion, {})[j.item_id] = j.answer_score
        by["expected"].setdefault(j.criterion, {})[j.item_id] = j.score if j.distribution else None
    calls = int(getattr(summary, "model_calls", 0) or 0)
    return by, {"seconds": round(seconds, 1), "model_calls": calls, "items": len(ids), "run": str(out)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validity", description=__doc__)
    ap.add_argument("--benchmark", required=True, help="an expert-rated benchmark (e.g. judge import resort ...)")
    ap.add_argument("--reference-run", help="a run of a reference judge on it (e.g. GPT-4's imported judgments)")
    ap.add_argument(
        "--judge", default="local/qwen2.5-1.5b", help="the judge measured (default: the embedded one; none: no judge)"
    )
    ap.add_argument("--variants", default=",".join(COMPACT_VARIANTS), help="compact prompt variants to compare")
    ap.add_argument("--rubrics", help="rubric set (default: the bundled RESORT rubrics)")
    ap.add_argument("--criteria", default="alignment_with_standards,empathy", help="criteria reported")
    ap.add_argument("--items", type=int, default=60, help="size of the fixed stratified subset (0: none)")
    ap.add_argument("--folds", type=int, default=5, help="post folds of the cross-fitted choice")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--runs", type=Path, default=default_cache_dir() / "validity-runs", help="where runs are kept")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--render", action="store_true", help="only write validity.md again from validity.json")
    args = ap.parse_args(argv)
    if args.render:
        import json

        write_text(args.out / "validity.md", render(json.loads((args.out / "validity.json").read_text())))
        return 0

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
    bench = load_benchmark(args.benchmark, known_criteria=rubrics)
    criteria = [c for c in args.criteria.split(",") if c]
    rated = select_items(bench, criteria, None)
    fixed = select_items(bench, criteria, args.items) if args.items else []
    print(f"{len(rated)} rated items from {len({bench.items[i].post_id for i in rated})} posts", flush=True)

    judges: dict[str, dict[str, Scores]] = {}
    timing: dict[str, Any] = {}
    variants = [v for v in args.variants.split(",") if v] if args.judge != "none" else []
    for variant in variants:
        by, timing[variant] = run_variant(bench, rubrics, rated, args.judge, variant, args.runs)
        print(f"variant {variant}: {timing[variant]}", flush=True)
        for scoring, scores in by.items():
            judges[f"embedded {variant} / {scoring}"] = scores
    reference = None
    if args.reference_run:
        (ref,) = read_judges(args.reference_run, rubrics)[:1]
        reference = f"reference: {ref.name}"
        judges[reference] = {c: dict(ref.scores.get(c, {})) for c in criteria}
    sets = {"all rated items": rated}
    if fixed:
        sets[f"fixed subset ({len(fixed)} items)"] = fixed
    results: dict[str, Any] = {}
    for c in criteria:
        results[c] = {}
        for label, ids in sets.items():
            results[c][label] = evaluate(bench, rubrics, judges, c, ids, args)
            ref_ids = [i for i in ids if reference and judges[reference][c].get(i) is not None]
            if reference and len(ref_ids) < len(ids):
                results[c][f"{label}, only the reference's {len(ref_ids)}"] = evaluate(
                    bench, rubrics, judges, c, ref_ids, args
                )
    result = {
        "benchmark": bench.name,
        "judge": args.judge,
        "items": len(rated),
        "posts": len({bench.items[i].post_id for i in rated}),
        "subset": {"items": len(fixed), "strata": strata_counts(bench, fixed)} if fixed else None,
        "criteria": criteria,
        "variants": {v: COMPACT_VARIANTS[v] for v in variants},
        "shipped_variant": DEFAULT_COMPACT_VARIANT,
        "n_boot": args.n_boot,
        "timing": timing,
        "results": results,
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "validity.json", result)
    write_text(args.out / "validity.md", render(result))
    print(render(result))
    return 0


def evaluate(
    bench: Benchmark,
    rubrics: dict[str, Any],
    judges: dict[str, dict[str, Scores]],
    c: str,
    ids: list[str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Every row on one item set of one criterion: the judges (and the cross-fitted choice among the embedded
    candidates), the baselines, chance and the ceiling, all on these items, CIs over posts."""
    keep = set(ids)
    sub = subset(bench, ids)
    truth = expert_means(sub).get(c, {})
    on = {name: {c: {i: s for i, s in per.get(c, {}).items() if i in keep}} for name, per in judges.items()}
    candidates = {name: per[c] for name, per in on.items() if name.startswith("embedded")}
    selection = None
    if candidates:
        selection = cross_fitted_choice(sub, candidates, truth, ids, k=args.folds)
        on["embedded, cross-fitted choice (held out)"] = {c: selection.pop("held_out_scores")}
    report = agreement_report(sub, rubrics, judges=on, n_boot=args.n_boot, criteria=[c], resample="posts")
    ca = report.criteria[c]
    points = [p.value for p in rubrics[c].scale]
    rows: dict[str, Any] = {
        "experts (ceiling)": {
            "kind": "experts",
            "headline": ca.experts.headline.model_dump(),
            "n_items": ca.experts.n_items,
        }
    }
    for name, ja in ca.judges.items():
        vals = [v for v in on.get(name, {}).get(c, {}).values() if v is not None]
        rows[name] = {
            "kind": ja.kind,
            "headline": ja.headline.model_dump(),
            "spearman": ja.spearman.model_dump() if ja.spearman else None,
            "bias": ja.bias.model_dump() if ja.bias else None,
            "not_better_than_length": None if ja.vs_length is None else ja.vs_length.not_better,
            "n_items": ja.n_items,
            "unscored": ja.unscored,
            "scale_use": histogram(vals, points) if vals and ja.kind == "judge" else None,
        }
    return {
        "items": len(ids),
        "posts": len({bench.items[i].post_id for i in ids}),
        "rows": rows,
        "selection": selection,
    }


def _fmt(est: dict[str, Any] | None) -> str:
    if not est or est.get("value") is None:
        return "-"
    ci = est.get("ci")
    return f"{est['value']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def render(r: dict[str, Any]) -> str:
    sub = r.get("subset")
    strata = ", ".join(f"{v} strata give {k}" for k, v in sub["strata"].items()) if sub else ""
    lines = [
        "# Validity of the embedded judge against the psychologists",
        "",
        f"Benchmark `{r['benchmark']}`: all {r['items']} expert-rated items from {r['posts']} posts"
        + (
            f", and a fixed subset of {sub['items']} chosen by `benchmarks.validity.select_items` (round-robin over "
            f"post x appraisal dimension, fixed seed; the strata are unequal: {strata})."
            if sub
            else "."
        ),
        f"Judge: `{r['judge']}`"
        + (
            f", compact prompts (`judge.engine.prompt`), variants {', '.join(r['variants'])}; the shipped default is "
            f"`{r['shipped_variant']}`. *answer* is the value the judge wrote (its argmax); *expected* the mean of "
            "the scale under its probabilities."
            if r["variants"]
            else " (not run in this report: see the command below)."
        ),
        "Every table is on one set of items, the same for every row. Headline: pairwise kappa over judge-expert "
        f"pairs (`judge agree`); 95% CIs resample whole posts ({r['n_boot']} resamples). The experts' own figure is "
        "the ceiling, the chance rows are 0 by construction, the baseline rows are the reply's length put on the "
        "experts' scale by rank. 'vs length': 'not better' when the judge's headline or Spearman CI does not clear "
        "the length rows on its items.",
        "Reproduce: `python -m benchmarks.validity --benchmark bench/resort --reference-run runs/gpt4`"
        " (`--judge none`: every row but the embedded judge's, no model).",
        "",
    ]
    for c in r["criteria"]:
        lines += [f"## {c}", ""]
        for label, res in r["results"][c].items():
            lines += [f"### {label}: {res['items']} items, {res['posts']} posts", ""]
            lines += ["| row | headline [95% CI] | Spearman [95% CI] | bias | vs length | items | scale use |"]
            lines += ["| :--- | ---: | ---: | ---: | :--- | ---: | :--- |"]
            for name, row in res["rows"].items():
                use = row.get("scale_use")
                use_text = " ".join(f"{k}:{v}" for k, v in use.items() if v) if use else ""
                nb = row.get("not_better_than_length")
                vs = {True: "not better", False: "better", None: "?"}[nb] if row["kind"] == "judge" else "-"
                lines.append(
                    f"| {name} | {_fmt(row.get('headline'))} | {_fmt(row.get('spearman'))} | "
                    f"{_fmt(row.get('bias'))} | {vs} | {row.get('n_items', '-')} | {use_text} |"
                )
            sel = res.get("selection")
            if sel:
                lines += [
                    "",
                    f"Cross-fitted choice among variant x scoring ({len(sel['folds'])} folds of whole posts): chosen "
                    + ", ".join(f"{k} in {v} folds" for k, v in sel["chosen_counts"].items())
                    + f"; held-out Spearman {_fmt({'value': sel['held_out_spearman']})}, against"
                    f" {_fmt({'value': sel['in_sample_best']['spearman']})} in-sample for the best candidate"
                    f" ({sel['in_sample_best']['candidate']}): the gap is the optimism of choosing on the same items.",
                ]
            lines.append("")
    if r["timing"]:
        lines += ["## Time", ""]
        for v, t in r["timing"].items():
            per = t["seconds"] / max(1, t["model_calls"])
            lines.append(
                f"- {v}: {t['seconds']} s for {t['model_calls']} model calls ({per:.1f} s per call; the other "
                "judgments of its items came from the reply cache)."
            )
        lines.append("(Speed is measured on its own in reports/perf/local_models.md; these runs shared the machine.)")
    lines += ["", f"Machine: {r['machine']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
