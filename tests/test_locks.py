"""One writer at a time (``judge.locks``): two real processes, a holder killed with SIGKILL, waiting, messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judge.errors import UsageError
from judge.locks import Busy, holder_text, lock_path, locked

HOLD = """
import sys, time
from judge.locks import locked
with locked(sys.argv[1], "test"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(target: Path, seconds: float = 60.0) -> subprocess.Popen[str]:
    """A process that takes the lock of ``target`` and keeps it ``seconds`` (returns once it holds it)."""
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(target), str(seconds)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def test_lock_file_is_beside_the_target(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "runs" / "a") == tmp_path / "runs" / ".a.lock"
    assert lock_path(tmp_path / "runs" / "a/") == tmp_path / "runs" / ".a.lock"


def test_a_second_process_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    target = tmp_path / "run"
    p = _holder(target)
    try:
        with pytest.raises(Busy) as err, locked(target, "--out run"):
            pass
        msg = str(err.value)
        assert msg.startswith("--out run: in use by process ") and f"process {p.pid} " in msg
        assert " since 20" in msg and "one writer at a time" in msg
        assert isinstance(err.value, UsageError)  # exit 2
    finally:
        p.kill()
        p.wait()


def test_a_sigkilled_holder_does_not_block(tmp_path: Path) -> None:
    target = tmp_path / "run"
    p = _holder(target)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t0 = time.monotonic()
    with locked(target, "test"):
        assert f'"pid": {os.getpid()}' in lock_path(target).read_text()
    assert time.monotonic() - t0 < 1.0
    assert lock_path(target).read_text() == ""  # released: no stale holder left in the file


def test_waiting_takes_the_lock_when_the_holder_ends(tmp_path: Path) -> None:
    target = tmp_path / "registry.json"
    p = _holder(target, seconds=0.7)
    told: list[str] = []
    t0 = time.monotonic()
    with locked(target, "test", wait=True, on_wait=told.append):
        waited = time.monotonic() - t0
    p.wait()
    assert waited > 0.2 and len(told) == 1 and told[0].startswith(f"process {p.pid} ")


def test_in_one_process_two_holders_exclude_each_other(tmp_path: Path) -> None:
    with locked(tmp_path / "x", "first"), pytest.raises(Busy), locked(tmp_path / "x", "second"):
        pass
    with locked(tmp_path / "x", "again"):  # released after the block
        pass


def test_holder_text_of_an_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / ".x.lock").write_text("not json")
    assert holder_text(tmp_path / ".x.lock") == "another process"
    assert holder_text(tmp_path / "missing.lock") == "another process"


def test_a_lock_that_cannot_be_created_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    match = r"--out x: cannot create the lock file .*file is a file, not a directory"
    with pytest.raises(UsageError, match=match), locked(tmp_path / "file" / "run", "--out x"):
        pass
