"""The loopback OpenAI-compatible stub: answers, determinism, every fault kind as the real clients see it."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports litellm

import jsonschema
import openai
from pydantic import ValidationError

from tests.support.stub import (
    FAULT_KINDS,
    REFUSAL_TEXT,
    Faults,
    Request,
    Response,
    StubServer,
    stub_process,
)

pytestmark = pytest.mark.timeout(60)

KEY = "sk-test-0123456789abcdef"
MESSAGES = [{"role": "system", "content": "You are a judge."}, {"role": "user", "content": "Rate this response."}]


def schema_format(choices: list[Any], field: str = "score") -> dict[str, Any]:
    """A response_format as the engine sends it (the shape of ``Rubric.answer_schema``)."""
    schema = {
        "type": "object",
        "properties": {"rationale": {"type": "string"}, field: {"enum": choices}},
        "required": ["rationale", field],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}


def client(url: str, **kw: Any) -> openai.AsyncOpenAI:
    kw.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=url, api_key=KEY, **kw)


async def create(c: Any, messages: list[Any] = MESSAGES, **kw: Any) -> Any:
    """One chat completion (typed loosely: the SDK's TypedDict overloads are not what is tested here)."""
    return await c.chat.completions.create(model="stub-judge", messages=messages, **kw)


async def ask(url: str, messages: list[Any] = MESSAGES, **kw: Any) -> Any:
    timeout = kw.pop("timeout", 10.0)
    async with client(url, timeout=timeout) as c:
        return await create(c, messages, **kw)


def scripted(*kinds: str, **kw: Any) -> Faults:
    return Faults.model_validate({"script": list(kinds), **kw})


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(watch=[KEY])
    server.start()
    yield server
    server.stop()


# -- normal answers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "choices,field",
    [
        pytest.param([1, 2, 3, 4, 5], "score", id="likert"),
        pytest.param([0, 0.5, 1], "score", id="fractional"),
        pytest.param(["Yes", "No"], "verdict", id="labels"),
    ],
)
def test_json_answer_is_valid_against_the_schema(stub: StubServer, choices: list[Any], field: str) -> None:
    fmt = schema_format(choices, field)
    resp = asyncio.run(ask(stub.base_url, response_format=fmt))
    answer = json.loads(resp.choices[0].message.content)
    jsonschema.validate(answer, fmt["json_schema"]["schema"])
    assert answer[field] in choices
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_text_answer_without_response_format(stub: StubServer) -> None:
    content = asyncio.run(ask(stub.base_url)).choices[0].message.content
    scores = re.findall(r"<score>(\d+)</score>", content)
    assert len(scores) == 1 and 1 <= int(scores[0]) <= 5


def test_responder_is_deterministic_and_depends_on_the_messages(stub: StubServer) -> None:
    fmt = schema_format([1, 2, 3, 4, 5])

    async def scores() -> list[int]:
        async with client(stub.base_url) as c:
            out = []
            for i in range(20):
                msgs = [{"role": "user", "content": f"item {i}"}]
                r = await create(c, msgs, response_format=fmt)
                out.append(json.loads(r.choices[0].message.content)["score"])
            return out

    first, second = asyncio.run(scores()), asyncio.run(scores())
    assert first == second
    # 20 different prompts over 5 choices: a constant answer would mean the hash is not used.
    assert len(set(first)) >= 3


def test_custom_responder_sees_the_request() -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return "custom <score>4</score>"

    with StubServer(responder=responder) as url:
        resp = asyncio.run(ask(url, temperature=0.0, seed=7))
    assert resp.choices[0].message.content == "custom <score>4</score>"
    assert seen[0]["messages"] == MESSAGES and seen[0]["seed"] == 7 and seen[0]["temperature"] == 0.0


def test_models_endpoint(stub: StubServer) -> None:
    async def models() -> list[str]:
        async with client(stub.base_url) as c:
            return [m.id async for m in c.models.list()]

    assert asyncio.run(models()) == ["stub-judge"]
    assert stub.stats().by_path == {"GET /v1/models": 1}


