"""``judge generate``: write candidate responses with a prompt configuration (cached, resumable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from judge.cli import RESUMABLE_INTERRUPT
from judge.cli._common import add_parser, bounded, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "generate",
        "generate candidate responses from a prompt configuration (cached, resumable)",
        "Write reappraisal responses for each post with a system: a YAML prompt configuration (model, params,\n"
        "templates, strategy) or a built-in RESORT strategy (vanilla, indv, indv+appr, indv+cons, indv+appr+cons,\n"
        "iter+appr, iter+cons, iter+appr+cons, self-refine). The output directory is a benchmark that\n"
        "'judge run' scores. Calls are cached; an interrupted run resumes without redoing finished items.\n"
        "Items whose generation failed are counted and named, never written as empty responses (exit 1).",
        "  judge generate --posts bench/resort/posts.jsonl --system vanilla --limit 20 --out cands/vanilla\n"
        "  judge generate --posts datasets/demo --system vanilla --model openai/qwen2.5-7b \\\n"
        "                 --api-base http://127.0.0.1:8080/v1 --out cands/vanilla-qwen\n"
        "  judge generate --posts datasets/demo --system indv+cons --dimensions 1 4 --out cands/indv-cons\n"
        "  judge generate --posts posts.jsonl --system examples/ci/system.yaml --out cands/pr --json\n",
    )
    p.add_argument("--posts", required=True, help="JSONL of {post_id, post}, or a benchmark directory")
    p.add_argument("--system", required=True, metavar="SYSTEM.yaml|BUILTIN", help="prompt configuration")
    p.add_argument("--out", required=True, help="output directory (a benchmark; resumed if it holds the same system)")
    p.add_argument(
        "--model", metavar="MODEL", help="LiteLLM model string or 'local', instead of the system's (as judge run)"
    )
    p.add_argument("--api-base", help="base URL of an OpenAI-compatible server, instead of the system's")
    p.add_argument("--api-key-env", metavar="NAME", help="environment variable holding that server's key")
    p.add_argument("--limit", type=bounded(int, 1), help="only the first N posts")
    p.add_argument("--dimensions", type=int, nargs="+", help="appraisal dimensions (default: the system's)")
    p.add_argument("--concurrency", type=bounded(int, 1, 10_000), default=4, help="items in flight at once (default 4)")
    p.add_argument("--cache-dir", help="reply cache location (default $JUDGE_CACHE_DIR or ~/.cache/reappraisal-judge)")
    p.add_argument("--no-cache", action="store_true", help="don't read the cache (fresh responses; still cached)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run, on_interrupt=RESUMABLE_INTERRUPT)


def run(args: argparse.Namespace) -> int:
    from judge.data.systems import load_system
    from judge.engine.generate import GenerateConfig, load_posts, run_generation

    system = load_system(args.system)
    overrides = {k: v for k, v in (("model", args.model), ("api_base", args.api_base)) if v is not None}
    if args.api_key_env is not None:
        overrides["api_key_env"] = args.api_key_env
    if overrides:
        system = system.model_copy(update=overrides)
    cfg = GenerateConfig(
        system=system,
        posts=load_posts(args.posts, args.limit),
        out=Path(args.out),
        dimensions=args.dimensions,
        concurrency=args.concurrency,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        read_cache=not args.no_cache,
        posts_source=str(args.posts),
        command=["judge", *sys.argv[1:]],
    )
    summary = run_generation(cfg)
    if args.json:
        print_json({**summary.model_dump(mode="json"), "complete": summary.complete})
    else:
        say(
            f"generated: {summary.out} ({summary.system}#{summary.system_hash})\n"
            f"  items {summary.items}  new {summary.generated}  already done {summary.skipped}  "
            f"failed {len(summary.failed)}\n"
            f"  model calls {summary.model_calls}  cache hits {summary.cache_hits}  wall {summary.wall_s:.1f}s"
        )
        for item_id, err in list(summary.failed.items())[:10]:
            say(f"  failed {item_id}: {err}", file=sys.stderr)
    return 0 if summary.complete else 1
