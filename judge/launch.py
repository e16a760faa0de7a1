"""The ``judge`` console script's first code: a Ctrl-C while the tool is still loading ends cleanly too.

A console script imports its entry point's module before any of that module's code runs, and ``judge.cli`` brings
argparse, the verbs' registry and more with it. A Ctrl-C in that time surfaced as Python's own KeyboardInterrupt
traceback (4 of 30 random SIGINTs in ``benchmarks/reliability``'s interrupt run). This module imports nothing of the
tool before it has set a SIGINT handler that says nothing was done and exits 130; the CLI's error boundary
(``judge.cli.main``) takes Ctrl-C back as soon as it is entered. Only a Ctrl-C during the interpreter's own start,
before this module is read, is still Python's to report.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

#: What a Ctrl-C before any work says (also ``judge.cli``'s message when the verbs are interrupted while loading).
STARTUP_INTERRUPT = "interrupted before anything was done: nothing was written or changed"


def _interrupted_while_loading(signum: int, frame: FrameType | None) -> None:
    try:
        sys.stderr.write(STARTUP_INTERRUPT + "\n")
        sys.stderr.flush()
    finally:
        os._exit(130)  # no cleanup to run: nothing was opened or written yet


def arm() -> None:
    """Make Ctrl-C end the process cleanly (exit 130, one line) until ``disarm`` (the CLI's boundary) is called."""
    signal.signal(signal.SIGINT, _interrupted_while_loading)


def disarm() -> None:
    """Give Ctrl-C back to Python (KeyboardInterrupt, which the CLI's boundary turns into what was kept), if ``arm``
    set it; any other handler (a host program's) is left alone."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_loading:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main() -> int:
    """The console script: arm, then load and run the CLI."""
    arm()
    from judge.cli import main as cli_main

    return cli_main()
