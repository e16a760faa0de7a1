"""``judge prompt show``: the exact messages (and response format) one judge would receive for one item."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "prompt",
        "show the exact messages a judge would receive for one item",
        "Plans the call exactly as 'judge run' does (the set's framing, the item's post or conversation, the\n"
        "post cut for local judges, the response format, the cache key) and prints it; nothing is called.",
        "  judge prompt show --benchmark datasets/demo --item demo:exam-careful --criterion empathy\n"
        "  judge prompt show --benchmark bench/mine --rubrics rubrics/mine --item chat-01 --judge openai/gpt-4o\n"
        "  judge prompt show --benchmark bench/mine --rubrics rubrics/mine --item chat-01 --json\n",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sp = actions.add_parser("show", help="print the messages and response format of one judgment")
    sp.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark directory")
    sp.add_argument("--item", metavar="ID", help="item id (default: the first item)")
    sp.add_argument("--rubrics", metavar="DIR", help="rubric set (default: the bundled rubrics/resort)")
    sp.add_argument("--criterion", metavar="NAME", help="criterion (default: the set's first)")
    sp.add_argument("--judge", default="local", help="judge model string or .toml config (default: local)")
    sp.add_argument("--api-base", metavar="URL", help="OpenAI-compatible server of the judge")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from judge.data.benchmark import load_benchmark
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.judge_spec import resolve_judges
    from judge.engine.plan import RunConfig, plan_units
    from judge.errors import UsageError

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
    bench = load_benchmark(args.benchmark, known_criteria=rubrics)
    if not bench.items:
        raise UsageError(f"{args.benchmark} has no items")
    item_id = args.item or next(iter(bench.items))
    if item_id not in bench.items:
        raise UsageError(f"--item {item_id!r} is not in {args.benchmark} (e.g. {list(bench.items)[:3]})")
    criterion = args.criterion or next(iter(rubrics))
    if criterion not in rubrics:
        raise UsageError(f"--criterion {criterion!r}: expected one of {sorted(rubrics)}")
    judges = resolve_judges([args.judge], args.api_base, {"temperature": 0.0, "max_tokens": 400})
    if len(judges) != 1:
        raise UsageError("--judge: show the prompt of one judge at a time")
    # The very units `judge run` would plan for this item (one call per criterion, or one for all criteria).
    cfg = RunConfig(benchmark=bench, rubrics=rubrics, judges=judges, out=Path("-"), item_ids=[item_id])
    unit = next(u for u in plan_units(cfg, set()) if u.rubric.name == criterion)
    shown = {
        "judge": judges[0].name,
        "model": judges[0].model,
        "item_id": item_id,
        "criterion": criterion,
        "all_criteria_in_one_call": unit.group is not None,
        "prompt_hash": unit.prompt_hash,
        "cache_key": unit.key,
        "flags": unit.flags,
        "messages": unit.messages,
        "response_format": unit.response_format,
    }
    if args.json:
        print_json(shown)
        return 0
    print(
        f"judge {shown['judge']} ({shown['model']}), item {item_id}, criterion {criterion}"
        f"{' (all criteria in one call)' if unit.group else ''}; prompt hash {shown['prompt_hash']}, "
        f"cache key {unit.key[:16]}..."
    )
    for m in unit.messages:
        print(f"\n----- {m['role']} -----\n{m['content']}")
    print("\n----- response format -----")
    print(json.dumps(unit.response_format, indent=2) if unit.response_format else "none (free text, parsed)")
    return 0
