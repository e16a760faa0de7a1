"""``judge calibrate``: map a judge's scores onto the experts' scale, validated on held-out posts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from judge.cli._common import (
    MAX_SEED,
    add_analysis_options,
    add_parser,
    bounded,
    n_boot_type,
    one_blas_thread,
    print_json,
    say,
)


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "calibrate",
        "map a judge's scores onto the experts' scale (isotonic or linear), checked on held-out posts",
        "Fit a monotone map from a judge's score (its mean over samples) to the expert mean per item, and report\n"
        "held-out bias, MAE, Spearman and agreement with the experts (pairwise kappa, the headline of judge agree)\n"
        "before and after, by K-fold cross-fitting grouped by post (a post is never in both the fitting and the\n"
        "test fold), with 95% CIs clustered by post. The held-out effect is one definition everywhere (the judge\n"
        "board quotes it): the change of the kappa at the criterion's level, calibrated minus raw, within folds.\n"
        "Calibration can fix bias and a compressed scale; it cannot improve ranking. The verdict says which.\n"
        "The calibrator is saved as JSON naming the judge model, parameters, rubrics and prompt it is valid for.",
        "  judge calibrate --benchmark bench/resort --run runs/gpt4 --out cal/gpt4.json\n"
        "  judge calibrate --benchmark bench/resort --run runs/gpt4 --method linear --criteria empathy \\\n"
        "                  --folds 10 --seed 1 --out cal/gpt4-linear.json --json\n"
        "  judge calibrate --benchmark bench/resort --run runs/gpt4 --out cal/gpt4.json --report reports/cal-gpt4\n",
    )
    p.add_argument("--benchmark", required=True, help="benchmark directory with expert ratings (ratings.jsonl)")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="run directory written by 'judge run' or 'import'")
    p.add_argument("--rubrics", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--judge", help="which judge of the run (default: the run's only judge)")
    p.add_argument("--method", choices=["isotonic", "linear"], default="isotonic", help="default isotonic")
    p.add_argument("--criteria", nargs="+", help="only these criteria (default: every ordered criterion rated)")
    add_analysis_options(p)
    p.add_argument(
        "--folds", type=bounded(int, 2, 1000), default=5, help="cross-fitting folds, grouped by post (default 5)"
    )
    p.add_argument(
        "--seed", type=bounded(int, 0, MAX_SEED), default=0, help="fixes the folds and the bootstrap (default 0)"
    )
    p.add_argument("--n-boot", type=n_boot_type(), default=1000, help="bootstrap resamples for the CIs (default 1000)")
    p.add_argument("--out", required=True, metavar="CALIBRATOR", help="calibrator file to write (JSON)")
    p.add_argument(
        "--report",
        metavar="DIR",
        help="also write calibration.md and calibration.html into DIR: the held-out tables and, per criterion, "
        "reliability diagrams of the raw and the cross-fitted calibrated score against the experts' mean",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _criteria(
    args: argparse.Namespace, scores: dict[str, Any], rubrics: dict[str, Any], rated: set[str], levels: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The criteria to calibrate, and why any others were skipped."""
    from judge.errors import InputError, Problem

    if args.criteria:
        problems = [
            Problem("--criteria", f"{c!r}: {why}")
            for c in args.criteria
            for why in [
                "not scored in this run" if c not in scores else "",
                "no rubric for it" if c not in rubrics else "",
                "no expert ratings in the benchmark" if c not in rated else "",
            ]
            if why
        ]
        if problems:
            raise InputError(problems)
        return list(args.criteria), {}
    skipped: dict[str, str] = {}
    chosen = []
    for c in sorted(scores):
        if c not in rubrics:
            skipped[c] = "no rubric"
        elif c not in rated:
            skipped[c] = "no expert ratings"
        elif levels.get(c, rubrics[c].level) == "nominal":
            skipped[c] = "nominal scale: a monotone map needs ordered values"
        else:
            chosen.append(c)
    if not chosen:
        raise InputError(Problem(str(args.run), f"no criterion can be calibrated: {skipped}"))
    return chosen, skipped


