"""One writer at a time: advisory locks that die with their process.

Every path that one process at a time may write (a run directory, a benchmark directory being imported, the model
registry, a model file being assembled) is guarded by ``locked(path, ...)``. The lock is an ``fcntl.flock`` on a
small sibling file, ``.<name>.lock`` in the same directory as ``path``:

* The kernel drops a flock when the process that took it ends, however it ends (``kill -9`` included), so a crashed
  writer never blocks the next one and nothing has to be cleaned up. A pid file could go stale; this cannot.
* The lock sits *beside* the path, not inside it, because a directory may be replaced whole (an import builds its
  output in a staging directory and swaps it into place, ``judge.staging``): the lock guards the path, whichever
  version of the directory is there.
* The lock file is never deleted: removing a lock file while another process waits on it would let two writers in.
  It holds one line of JSON about its holder (pid, start time, command), so that a refused writer can say who is
  writing: ``--out runs/x: in use by process 4242 (judge run ...) since 2024-05-01 12:04:31``.

A writer that finds the path taken is refused at once (``Busy``, exit 2) unless it asks to wait (``wait=True``:
short read-modify-write sections such as the model registry, or a model file another process is assembling).

Example::

    from judge.locks import locked
    with locked(run_dir, "--out"):
        ...  # the only writer of run_dir
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from judge.errors import UsageError

POLL_S = 0.05  # how often a waiting writer tries again


class Busy(UsageError):
    """Another process is writing the path (exit 2). ``holder`` says who, as far as its lock file tells."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


def lock_path(target: str | Path) -> Path:
    """The lock file guarding ``target``: ``.<name>.lock`` beside it (``target`` made absolute first)."""
    p = Path(os.path.abspath(target))
    return p.parent / f".{p.name or 'root'}.lock"


def holder_text(path: Path) -> str:
    """Who holds the lock file at ``path``, in words (from what its holder wrote into it)."""
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process"
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info.get("since", 0))))
    command = f" ({info['command']})" if info.get("command") else ""
    return f"process {info['pid']}{command} since {since}"


def _open(path: Path, what: str) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        why = next(
            (f"{a} is a file, not a directory" for a in path.parents if a.exists() and not a.is_dir()),
            exc.strerror or str(exc),
        )
        raise UsageError(f"{what}: cannot create the lock file {path} ({why})") from None


def _command() -> str:
    words = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:6]]
    text = " ".join(words) + (" ..." if len(sys.argv) > 6 else "")
    return text[:120]


@contextmanager
def locked(
    target: str | Path,
    what: str,
    *,
    wait: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the lock of ``target`` for the block (yields the lock file's path).

    Args:
        target: the path one writer at a time may write (file or directory; it need not exist yet).
        what: how the path is named in messages, e.g. ``"--out runs/x"`` or ``"model registry /m/models.json"``.
        wait: wait for the holder to finish instead of refusing.
        on_wait: called once, with the holder in words, when the lock is taken and ``wait`` is set.

    Raises:
        Busy: another process holds it and ``wait`` is False (exit 2), naming the process and since when.
        UsageError: the lock file cannot be created (the directory cannot be written).
    """
    path = lock_path(target)
    fd = _open(path, what)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = holder_text(path)
                if not wait:
                    raise Busy(
                        f"{what}: in use by {holder}; wait for it to finish (one writer at a time)", holder
                    ) from None
                if on_wait is not None and not told:
                    on_wait(holder)
                    told = True
                time.sleep(POLL_S)
        info = json.dumps({"pid": os.getpid(), "since": time.time(), "command": _command()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, (info + "\n").encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # the next reader of a free lock finds no stale holder
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
