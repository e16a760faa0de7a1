"""Interrupts (issue 25, points 1 and 6): an import, a run and a ``models add`` stopped by SIGINT or SIGKILL at
seeded random moments leave every output old or new, never a mix, and the same command completes the work.

The small variant runs here (two interrupts per command); ``python -m benchmarks.reliability`` runs many and reports
them. Deterministic cases (an interrupt in the middle of writing an import's run) are checked in-process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.reliability.interrupts import (
    InterruptTarget,
    interrupt_import,
    interrupt_models_add,
    interrupt_run,
    write_table,
)
from judge.cli import main
from judge.engine import imported
from judge.engine.store import iter_records


def _clean(t: InterruptTarget) -> None:
    assert t.by_signal == {"SIGINT": t.tries // 2 + t.tries % 2, "SIGKILL": t.tries // 2}, t
    assert t.mixed == 0 and t.problems == [], t
    assert t.completed_by_next == t.tries and t.clean_sigint == t.sigints and t.leftovers == 0, t


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_interrupted_imports_leave_the_old_or_the_new_import(tmp_path: Path) -> None:
    t = interrupt_import(tmp_path, n_items=800, tries=4, seed=3)
    _clean(t)
    assert sum(t.outcomes.values()) == 2 * t.tries  # two outputs each time: the benchmark and the run


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_interrupted_runs_keep_whole_records_and_resume(tmp_path: Path) -> None:
    t = interrupt_run(tmp_path, n_items=15, tries=2, seed=5)
    _clean(t)
    assert sum(t.outcomes.values()) == t.tries


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_interrupted_models_add_leaves_the_registry_whole(tmp_path: Path) -> None:
    t = interrupt_models_add(tmp_path, size_mb=30, tries=4, seed=7)
    _clean(t)


def test_ctrl_c_while_an_import_writes_its_run_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old_table, new_table = write_table(tmp_path / "old.csv", 40, seed=1), write_table(tmp_path / "new.csv", 40, seed=2)
    bench, run = tmp_path / "bench", tmp_path / "run"

    def argv(table: Path) -> list[str]:
        return ["import", "table", str(table), "--as-judge", "gpt", "--out", str(bench), "--run-out", str(run)]

    assert main(argv(old_table)) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for d in (bench, run) for p in sorted(d.iterdir())}
    real_append = imported.RunStore.append
    appended: list[int] = []

    def append_then_interrupt(self: imported.RunStore, j: object) -> None:
        real_append(self, j)  # type: ignore[arg-type]
        appended.append(1)
        if len(appended) == 25:  # half-way through the new run's records
            raise KeyboardInterrupt

    monkeypatch.setattr(imported.RunStore, "append", append_then_interrupt)
    assert main(argv(new_table)) == 130
    err = capsys.readouterr().err
    assert err == f"interrupted: nothing was imported; {bench} and {run} unchanged (run the import again)\n"
    assert {p.name: p.read_bytes() for d in (bench, run) for p in sorted(d.iterdir())} == before
    assert [p.name for p in tmp_path.iterdir() if ".staging-" in p.name or ".old-" in p.name] == []
    # what judge agree reads is the old import, whole (a partial run used to be read with exit 0)
    assert len(iter_records(run)) == 80
    assert main(["agree", "--benchmark", str(bench), "--run", str(run), "--n-boot", "200"]) == 0
    monkeypatch.undo()
    assert main(argv(new_table)) == 0  # the same command completes it


def test_an_import_killed_before_its_first_swap_leaves_no_run_to_read(tmp_path: Path) -> None:
    # What a SIGKILL during the build leaves: staging directories beside targets that do not exist yet.
    (tmp_path / ".run.staging-99999").mkdir()
    (tmp_path / ".run.staging-99999" / "judgments.jsonl").write_text('{"half": ')
    assert main(["agree", "--benchmark", str(tmp_path / "bench"), "--run", str(tmp_path / "run")]) == 2
    table = write_table(tmp_path / "t.csv", 5, seed=1)
    argv = ["import", "table", str(table), "--as-judge", "gpt", "--out", str(tmp_path / "bench"), "--run-out",
            str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 0  # the next import removes the leftover of the killed one
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["bench", "run", "t.csv"]


def test_an_interrupt_inside_pydantic_s_serializer_is_an_interrupt(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C while pydantic runs a Python callback (e.g. a field's exclude_if) arrives wrapped in a
    # PydanticSerializationError, a ValueError: it used to end in a traceback.
    from pydantic import BaseModel, Field

    def interrupted(value: object) -> bool:
        raise KeyboardInterrupt

    class Row(BaseModel):
        x: int | None = Field(default=1, exclude_if=interrupted)

    from judge.cli import rubrics as rubrics_verb

    monkeypatch.setattr(rubrics_verb, "run_list", lambda args: Row().model_dump_json() and 0)
    assert main(["rubrics", "list"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted") and "Traceback" not in err and "Pydantic" not in err


def test_every_import_kind_builds_its_output_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).resolve().parents[1] / "datasets" / "demo"
    outputs = tmp_path / "gpt.jsonl"
    outputs.write_text(
        '{"item_id": "demo:exam-careful", "criterion": "empathy", "judge": "gpt", "raw_output": "4"}\n'
        '{"item_id": "demo:exam-generic", "criterion": "empathy", "judge": "gpt", "raw_output": "2"}\n'
    )
    run = tmp_path / "run"
    argv = ["import", "judgments", str(outputs), "--benchmark", str(demo), "--out", str(run)]
    assert main(argv) == 0
    assert [j.score for j in iter_records(run)] == [4.0, 2.0]
    outputs.write_text('{"item_id": "demo:exam-careful", "criterion": "empathy", "judge": "gpt", "raw_output": "5"}\n')
    assert main(argv) == 0  # an earlier import is replaced whole: no record of the old file stays
    assert [j.score for j in iter_records(run)] == [5.0]
    assert [p.name for p in tmp_path.iterdir() if ".staging-" in p.name] == []
    # a directory holding anything else is refused, never deleted with the old version
    (run / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(argv) == 2
    assert "holds notes.txt, which this output does not write" in capsys.readouterr().err
    assert (run / "notes.txt").read_text() == "mine" and [j.score for j in iter_records(run)] == [5.0]