def test_api_key_is_only_in_the_authorization_header(stub: StubServer) -> None:
    asyncio.run(ask(stub.base_url, response_format=schema_format([1, 2, 3])))
    stats = stub.stats()
    assert stats.watch_hits == {KEY: {"header:authorization": 1}}
    assert "authorization" in stats.header_names


def test_a_key_in_the_body_is_reported() -> None:
    # The watch must be able to fail: a leaked key in the messages is counted under 'body'.
    server = StubServer(watch=[KEY])
    with server as url:
        asyncio.run(ask(url, messages=[{"role": "user", "content": f"my key is {KEY}"}]))
        assert server.stats().watch_hits[KEY] == {"header:authorization": 1, "body": 1}


def test_record_keeps_only_the_last_requests() -> None:
    server = StubServer(record=2)
    with server as url:
        for i in range(3):
            asyncio.run(ask(url, messages=[{"role": "user", "content": f"n{i}"}]))
    bodies = [json.loads(r.body)["messages"][0]["content"] for r in server.recorded]
    assert bodies == ["n1", "n2"]


def test_async_api_inside_a_running_loop() -> None:
    async def run() -> tuple[str, int]:
        server = StubServer(latency_s=0.01)
        async with server as url:
            resp = await ask(url)
            return resp.choices[0].message.content, server.stats().requests_total

    content, total = asyncio.run(run())
    assert "<score>" in content and total == 1


def test_500_concurrent_requests_are_all_answered() -> None:
    server = StubServer(latency_s=0.2)
    fmt = schema_format([1, 2, 3, 4, 5])

    async def run() -> list[Any]:
        async with client(server.base_url, timeout=30) as c:
            calls = [create(c, [{"role": "user", "content": f"item {i}"}], response_format=fmt) for i in range(500)]
            return await asyncio.gather(*calls)

    with server:
        results = asyncio.run(run())
        stats = server.stats()
    assert len(results) == 500
    assert all(json.loads(r.choices[0].message.content)["score"] in [1, 2, 3, 4, 5] for r in results)
    assert stats.requests_total == 500 and stats.chat_ok == 500 and stats.by_status == {200: 500}
    # With 0.2 s latency the requests must overlap; a serialising server would peak at 1.
    assert stats.in_flight_peak >= 100


# -- faults, as the openai client sees them --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,error",
    [
        ("http_429_retry_after", openai.RateLimitError),
        ("http_429", openai.RateLimitError),
        ("http_500", openai.InternalServerError),
        ("http_502", openai.InternalServerError),
        ("http_503", openai.InternalServerError),
        ("reset", openai.APIConnectionError),
        ("timeout", openai.APITimeoutError),
        ("truncated_body", openai.APIConnectionError),
        ("invalid_json", json.JSONDecodeError),  # the SDK lets the decoder's error through
    ],
)
def test_transport_faults_raise_the_expected_openai_error(kind: str, error: type[Exception]) -> None:
    server = StubServer(faults=scripted(kind, hold_s=10, retry_after_s=2))
    with server as url:
        with pytest.raises(error) as info:
            asyncio.run(ask(url, timeout=0.5))
        # The next request gets a normal answer: the script covers only the first one.
        assert "<score>" in asyncio.run(ask(url)).choices[0].message.content
        stats = server.stats()
    assert stats.faults == {kind: 1} and stats.chat_ok == 1
    if kind.startswith("http_429"):
        headers = info.value.response.headers  # type: ignore[attr-defined]
        assert headers.get("retry-after") == ("2" if kind == "http_429_retry_after" else None)


def test_timeout_is_a_timeout_and_not_a_slow_answer() -> None:
    # A client with a longer timeout than hold_s sees the connection dropped, never an answer.
    with StubServer(faults=Faults(script=["timeout"], hold_s=0.3)) as url, pytest.raises(openai.APIConnectionError):
        asyncio.run(ask(url, timeout=5))


def _json_content(url: str, fmt: dict[str, Any]) -> tuple[str, str]:
    resp = asyncio.run(ask(url, response_format=fmt))
    return resp.choices[0].message.content, resp.choices[0].finish_reason


