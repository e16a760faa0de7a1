"""``judge run``: score a benchmark's items with one or more judges, resumably, through LiteLLM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli import RESUMABLE_INTERRUPT
from judge.cli._common import add_judge_options, add_parser, bounded, print_json, say
from judge.engine.store import DEFAULT_MAX_UNSCORED, IMPORTED_COST


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "run",
        "score a benchmark with LLM judges (cached, resumable)",
        "Score every item of a benchmark on each rubric criterion with each judge. MODEL is any LiteLLM model\n"
        "string, 'local' for the embedded offline judge, or a .toml file defining a panel of judges.\n"
        "API keys come from the environment only (e.g. OPENAI_API_KEY; --api-key-env NAME for a server given by\n"
        "--api-base). Answers are cached per judge and endpoint: re-running makes no model calls, and an\n"
        "interrupted run (even kill -9) resumes where it stopped when run again. Unreadable or failed judgments are\n"
        "recorded as unscored with a reason, never as a score; those whose call failed (server errors, timeouts,\n"
        "rate limits after every retry) are asked again by the next run of the same command.\n"
        "\n"
        "Money: --budget USD is for the run directory, across invocations (what earlier runs into --out spent\n"
        "counts). Prices come from LiteLLM's offline price map; for a model it does not know (self-hosted, a new\n"
        "model) give them in a judge config: input_price_per_mtok and output_price_per_mtok (USD per million\n"
        "tokens). Without a price such a judge's cost reads 'unpriced', and --budget refuses it before any call.\n"
        "\n"
        "Exit codes: 0 every judgment recorded and the result is clean; 1 the run could not complete (budget\n"
        "reached, permanent provider error such as a refused key), or a judgment ended unscored for a provider\n"
        "reason (api_error), or more judgments are unscored than --max-unscored allows (the summary says which);\n"
        "2 bad usage or bad input, always before any call.",
        "  judge run --benchmark datasets/demo --judge local --out runs/demo-local\n"
        "  judge run --benchmark bench/resort --rated-only --judge openai/gpt-4o --budget 5 --out runs/gpt4o\n"
        "  judge run --benchmark bench/resort --judge openai/qwen2.5-1.5b --api-base http://127.0.0.1:8080/v1 \\\n"
        "            --criteria empathy harmfulness --samples 3 --out runs/llamacpp\n"
        "  judge run --benchmark bench/resort --judge openai/qwen --api-base https://gpu.example.org/v1 \\\n"
        "            --api-key-env GPU_KEY --out runs/qwen\n"
        "  judge run --benchmark bench/resort --judge judges.toml --out runs/panel --json\n"
        "  judge run --benchmark bench/resort --judge openai/gpt-4o-mini --batch --batch-poll 60 --out runs/batch\n"
        "  judge run --task pairwise --pairs all --benchmark datasets/demo --judge local --out runs/demo-pairs\n"
        "  judge run --task pairwise --pairs 'baseline:gpt-4-turbo / vanilla / vanilla' --benchmark bench/resort \\\n"
        "            --rated-only --judge openai/gpt-4o --scoring expected --out runs/vs-vanilla\n"
        "            (--scoring expected asks for logprobs: P(first is better) with each verdict)\n",
    )
    p.add_argument("--benchmark", required=True, help="benchmark directory (items.jsonl)")
    p.add_argument(
        "--task",
        default="score",
        metavar="TASK",
        help="what is judged: 'score' (default: each reply on the criterion's scale) or 'pairwise' (which of two "
        "replies to the same post is better, each pair asked in both orders; verdict A, B or tie)",
    )
    p.add_argument(
        "--pairs",
        metavar="all|baseline:SYSTEM|sample:K",
        help="with --task pairwise, which pairs: 'all' (default: every pair of replies to the same post and "
        "dimension), 'baseline:SYSTEM' (each reply against SYSTEM's reply to the same post), 'sample:K' (K pairs per "
        "post, chosen by --seed)",
    )
    p.add_argument("--rubrics", help="rubric file or directory (default: the bundled rubrics/resort)")
    add_judge_options(p)
    p.add_argument("--criteria", nargs="+", help="only these criteria (default: all in the rubric set)")
    p.add_argument(
        "--samples",
        type=bounded(int, 1, 10_000),
        default=1,
        help="samples per judgment, each with its own seed (default 1)",
    )
    p.add_argument(
        "--concurrency",
        type=bounded(int, 1, 10_000),
        default=8,
        help="calls in flight at once (default 8); a server given by --api-base that says how many requests it "
        "works on at once (llama.cpp) gets no more than that; one that does not say and serves one at a time "
        "wants --concurrency 1",
    )
    p.add_argument(
        "--budget",
        type=bounded(float, 0, above=True),
        metavar="USD",
        help="spending limit for the run directory, all invocations together: no call is made whose estimated "
        "cost would pass it (needs a known price, see above)",
    )
    p.add_argument(
        "--temperature",
        type=bounded(float, 0, 2),
        help="sampling temperature, 0-2 (default 0, or 0.7 with --samples > 1)",
    )
    p.add_argument(
        "--max-tokens", type=bounded(int, 1, 1_000_000), default=400, help="max tokens per answer (default 400)"
    )
    p.add_argument(
        "--seed", type=bounded(int, 0, 2**31 - 1), default=0, help="base seed; sample k uses seed+k (default 0)"
    )
    p.add_argument(
        "--criteria-per-call",
        choices=["auto", "one", "all"],
        default="auto",
        help="'one': a call per criterion; 'all': every criterion in one call (fewer tokens, but small models "
        "judge the criteria less independently); 'auto' (default): 'one'",
    )
    p.add_argument(
        "--scoring",
        choices=["auto", "answer", "expected"],
        default="auto",
        help="the score recorded: 'answer', the value the judge wrote; 'expected', the mean of the scale under the "
        "judge's token probabilities (asks the provider for logprobs; the mode for a nominal criterion); 'auto' "
        "(default): expected for the embedded judge, answer otherwise. Both are recorded either way",
    )
    p.add_argument(
        "--prompt-style",
        choices=["auto", "standard", "compact"],
        default="auto",
        help="'standard': instructions and a JSON answer with a rationale; 'compact': a score-only answer after a "
        "prefix shared by the item's criteria (made for small models); 'auto' (default): compact for the embedded "
        "judge, standard otherwise",
    )
    sel = p.add_argument_group("item selection")
    sel.add_argument("--rated-only", action="store_true", help="only items that have expert ratings")
    sel.add_argument(
        "--limit",
        type=bounded(int, 0),
        help="only the first N selected items (0: none, only check the inputs)",
    )
    sel.add_argument("--max-post-chars", type=bounded(int, 1), help="truncate longer posts (flagged in records)")
    p.add_argument("--out", required=True, help="run directory (resumed if it holds the same run)")
    p.add_argument(
        "--max-unscored",
        type=bounded(float, 0, 1),
        default=DEFAULT_MAX_UNSCORED,
        metavar="SHARE",
        help=f"exit 1 when more than this share of the judgments is unscored (0-1, default {DEFAULT_MAX_UNSCORED})",
    )
    p.add_argument(
        "--retry-unscored",
        action="store_true",
        help="ask the model again for every unscored judgment of --out, not only those whose call failed "
        "(answers that could not be read are otherwise final: at temperature 0 they come back the same)",
    )
    p.add_argument(
        "--calibrator",
        metavar="FILE",
        help="also map the scores onto the expert scale (judge calibrate); refused before any call if it was "
        "fitted for another judge, rubric version or prompt; writes calibrated_scores.json in the run",
    )
    p.add_argument(
        "--exemplars",
        metavar="FILE",
        help="few-shot: show every judge these rated items of other posts after its instructions (written by "
        "'judge exemplars'); the items of the exemplars' posts are not judged. Another prompt: its own cache "
        "entries and prompt hash",
    )
    p.add_argument(
        "--aligned",
        metavar="FILE",
        help="run the judge an aligned-judge file was fitted for (judge align --out: model, parameters, scoring, "
        "exemplars) and record the file in the run, so that 'judge agree' also shows the judge aligned (and refuses "
        "items of the posts it was fitted on); refused before any call if the rubrics or prompt differ",
    )
    p.add_argument("--cache-dir", help="reply cache location (default $JUDGE_CACHE_DIR or ~/.cache/reappraisal-judge)")
    p.add_argument("--no-cache", action="store_true", help="don't read the cache (fresh answers; still recorded)")
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (default: a live line on a terminal, otherwise a plain line every --progress-interval)",
    )
    p.add_argument(
        "--progress-interval",
        type=bounded(float, 0, above=True),
        default=30.0,
        metavar="S",
        help="seconds between progress lines when stderr is not a terminal, e.g. a CI log (default 30)",
    )
    scale = p.add_argument_group("scale-out (docs/scale.md)")
    scale.add_argument(
        "--batch",
        action="store_true",
        help="send the uncached requests through the provider's batch API (OpenAI-compatible; resumable)",
    )
    scale.add_argument(
        "--batch-poll",
        type=bounded(float, 0, above=True),
        default=30.0,
        metavar="S",
        help="batch status poll interval (30)",
    )
    scale.add_argument(
        "--ray",
        metavar="ADDRESS|auto",
        help="judge the uncached requests as Ray tasks ('auto': the running cluster; 'local': start one here)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run, on_interrupt=RESUMABLE_INTERRUPT)


def select_items(bench: Any, rated_only: bool, limit: int | None) -> list[str]:
    ids = bench.rated_item_ids() if rated_only else list(bench.items)
    return ids[:limit] if limit is not None else ids


def run(args: argparse.Namespace) -> int:
    from judge.data.benchmark import load_benchmark
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.judge_spec import resolve_judges
    from judge.engine.runner import RunConfig, run_judging
    from judge.engine.store import read_summary
    from judge.errors import RunIncomplete

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir(), args.criteria)
    bench = load_benchmark(args.benchmark, known_criteria=None)
    temperature = args.temperature if args.temperature is not None else (0.7 if args.samples > 1 else 0.0)
    params = {"temperature": temperature, "max_tokens": args.max_tokens}
    judges = [
        j.model_copy(
            update={
                k: getattr(args, k)
                for k in ("criteria_per_call", "scoring", "prompt_style")
                if getattr(j, k) == "auto"  # a judge config's own setting wins
            }
        )
        for j in resolve_judges(args.judge, args.api_base, params, args.api_key_env, args.timeout)
    ]
    aligned = None
    if args.aligned:
        aligned, judges = _aligned_judges(args, judges, rubrics)
    if args.exemplars:
        judges = with_exemplar_file(judges, args.exemplars, bench, rubrics)
    if args.task == "pairwise" and any(j.exemplars for j in judges):
        from judge.errors import UsageError

        raise UsageError("--exemplars: few-shot exemplars apply to --task score only")
    cfg = RunConfig(
        benchmark=bench,
        rubrics=rubrics,
        judges=judges,
        out=Path(args.out),
        samples=args.samples,
        concurrency=args.concurrency,
        budget_usd=args.budget,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        read_cache=not args.no_cache,
        item_ids=select_items(bench, args.rated_only, args.limit),
        max_post_chars=args.max_post_chars,
        seed=args.seed,
        progress=False if args.no_progress else None,
        progress_interval_s=args.progress_interval,
        command=["judge", *sys.argv[1:]],
        retry_unscored=args.retry_unscored,
        max_unscored=args.max_unscored,
        batch_poll_s=args.batch_poll if args.batch else None,
        ray_address=args.ray,
        task=task_from_args(args),
    )
    cal = _check_calibrator(args.calibrator, judges, rubrics) if args.calibrator else None
    if aligned is not None:
        from judge.engine.plan import run_prompt_hash

        rubric_refs = {c: r.ref for c, r in rubrics.items()}
        aligned.check_compatible(judges[0].model, rubric_refs, run_prompt_hash(judges, list(rubrics.values())))
    try:
        summary = run_judging(cfg)
    except RunIncomplete:
        stopped = read_summary(cfg.out)  # written before the stop was raised: what was done, and what it cost
        if stopped is not None:
            stopped["self_consistency"] = _self_consistency(cfg.out)
        if stopped is not None and args.json:
            print_json(stopped)
        elif stopped is not None:
            say(format_summary(stopped))
            say(look_hint(args.out))
        raise
    if aligned is not None:
        record_aligned(cfg.out, args.aligned)
    out = summary.model_dump(mode="json")
    out["self_consistency"] = _self_consistency(cfg.out)
    if cal is not None:
        out["calibrated"] = _write_calibrated(Path(args.out), cal, args.calibrator, rubrics)
    if args.json:
        print_json(out)
    else:
        say(format_summary(out))
        say(look_hint(args.out))
    for problem in summary.problems:
        say(f"error: {problem}", file=sys.stderr)
    return 1 if summary.problems else 0


def task_from_args(args: argparse.Namespace) -> Any:
    """The run's judge task from ``--task`` and its options (None: scoring). An unknown task is refused with the
    known ones and the closest name."""
    from judge.engine.task import DEFAULT_TASK, get_task
    from judge.errors import UsageError

    cls = get_task(args.task)
    if args.task == DEFAULT_TASK:
        if args.pairs is not None:
            raise UsageError("--pairs applies to --task pairwise only")
        return None
    if args.task == "pairwise":
        from judge.engine.pairwise import PairPlan

        return cls(PairPlan.parse(args.pairs or "all", args.seed))
    if args.pairs is not None:
        raise UsageError(f"--pairs applies to --task pairwise only, not to --task {args.task}")
    return cls()


def _self_consistency(run_dir: Path) -> dict[str, dict[str, Any]]:
    """judge -> criterion -> how repeated samples of an item agree (a statistic: judge.analysis computes it)."""
    from judge.analysis.scores import run_self_consistency

    return {
        judge: {c: v.model_dump(mode="json") for c, v in crits.items()}
        for judge, crits in run_self_consistency(run_dir).items()
    }


def look_hint(run_dir: str | Path) -> str:
    """The one line after a run on how to look at what it made."""
    import shlex

    q = shlex.quote(str(run_dir))
    viewer = shlex.quote(str(Path(run_dir) / "viewer.html"))
    return f"look at it: judge show {q}   (every judgment in a browser: judge view --run {q} --out {viewer})"


def format_summary(s: dict[str, Any]) -> str:
    unscored = ", ".join(f"{k} {v}" for k, v in s["unscored"].items()) or "none"
    lines = [
        f"run: {s['run_dir']}",
        f"  judgments {s['judgments']}  scored {s['scored']}  unscored {sum(s['unscored'].values())} ({unscored})",
    ]
    if s["cost"] == IMPORTED_COST:  # no call was made: calls, tokens and time would all read 0
        lines.append(f"  cost {s['cost']}")
    else:
        lines += [
            f"  model calls {s['model_calls']} (retries {s['retries']})  cache hits {s['cache_hits']}  "
            f"tokens {s['tokens_in']}+{s['tokens_out']}  wall {s['wall_s']:.1f}s",
            f"  cost {s['cost']} (this run directory, all invocations: {s['totals']['model_calls']} calls, "
            f"{s['totals']['retries']} retries)",
        ]
    for judge, c in (s.get("task_summary") or {}).get("position", {}).items():
        share = f"{c['consistency']:.0%}" if c.get("consistency") is not None else "n/a"
        lines.append(
            f"  position consistency {judge}: {share} of {c['pairs']} pairs answered in both orders "
            f"(first chosen {c['first_chosen']}, second {c['second_chosen']}, tie {c['ties']})"
        )
    for judge, crits in s.get("self_consistency", {}).items():
        for c, v in crits.items():
            lines.append(
                f"  self-consistency {judge} {c}: mean sd {v['mean_sd']}, all samples agree on "
                f"{v['all_agree_rate']:.0%} of {v['items']} items"
            )
    return "\n".join(lines)


def _check_calibrator(path: str, judges: Any, rubrics: Any) -> Any:
    """Load a calibrator and refuse it now (before paying for calls) if it does not fit the judge."""
    from judge.analysis.calibration import Calibrator
    from judge.engine.plan import judge_prompt_hash
    from judge.errors import UsageError

    cal = Calibrator.load(path)
    if len(judges) != 1:
        raise UsageError("--calibrator applies to one judge; run each judge of a panel separately")
    spec = judges[0]
    cal.check_compatible(
        spec.model, spec.params, {c: r.ref for c, r in rubrics.items()}, judge_prompt_hash(spec, list(rubrics.values()))
    )
    return cal


def _write_calibrated(run_dir: Path, cal: Any, path: str, rubrics: Any) -> dict[str, Any]:
    """calibrated_scores.json: per criterion, item -> score on the expert scale; returns the calibrated means."""
    import statistics

    from judge.analysis.scores import calibrated, read_judges
    from judge.fileio import write_json

    js = calibrated(read_judges(run_dir, rubrics)[0], cal, path)
    write_json(
        run_dir / "calibrated_scores.json", {"calibrator": path, "judge": js.name, "scores": js.scores}, private=True
    )
    means = {}
    for c, s in js.scores.items():
        vals = [v for v in s.values() if v is not None]
        means[c] = round(statistics.fmean(vals), 4) if vals else None
    return {"calibrator": path, "means": means, "file": str(run_dir / "calibrated_scores.json")}


def with_exemplar_file(judges: list[Any], path: str, bench: Any, rubrics: Any) -> list[Any]:
    """The judges, each shown the exemplar set of ``path``; says how many items of the exemplars' posts are left
    out (``UsageError`` when the set rates none of the run's criteria)."""
    from judge.data.exemplars import ExemplarSet
    from judge.errors import UsageError

    shots = ExemplarSet.load(path)
    if not set(shots.criteria) & set(rubrics):
        raise UsageError(
            f"--exemplars {path}: its ratings are for {', '.join(shots.criteria)}, none of the run's criteria "
            f"({', '.join(rubrics)})"
        )
    reserved = shots.reserved_items(bench)
    if reserved:
        rated = {r.item_id for r in bench.ratings}
        say(
            f"exemplars: {len(shots.exemplars)} rated items of {len(shots.posts)} posts are shown to the judge; the "
            f"{len(reserved)} items of those posts ({sum(i in rated for i in reserved)} rated) are not judged"
        )
    return [j.model_copy(update={"exemplars": shots}) for j in judges]


def _aligned_judges(args: argparse.Namespace, judges: list[Any], rubrics: Any) -> tuple[Any, list[Any]]:
    """The aligned-judge file of ``--aligned`` and the judge it was fitted for (from the file, not --judge)."""
    from pydantic import ValidationError

    from judge.analysis.align import AlignedJudge
    from judge.engine.judge_spec import JudgeSpec
    from judge.errors import UsageError

    aligned = AlignedJudge.load(args.aligned)
    if args.judge or args.exemplars:
        raise UsageError("--aligned names its judge (and exemplars); leave out --judge and --exemplars")
    try:
        config = aligned.spec_for(list(rubrics))
    except UsageError as e:
        raise UsageError(f"--aligned {args.aligned}: {e}") from None
    if "source_file" in config:
        raise UsageError(
            f"--aligned {args.aligned}: it was fitted on answers imported from {config['source_file']}, not on a judge "
            "this tool ran; run the judge (judge run --judge MODEL), align that run, and pass its file"
        )
    try:
        spec = JudgeSpec.model_validate(config)
    except ValidationError as e:
        raise UsageError(
            f"--aligned {args.aligned}: its judge configuration is not one this version runs ({e})"
        ) from None
    return aligned, [spec]


def record_aligned(run_dir: Path, path: str) -> None:
    """Keep a copy of the aligned-judge file in the run (``aligned.json``): 'judge agree' applies it from there."""
    from judge.analysis.align import RUN_ALIGNED_FILE, AlignedJudge

    AlignedJudge.load(path).save(run_dir / RUN_ALIGNED_FILE)
