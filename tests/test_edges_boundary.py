"""One error boundary (issue 25, point 3): no traceback reaches a user from a file, flag or environment they gave.

Each case named in the issue is made with real files and run through the real CLI (in-process, stderr captured):
it ends with one message naming the file (and line), field or flag and the value, exit 2 (bad input) or 1 (a
fault at run time); never a traceback. Anything else that escapes a verb is caught by ``judge.cli.main``: one
line, exit 1, and the traceback only with ``--debug`` or ``JUDGE_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import FAULT_MARK, CliResult, run_judge

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
CHATS = ROOT / "datasets" / "support-chats"
DEEP = 100_000  # "a cell or meta nested 100k deep"


def _outputs(tmp: Path) -> list[dict[str, object]]:
    items = [json.loads(line) for line in (DEMO / "items.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [{"item_id": it["item_id"], "criterion": "empathy", "judge": "gx", "raw_output": "3"} for it in items]


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A real run directory (judge import judgments over the demo benchmark)."""
    src = tmp_path / "outputs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _outputs(tmp_path)), encoding="utf-8")
    out = tmp_path / "run"
    r = run_judge("import", "judgments", str(src), "--benchmark", str(DEMO), "--out", str(out))
    assert r.rc == 0, r.err
    return out


def _clean(r: CliResult, rc: int, *named: str) -> None:
    assert r.rc == rc, (r.rc, r.err)
    assert not r.fault, r.err
    assert "error: " in r.err, r.err  # ours ("error: ..."), or argparse's ("judge VERB: error: ...")
    for n in named:
        assert n in r.err, (n, r.err)


# -- the boundary itself -------------------------------------------------------------------------------------------


def _explode(args: object) -> int:
    raise RuntimeError("a bug nobody caught")


def test_an_unexpected_error_is_one_line_exit_1_and_the_traceback_only_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import judge.cli.show

    monkeypatch.setattr(judge.cli.show, "run", _explode)
    for env, argv, shown in [
        ({"JUDGE_DEBUG": "0"}, ["show", "x"], False),
        ({"JUDGE_DEBUG": ""}, ["--debug", "show", "x"], True),  # before the verb
        ({"JUDGE_DEBUG": "0"}, ["show", "x", "--debug"], True),  # after it
        ({"JUDGE_DEBUG": "1"}, ["show", "x"], True),
    ]:
        r = run_judge(*argv, env=env)
        assert r.rc == 1, r.err
        assert f"{FAULT_MARK}RuntimeError: a bug nobody caught" in r.err
        assert ("Traceback (most recent call last)" in r.err) is shown, (argv, env, r.err)
        assert ("rerun with --debug (or JUDGE_DEBUG=1)" in r.err) is not shown


def test_debug_is_not_taken_after_a_double_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    from judge.cli import _debug_switch

    monkeypatch.delenv("JUDGE_DEBUG", raising=False)
    assert _debug_switch(["show", "--", "--debug"]) == (["show", "--", "--debug"], False)
    assert _debug_switch(["--debug", "show", "r"]) == (["show", "r"], True)


