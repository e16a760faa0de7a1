"""The ``judge`` command: one thin verb per capability, each in its own module under ``judge/cli/``.

A verb module defines ``register(subparsers)`` (adds its parser, with examples in the epilog, and sets
``func``) and a function ``run(args) -> int``. Verb modules import heavy libraries inside ``run`` only, so
``judge --help`` stays fast.

Exit codes: 0 ok, 1 a check failed or the run could not complete (for ``judge run`` also: a judgment left unscored
by the provider, or more unscored than ``--max-unscored``), 2 bad usage or bad input (before any model call).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from judge import __version__

# LiteLLM fetches a remote cost map at import unless told otherwise; we must work offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# (verb, module): order is the order shown in --help.
VERBS: list[tuple[str, str]] = [
    ("demo", "judge.cli.demo"),
    ("import", "judge.cli.import_"),
    ("rubrics", "judge.cli.rubrics"),
    ("prompt", "judge.cli.prompt"),
    ("run", "judge.cli.run"),
    ("agree", "judge.cli.agree"),
    ("calibrate", "judge.cli.calibrate"),
    ("estimate", "judge.cli.estimate"),
    ("leaderboard", "judge.cli.leaderboard"),
    ("probe", "judge.cli.probe"),
    ("view", "judge.cli.view"),
    ("show", "judge.cli.show"),
    ("generate", "judge.cli.generate"),
    ("gate", "judge.cli.gate"),
    ("models", "judge.cli.models"),
]

DESCRIPTION = """\
Score cognitive-reappraisal responses with LLM judges, and measure those judges against
clinical psychologists (the RESORT expert study, Zhan et al., COLM 2024).

Typical workflow:
  judge demo                                         # offline, embedded local judge, bundled demo
  judge import resort ~/RESORT_cognitive_reappraisal --out bench/resort
  judge run --benchmark bench/resort --judge openai/gpt-4o --out runs/gpt4o
  judge agree --benchmark bench/resort --run runs/gpt4o
  judge calibrate --benchmark bench/resort --run runs/gpt4o --out cal/gpt4o.json
  judge leaderboard --benchmark bench/resort --run runs/gpt4o --out reports/resort
  judge show runs/gpt4o                              # the run in the terminal: counts, cost, disagreements
  judge view --run runs/gpt4o --out reports/resort/viewer.html   # every judgment, offline HTML

Exit codes: 0 ok; 1 a check failed or a run could not complete (judge run: also when a judgment
ended unscored for a provider reason, or more are unscored than --max-unscored allows); 2 bad usage
or bad input, before any model call.
Run 'judge VERB --help' for the options and examples of each verb.
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in epilogs as written."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="judge", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"reappraisal-judge {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for _verb, module in VERBS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:  # verb not written yet
                continue
            raise
        mod.register(sub)
    return parser


# What Ctrl-C leaves, said per verb (``set_defaults(on_interrupt=...)``): only the verbs that record their work as
# it is done (run, probe, generate, demo) can promise that it is kept and that the same command resumes.
RESUMABLE_INTERRUPT = "interrupted: finished work is saved; run the same command again to resume"
STARTUP_INTERRUPT = "interrupted before anything was done: nothing was written or changed"
DEFAULT_INTERRUPT = "interrupted: files already written are whole (old or new, never a mix); run the command again"


def _is_interrupt(exc: BaseException) -> bool:
    """A Ctrl-C that surfaced inside pydantic's serializer (it wraps the KeyboardInterrupt in a ValueError)."""
    return type(exc).__name__ == "PydanticSerializationError" and "KeyboardInterrupt" in str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``judge`` console script."""
    from judge.errors import InputError, Interrupted, JudgeError, RunIncomplete, StaleArtifact, UsageError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the verbs load
        print(STARTUP_INTERRUPT, file=sys.stderr)
        return 130
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (InputError, UsageError, StaleArtifact) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RunIncomplete as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except JudgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(getattr(args, "on_interrupt", DEFAULT_INTERRUPT), file=sys.stderr)
        return 130
    except ValueError as exc:
        if not _is_interrupt(exc):
            raise
        print(getattr(args, "on_interrupt", DEFAULT_INTERRUPT), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
