"""Judge pools: several deployments of one model behind a LiteLLM Router; one dies mid-run, nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judge.cli import main
from judge.engine.judge_spec import JudgeSpec, load_judges_file
from judge.engine.local.server import start_server, wait_ready
from judge.engine.pool import model_list
from judge.engine.store import iter_records
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"


def _pool_file(tmp: Path, bases: list[str], model: str = "openai/stub-judge", **extra: object) -> Path:
    deps = ", ".join(f'{{ api_base = "{b}" }}' for b in bases)
    lines = ["[judges.pool]", f'model = "{model}"', f"deployments = [ {deps} ]"]
    for k, v in extra.items():
        value = (
            "{ " + ", ".join(f"{pk} = {json.dumps(pv)}" for pk, pv in v.items()) + " }"
            if isinstance(v, dict)
            else json.dumps(v)
        )
        lines.append(f"{k} = {value}")
    p = tmp / "pool.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_pool_config_and_identity(tmp_path: Path) -> None:
    path = tmp_path / "j.toml"
    path.write_text(
        '[judges.p]\nmodel = "openai/qwen"\nrouting_strategy = "least-busy"\nparams = { temperature = 0.0 }\n'
        'deployments = [ { api_base = "http://a/v1" }, { api_base = "http://b/v1", rpm = 60, model = "openai/q2" } ]\n'
    )
    (spec,) = load_judges_file(path)
    single = JudgeSpec(name="p", model="openai/qwen", api_base="http://a/v1", params={"temperature": 0.0})
    # the pool's answers are its deployments' together: never shared with one of its servers alone (or another
    # pool), and the same whichever deployment answers (order of declaration included)
    assert spec.identity() != single.identity() and spec.identity_hash() != single.identity_hash()
    reordered = spec.model_copy(update={"deployments": spec.deployments[::-1]})
    assert reordered.identity() == spec.identity()
    ml = model_list(spec)
    assert [d["model_name"] for d in ml] == ["p", "p"]
    assert ml[0]["litellm_params"] == {
        "model": "openai/qwen",
        "api_base": "http://a/v1",
        "api_key": "none",
        "timeout": 120.0,
        "max_retries": 0,
    }
    assert ml[1]["litellm_params"]["model"] == "openai/q2" and ml[1]["litellm_params"]["rpm"] == 60
    bad = tmp_path / "bad.toml"
    bad.write_text('[judges.p]\nmodel = "m"\nrouting_strategy = "fastest"\ndeployments = [ { port = 1 } ]\n')
    with pytest.raises(Exception, match="routing_strategy") as err:
        load_judges_file(bad)
    assert "port" in str(err.value)  # every problem reported together


def test_pool_survives_a_dead_deployment_stub(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = StubServer(latency_s=0.02), StubServer(latency_s=0.02)
    url_a, url_b = a.start(), b.start()
    try:
        pool = _pool_file(tmp_path, [url_a, url_b], timeout=5.0, max_retries=6)
        args = ["run", "--no-progress", "--json", "--benchmark", str(DEMO), "--judge", str(pool), "--concurrency", "2"]
        rc = main([*args, "--out", str(tmp_path / "r1"), "--cache-dir", str(tmp_path / "c1"), "--limit", "4"])
        s1 = json.loads(capsys.readouterr().out)
        assert rc == 0 and s1["judgments"] == 16 and "api_error" not in s1["unscored"]
        served = a.stats().by_path.get("POST /v1/chat/completions", 0), b.stats().by_path["POST /v1/chat/completions"]
        assert min(served) > 0  # both deployments took work
        a.stop()  # one deployment is gone: the pool carries on with the other
        rc = main([*args, "--out", str(tmp_path / "r2"), "--cache-dir", str(tmp_path / "c2")])
        s2 = json.loads(capsys.readouterr().out)
        assert rc == 0 and s2["judgments"] == 60 and s2["scored"] == 60, s2
        # the same answers as the first run where they overlap: results are the model's, not the deployment's
        first = {(j.item_id, j.criterion): (j.cache_key, j.score) for j in iter_records(tmp_path / "r1")}
        second = {(j.item_id, j.criterion): (j.cache_key, j.score) for j in iter_records(tmp_path / "r2")}
        assert all(second[k] == v for k, v in first.items())
    finally:
        a.stop()
        b.stop()


# -- two real llama.cpp servers ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_pool_of_two_llama_cpp_servers_one_killed_mid_run(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server] (the 'local' extra)")
    from judge.engine.local.models import model_path

    model = model_path("qwen2.5-0.5b")
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"server{n}.log" for n in range(2)]
    servers = [start_server(model, p, threads=1, log=log.open("wb")) for p, log in zip(ports, logs, strict=True)]
    try:
        for port, proc in zip(ports, servers, strict=True):
            wait_ready(port, proc, timeout_s=120)
        pool = _pool_file(
            tmp_path,
            [f"http://127.0.0.1:{p}/v1" for p in ports],
            model="openai/qwen2.5-0.5b",
            timeout=120.0,
            max_retries=6,
            params={"temperature": 0.0, "max_tokens": 120},
        )
        out = tmp_path / "run"
        cmd = [
            sys.executable,
            "-m",
            "judge",
            "run",
            "--no-progress",
            "--json",
            "--benchmark",
            str(DEMO),
            "--judge",
            str(pool),
            "--criteria",
            "empathy",
            "--limit",
            "3",  # the kill lands after the first record, while the other two are still to do
            "--concurrency",
            "2",
            "--max-post-chars",
            "600",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        run = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        records = out / "judgments.jsonl"
        while run.poll() is None and not (records.exists() and records.read_text().count("\n") >= 1):
            time.sleep(0.2)
        servers[0].send_signal(signal.SIGKILL)  # mid-run: the other deployment must finish the work
        servers[0].wait(10)
        stdout, _ = run.communicate(timeout=600)
        assert run.returncode == 0, stdout
        summary = json.loads(stdout)
        judged = iter_records(out)
        assert summary["judgments"] == len(judged) == 3 == len({j.item_id for j in judged})
        assert "api_error" not in summary["unscored"], summary
        assert all(j.score is not None or j.unscored_reason != "api_error" for j in judged)
        assert logs[1].read_text().count("POST /v1/chat/completions") >= 1
    finally:
        for proc in servers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
