"""A self-hosted server gets no more requests at once than it has slots, where it says them (issue 29, point 6):
llama.cpp's /props or /slots, llama-cpp-python's server (one at a time, named in its OpenAPI description); and
``--timeout`` sets how long one call attempt may take."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.engine.judge_spec import resolve_judges
from judge.engine.server_slots import server_slots
from tests.support.stub import Request, Response, StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"


def _json_route(body: Any) -> Any:
    async def handler(server: StubServer, req: Request) -> Response:
        return Response(200, json.dumps(body).encode())

    return handler


def _run(url: str, out: Path, *extra: str) -> list[str]:
    return ["run", "--benchmark", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url, "--criteria",
            "empathy", "--concurrency", "8", "--out", str(out), *extra]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "slots"),
    [
        pytest.param("/props", {"total_slots": 2, "chat_template": "..."}, 2, id="llama-server-props"),
        pytest.param("/slots", [{"id": 0}, {"id": 1}, {"id": 2}], 3, id="llama-server-slots"),
        pytest.param("/openapi.json", {"info": {"title": "🦙 llama.cpp Python API"}}, 1, id="llama-cpp-python"),
    ],
)
def test_slots_are_read_where_the_server_says_them(path: str, body: Any, slots: int) -> None:
    stub = StubServer()
    stub.add_route("GET", path, _json_route(body))
    with stub as url:
        got = server_slots(url)
    assert got is not None and got.n == slots


def test_a_server_that_does_not_say_is_not_capped() -> None:
    with StubServer() as url:
        assert server_slots(url) is None
    with socket.socket() as s:  # nothing listens there: no wait, no error
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert server_slots(f"http://127.0.0.1:{port}/v1") is None
    assert server_slots("unix:///tmp/x") is None


def test_run_sends_a_server_no_more_than_its_slots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stub = StubServer(latency_s=0.15)
    stub.add_route("GET", "/props", _json_route({"total_slots": 2}))
    with stub as url:
        assert main(_run(url, tmp_path / "capped", "--progress-interval", "60")) == 0
        capped = stub.stats()
    err = " ".join(capsys.readouterr().err.split())  # a long note is wrapped under its text: read it whole
    assert capped.by_path["POST /v1/chat/completions"] == 15 and capped.in_flight_peak <= 2
    assert "works on 2 request(s) at once (its /props: total_slots): at most 2 of its calls" in err
    # the same server without /props: --concurrency is what is sent, and the run says why
    stub = StubServer(latency_s=0.15)
    with stub as url:
        assert main(_run(url, tmp_path / "free", "--progress-interval", "60")) == 0
        free = stub.stats()
    err = " ".join(capsys.readouterr().err.split())  # a long note is wrapped under its text: read it whole
    assert free.in_flight_peak > 2
    assert "does not say how many requests it works on at once: up to --concurrency 8" in err


def test_timeout_flag_reaches_the_judges(tmp_path: Path) -> None:
    (spec,) = resolve_judges(["openai/x"], api_base="http://127.0.0.1:1/v1", timeout=300)
    assert spec.timeout == 300
    cfg = tmp_path / "judges.toml"
    cfg.write_text('[judges.a]\nmodel = "openai/a"\napi_base = "http://h/v1"\ntimeout = 30\n'
                   '[judges.b]\nmodel = "openai/b"\napi_base = "http://h/v1"\n', encoding="utf-8")  # fmt: skip
    a, b = resolve_judges([str(cfg)], timeout=300)
    assert (a.timeout, b.timeout) == (30, 300)  # a config file's own timeout wins
    assert resolve_judges(["openai/x"], api_base="http://h/v1")[0].timeout == 120  # the default


def test_timeout_abandons_a_slow_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.stub import Faults

    # the first request is held 30 s: with --timeout 1 it is abandoned after a second and retried
    with StubServer(faults=Faults(script=["timeout"], hold_s=30)) as url:
        argv = _run(url, tmp_path / "r", "--timeout", "1", "--limit", "1", "--no-progress", "--json")
        assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scored"] == 1 and summary["retries"] == 1 and summary["wall_s"] < 20


def test_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--benchmark", str(DEMO), "--out", "x", "--timeout", "0"])
    assert "--timeout: must be a number > 0, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_llama_cpp_python_server_is_one_slot(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server] (the 'local' extra)")
    from judge.engine.local.models import model_path
    from judge.engine.local.server import start_server, wait_ready

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_server(model_path("qwen2.5-0.5b"), port, threads=1, log=(tmp_path / "server.log").open("wb"))
    try:
        wait_ready(port, proc, timeout_s=120)
        got = server_slots(f"http://127.0.0.1:{port}/v1")
    finally:
        proc.terminate()
        proc.wait(10)
    assert got is not None and got.n == 1 and "llama-cpp-python" in got.source


@pytest.mark.slow
def test_server_benchmark_on_a_tiny_input(tmp_path: Path) -> None:
    # What `python -m benchmarks.perf server` measures, on one judgment with the 0.5B model (the lead runs the
    # docs' 1.5B on a quiet machine): the server is capped to its one slot, and nothing is retried.
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server] (the 'local' extra)")
    from benchmarks.perf.server import main as bench

    argv = ["--model", "qwen2.5-0.5b", "--limit", "1", "--max-tokens", "60", "--max-post-chars", "200",
            "--out", str(tmp_path)]  # fmt: skip
    assert bench(argv) == 0
    r = json.loads((tmp_path / "server.json").read_text())
    assert r["judgments"] == 1 and r["model_calls"] == 1 + r["retries"]
    assert "works on 1 request(s) at once (llama-cpp-python's server" in r["slot_note"]
    assert "| 1 | " in (tmp_path / "server.md").read_text()