def _numbers(metrics: Any) -> dict[str, float | None]:
    return {name: m and m["value"] for name, m in metrics.model_dump(mode="json").items()}


def _cis(metrics: Any) -> dict[str, list[float] | None]:
    return {name: m and m["ci"] for name, m in metrics.model_dump(mode="json").items()}


def run(args: argparse.Namespace) -> int:
    one_blas_thread()
    from judge.analysis.calibration import fit_calibrator
    from judge.analysis.experts import same_rater_warnings
    from judge.analysis.inputs import load_inputs
    from judge.analysis.scores import check_on_scale, check_rubrics, pick_judge
    from judge.engine.store import check_run_benchmark, load_run_manifest, load_run_scores
    from judge.report import write_report
    from judge.report.calibration import calibration_document
    from judge.report.text import render_text
    from judge.terminal import output_width

    manifest = load_run_manifest(args.run)
    all_scores = load_run_scores(args.run)
    judge = pick_judge(all_scores, args.judge, args.run)
    spec = manifest.judges.get(judge, {})
    inp = load_inputs(args.benchmark, args.rubrics, exclude_raters=args.exclude_rater, levels=args.level)
    bench, rubrics = inp.bench, inp.rubrics
    check_run_benchmark(args.run, bench)
    rated = {r.criterion for r in bench.ratings}
    criteria, skipped = _criteria(args, all_scores[judge], rubrics, rated, dict(inp.levels))
    check_rubrics(args.run, manifest, rubrics, criteria=criteria)
    check_on_scale(args.run, {judge: {c: all_scores[judge][c] for c in criteria}}, rubrics)
    for w in same_rater_warnings(bench, {judge: ([str(spec.get("model", ""))], all_scores[judge])}, criteria):
        print(f"WARNING: {w}", file=sys.stderr)
    cal = fit_calibrator(
        bench,
        {c: all_scores[judge][c] for c in criteria},
        {c: rubrics[c] for c in criteria},
        judge=judge,
        judge_model=spec.get("model", judge),
        judge_params=spec.get("params", {}),
        prompt_hash=spec.get("prompt_hash") or manifest.prompt_hash,
        method=args.method,
        k=args.folds,
        seed=args.seed,
        n_boot=args.n_boot,
        levels=dict(inp.levels),
    )
    cal.save(args.out)
    written = [args.out]
    doc = calibration_document(cal, skipped)
    if args.report:
        paths = write_report(cal, args.report, ("md", "html"), report=doc, stem="calibration")
        written += [str(p) for p in paths.values()]
    if args.json:
        print_json({**_as_json(cal, skipped, args.out), "files": written})
    else:
        more = (
            f"the full report: {written[-1]} (every column, the reliability diagrams)"
            if args.report
            else "every column and the reliability diagrams: --report DIR writes them (HTML and markdown)"
        )
        say(render_text(doc, output_width(), more=more), end="")
        say(f"wrote {', '.join(written)}")
    return 0


def _as_json(cal: Any, skipped: dict[str, str], out: str) -> dict[str, Any]:
    criteria = {}
    for c, rep in cal.fit.items():
        criteria[c] = {
            "before": _numbers(rep.before),
            "after": _numbers(rep.after),
            "change": _numbers(rep.change),
            "ci": {"before": _cis(rep.before), "after": _cis(rep.after), "change": _cis(rep.change)},
            "n_items": rep.n_items,
            "n_posts": rep.n_posts,
            "n_unscored": rep.n_unscored,
            "n_not_judged": rep.n_not_judged,
            "n_folds": rep.n_folds,
            "folds": rep.folds,
            "fold_sizes": rep.fold_sizes,
            "verdict": rep.verdict,
            "notes": rep.notes,
        }
    return {
        "calibrator": out,
        "judge": cal.judge,
        "judge_model": cal.judge_model,
        "method": cal.method,
        "benchmark": cal.benchmark,
        "criteria": criteria,
        "skipped": skipped,
    }
