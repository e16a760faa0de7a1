"""All-or-nothing directory outputs: build a directory beside its target, then swap it into place.

An import writes a whole directory (a benchmark: items, ratings, manifest; a run: manifest, records, summary).
Written file by file over the old one, an interrupt between two files would leave new items with old ratings. So a
``StagedDir`` builds the new version in ``.<name>.staging-<pid>`` beside the target (same file system) and puts it
in place in one step:

* no target yet: ``rename(staging, target)``, atomic;
* a target already there: rename(2) cannot replace a non-empty directory, but ``renameat2(RENAME_EXCHANGE)``
  swaps two directories atomically (Linux >= 3.15 on ext4, xfs, btrfs, tmpfs ...). The staging path then holds the
  old version, which is deleted;
* where the exchange is not supported, the old target is renamed aside to ``.<name>.old-<pid>``, the staging
  directory renamed into place, and the old copy deleted. A kill between those two renames leaves the path empty
  for a moment; the next writer of the path rolls back (below).

Readers therefore find the old directory or the new one, never a mix, whenever the writer is interrupted (Ctrl-C,
``kill -9``, a full disk). Ctrl-C during the swap itself is held until the swap is done (``interrupts_held``).

Recovery: a ``StagedDir`` holds the target's lock (``judge.locks``) from start to end, so when it starts no other
writer of that path is alive and every leftover beside the target is from a writer that died: a staging directory
(deleted: unfinished, or holding the old version after an exchange), an old copy (put back when the target is
missing, deleted otherwise). The lock files ``.<name>.lock`` stay, by design (see ``judge.locks``).

Example::

    with StagedDir(Path("bench/mine"), "--out") as staged:
        save_benchmark(bench, staged.path)   # written into the staging directory
        staged.commit()                      # bench/mine is now the new benchmark
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

from judge.errors import UsageError
from judge.locks import locked

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_holding = False  # SIGINT is being held by an enclosing interrupts_held block


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (``renameat2`` with ``RENAME_EXCHANGE``); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _fsync_dir(path: Path) -> None:
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory of a staged tree, so that what is swapped in is on disk."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            with suppress(OSError):
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        _fsync_dir(Path(dirpath))


def leftovers(target: Path) -> list[Path]:
    """Staging directories and old copies a writer of ``target`` left beside it."""
    parent = target.parent
    if not parent.is_dir():
        return []
    prefixes = (f".{target.name}.staging-", f".{target.name}.old-")
    return sorted(p for p in parent.iterdir() if p.name.startswith(prefixes))


def recover(target: Path) -> list[str]:
    """Finish or roll back what a killed writer of ``target`` left; call with the target's lock held.

    Returns:
        What was done, one phrase per leftover (for tests and messages).
    """
    done = []
    for p in leftovers(target):
        if p.name.startswith(f".{target.name}.old-") and not target.exists():
            os.rename(p, target)  # killed between the two renames of the fallback swap: the old version returns
            done.append(f"restored {target} from {p.name}")
        else:
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}")
    return done


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) for the block and deliver it after: a few renames that must not be cut in half.

    Only in the main thread (where Python handles signals); elsewhere the block runs as it is. Nested blocks hold
    it until the outermost one ends.
    """
    global _holding
    if _holding or threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    _holding = True
    try:
        yield
    finally:
        _holding = False
        signal.signal(signal.SIGINT, previous)
    if got:
        raise KeyboardInterrupt


class StagedDir:
    """One directory output built whole beside its target and swapped into place by ``commit``.

    Entering takes the target's lock (refused with ``judge.locks.Busy`` if another process writes it), recovers
    the leftovers of a killed writer and creates the empty staging directory (``path``). Leaving without
    ``commit`` deletes the staging directory: the target is unchanged.

    Args:
        target: the directory to write (it may exist: it is replaced whole).
        what: how the target is named in messages (``"--out"``).
        mode: permissions of the new directory (0o700 for runs, whose records may hold sensitive text).
        replaces: the names an existing target may hold. A target holding anything else (a directory of the
            user's, another kind of output) is refused, never deleted with the old version.
        check: called with the target under the lock, before anything is written (may raise to refuse it).
    """

    def __init__(
        self,
        target: str | Path,
        what: str,
        *,
        mode: int = 0o755,
        replaces: Collection[str] = frozenset(),
        check: Callable[[Path], None] | None = None,
    ) -> None:
        self.given = Path(target)
        self.target = Path(os.path.abspath(target))
        if self.target.is_symlink():
            self.target = self.target.resolve()  # replace what the link points to, keep the link
        self.what = what
        self.mode = mode
        self.replaces = frozenset(replaces)
        self.check = check
        self.path = self.target.parent / f".{self.target.name}.staging-{os.getpid()}"
        self.committed = False
        self._stack = ExitStack()

    def __enter__(self) -> StagedDir:
        if self.target.exists() and not self.target.is_dir():
            raise UsageError(f"{self.what} {self.target}: is a file, not a directory")
        self._stack.enter_context(locked(self.target, f"{self.what} {self.given}"))
        try:
            recover(self.target)
            self._check_replaceable()
            if self.check is not None:
                self.check(self.target)
            self.path.mkdir(mode=self.mode)
            os.chmod(self.path, self.mode)
        except OSError as exc:
            self._stack.close()
            raise UsageError(f"{self.what} {self.target}: cannot write there ({exc.strerror or exc})") from None
        except BaseException:
            self._stack.close()
            raise
        return self

    def _check_replaceable(self) -> None:
        if not self.target.is_dir():
            return
        foreign = sorted(
            p.name + ("/" if p.is_dir() else "")
            for p in self.target.iterdir()
            if not (p.name in self.replaces and p.is_file()) and not _our_leftover(p.name)
        )
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise UsageError(
                f"{self.what} {self.given}: holds {shown}, which this output does not write; the output replaces the "
                "whole directory, so choose a new or empty directory"
            )

    def commit(self) -> None:
        """Put the staged directory in place of the target (Ctrl-C is held until it is done)."""
        _fsync_tree(self.path)
        with interrupts_held():
            if not self.target.exists():
                os.rename(self.path, self.target)
            elif not _exchange(self.path, self.target):
                old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
                os.rename(self.target, old)
                os.rename(self.path, self.target)
                os.rename(old, self.path)  # the old version, where the cleanup below deletes it
            self.committed = True
            _fsync_dir(self.target.parent)
        shutil.rmtree(self.path, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        try:
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            self._stack.close()


def _our_leftover(name: str) -> bool:
    """A temporary file of an atomic write, or a lock file: ours, and nothing a user keeps."""
    return name.startswith(".") and name.endswith((".tmp", ".lock"))


def commit_all(staged: list[StagedDir]) -> None:
    """Commit several staged directories one after the other with Ctrl-C held for all of them: an interrupt lands
    before the first swap or after the last (a ``kill -9`` between two swaps can still split them; each output is
    whole either way)."""
    with interrupts_held():
        for s in staged:
            s.commit()
