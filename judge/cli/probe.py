"""``judge probe``: bias probes, measured through the ordinary run engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli import RESUMABLE_INTERRUPT
from judge.cli._common import add_judge_options, add_parser, bounded, print_json, report_formats, say


def _probe_help() -> str:
    from judge.data.probes import PROBES

    return "\n".join(f"  {name:<11} {p.description}" for name, p in PROBES.items())


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "probe",
        "does a judge reward length, flattery, positivity, a planted instruction, or its own family?",
        "Judge every item as it is and perturbed by each probe: a documented, deterministic change that a careful\n"
        "psychologist would not reward. The placebo (neutral text that should change nothing) is always added, and\n"
        "each probe's shift is read against it. Reported per judge, criterion and probe: the mean paired shift\n"
        "(perturbed - original) with a bootstrap CI over posts, the share of items moved toward better, and the\n"
        "shift beyond the placebo; REWARDED when that CI excludes zero toward better. With responses of several\n"
        "model families (the items' system 'family' or model name) and judges of a known family, also\n"
        "self-preference: the judge's own-family gap against the experts' gap on the same items.\n"
        "\n"
        "The probes:\n" + _probe_help() + "\n\n"
        "Judging goes through the same engine and cache as 'judge run' (the originals come from the cache of an\n"
        "earlier run of the same judge); --out holds the probed benchmark, the run and probes.{md,json,csv,html}.\n"
        "Exit codes: 0 done; 1 the run could not complete or had provider failures (as 'judge run'), or with\n"
        "--fail-on-rewarded a probe was REWARDED; 2 bad usage or input.",
        "  judge probe --benchmark datasets/demo --judge local --out reports/probes/demo\n"
        "  judge probe --benchmark bench/resort --rated-only --limit 60 --judge openai/gpt-4o-mini \\\n"
        "              --probes length,flattery --criteria empathy --out probes/mini\n"
        "  judge probe --benchmark bench/mine --judge judges.toml --family gpt4=openai --out probes/panel\n",
    )
    p.add_argument("--benchmark", required=True, help="benchmark directory (items.jsonl)")
    p.add_argument("--rubrics", help="rubric file or directory (default: the bundled rubrics/resort)")
    add_judge_options(p, several="repeat for several")
    p.add_argument(
        "--probes",
        default="length,flattery,positivity,injection",
        help="comma list of probes (default: all; the placebo is always added)",
    )
    p.add_argument("--criteria", nargs="+", help="only these criteria (default: all in the rubric set)")
    p.add_argument(
        "--family",
        action="append",
        default=[],
        metavar="JUDGE=FAMILY",
        help="the model family of a judge, for self-preference (default: read from its model string)",
    )
    sel = p.add_argument_group("item selection")
    sel.add_argument("--rated-only", action="store_true", help="only items that have expert ratings")
    sel.add_argument("--limit", type=bounded(int, 1), help="only the first N selected items")
    p.add_argument("--out", required=True, help="output directory (a re-run resumes it)")
    p.add_argument("--format", default=report_formats(), help=f"report formats, comma list of {report_formats()}")
    p.add_argument("--n-boot", type=bounded(int, 100, 100_000), default=2000, help="bootstrap resamples (2000)")
    p.add_argument("--seed", type=bounded(int, 0, 2**31 - 1), default=0, help="bootstrap and judging seed (0)")
    p.add_argument("--concurrency", type=bounded(int, 1, 10_000), default=8, help="calls in flight at once (8)")
    p.add_argument(
        "--budget", type=bounded(float, 0, above=True), metavar="USD", help="spending limit (as for judge run)"
    )
    p.add_argument("--max-tokens", type=bounded(int, 1, 1_000_000), default=400, help="max tokens per answer (400)")
    p.add_argument("--cache-dir", help="reply cache location (default $JUDGE_CACHE_DIR or ~/.cache/reappraisal-judge)")
    p.add_argument("--no-progress", action="store_true", help="no progress line")
    p.add_argument("--fail-on-rewarded", action="store_true", help="exit 1 when any probe is REWARDED (for CI)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run, on_interrupt=RESUMABLE_INTERRUPT)


def _families(values: list[str]) -> dict[str, str]:
    from judge.errors import UsageError

    out = {}
    for v in values:
        name, sep, fam = v.partition("=")
        if not sep or not name or not fam:
            raise UsageError(f"--family: expected JUDGE=FAMILY, got {v!r}")
        out[name] = fam
    return out


def run(args: argparse.Namespace) -> int:
    from judge.cli.run import select_items
    from judge.data import default_rubrics_dir, load_benchmark, load_rubric_set
    from judge.engine import resolve_judges
    from judge.jobs.probe import ProbeConfig, run_probes
    from judge.report import parse_formats
    from judge.report.probes import probe_document
    from judge.report.text import render_text
    from judge.terminal import output_width

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), args.criteria)
    bench = load_benchmark(args.benchmark)
    judges = resolve_judges(
        args.judge, args.api_base, {"temperature": 0.0, "max_tokens": args.max_tokens}, args.api_key_env, args.timeout
    )
    cfg = ProbeConfig(
        benchmark=bench,
        rubrics=rubrics,
        judges=judges,
        probes=[p.strip() for p in args.probes.split(",") if p.strip()],
        out=Path(args.out),
        item_ids=select_items(bench, args.rated_only, args.limit),
        families=_families(args.family),
        n_boot=args.n_boot,
        seed=args.seed,
        formats=parse_formats(args.format),
        concurrency=args.concurrency,
        budget_usd=args.budget,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        progress=False if args.no_progress else None,
        command=["judge", *sys.argv[1:]],
    )
    outcome = run_probes(cfg)
    if args.json:
        print_json(outcome.report.model_dump(mode="json"))
    else:
        doc = probe_document(outcome.report)
        page = outcome.paths.get("html") or outcome.paths.get("md")
        more = f"the full report: {page}" if page else "--json prints every number"
        say(render_text(doc, output_width(), more=more, captions=False), end="")
        say(f"wrote {', '.join(str(p) for p in outcome.paths.values())}")
    for problem in outcome.summary.problems:
        print(f"error: {problem}", file=sys.stderr)
    rewarded = any(r.flagged for r in outcome.report.results) or any(p.flagged for p in outcome.report.self_preference)
    return 1 if outcome.summary.problems or (args.fail_on_rewarded and rewarded) else 0
