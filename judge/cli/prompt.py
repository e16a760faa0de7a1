"""``judge prompt show``: the exact messages (and response format) one judge would receive for one item."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from judge.cli._common import add_parser, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "prompt",
        "show the exact messages a judge would receive for one item",
        "Plans the call exactly as 'judge run' does (the set's framing, the item's post or conversation, the\n"
        "post cut for local judges, the response format, the cache key) and prints it; nothing is called.",
        "  judge prompt show --benchmark datasets/demo --item demo:exam-careful --criterion empathy\n"
        "  judge prompt show --benchmark bench/mine --rubrics rubrics/mine --item chat-01 --judge openai/gpt-4o\n"
        "  judge prompt show --benchmark bench/mine --rubrics rubrics/mine --item chat-01 --json\n"
        "  judge prompt show --benchmark datasets/demo --item demo:exam-careful --versus demo:exam-generic\n"
        "                    --criterion empathy   (the pairwise question, the first item shown as A)\n",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    sp = actions.add_parser("show", help="print the messages and response format of one judgment")
    sp.add_argument("--benchmark", required=True, metavar="DIR", help="benchmark directory")
    sp.add_argument("--item", metavar="ID", help="item id (default: the first item)")
    sp.add_argument("--rubrics", metavar="DIR", help="rubric set (default: the bundled rubrics/resort)")
    sp.add_argument("--criterion", metavar="NAME", help="criterion (default: the set's first)")
    sp.add_argument("--judge", default="local", help="judge model string or .toml config (default: local)")
    sp.add_argument("--api-base", metavar="URL", help="OpenAI-compatible server of the judge")
    sp.add_argument(
        "--versus",
        metavar="ID",
        help="show the pairwise question instead (judge run --task pairwise): --item shown first as A, this item "
        "(a reply to the same post) as B",
    )
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from judge.data.benchmark import load_benchmark
    from judge.data.names import normal_name
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine.judge_spec import resolve_judges
    from judge.engine.plan import RunConfig, plan_units
    from judge.errors import UsageError
    from judge.terminal import output_width, text_width

    rubrics = load_rubric_set(args.rubrics or default_rubrics_dir())
    bench = load_benchmark(args.benchmark, known_criteria=rubrics)
    if not bench.items:
        raise UsageError(f"{args.benchmark} has no items")
    # --item '' names no item: it is refused below, never taken for "the first item" (only an absent flag is).
    item_id = next(iter(bench.items)) if args.item is None else normal_name(args.item)
    if item_id not in bench.items:
        raise UsageError(f"--item {item_id!r} is not in {args.benchmark} (e.g. {list(bench.items)[:3]})")
    criterion = args.criterion or next(iter(rubrics))
    if criterion not in rubrics:
        raise UsageError(f"--criterion {criterion!r}: expected one of {sorted(rubrics)}")
    judges = resolve_judges([args.judge], args.api_base, {"temperature": 0.0, "max_tokens": 400})
    if len(judges) != 1:
        raise UsageError("--judge: show the prompt of one judge at a time")
    # The very units `judge run` would plan for this item (one call per criterion, or one for all criteria).
    ids = [item_id]
    task = None
    if args.versus is not None:
        from judge.engine.pairwise import PairPlan, PairwiseTask

        other = normal_name(args.versus)
        if other not in bench.items or other == item_id:
            raise UsageError(
                f"--versus {other!r}: expected another item of {args.benchmark} (e.g. {list(bench.items)[:3]})"
            )
        ids.append(other)
        task = PairwiseTask(PairPlan.of([(item_id, other, criterion)]))
    cfg = RunConfig(benchmark=bench, rubrics=rubrics, judges=judges, out=Path("-"), item_ids=ids, task=task)
    cfg.check()  # what `judge run` would refuse about this item (e.g. a dimension the rubric does not define)
    units = task.units(cfg, set()) if task is not None else plan_units(cfg, set())
    unit: Any = next(u for u in units if u.rubric.name == criterion)
    group = getattr(unit, "group", None)
    shown = {
        "judge": judges[0].name,
        "model": judges[0].model,
        "item_id": item_id,
        **({"versus": ids[1], "order": "ab"} if task is not None else {}),
        "criterion": criterion,
        "all_criteria_in_one_call": group is not None,
        "prompt_hash": unit.prompt_hash,
        "cache_key": unit.key,
        "flags": unit.flags,
        "messages": unit.messages,
        "response_format": unit.response_format,
    }
    if args.json:
        print_json(shown)
        return 0
    what = f"items {item_id} (A) vs {ids[1]} (B)" if task is not None else f"item {item_id}"
    say(
        f"judge {shown['judge']} ({shown['model']}), {what}, criterion {criterion}"
        f"{' (all criteria in one call)' if group else ''}; prompt hash {shown['prompt_hash']}, "
        f"cache key {unit.key[:16]}..."
    )
    # Long lines are wrapped at word boundaries for the terminal (which would otherwise cut them anywhere); the
    # exact text, byte for byte, is one flag away.
    width = output_width()
    if any(text_width(line) > width for m in unit.messages for line in m["content"].split("\n")):
        say(f"(long lines wrapped at {width} columns; --json prints the exact text)")
    for m in unit.messages:
        say(f"\n----- {m['role']} -----\n{m['content']}")
    print("\n----- response format -----")
    print(json.dumps(unit.response_format, indent=2) if unit.response_format else "none (free text, parsed)")
    return 0
