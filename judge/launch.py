"""The ``judge`` console script's first code: a Ctrl-C while the tool is still loading ends cleanly too.

A console script imports its entry point's module before any of that module's code runs, and ``judge.cli`` brings
argparse, the verbs' registry and more with it. A Ctrl-C in that time surfaced as Python's own KeyboardInterrupt
traceback (4 of 30 random SIGINTs in ``benchmarks/reliability``'s interrupt run). This module imports nothing of the
tool before it has set a SIGINT handler that says nothing was done and exits 130; the CLI's error boundary
(``judge.cli.main``) takes Ctrl-C back as soon as it is entered. The CLI does not import this module (it is the
console script's entry, above the CLI). Only a Ctrl-C during the interpreter's own start,
before this module is read, is still Python's to report.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

#: What a Ctrl-C before any work says: the words of ``judge.cli.STARTUP_INTERRUPT`` (not imported from there: this
#: module must load before the CLI does; a test keeps the two equal).
STARTUP_INTERRUPT = "interrupted before anything was done: nothing was written or changed"


def _interrupted_while_loading(signum: int, frame: FrameType | None) -> None:
    try:
        sys.stderr.write(STARTUP_INTERRUPT + "\n")
        sys.stderr.flush()
    finally:
        os._exit(130)  # no cleanup to run: nothing was opened or written yet


def arm() -> None:
    """Make Ctrl-C end the process cleanly (exit 130, one line) until the CLI's boundary takes it back
    (``judge.cli.main``: it restores Python's KeyboardInterrupt when it finds this module's handler set)."""
    signal.signal(signal.SIGINT, _interrupted_while_loading)


def main() -> int:
    """The console script: arm, then load and run the CLI."""
    arm()
    from judge.cli import main as cli_main

    return cli_main()