def test_the_console_script_shows_no_traceback(tmp_path: Path, run_dir: Path) -> None:
    """The real ``judge`` process: a record file with one latin-1 byte ends in one message, exit 2."""
    bad_line = len((run_dir / "judgments.jsonl").read_bytes().splitlines()) + 1
    with (run_dir / "judgments.jsonl").open("ab") as fh:
        fh.write(b'{"item_id": "caf\xe9"}\n')
    env = {k: v for k, v in os.environ.items() if k != "JUDGE_DEBUG"}
    p = subprocess.run(
        [sys.executable, "-m", "judge", "show", str(run_dir)], capture_output=True, text=True, env=env, timeout=120
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr and f"judgments.jsonl:{bad_line}" in p.stderr and "not UTF-8" in p.stderr


# -- the cases named in the issue ----------------------------------------------------------------------------------


def test_a_latin1_byte_in_a_record_file_names_the_file_and_line(run_dir: Path) -> None:
    lines = (run_dir / "judgments.jsonl").read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"gx"', b'"g\xe9"')
    (run_dir / "judgments.jsonl").write_bytes(b"".join(lines))
    for argv in (["show", str(run_dir)], ["agree", "--benchmark", str(DEMO), "--run", str(run_dir)]):
        _clean(run_judge(*argv), 2, "judgments.jsonl:5", "not UTF-8")


def test_a_truncated_summary_names_the_file_and_line(run_dir: Path) -> None:
    text = (run_dir / "summary.json").read_text(encoding="utf-8")
    (run_dir / "summary.json").write_text(text[:50], encoding="utf-8")
    _clean(run_judge("show", str(run_dir)), 2, "summary.json:", "not valid JSON")


def test_the_gate_reads_a_corrupt_generation_manifest_through_the_loader(tmp_path: Path) -> None:
    bench = tmp_path / "cand"
    shutil.copytree(DEMO, bench)
    (bench / "generation.json").write_text('{"system_hash": "ab', encoding="utf-8")
    src = tmp_path / "outputs.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _outputs(tmp_path)), encoding="utf-8")
    run = tmp_path / "run"
    assert run_judge("import", "judgments", str(src), "--benchmark", str(bench), "--out", str(run)).rc == 0
    r = run_judge("gate", "--candidate", str(run), "--write-baseline", str(tmp_path / "base.json"))
    _clean(r, 2, "generation.json:1", "not valid JSON")
    assert not (tmp_path / "base.json").exists()


def test_a_cache_file_that_is_not_a_database(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cache.sqlite").write_text("these are notes, not a database\n" * 20, encoding="utf-8")
    argv = ["run", "--benchmark", str(DEMO), "--judge", "openai/stub", "--api-base", "http://127.0.0.1:9/v1"]
    r = run_judge(*argv, "--limit", "1", "--no-progress", "--out", str(tmp_path / "out"), "--cache-dir", str(cache))
    _clean(r, 2, str(cache / "cache.sqlite"), "not a usable reply cache", "file is not a database")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    env = {"JUDGE_CACHE_DIR": str(tmp_path / "file" / "sub")}
    r = run_judge(*argv, "--limit", "1", "--no-progress", "--out", str(tmp_path / "out"), env=env)
    _clean(r, 2, f"{tmp_path / 'file'} is a file", "JUDGE_CACHE_DIR")
    assert not (tmp_path / "out").exists()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "where",
    [
        pytest.param("items.jsonl meta", id="benchmark-meta"),
        pytest.param("table cell", id="table-jsonl-cell"),
        pytest.param("run.json", id="run-manifest"),
        pytest.param("rubric yaml", id="rubric-yaml"),
    ],
)
def test_values_nested_100k_deep_are_refused_naming_the_place(where: str, tmp_path: Path, run_dir: Path) -> None:
    if where == "items.jsonl meta":
        bench = tmp_path / "bench"
        shutil.copytree(DEMO, bench)
        lines = (bench / "items.jsonl").read_text(encoding="utf-8").splitlines()
        lines[2] = lines[2].replace('"meta":{', '"meta":{"x":' + _nested(DEEP) + ",")
        assert '"x":[[' in lines[2]
        (bench / "items.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        r = run_judge("prompt", "show", "--benchmark", str(bench), "--judge", "openai/x")
        _clean(r, 2, "items.jsonl:3", "nested more than")
    elif where == "table cell":
        table = tmp_path / "t.jsonl"
        rows = [{"item_id": "a", "post": "p", "response": "r", "empathy": 3},
                {"item_id": "b", "post": "p", "response": _nested(DEEP), "empathy": 4}]  # fmt: skip
        table.write_text("\n".join(json.dumps(r) if i == 0 else json.dumps(r).replace(f'"{_nested(DEEP)}"',
                         _nested(DEEP)) for i, r in enumerate(rows)) + "\n", encoding="utf-8")  # fmt: skip
        r = run_judge("import", "table", str(table), "--out", str(tmp_path / "b"))
        _clean(r, 2, "t.jsonl:2", "nested more than")
        assert not (tmp_path / "b").exists()
    elif where == "run.json":
        m = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        text = json.dumps(m).replace('"params": {}', '"params": {"x": ' + _nested(DEEP) + "}", 1)
        (run_dir / "run.json").write_text(text, encoding="utf-8")
        _clean(run_judge("show", str(run_dir)), 2, "run.json", "nested more than")
    else:
        d = tmp_path / "rubrics"
        d.mkdir()
        (d / "empathy.yaml").write_text("name: empathy\nguidance: " + _nested(DEEP) + "\n", encoding="utf-8")
        _clean(run_judge("rubrics", "validate", str(d)), 2, "empathy.yaml", "nested more than")


def test_model_dir_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    env = {"JUDGE_MODEL_DIR": str(tmp_path / "file" / "models")}
    r = run_judge("models", "list", env=env)
    assert r.rc == 0 and not r.fault, r.err  # nothing can have been added there: the built-ins are listed
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 1) + b"\0" * 64)  # a header llama.cpp would read
    r = run_judge("models", "add", str(gguf), "--name", "mine", "--no-load-check", env=env)
    assert r.rc in (1, 2) and not r.fault, r.err
    assert f"JUDGE_MODEL_DIR={tmp_path / 'file' / 'models'}" in r.err and f"{tmp_path / 'file'} is a file" in r.err


