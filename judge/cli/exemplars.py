"""``judge exemplars``: choose rated items of a few posts to show a judge as few-shot exemplars.

See ``judge.data.exemplars`` and docs/align.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from judge.cli._common import MAX_SEED, add_parser, bounded, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "exemplars",
        "choose rated items of a few posts to show a judge as examples (few-shot), for 'judge run --exemplars'",
        "Choose COUNT items rated by your experts, one per post, spread over the experts' scale (lowest, middle,\n"
        "highest for 3), and write them with the experts' mean per criterion and their reasons (where the data\n"
        "has them). 'judge run --exemplars FILE' shows the set to the judge after its instructions, the same\n"
        "message for every item (the embedded judge evaluates it once). Items of the exemplars' posts are then\n"
        "not judged, so no rating the judge was shown is ever scored against; 'judge align' compares the runs\n"
        "with and without exemplars on the same items, held out by post. See docs/align.md.",
        "  judge exemplars --benchmark bench/resort --criteria alignment_with_standards empathy \\\n"
        "                  --count 3 --out aligned/shots.json\n"
        "  judge run --benchmark bench/resort --rated-only --exemplars aligned/shots.json --out runs/local-3shot\n",
    )
    p.add_argument("--benchmark", required=True, help="benchmark directory with expert ratings (ratings.jsonl)")
    p.add_argument(
        "--criteria",
        nargs="+",
        required=True,
        metavar="NAME",
        help="the criteria whose ratings are shown; items are spread over the first one's scale",
    )
    p.add_argument("--count", type=bounded(int, 1, 20), default=3, help="how many exemplars (1-20, default 3)")
    p.add_argument(
        "--max-chars",
        type=bounded(int, 1),
        default=2500,
        help="only items whose post and reply together are this long at most: the set goes with every item and "
        "must leave room in a small model's context (default 2500)",
    )
    p.add_argument("--seed", type=bounded(int, 0, MAX_SEED), default=0, help="decides among equal ratings (0)")
    p.add_argument("--out", required=True, metavar="FILE", help="the exemplar file to write (JSON)")
    p.add_argument("--json", action="store_true", help="print the exemplar set as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from judge.data.benchmark import load_benchmark
    from judge.data.exemplars import choose_exemplars
    from judge.errors import UsageError

    bench = load_benchmark(args.benchmark, known_criteria=None)
    rated = {r.criterion for r in bench.ratings}
    unknown = [c for c in args.criteria if c not in rated]
    if unknown:
        raise UsageError(
            f"--criteria {' '.join(unknown)}: no expert rating in {args.benchmark} "
            f"(rated: {', '.join(sorted(rated)) or 'none'})"
        )
    shots = choose_exemplars(bench, args.criteria, count=args.count, seed=args.seed, max_chars=args.max_chars)
    shots.save(args.out)
    if args.json:
        print_json(shots.model_dump(mode="json"))
        return 0
    for k, ex in enumerate(shots.exemplars, 1):
        ratings = ", ".join(f"{c} {v:g}" for c, v in ex.ratings.items())
        reasons = sum(len(v) for v in ex.rationales.values())
        say(f"{k}. {ex.item.item_id} (post {ex.item.post_id}): {ratings}; {reasons} reason(s)")
    reserved = len(shots.reserved_items(bench))
    say(
        f"wrote {args.out}: {len(shots.exemplars)} exemplars from {len(shots.posts)} posts; a run with them does "
        f"not judge the {reserved} items of those posts"
    )
    return 0