def test_content_faults_break_the_answer_in_the_announced_way() -> None:
    fmt = schema_format([1, 2, 3, 4, 5])
    schema = fmt["json_schema"]["schema"]
    script = ["off_scale", "missing_field", "empty", "refusal", "length"]
    with StubServer(faults=scripted(*script)) as url:
        off, missing, empty, refusal, length = (_json_content(url, fmt) for _ in script)
        normal, _ = _json_content(url, fmt)
    assert json.loads(off[0])["score"] not in [1, 2, 3, 4, 5]
    assert "score" not in json.loads(missing[0]) and "rationale" in json.loads(missing[0])
    for broken in (off[0], missing[0]):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(broken), schema)
    assert empty == ("", "stop")
    assert refusal == (REFUSAL_TEXT, "stop")
    assert length[1] == "length" and normal.startswith(length[0]) and len(length[0]) < len(normal)
    with pytest.raises(json.JSONDecodeError):
        json.loads(length[0])


def test_off_scale_label_fault() -> None:
    with StubServer(faults=Faults(script=["off_scale"])) as url:
        content, _ = _json_content(url, schema_format(["Yes", "No"], "verdict"))
    assert json.loads(content)["verdict"] not in ["Yes", "No"]


def test_script_then_rates() -> None:
    server = StubServer(faults=Faults(script=["http_500", "ok", "empty"]))
    outcomes = []

    async def run() -> None:
        async with client(server.base_url) as c:
            for _ in range(4):
                try:
                    r = await create(c)
                    outcomes.append("empty" if r.choices[0].message.content == "" else "ok")
                except openai.InternalServerError:
                    outcomes.append("500")

    with server:
        asyncio.run(run())
    assert outcomes == ["500", "ok", "empty", "ok"]


def test_seeded_rates_are_reproducible_and_follow_the_rng() -> None:
    def run(seed: int) -> list[bool]:
        server = StubServer(faults=Faults(http_500=0.3, seed=seed))

        async def go() -> list[bool]:
            failed = []
            async with client(server.base_url) as c:
                for _ in range(60):
                    try:
                        await create(c)
                        failed.append(False)
                    except openai.InternalServerError:
                        failed.append(True)
            return failed

        with server:
            return asyncio.run(go())

    # Reference: one draw per request from random.Random(seed); http_500 owns [0, 0.3).
    rng = random.Random(11)
    expected = [rng.random() < 0.3 for _ in range(60)]
    assert run(11) == expected
    assert run(12) != expected
    assert 5 <= sum(expected) <= 35  # sanity: 0.3 * 60 = 18


def test_fault_kinds_share_the_unit_interval_in_declared_order() -> None:
    # http_429 owns [0, 0.5), http_500 owns [0.5, 1.0): with rates summing to 1 every request fails.
    server = StubServer(faults=Faults(http_429=0.5, http_500=0.5, seed=5))
    kinds = [server._next_fault() for _ in range(40)]
    rng = random.Random(5)
    assert kinds == ["http_429" if rng.random() < 0.5 else "http_500" for _ in range(40)]


