"""The ``judge`` command: one thin verb per capability, each in its own module under ``judge/cli/``.

A verb module defines ``register(subparsers)`` (adds its parser, with examples in the epilog, and sets
``func``) and a function ``run(args) -> int``. Verb modules import heavy libraries inside ``run`` only, so
``judge --help`` stays fast.

Exit codes: 0 ok, 1 a check failed or the run could not complete (for ``judge run`` also: a judgment left unscored
by the provider, or more unscored than ``--max-unscored``), 2 bad usage or bad input (before any model call).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from judge import __version__
from judge.registry import Registry, RegistryError

# LiteLLM fetches a remote cost map at import unless told otherwise; we must work offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# verb -> the module that defines it (``register(sub)`` adds its parser; ``run(args)`` does the work). Only the names
# are here, so `judge --help` imports the verb modules and nothing heavier; the order is the order of --help.
VERBS: Registry[ModuleType] = Registry(
    "verb",
    where={
        "demo": "judge.cli.demo",
        "import": "judge.cli.import_",
        "rubrics": "judge.cli.rubrics",
        "prompt": "judge.cli.prompt",
        "run": "judge.cli.run",
        "agree": "judge.cli.agree",
        "calibrate": "judge.cli.calibrate",
        "exemplars": "judge.cli.exemplars",
        "align": "judge.cli.align",
        "estimate": "judge.cli.estimate",
        "leaderboard": "judge.cli.leaderboard",
        "probe": "judge.cli.probe",
        "view": "judge.cli.view",
        "show": "judge.cli.show",
        "generate": "judge.cli.generate",
        "gate": "judge.cli.gate",
        "models": "judge.cli.models",
    },
    whole_modules=True,
    accepts=lambda module: callable(getattr(module, "register", None)),
    requirement="a function register(subparsers)",
)

# The traceback of an unexpected error is shown only on request (main(): the one error boundary).
DEBUG_FLAG = "--debug"
DEBUG_ENV = "JUDGE_DEBUG"

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
    from judge.cli._parser import JudgeParser  # "did you mean --rated-only?" under the verb's own usage

    parser = JudgeParser(prog="judge", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"reappraisal-judge {__version__}")
    # Taken out of the arguments by main() before parsing (so it may follow the verb too); declared for --help.
    parser.add_argument(
        DEBUG_FLAG,
        action="store_true",
        help=f"on an unexpected error, show its traceback (before or after the verb; or set {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    # Every verb registered is loaded: a misspelt or missing module is a RegistryError, never a verb silently gone.
    for verb in VERBS.names():
        module = VERBS.get(verb)
        module.register(sub)
        if verb not in sub.choices:
            raise RegistryError(f"verb {verb!r}: {module.__name__}.register added no parser named {verb!r}")
    return parser


# What Ctrl-C leaves, said per verb (``set_defaults(on_interrupt=...)``): only the verbs that record their work as
# it is done (run, probe, generate, demo) can promise that it is kept and that the same command resumes.
RESUMABLE_INTERRUPT = "interrupted: finished work is saved; run the same command again to resume"
DEFAULT_INTERRUPT = "interrupted: files already written are whole (old or new, never a mix); run the command again"
STARTUP_INTERRUPT = "interrupted before anything was done: nothing was written or changed"


def _take_back_ctrl_c() -> None:
    """Give Ctrl-C back to Python (a KeyboardInterrupt this boundary reports) if the console script's launcher
    (``judge/launch.py``) still holds it; a host program's own handler is left alone."""
    if getattr(signal.getsignal(signal.SIGINT), "__module__", None) == "judge.launch":
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _is_interrupt(exc: BaseException) -> bool:
    """A Ctrl-C that surfaced inside pydantic's serializer (it wraps the KeyboardInterrupt in a ValueError)."""
    return type(exc).__name__ == "PydanticSerializationError" and "KeyboardInterrupt" in str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``judge`` console script.

    The one error boundary: errors raised on purpose (``judge.errors``) become one ``error: ...`` message and exit 2
    (bad input or usage) or 1 (the run could not complete); Ctrl-C says what it left (exit 130); anything else is a
    fault of this tool, reported in one line with exit 1, its traceback shown only with ``--debug`` (or
    ``JUDGE_DEBUG=1``).
    """
    from judge.errors import InputError, Interrupted, JudgeError, RunIncomplete, StaleArtifact, UsageError
    from judge.terminal import guard_terminal

    guard_terminal()  # text from files and models cannot drive the user's terminal (judge/terminal.py)
    args_list, debug = _debug_switch(sys.argv[1:] if argv is None else argv)
    try:
        _take_back_ctrl_c()  # from here a Ctrl-C is a KeyboardInterrupt this boundary reports
        parser = build_parser()
        args = parser.parse_args(args_list)
    except KeyboardInterrupt:  # Ctrl-C while the verbs load
        print(STARTUP_INTERRUPT, file=sys.stderr)
        return 130
    except RegistryError as exc:  # a verb the code names but does not define: ours to fix, said loudly
        return _fault(exc, debug)
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
    except OSError as exc:  # the system refused (disk full, a file that vanished): not a fault of ours, nor of input
        if debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a fault of ours: one line for the user, the traceback on request
        if _is_interrupt(exc):
            print(getattr(args, "on_interrupt", DEFAULT_INTERRUPT), file=sys.stderr)
            return 130
        return _fault(exc, debug)


def _fault(exc: Exception, debug: bool) -> int:
    """A fault of this tool: one line for the user, the traceback on request; exit 1."""
    if debug:
        traceback.print_exception(exc)
    text = " ".join(str(exc).split())[:300] or "(no message)"
    print(f"error: unexpected {type(exc).__name__}: {text}", file=sys.stderr)
    how = "the traceback is above" if debug else f"rerun with {DEBUG_FLAG} (or {DEBUG_ENV}=1) to see the traceback"
    print(f"this is a fault of reappraisal-judge, not of your input; {how}, and please report it", file=sys.stderr)
    return 1


def _debug_switch(argv: Sequence[str]) -> tuple[list[str], bool]:
    """The arguments without ``--debug`` (accepted anywhere before a ``--``), and whether debugging is on (the flag,
    or ``JUDGE_DEBUG`` set to anything but empty, 0, false or no)."""
    args = list(argv)
    end = args.index("--") if "--" in args else len(args)
    flag = DEBUG_FLAG in args[:end]
    if flag:
        args = [a for i, a in enumerate(args) if i >= end or a != DEBUG_FLAG]
    env = os.environ.get(DEBUG_ENV, "").strip().lower()
    return args, flag or env not in ("", "0", "false", "no")


if __name__ == "__main__":
    sys.exit(main())
