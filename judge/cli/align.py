"""``judge align``: fit a judge's configuration to expert ratings, scored by nested cross-fitting over posts.

See ``judge.analysis.align`` and docs/align.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from judge.cli._common import MAX_SEED, add_parser, bounded, n_boot_type, one_blas_thread, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "align",
        "fit a judge to your experts (scoring mode, a map with length), held out by post, with a learning curve",
        "From a run's records (no new model calls), choose per criterion among the prompt (several --run: e.g.\n"
        "without and with few-shot exemplars, see 'judge exemplars'), the scoring mode (the answer or the\n"
        "expected score) and a map onto the experts' scale (none, isotonic, ridge on the score or the whole\n"
        "distribution plus the reply's length). The choice is made on inner folds and scored on outer folds of\n"
        "whole posts: the held-out gain (CI over posts) is the honest one, the in-sample gain beside it shows the\n"
        "optimism. Also: length alone, whether the judge adds anything beyond length, and the held-out gain with 5,\n"
        "10, 20 and all rated posts (how many ratings to collect). --out writes a versioned aligned-judge file that\n"
        "refuses items of the posts it was fitted on. See docs/align.md.",
        "  judge align --benchmark bench/resort --run runs/local --out aligned/local.json\n"
        "  judge align --benchmark bench/resort --run runs/local --run runs/local-3shot --out aligned/local.json\n"
        "  judge run --benchmark bench/new --aligned aligned/local.json --out runs/new   # then: judge agree\n"
        "  judge align --benchmark bench/support-chats --rubrics datasets/support-chats/rubrics \\\n"
        "              --run runs/sheet --judge judge-a --folds 4 --inner-folds 3 --json\n",
    )
    p.add_argument("--benchmark", required=True, help="benchmark directory with expert ratings (ratings.jsonl)")
    p.add_argument(
        "--run",
        required=True,
        action="append",
        metavar="RUN_DIR",
        help="run directory written by 'judge run' or 'import'; repeat with runs of the same judge model under "
        "other prompts (e.g. 'judge run --exemplars'): each is a prompt variant, searched on the items every run "
        "scored",
    )
    p.add_argument("--rubrics", help="rubric file or directory (default: the bundled rubrics/resort)")
    p.add_argument("--judge", help="which judge of the run (default: the run's only judge)")
    p.add_argument("--criteria", nargs="+", metavar="NAME", help="only these criteria (default: every rated one)")
    p.add_argument("--folds", type=bounded(int, 2, 100), default=5, help="outer folds of whole posts (default 5)")
    p.add_argument("--inner-folds", type=bounded(int, 2, 100), default=4, help="inner folds (default 4)")
    p.add_argument("--seed", type=bounded(int, 0, MAX_SEED), default=0, help="fixes folds and resamples (default 0)")
    p.add_argument("--n-boot", type=n_boot_type(), default=1000, help="bootstrap resamples of posts (default 1000)")
    p.add_argument("--out", metavar="FILE", help="write the aligned-judge file (JSON)")
    p.add_argument("--json", action="store_true", help="print the aligned judge (with its figures) as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    one_blas_thread()
    from judge.analysis.align import align_judge
    from judge.analysis.inputs import load_inputs
    from judge.analysis.scores import check_rubrics
    from judge.engine.store import check_run_benchmark, load_run_manifest

    inp = load_inputs(args.benchmark, args.rubrics, criteria=args.criteria)
    for run_dir in args.run:
        check_run_benchmark(run_dir, inp.bench)
        check_rubrics(run_dir, load_run_manifest(run_dir), inp.rubrics, criteria=inp.criteria)
    aligned = align_judge(
        inp.bench,
        inp.rubrics,
        args.run,
        judge=args.judge,
        criteria=inp.criteria,
        outer_k=args.folds,
        inner_k=args.inner_folds,
        seed=args.seed,
        n_boot=args.n_boot,
    )
    if args.out:
        aligned.save(args.out)
    if args.json:
        print_json(aligned.model_dump(mode="json"))
        return 0
    say(render_alignment(aligned), end="")
    if args.out:
        say(f"wrote {args.out}")
    return 0


BEATS = {True: "yes (CI clears 0)", False: "not shown (CI reaches 0)", None: "unknown (no CI)"}


def _est(e: Any) -> str:
    if e.value is None:
        return f"n/a ({e.note})" if e.note else "n/a"
    ci = f" [{e.ci[0]:+.2f}, {e.ci[1]:+.2f}]" if e.ci else ""
    return f"{e.value:+.2f}{ci}"


def _chosen(a: Any, ca: Any) -> str:
    """The chosen candidate, with its prompt when several prompts were searched."""
    several = len(a.variants) > 1 and ca.chosen.variant
    return f"{ca.chosen.variant} / {ca.chosen.candidate}" if several else ca.chosen.candidate


def _head(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def render_alignment(a: Any) -> str:
    """The alignment as text: per criterion, raw vs held-out vs in-sample, length, and the learning curve."""
    lines = [f"Aligned judge {a.judge} ({a.judge_model}) on {a.benchmark}; {a.search}.", ""]
    for c, ca in a.criteria.items():
        lines += [
            f"{c}: {ca.n_items} items, {ca.n_posts} posts; chosen {_chosen(a, ca)} "
            f"(outer folds chose {', '.join(ca.outer_choices)})",
            "  Spearman with the experts' mean (95% CI over posts):",
            f"    raw judge               {_est(ca.raw)}   headline {_head(ca.raw_headline)}",
            *(
                f"    raw, {v:<19}{_est(e)}   headline {_head(ca.variant_raw_headline.get(v))}"
                for v, e in ca.variant_raw.items()
            ),
            f"    aligned, held out       {_est(ca.held_out)}   headline {_head(ca.held_out_headline)}",
            f"    gain, held out          {_est(ca.gain)}",
            f"    in-sample best          {_est(ca.in_sample)} ({ca.in_sample_candidate}; gain "
            f"{'n/a' if ca.in_sample_gain is None else f'{ca.in_sample_gain:+.2f}'}: the optimism of fitting and "
            "scoring on the same items)",
            f"    length alone, held out  {_est(ca.length_only)}",
            f"    judge + length - length {_est(ca.beyond_length)}: the judge "
            + {True: "adds to length", False: "adds nothing clear to length", None: "cannot be told from length"}[
                ca.judge_adds_beyond_length
            ],
            f"  beats length held out: {BEATS[ca.beats_length]}",
            "  learning curve (rated posts used per fold: held-out Spearman, gain over raw):",
        ]
        lines += [f"    {p.posts:>4}: {_est(p.held_out_spearman)}, gain {_est(p.gain)}" for p in ca.learning_curve]
        lines.append("")
    return "\n".join(lines)