@pytest.mark.parametrize(
    "data,message",
    [
        pytest.param({"http_500": 0.7, "reset": 0.4}, "sum to at most 1", id="sum"),
        pytest.param({"http_501": 0.1}, "Extra inputs", id="unknown-kind"),
        pytest.param({"http_500": 1.5}, "less than or equal to 1", id="rate"),
        pytest.param({"script": ["http_418"]}, "script", id="script-kind"),
    ],
)
def test_faults_validation(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Faults.model_validate(data)


def test_fault_kinds_are_all_configurable() -> None:
    assert set(Faults().rates()) == set(FAULT_KINDS) and len(FAULT_KINDS) == 14


# -- faults, as litellm sees them ------------------------------------------------------------------------------------


import litellm  # noqa: E402


def _litellm_call(url: str, **kw: Any) -> Any:
    return asyncio.run(
        litellm.acompletion(
            model="openai/stub-judge", api_base=url, api_key=KEY, messages=MESSAGES, num_retries=0, max_retries=0, **kw
        )
    )


def test_litellm_normal_answer_is_valid(stub: StubServer) -> None:
    fmt = schema_format([1, 2, 3, 4, 5])
    resp = _litellm_call(stub.base_url, response_format=fmt)
    jsonschema.validate(json.loads(resp.choices[0].message.content), fmt["json_schema"]["schema"])
    assert resp.usage.prompt_tokens > 0
    assert stub.stats().watch_hits[KEY] == {"header:authorization": 1}


@pytest.mark.parametrize(
    "kind,error",
    [
        ("http_429_retry_after", "RateLimitError"),
        ("http_500", "InternalServerError"),
        ("http_502", "BadGatewayError"),
        ("http_503", "ServiceUnavailableError"),
        ("timeout", "Timeout"),
        # litellm reports a dropped connection as an InternalServerError, not an APIConnectionError.
        ("reset", "InternalServerError"),
        ("truncated_body", "InternalServerError"),
    ],
)
def test_litellm_faults(kind: str, error: str) -> None:
    with StubServer(faults=scripted(kind, hold_s=10)) as url, pytest.raises(getattr(litellm, error)):
        _litellm_call(url, timeout=0.5)


# -- raw HTTP ----------------------------------------------------------------------------------------------------------


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _post(body: bytes, extra: str = "", chunked: bool = False) -> bytes:
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    return f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{length}\r\n{extra}\r\n".encode() + body


def test_pipelined_keep_alive_requests_are_answered_in_order(stub: StubServer) -> None:
    b1 = json.dumps({"model": "m", "messages": [{"role": "user", "content": "a"}]}).encode()
    b2 = json.dumps({"model": "m", "messages": [{"role": "user", "content": "b"}]}).encode()
    out = _raw(stub.port, _post(b1) + _post(b2, "Connection: close\r\n"))
    assert out.count(b"HTTP/1.1 200 OK") == 2
    assert stub.stats().connections_total == 1 and stub.stats().requests_total == 2


def test_chunked_request_body(stub: StubServer) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "chunks"}]}).encode()
    chunked = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (body[:10], body[10:])) + b"0\r\n\r\n"
    out = _raw(stub.port, _post(chunked, "Connection: close\r\n", chunked=True))
    assert out.startswith(b"HTTP/1.1 200 OK")
    assert b"<score>" in out


@pytest.mark.parametrize(
    "data,status",
    [
        pytest.param(b"GARBAGE\r\n\r\n", b"400", id="request-line"),
        pytest.param(b"GET /v1/nothing HTTP/1.1\r\nConnection: close\r\n\r\n", b"404", id="unknown-path"),
        pytest.param(b"GET /v1/chat/completions HTTP/1.1\r\nConnection: close\r\n\r\n", b"405", id="method"),
        pytest.param(_post(b"{not json", "Connection: close\r\n"), b"400", id="body-not-json"),
    ],
)
def test_bad_requests_get_an_error_status(stub: StubServer, data: bytes, status: bytes) -> None:
    out = _raw(stub.port, data)
    assert out.startswith(b"HTTP/1.1 " + status)
    assert b'"error"' in out


def test_add_route_with_a_prefix() -> None:
    async def files(server: StubServer, req: Request) -> Response:
        return Response(200, json.dumps({"path": req.path}).encode())

    server = StubServer()
    server.add_route("GET", "/v1/files/*", files)
    with server, urllib.request.urlopen(f"{server.base_url}/files/file-123/content") as r:
        assert json.loads(r.read()) == {"path": "/v1/files/file-123/content"}


# -- as a subprocess -------------------------------------------------------------------------------------------------


def test_subprocess_prints_its_port_and_serves_with_faults() -> None:
    with stub_process(latency_ms=5, faults=Faults(script=["http_500"])) as (proc, url):
        with pytest.raises(openai.InternalServerError):
            asyncio.run(ask(url))
        assert "<score>" in asyncio.run(ask(url)).choices[0].message.content
        with urllib.request.urlopen(url.removesuffix("/v1") + "/_stub/stats") as r:
            stats = json.loads(r.read())
        assert proc.poll() is None
    assert stats["faults"] == {"http_500": 1} and stats["chat_ok"] == 1 and stats["latency_s"] == 0.005


def test_subprocess_rejects_bad_faults() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "tests.support.stub", "--faults", '{"http_501": 0.1}'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 2 and "http_501" in res.stderr and res.stdout == ""
