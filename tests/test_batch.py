"""Batch mode against the loopback stub's files/batches endpoints: format, equivalence with online runs, errors,
and resuming a submitted batch after the process is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine import RunConfig, plan_units, run_judging
from judge.engine.calls.batch import LEDGER, batch_line, load_ledger, parse_result_line, provider_model
from judge.engine.client import litellm_module
from judge.engine.judge_spec import JudgeSpec
from judge.engine.store import iter_records
from judge.errors import UsageError
from tests.support.batch_stub import add_batch_routes, parse_multipart
from tests.support.stub import StubServer, default_responder

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
N_ITEMS = 15  # the bundled demo: 5 posts x 3 systems
N_DEMO = N_ITEMS * 4  # items x criteria
BATCH = ["--batch", "--batch-poll", "0.05"]


def _judges_file(tmp: Path, url: str) -> Path:
    p = tmp / "judges.toml"
    p.write_text(f'[judges.stub]\nmodel = "openai/stub-judge"\napi_base = "{url}"\ntimeout = 5.0\nmax_retries = 2\n')
    return p


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    rc = main(["run", "--no-progress", "--json", *args])
    out = capsys.readouterr().out
    assert rc == 0, out
    return json.loads(out)


def _records(run_dir: Path) -> dict:
    return {
        (j.item_id, j.criterion, j.sample): (j.cache_key, j.score, j.unscored_reason, j.raw_output)
        for j in iter_records(run_dir)
    }


def test_batch_line_round_trip() -> None:
    spec = JudgeSpec(name="j", model="openai/stub-judge", api_base="http://x/v1", params={"temperature": 0.0})
    cfg = RunConfig(
        benchmark=load_benchmark(DEMO),
        rubrics=load_rubric_set(default_rubrics_dir(), ["empathy"]),
        judges=[spec],
        out=Path("unused"),
        samples=2,
    )
    units = list(plan_units(cfg, set()))
    lines = [batch_line(u) for u in units]
    assert len({ln["custom_id"] for ln in lines}) == len(lines) == N_ITEMS * 2  # keys differ by sample (seed)
    first = lines[1]
    assert first["custom_id"] == units[1].key and first["url"] == "/v1/chat/completions"
    body = first["body"]
    # the provider sees its own model name, the exact rendered messages, the schema and the sample's seed
    assert body["model"] == provider_model(spec) == "stub-judge"
    assert body["messages"] == units[1].messages and body["seed"] == 1 and body["temperature"] == 0.0
    assert body["response_format"] == units[1].response_format and body["response_format"]["type"] == "json_object"
    # an output line built from the stub's answer to that body parses back to the same content
    content = default_responder(body)
    out = {
        "custom_id": first["custom_id"],
        "response": {
            "status_code": 200,
            "body": {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": "stub-judge",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
            },
        },
        "error": None,
    }
    reply, err = parse_result_line(out, litellm_module(), spec)
    assert err is None and reply is not None
    assert (reply.content, reply.finish_reason, reply.tokens_in, reply.tokens_out) == (content, "stop", 11, 7)
    failed = {"custom_id": "k", "response": {"status_code": 400, "body": {"error": {"message": "bad seed"}}}}
    assert parse_result_line(failed, litellm_module(), spec) == (None, "batch request failed (status 400): bad seed")
    expired = {"custom_id": "k", "response": None, "error": {"code": "batch_expired", "message": "expired"}}
    assert parse_result_line(expired, litellm_module(), spec)[1] == "batch request failed (status None): expired"


def test_multipart_parser() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n{}\n{}\n\r\n--XyZ--\r\n"
    )
    fields = parse_multipart(body, "multipart/form-data; boundary=XyZ")
    assert fields == {"purpose": (None, b"batch"), "file": ("a.jsonl", b"{}\n{}\n")}


def test_batch_run_matches_online_run_and_fills_the_same_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub = StubServer()
    backend = add_batch_routes(stub, complete_after=3)
    with stub as url:
        judges = _judges_file(tmp_path, url)
        common = ["--benchmark", str(DEMO), "--judge", str(judges)]
        online = _run([*common, "--out", str(tmp_path / "online"), "--cache-dir", str(tmp_path / "c1")], capsys)
        chat_calls = stub.stats().by_path["POST /v1/chat/completions"]
        batch = _run(
            [*common, "--out", str(tmp_path / "batch"), "--cache-dir", str(tmp_path / "c2"), *BATCH],
            capsys,
        )
        stats = stub.stats()
        assert stats.by_path["POST /v1/chat/completions"] == chat_calls  # the batch run made no online call
        assert backend.batches_created == 1 and stats.by_path["GET /v1/batches/batch_stub_1"] == 3
        assert batch["judgments"] == online["judgments"] == N_DEMO and batch["scored"] == online["scored"]
        assert _records(tmp_path / "batch") == _records(tmp_path / "online")  # same keys, scores, raw answers
        ledger = load_ledger(tmp_path / "batch")
        assert [b.imported for b in ledger.batches] == [True] and len(ledger.batches[0].custom_ids) == N_DEMO
        # interchangeable: an online run on the batch run's cache is served entirely from it
        again = _run([*common, "--out", str(tmp_path / "again"), "--cache-dir", str(tmp_path / "c2")], capsys)
        assert again["cache_hits"] == N_DEMO and again["model_calls"] == 0


def test_per_request_errors_become_unscored_api_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def fail(line: dict) -> str | None:
        # about a quarter of the requests, chosen by their key: the test knows which ones to expect
        return "seed out of range (stub)" if line["custom_id"][-1] in "0123" else None

    stub = StubServer()
    add_batch_routes(stub, complete_after=1, fail=fail)
    with stub as url:
        rc = main(
            [
                "run",
                "--no-progress",
                "--json",
                "--benchmark",
                str(DEMO),
                "--judge",
                str(_judges_file(tmp_path, url)),
                "--out",
                str(tmp_path / "r"),
                "--cache-dir",
                str(tmp_path / "c"),
                *BATCH,
            ],
        )
        s = json.loads(capsys.readouterr().out)
    # the requests the provider failed are recorded, the exit code says so, and the next run asks again for them
    assert rc == 1 and any("api_error" in p for p in s["problems"])
    records = iter_records(tmp_path / "r")
    failed = [j for j in records if j.cache_key[-1] in "0123"]
    assert 0 < len(failed) < N_DEMO
    assert s["judgments"] == N_DEMO and s["unscored"].get("api_error") == len(failed)
    assert all(j.unscored_reason == "api_error" and "seed out of range (stub)" in (j.detail or "") for j in failed)
    assert all(j.score is not None for j in records if j not in failed)


def test_batch_refuses_local_judges(tmp_path: Path) -> None:
    cfg = RunConfig(
        benchmark=load_benchmark(DEMO),
        rubrics=load_rubric_set(default_rubrics_dir(), ["empathy"]),
        judges=[JudgeSpec(name="l", model="local/qwen2.5-0.5b")],
        out=tmp_path / "r",
        batch_poll_s=1.0,
    )
    with pytest.raises(UsageError, match="--batch supports single OpenAI-compatible judges"):
        run_judging(cfg)
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_kill_after_submission_then_rerun_polls_the_same_batch(tmp_path: Path) -> None:
    stub = StubServer()
    backend = add_batch_routes(stub, complete_after=10**9)  # never completes while the first process lives
    with stub as url:
        args = ["--benchmark", str(DEMO), "--judge", str(_judges_file(tmp_path, url)), "--out", str(tmp_path / "r")]
        args += ["--cache-dir", str(tmp_path / "c"), "--batch", "--batch-poll", "0.05", "--no-progress", "--json"]
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        proc = subprocess.Popen([sys.executable, "-m", "judge", "run", *args], env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (backend.polls.get("batch_stub_1", 0) >= 2):
            time.sleep(0.05)
        assert backend.polls.get("batch_stub_1", 0) >= 2, "the first process never polled its batch"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert load_ledger(tmp_path / "r").batches[0].id == "batch_stub_1"
        assert (tmp_path / "r" / LEDGER).stat().st_mode & 0o777 == 0o600
        backend.complete_after = 0  # the provider finishes the batch while nobody watches
        rc = main(["run", *args])
        assert rc == 0
        assert backend.batches_created == 1  # the re-run picked up the submitted batch, paid nothing twice
        assert stub.stats().by_path.get("POST /v1/chat/completions", 0) == 0
        records = iter_records(tmp_path / "r")
        assert len(records) == N_DEMO == len({(j.item_id, j.criterion) for j in records})
        assert all(j.score is not None for j in records)
