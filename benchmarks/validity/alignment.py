"""The alignment report: each judge raw and aligned (held out, ``judge align``), beside length, chance and the
experts' ceiling, all on the same items; writes ``reports/validity/alignment.{md,json}``.

Per criterion, the items are the rated items every given judge scored (the intersection), so every row is on the
same items. Rows: the experts' ceiling and the chance row (``agreement_report`` on those items, CIs over posts), the
reply-length rows (raw, and the ridge map on length cross-fitted like a judge's map), and each judge raw and aligned
(the nested cross-fitting of ``judge.analysis.align``: held-out Spearman with a CI over posts, the held-out headline,
the in-sample figure beside it, whether it beats length and whether it adds anything beyond length, the learning
curve, and the seconds the search took).

Run on a quiet machine (the embedded judge's run on every rated RESORT item comes from ``benchmarks.validity``)::

    python -m benchmarks.validity.alignment --benchmark bench/resort \\
        --judge-run embedded=~/.cache/reappraisal-judge/validity-runs/local_qwen2.5-1.5b-rubric \\
        --judge-run embedded=runs/local-3shot --judge-run gpt-4=runs/gpt4 --also-without gpt-4 --support-chats

The same label twice makes the second run a prompt variant of the first (its few-shot run, ``judge run
--exemplars``): the alignment searches both, on the items both scored (the few-shot run leaves out the exemplars'
posts), and the table shows each variant raw. ``--also-without gpt-4`` adds the tables without GPT-4, on every item
the embedded judge scored, since GPT-4's released answers cover fewer items.

``--support-chats`` adds the bundled example (its four judges, imported from ``judge-scores.csv``).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import contextlib
import io
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from judge.analysis.agreement import LENGTH_CHARS, agreement_report
from judge.analysis.align import align_criterion, run_features
from judge.analysis.scores import pick_judge
from judge.data import Benchmark
from judge.data.benchmark import load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.store import load_run_manifest, load_run_scores
from judge.fileio import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "validity"
SUPPORT_CHATS = ROOT / "datasets" / "support-chats"


def _subset(bench: Benchmark, ids: set[str]) -> Benchmark:
    return bench.model_copy(
        update={
            "items": {i: it for i, it in bench.items.items() if i in ids},
            "ratings": [r for r in bench.ratings if r.item_id in ids],
        }
    )


def _est(e: Any) -> dict[str, Any]:
    return e.model_dump(mode="json") if e is not None else {}


Runs = dict[str, list[tuple[Path, str]]]  # label -> its runs (several: prompt variants, e.g. few-shot), judge name


def _variant(run: Path, judge: str) -> str:
    spec = load_run_manifest(run).judges.get(judge, {}) or {}
    shots = (spec.get("exemplars") or {}).get("exemplars") or []
    return f"{len(shots)}-shot" if shots else "zero-shot"


def criterion_rows(
    bench: Benchmark, rubrics: dict[str, Any], runs: Runs, c: str, args: argparse.Namespace
) -> dict[str, Any]:
    """Every row of one criterion on the items all judges (all their runs) scored."""
    scored = []
    for variants in runs.values():
        for run, judge in variants:
            scores = load_run_scores(run).get(judge, {}).get(c, {})
            scored.append({i for i, s in scores.items() if s is not None})
    ids = set(bench.rated_item_ids(c)).intersection(*scored) if scored else set(bench.rated_item_ids(c))
    sub = _subset(bench, ids)
    named: dict[str, tuple[Path, str]] = {}  # a row name -> the run whose raw scores it shows
    for label, variants in runs.items():
        for k, (run, judge) in enumerate(variants):
            named[label if k == 0 else f"{label}, {_variant(run, judge)}"] = (run, judge)
    judges = {
        name: {c: {i: s for i, s in load_run_scores(run)[judge].get(c, {}).items() if i in ids}}
        for name, (run, judge) in named.items()
    }
    rep = agreement_report(sub, rubrics, judges=judges, n_boot=args.n_boot, criteria=[c], resample="posts")
    ca = rep.criteria[c]
    rows: dict[str, Any] = {
        "experts (ceiling)": {"headline": _est(ca.experts.headline)},
        "chance:permuted": {"headline": _est(ca.judges["chance:permuted"].headline)},
        "length (characters), raw": {
            "headline": _est(ca.judges[LENGTH_CHARS].headline),
            "spearman": _est(ca.judges[LENGTH_CHARS].spearman),
        },
    }
    length_done = False
    for label, variants in runs.items():
        feats = {
            (_variant(run, judge) if len(variants) > 1 else ""): run_features(run, judge, c, rubrics[c], sub)
            for run, judge in variants
        }
        common = sorted(set.intersection(*(set(f.item_ids) for f in feats.values())))
        f: Any = {k: v.subset(common) for k, v in feats.items()}
        t0 = time.perf_counter()
        al = align_criterion(
            sub,
            rubrics[c],
            f if len(f) > 1 else f[""],
            outer_k=args.folds,
            inner_k=args.inner_folds,
            n_boot=args.n_boot,
        )
        seconds = round(time.perf_counter() - t0, 2)
        if not length_done:
            rows["length (characters), ridge map, held out"] = {"spearman": _est(al.length_only)}
            length_done = True
        for name in [n for n in named if n == label or n.startswith(f"{label}, ")]:
            ja = ca.judges[name]
            rows[f"{name}, raw"] = {
                "headline": _est(ja.headline),
                "spearman": _est(ja.spearman),
                "not_better_than_length": None if ja.vs_length is None else ja.vs_length.not_better,
            }
        chosen = (
            al.chosen.candidate if al.chosen.variant in (None, "") else f"{al.chosen.variant} / {al.chosen.candidate}"
        )
        rows[f"{label}, aligned (held out)"] = {
            "headline_point": al.held_out_headline,
            "spearman": _est(al.held_out),
            "gain": _est(al.gain),
            "in_sample": _est(al.in_sample),
            "in_sample_candidate": al.in_sample_candidate,
            "chosen": chosen,
            "outer_choices": al.outer_choices,
            "beats_length": al.beats_length,
            "adds_beyond_length": al.judge_adds_beyond_length,
            "beyond_length": _est(al.beyond_length),
            "learning_curve": [p.model_dump(mode="json") for p in al.learning_curve],
            "search_seconds": seconds,
            "candidates": len(al.candidates),
        }
    return {"items": len(ids), "posts": len({bench.items[i].post_id for i in ids}), "rows": rows}


def _support_chats(work: Path) -> tuple[Path, Path, Runs]:
    from judge.cli import main

    rub = str(SUPPORT_CHATS / "rubrics")
    bench, run = work / "bench", work / "run"
    ratings = sorted(str(p) for p in (SUPPORT_CHATS / "ratings").glob("*.csv"))
    items = ["--items", str(SUPPORT_CHATS / "conversations.csv"), "--judged-role", "supporter", "--rubrics", rub]
    judges = ("human", "judge-a", "judge-b", "judge-c", "judge-d")
    scores = ["--scores", "{rater}_{criterion}", "--benchmark", str(bench), "--run-out", str(run)]
    argv = ["import", "table", str(SUPPORT_CHATS / "judge-scores.csv"), *scores, "--rubrics", rub]
    with contextlib.redirect_stdout(io.StringIO()):  # the imports' summaries are not the report
        if main(["import", "table", *ratings, *items, "--out", str(bench)]) != 0:
            raise RuntimeError("support-chats: import of the ratings failed")
        if main([*argv, *(a for j in judges for a in ("--as-judge", j))]) != 0:
            raise RuntimeError("support-chats: import of the judge scores failed")
    return bench, Path(rub), {j: [(run, j)] for j in judges[1:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.validity.alignment", description=__doc__)
    ap.add_argument("--benchmark", help="an expert-rated benchmark (e.g. bench/resort)")
    ap.add_argument("--rubrics", help="rubric set (default: the bundled RESORT rubrics)")
    ap.add_argument(
        "--judge-run",
        action="append",
        default=[],
        metavar="LABEL=RUN_DIR[:JUDGE]",
        help="repeatable; the same LABEL again adds a prompt variant of that judge (e.g. its few-shot run), searched "
        "with the first by the alignment",
    )
    ap.add_argument(
        "--also-without",
        action="append",
        default=[],
        metavar="LABEL",
        help="also a set without this judge (one that lacks items, e.g. GPT-4): the others on every item they scored",
    )
    ap.add_argument("--criteria", default="alignment_with_standards,empathy")
    ap.add_argument("--support-chats", action="store_true", help="add the bundled support-chats example")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--inner-folds", type=int, default=4)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    sets: dict[str, Any] = {}
    if args.benchmark:
        rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
        bench = load_benchmark(args.benchmark, known_criteria=rubrics)
        runs: Runs = {}
        for spec in args.judge_run:
            label, _, rest = spec.partition("=")
            run, _, judge = rest.partition(":")
            run_dir = Path(run).expanduser()
            runs.setdefault(label, []).append(
                (run_dir, pick_judge(load_run_manifest(run_dir).judges, judge or None, run_dir))
            )
        crits = [c for c in args.criteria.split(",") if c]
        sets[bench.name] = {c: criterion_rows(bench, rubrics, runs, c, args) for c in crits}
        for label in args.also_without:  # a reference judge that lacks items: the others on all of theirs too
            rest = {k: v for k, v in runs.items() if k != label}
            name = f"{bench.name}, without {label} (every item the others scored)"
            sets[name] = {c: criterion_rows(bench, rubrics, rest, c, args) for c in crits}
    if args.support_chats:
        with tempfile.TemporaryDirectory() as tmp:
            bench_dir, rub, runs = _support_chats(Path(tmp))
            rubrics = load_rubric_set(rub)
            bench = load_benchmark(bench_dir, known_criteria=rubrics)
            args_small = argparse.Namespace(**{**vars(args), "folds": min(args.folds, 4), "inner_folds": 3})
            sets["support-chats"] = {
                c: criterion_rows(bench, rubrics, runs, c, args_small) for c in ("warmth", "helpfulness")
            }
    result = {
        "sets": sets,
        "folds": {"outer": args.folds, "inner": args.inner_folds},
        "n_boot": args.n_boot,
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "alignment.json", result)
    write_text(args.out / "alignment.md", render(result))
    print(render(result))
    return 0


def _fmt(e: dict[str, Any] | None, sign: bool = False) -> str:
    if not e or e.get("value") is None:
        return "-"
    f = "{:+.2f}" if sign else "{:.2f}"
    ci = e.get("ci")
    return f.format(e["value"]) + (f" [{f.format(ci[0])}, {f.format(ci[1])}]" if ci else "")


def render(r: dict[str, Any]) -> str:
    lines = [
        "# Fitting judges to the experts, held out (judge align)",
        "",
        "Every table is on one set of items: the rated items every judge of the table scored. Spearman with the "
        "experts' mean, 95% CIs resampling posts; the headline is pairwise kappa with the experts (for an aligned "
        "judge: its held-out predictions rounded to the scale, a point). *Aligned (held out)*: the configuration "
        "chosen on inner folds and scored on outer folds of whole posts (`judge align`); *in-sample*: the best "
        "candidate chosen, fitted and scored on the same items, shown to make the optimism visible. "
        f"Folds: {r['folds']['outer']} outer x {r['folds']['inner']} inner; {r['n_boot']} resamples.",
        "Reproduce: see `benchmarks/validity/alignment.py`.",
        "",
    ]
    for name, crits in r["sets"].items():
        for c, res in crits.items():
            lines += [f"## {name}: {c} ({res['items']} items, {res['posts']} posts)", ""]
            lines += [
                "| row | headline | Spearman [95% CI] | gain over raw | in-sample | beats length | adds to length |"
            ]
            lines += ["| :--- | ---: | ---: | ---: | ---: | :--- | :--- |"]
            yes = {True: "yes", False: "no (CI reaches 0)", None: "-"}
            for row, v in res["rows"].items():
                head = (
                    _fmt(v.get("headline"))
                    if "headline" in v
                    else ("-" if v.get("headline_point") is None else f"{v['headline_point']:.2f}")
                )
                lines.append(
                    f"| {row} | {head} | {_fmt(v.get('spearman'))} | {_fmt(v.get('gain'), True)} | "
                    f"{_fmt(v.get('in_sample'))} | {yes[v.get('beats_length')]} | {yes[v.get('adds_beyond_length')]} |"
                )
            lines.append("")
            for row, v in res["rows"].items():
                if "learning_curve" in v:
                    curve = "; ".join(
                        f"{p['posts']} posts: {_fmt(p['held_out_spearman'])}" for p in v["learning_curve"]
                    )
                    lines.append(
                        f"- {row}: chose {v['chosen']} (outer folds: {', '.join(v['outer_choices'])}); search "
                        f"{v['search_seconds']} s; learning curve {curve}."
                    )
            lines.append("")
    lines += [f"Machine: {r['machine']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
