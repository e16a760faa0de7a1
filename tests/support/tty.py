"""Run a command on a real pseudo-terminal of a given size and read back what it printed, as a user would see it.

``judge`` behaves differently on a terminal (a live progress line, tables laid out for the width, control
characters shown as escapes): these tests must see a terminal, not a pipe. Example::

    done = run_in_pty([sys.executable, "-m", "judge", "show", str(run)], cols=80)
    assert done.rc == 0 and all(len(line) <= 80 for line in done.lines)
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class TtyResult:
    rc: int
    output: str  # stdout and stderr as the terminal received them ("\r\n" written back as "\n")

    @property
    def lines(self) -> list[str]:
        return self.output.split("\n")


def run_in_pty(
    cmd: Sequence[str],
    *,
    cols: int = 80,
    rows: int = 24,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    timeout_s: float = 300,
) -> TtyResult:
    """Run ``cmd`` with stdin, stdout and stderr on a new ``cols`` x ``rows`` pseudo-terminal; return its output.

    ``COLUMNS`` and ``LINES`` are removed from the environment, so the program must ask the terminal its size.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = {k: v for k, v in (env if env is not None else os.environ).items() if k not in ("COLUMNS", "LINES")}
    full_env.setdefault("TERM", "xterm-256color")
    proc = subprocess.Popen(
        list(cmd), stdin=slave, stdout=slave, stderr=slave, env=full_env, cwd=cwd, start_new_session=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{cmd!r} did not finish within {timeout_s} s")
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                # drain what is left, then stop
                while select.select([master], [], [], 0.1)[0]:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    chunks.append(data)
                break
    finally:
        os.close(master)
    rc = proc.wait(timeout=30)
    text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    return TtyResult(rc, text)
