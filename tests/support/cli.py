"""Run the ``judge`` CLI in-process and see what a user would see: the exit code, stdout, stderr, and whether the
error boundary of ``judge.cli.main`` caught a fault (an unexpected exception: a traceback without ``--debug``).

Faults are run with ``JUDGE_DEBUG=1``, so a failing test shows the traceback in the captured stderr.

Example::

    r = run_judge("rubrics", "validate", "rubrics/resort")
    assert r.rc == 0 and not r.fault
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

#: What the boundary prints for a fault (judge/cli/__init__.py); a clean error never says it.
FAULT_MARK = "error: unexpected "


@dataclass
class CliResult:
    """What one ``judge`` command did."""

    rc: int
    out: str
    err: str

    @property
    def fault(self) -> bool:
        """The command ended in an exception nobody raised on purpose (a traceback without the boundary)."""
        return FAULT_MARK in self.err or "Traceback (most recent call last)" in self.err

    @property
    def clean_error(self) -> bool:
        """Exit 2 with one ``error:`` message and no fault."""
        return self.rc == 2 and "error:" in self.err and not self.fault


@contextlib.contextmanager
def _env(extra: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_judge(*argv: str, env: dict[str, str] | None = None) -> CliResult:
    """``judge ARGV`` in this process (``judge.cli.main``), with ``env`` set for the call; never raises.

    An exception escaping ``main`` (which the boundary should make impossible) is reported as a fault, with its
    traceback in ``err``.
    """
    import traceback

    from judge.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _env({"JUDGE_DEBUG": "1", **(env or {})}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # what escaped the boundary is the finding
            traceback.print_exc()
            rc = -1
    return CliResult(rc=rc, out=out.getvalue(), err=err.getvalue())
