"""``python -m benchmarks.perf VERB [options]``: run one performance benchmark and write its report.

Verbs: ``engine`` (the judging engine vs bare clients; ``--quick`` for a small run), ``alpha`` (alpha bootstrap
speed), ``agreement`` (``judge agree`` on 10,000 items x 7 criteria x 4 judges), ``grid`` (import, agree and the
judge board on 10,000 items x 5 judges x 7 criteria, with the reports' sizes), ``local`` (embedded local models)
``scale`` and ``server`` (the embedded model behind llama-cpp-python's server, as docs/local-judge.md starts it),
``startup`` (``judge --help``'s start-up time, optionally against another checkout), ``fewshot`` (what few-shot
exemplars cost the embedded judge per call, with and without the KV cache), each when its module exists.
"""

from __future__ import annotations

import importlib
import inspect
import sys

VERBS = {
    "engine": "benchmarks.perf.engine",
    "alpha": "benchmarks.perf.alpha_bootstrap",
    "agreement": "benchmarks.perf.agreement",
    "grid": "benchmarks.perf.grid",
    "local": "benchmarks.perf.local_models",
    "scale": "benchmarks.perf.scale",
    "server": "benchmarks.perf.server",
    "startup": "benchmarks.perf.startup",
    "fewshot": "benchmarks.perf.fewshot",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in VERBS:
        print(f"usage: python -m benchmarks.perf {{{','.join(VERBS)}}} [options]\n\n{__doc__}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(VERBS[args[0]])
    except ModuleNotFoundError as exc:
        if exc.name != VERBS[args[0]]:
            raise
        print(f"error: benchmark {args[0]!r} is not available ({VERBS[args[0]]} is missing)", file=sys.stderr)
        return 2
    entry = module.main
    # Some benchmark mains parse sys.argv themselves and take no arguments.
    if inspect.signature(entry).parameters:
        rc = entry(args[1:])
    else:
        sys.argv = [f"benchmarks.perf {args[0]}", *args[1:]]
        rc = entry()
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
