"""One writer per run directory (issue 25, point 1; issue 29, point 3), over real HTTP to the loopback stub.

A second ``judge run`` on the same ``--out`` while one is running is refused (exit 2, naming the process); the lock of
a SIGKILLed run does not block the next; a start that fails before the first judgment leaves no run behind, and a
directory holding no judgment may be used by any command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.engine.store import MANIFEST, RECORDS, RunManifest
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
CHAT = "POST /v1/chat/completions"
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
CRIT = ("--criteria", "empathy")  # one judgment per demo item
N = sum(1 for line in (DEMO / "items.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())


def _args(url: str, out: Path, *extra: str) -> list[str]:
    return ["run", "--benchmark", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url, "--out", str(out),
            "--no-progress", "--json", *extra]  # fmt: skip


def _records(out: Path) -> list[dict[str, Any]]:
    if not (out / RECORDS).exists():
        return []
    return [json.loads(line) for line in (out / RECORDS).read_text().splitlines() if line.strip()]


def _start(url: str, out: Path, cache: Path) -> subprocess.Popen[str]:
    """A ``judge run`` in its own process, returned once it has recorded its first judgment."""
    p = subprocess.Popen(
        [sys.executable, "-m", "judge", *_args(url, out, *CRIT, "--concurrency", "1", "--cache-dir", str(cache))],
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _records(out) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.poll() is None and _records(out), "the first run should still be going"
    return p


def test_a_second_run_on_the_same_out_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    stub = StubServer(latency_s=0.25)  # N judgments at concurrency 1: a few seconds
    with stub as url:
        first = _start(url, out, tmp_path / "cache-a")
        try:
            rc = main(_args(url, out, *CRIT, "--cache-dir", str(tmp_path / "cache-b")))
            err = capsys.readouterr().err
            assert rc == 2, err
            assert err.startswith(f"error: --out {out}: in use by process {first.pid} (")
            assert "since 20" in err and err.count("\n") == 1
        finally:
            _, err_text = first.communicate(timeout=120)
        assert first.returncode == 0, err_text
        assert stub.stats().by_path.get(CHAT, 0) == N  # the refused run made no call
    records = _records(out)
    keys = [(r["judge"], r["item_id"], r["criterion"], r["sample"]) for r in records]
    assert len(keys) == len(set(keys)) == N  # every judgment once, paid once


def test_the_lock_of_a_killed_run_does_not_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    stub = StubServer(latency_s=0.2)
    with stub as url:
        first = _start(url, out, tmp_path / "cache")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        rc = main(_args(url, out, *CRIT, "--cache-dir", str(tmp_path / "cache")))
        assert rc == 0, capsys.readouterr().err
    keys = [(r["judge"], r["item_id"], r["criterion"], r["sample"]) for r in _records(out)]
    assert len(set(keys)) == N and len(keys) == N


def test_a_failed_start_leaves_no_run_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "run"
    rc = main(["run", "--benchmark", str(DEMO), "--judge", "openai/gpt-4o-mini", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "OPENAI_API_KEY" in err
    assert not (out / MANIFEST).exists() and not (out / RECORDS).exists()
    stub = StubServer()
    with stub as url:  # the corrected command (another judge) may use the directory
        assert main(_args(url, out, "--criteria", "empathy")) == 0, capsys.readouterr().err
    assert len(_records(out)) == N


def test_a_directory_holding_no_judgment_is_reused_by_another_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a run killed during its start-up leaves: the manifest of another run, and no (whole) judgment.
    out = tmp_path / "run"
    out.mkdir()
    other = RunManifest(judges={"gpt": {"name": "gpt", "model": "openai/gpt-4o", "params": {}}}, prompt_hash="x")
    (out / MANIFEST).write_text(other.model_dump_json())
    (out / RECORDS).write_text('{"item_id": "demo:001", "crit')  # a partial line cut by the kill
    stub = StubServer()
    with stub as url:
        assert main(_args(url, out, "--criteria", "empathy")) == 0, capsys.readouterr().err
    assert RunManifest.model_validate_json((out / MANIFEST).read_text()).judges.keys() == {"openai/stub-judge"}
    assert len(_records(out)) == N
    # ... but a directory holding judgments of another run is still protected
    with stub as url:
        rc = main(_args(url, out, "--criteria", "empathy", "--temperature", "0.5"))
    assert rc == 2 and "holds a different run" in capsys.readouterr().err


HOLD = """
import sys, time
from judge.locks import locked
with locked(sys.argv[1], "test"):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("verb", ["run", "generate", "probe", "import judgments", "import table --run-out"])
def test_every_writer_of_a_directory_in_use_is_refused(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        posts = tmp_path / "posts.jsonl"
        posts.write_text('{"post_id": "p1", "post": "I failed my exam."}\n')
        outputs = tmp_path / "gpt.jsonl"
        outputs.write_text(
            '{"item_id": "demo:exam-careful", "criterion": "empathy", "judge": "g", "raw_output": "4"}\n'
        )
        table = tmp_path / "t.csv"
        table.write_text("item_id,empathy\ndemo:exam-careful,4\n")
        argv = {
            "run": ["run", "--benchmark", str(DEMO), "--judge", "openai/x", "--api-base", "http://127.0.0.1:9/v1",
                    "--out", str(out)],
            "generate": ["generate", "--posts", str(posts), "--system", "vanilla", "--out", str(out)],
            "probe": ["probe", "--benchmark", str(DEMO), "--judge", "openai/x", "--api-base", "http://127.0.0.1:9/v1",
                      "--out", str(out)],
            "import judgments": ["import", "judgments", str(outputs), "--benchmark", str(DEMO), "--out", str(out)],
            "import table --run-out": ["import", "table", str(table), "--benchmark", str(DEMO), "--rater", "g",
                                       "--as-judge", "g", "--run-out", str(out)],
        }[verb]  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{out}: in use by process {holder.pid} " in err and "one writer at a time" in err, err
        assert err.count("\n") == 1
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


def test_generate_output_without_any_item_is_reused_by_another_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a generate killed (or failed) before its first item leaves: the manifest of another system.
    out = tmp_path / "out"
    out.mkdir()
    (out / "generation.json").write_text(json.dumps({"system": {"name": "other"}, "system_hash": "0" * 16}))
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"post_id": "p1", "post": "I failed my exam."}\n')
    system = tmp_path / "sys.yaml"
    with StubServer() as url:
        system.write_text(f"name: mine\nmodel: openai/stub-judge\napi_base: {url}\ntemplate: 'Reply to: {{post}}'\n")
        rc = main(["generate", "--posts", str(posts), "--system", str(system), "--out", str(out),
                   "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert json.loads((out / "generation.json").read_text())["system"]["name"] == "mine"