def test_model_dir_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read-only directories cannot be made as root (tests run as root in CI): the refusal is simulated."""
    from judge.engine.local.models import ModelFileError, ensure_dir

    target = tmp_path / "ro" / "models"
    real_mkdir = Path.mkdir

    def refuse(self: Path, *a: object, **k: object) -> None:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", refuse)
    monkeypatch.setenv("JUDGE_MODEL_DIR", str(target))
    with pytest.raises(ModelFileError, match=r"JUDGE_MODEL_DIR .*ro/models: cannot be used \(Permission denied\)"):
        ensure_dir(target)


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        pytest.param(
            ["import", "table", "T", "--scores", "{criterion}_{criterion}"],
            ["--scores", "appears twice"],
            id="scores-placeholder-twice",
        ),
        pytest.param(["agree", "--benchmark", "B", "--seed", "-1"], ["--seed", "-1"], id="seed-negative-agree"),
        pytest.param(["leaderboard", "--benchmark", "B", "--seed", "-1"], ["--seed", "-1"], id="seed-negative-board"),
        pytest.param(
            ["calibrate", "--benchmark", "B", "--run", "R", "--out", "c.json", "--seed", "-1"],
            ["--seed", "-1"],
            id="seed-negative-calibrate",
        ),
        pytest.param(
            ["rubrics", "new", "w", "--scale", "1-100000000", "--out", "O"],
            ["--scale", "100,000,000"],
            id="scale-of-a-hundred-million-points",
        ),
        pytest.param(["rubrics", "new", "w", "--scale", "0,nan", "--out", "O"], ["--scale", "'0,nan'"], id="scale-nan"),
        pytest.param(["rubrics", "new", "w", "--scale", "0,inf", "--out", "O"], ["--scale", "'0,inf'"], id="scale-inf"),
    ],
)
def test_flags_that_used_to_raise(argv: list[str], named: list[str], tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("item_id,post,response,empathy\na,p,r,3\n", encoding="utf-8")
    subst = {"T": str(table), "B": str(DEMO), "R": str(tmp_path / "r"), "O": str(tmp_path / "o"),
             "c.json": str(tmp_path / "c.json")}  # fmt: skip
    r = run_judge(*[subst.get(a, a) for a in argv])
    _clean(r, 2, *named)
    assert not (tmp_path / "o").exists() and not (tmp_path / "c.json").exists()


def test_an_output_under_a_file_is_named(tmp_path: Path, run_dir: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    r = run_judge("gate", "--candidate", str(run_dir), "--write-baseline", str(tmp_path / "file" / "base.json"))
    _clean(r, 2, str(tmp_path / "file" / "base.json"), f"{tmp_path / 'file'} is a file")
