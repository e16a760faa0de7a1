"""All-or-nothing directory outputs (``judge.staging``): swap, fallback, recovery after a kill, refusals, Ctrl-C."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from judge import staging
from judge.errors import UsageError
from judge.locks import Busy, locked
from judge.staging import StagedDir, commit_all, interrupts_held, leftovers, recover


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _fill(path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (path / name).write_text(text)


@pytest.fixture(params=["exchange", "fallback"])
def swap(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of swapping: the atomic exchange, and the two renames used where it is not supported."""
    if request.param == "fallback":
        monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    return str(request.param)


def test_new_target_appears_whole(tmp_path: Path, swap: str) -> None:
    target = tmp_path / "out" / "bench"
    with StagedDir(target, "--out", replaces={"a", "b"}) as s:
        _fill(s.path, {"a": "1", "b": "2"})
        assert not target.exists()
        s.commit()
    assert _tree(target) == {"a": "1", "b": "2"}
    assert leftovers(target) == []


def test_existing_target_is_replaced_whole(tmp_path: Path, swap: str) -> None:
    target = tmp_path / "bench"
    target.mkdir()
    _fill(target, {"a": "old", "ratings": "old ratings"})
    with StagedDir(target, "--out", replaces={"a", "ratings"}) as s:
        _fill(s.path, {"a": "new"})
        assert _tree(target) == {"a": "old", "ratings": "old ratings"}  # untouched until the commit
        s.commit()
    assert _tree(target) == {"a": "new"}  # no old file stays behind
    assert leftovers(target) == []


def test_leaving_without_commit_leaves_the_target_unchanged(tmp_path: Path, swap: str) -> None:
    target = tmp_path / "bench"
    target.mkdir()
    _fill(target, {"a": "old"})
    with pytest.raises(RuntimeError), StagedDir(target, "--out", replaces={"a"}) as s:
        _fill(s.path, {"a": "half"})
        raise RuntimeError("killed half-way")
    assert _tree(target) == {"a": "old"} and leftovers(target) == []


def test_mode_of_the_new_directory(tmp_path: Path) -> None:
    with StagedDir(tmp_path / "run", "--out", mode=0o700) as s:
        s.commit()
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700


def test_recovery_rolls_back_a_half_done_fallback_swap(tmp_path: Path) -> None:
    # A writer killed between the fallback's two renames: the target is gone, the old copy and staging are beside it.
    target = tmp_path / "bench"
    old = tmp_path / ".bench.old-4242"
    old.mkdir()
    _fill(old, {"a": "old"})
    stage = tmp_path / ".bench.staging-4242"
    stage.mkdir()
    _fill(stage, {"a": "new"})
    with StagedDir(target, "--out", replaces={"a"}):  # the next writer recovers first, under the lock
        assert _tree(target) == {"a": "old"}
        assert [p.name for p in leftovers(target)] == [f".bench.staging-{os.getpid()}"]  # only its own
    assert leftovers(target) == [] and _tree(target) == {"a": "old"}


def test_recovery_removes_an_old_copy_when_the_target_is_there(tmp_path: Path) -> None:
    target = tmp_path / "bench"
    target.mkdir()
    _fill(target, {"a": "new"})
    (tmp_path / ".bench.old-1").mkdir()
    (tmp_path / ".bench.staging-2").mkdir()
    assert recover(target) == ["removed .bench.old-1", "removed .bench.staging-2"]
    assert _tree(target) == {"a": "new"} and leftovers(target) == []


def test_a_directory_with_other_files_is_refused_not_deleted(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    _fill(target, {"items.jsonl": "x", "thesis.tex": "years of work", ".items.jsonl.ab12.tmp": ""})
    (target / "figures").mkdir()
    with pytest.raises(UsageError) as err, StagedDir(target, "--out", replaces={"items.jsonl"}):
        pass
    assert str(err.value) == (
        f"--out {target}: holds figures/, thesis.tex, which this output does not write; the output replaces the "
        "whole directory, so choose a new or empty directory"
    )
    assert (target / "thesis.tex").read_text() == "years of work" and leftovers(target) == []


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file, not a directory"), StagedDir(tmp_path / "f", "--out"):
        pass


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with locked(tmp_path / "bench", "first"), pytest.raises(Busy), StagedDir(tmp_path / "bench", "--out"):
        pass


def test_a_symlinked_target_keeps_its_link(tmp_path: Path, swap: str) -> None:
    real = tmp_path / "real"
    real.mkdir()
    _fill(real, {"a": "old"})
    link = tmp_path / "link"
    link.symlink_to(real)
    with StagedDir(link, "--out", replaces={"a"}) as s:
        _fill(s.path, {"a": "new"})
        s.commit()
    assert link.is_symlink() and _tree(link) == {"a": "new"} and _tree(real) == {"a": "new"}


def test_ctrl_c_during_the_swaps_lands_after_them(tmp_path: Path, swap: str) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    with StagedDir(a, "--out") as sa, StagedDir(b, "--run-out") as sb:
        real_commit = StagedDir.commit

        def commit_then_interrupt(self: StagedDir) -> None:
            real_commit(self)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the two swaps

        StagedDir.commit = commit_then_interrupt  # type: ignore[method-assign]
        try:
            with pytest.raises(KeyboardInterrupt):
                commit_all([sa, sb])
        finally:
            StagedDir.commit = real_commit  # type: ignore[method-assign]
        assert sa.committed and sb.committed  # both swaps happened: the interrupt waited for them
    assert a.is_dir() and b.is_dir()


def test_interrupts_held_delivers_afterwards() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("the block went on")
    assert done == ["the block went on"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
