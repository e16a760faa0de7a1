"""A fast loopback OpenAI-compatible server with fault injection, for integration tests and benchmarks.

Pure asyncio (an ``asyncio.Protocol``, no web framework): a threaded ``http.server`` drops connections at high
concurrency on a 2-core machine, this one answers 20,000 requests at concurrency 500 without a hiccup. It speaks
just enough HTTP/1.1 for ``httpx`` and ``aiohttp``: keep-alive, pipelining, Content-Length and chunked bodies.

Endpoints (the routing table :data:`ROUTES` is meant to grow, e.g. files/batches):

* ``POST /v1/chat/completions``: an OpenAI chat completion; the assistant text comes from a *responder*.
* ``GET /v1/models``: one model, ``stub-judge``.
* ``GET /_stub/stats``: the server's :class:`StubStats` as JSON (for a stub running in another process).

Faults are drawn per chat request from a seeded RNG (:class:`Faults`), or taken from a script for the first
requests, so a run is reproducible. Example::

    from openai import AsyncOpenAI
    from tests.support.stub import Faults, StubServer

    with StubServer(latency_s=0.05, faults=Faults(http_500=0.1, seed=1)) as url:
        client = AsyncOpenAI(base_url=url, api_key="sk-test")
        ...

From a shell (the first stdout line is the port)::

    python -m tests.support.stub --port 0 --latency-ms 50 --faults '{"http_500": 0.1}'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FaultKind = Literal[
    "http_429_retry_after",  # 429 with a Retry-After header
    "http_429",  # 429 without Retry-After
    "http_500",
    "http_502",
    "http_503",
    "reset",  # the connection is reset (RST) without any response
    "timeout",  # the request is held for ``Faults.hold_s`` (longer than any sane client timeout), then dropped
    "truncated_body",  # Content-Length announces more bytes than are sent, then the connection closes
    "invalid_json",  # HTTP 200 whose body is not JSON
    "off_scale",  # valid completion; the answer's score is not one of the schema's choices
    "missing_field",  # valid completion; the answer lacks the score field
    "empty",  # valid completion with empty content
    "refusal",  # valid completion whose content is a refusal
    "length",  # finish_reason "length" with the answer cut off half-way
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
REFUSAL_TEXT = "I'm sorry, but I can't help with that."
MODEL_ID = "stub-judge"

Responder = Callable[[dict[str, Any]], str]


# -- configuration ------------------------------------------------------------------------------------------------


class Faults(BaseModel):
    """Per-kind fault probabilities for chat requests, plus an optional deterministic script.

    Each chat request draws one number from ``random.Random(seed)``: the fault kinds share ``[0, sum)`` in the
    order of :data:`FAULT_KINDS`, the rest of ``[0, 1)`` is a normal answer. The i-th *arriving* request always
    gets the same draw, so a run is reproducible up to the arrival order of concurrent requests.

    ``script`` overrides the draw for the first ``len(script)`` chat requests (``"ok"`` = no fault); the RNG is
    only consulted after the script is exhausted.
    """

    model_config = ConfigDict(extra="forbid")

    http_429_retry_after: float = Field(default=0.0, ge=0.0, le=1.0)
    http_429: float = Field(default=0.0, ge=0.0, le=1.0)
    http_500: float = Field(default=0.0, ge=0.0, le=1.0)
    http_502: float = Field(default=0.0, ge=0.0, le=1.0)
    http_503: float = Field(default=0.0, ge=0.0, le=1.0)
    reset: float = Field(default=0.0, ge=0.0, le=1.0)
    timeout: float = Field(default=0.0, ge=0.0, le=1.0)
    truncated_body: float = Field(default=0.0, ge=0.0, le=1.0)
    invalid_json: float = Field(default=0.0, ge=0.0, le=1.0)
    off_scale: float = Field(default=0.0, ge=0.0, le=1.0)
    missing_field: float = Field(default=0.0, ge=0.0, le=1.0)
    empty: float = Field(default=0.0, ge=0.0, le=1.0)
    refusal: float = Field(default=0.0, ge=0.0, le=1.0)
    length: float = Field(default=0.0, ge=0.0, le=1.0)

    seed: int = Field(default=0, description="Seed of the fault RNG.")
    script: list[FaultKind | Literal["ok"]] = Field(
        default_factory=list, description="Fault kinds of the first chat requests, in arrival order ('ok': none)."
    )
    retry_after_s: int = Field(default=1, ge=0, description="Retry-After value sent with http_429_retry_after.")
    hold_s: float = Field(default=30.0, gt=0.0, description="How long a 'timeout' fault holds the request.")

    @model_validator(mode="after")
    def _check_total(self) -> Faults:
        total = sum(self.rates().values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities must sum to at most 1, got {total:g}")
        return self

    def rates(self) -> dict[str, float]:
        """The probability of each fault kind, in draw order."""
        return {k: float(getattr(self, k)) for k in FAULT_KINDS}


class StubStats(BaseModel):
    """A snapshot of the server's counters."""

    requests_total: int = 0
    by_path: dict[str, int] = Field(default_factory=dict, description="'METHOD /path' -> requests.")
    by_status: dict[int, int] = Field(default_factory=dict, description="HTTP status sent -> responses.")
    faults: dict[str, int] = Field(default_factory=dict, description="Fault kind -> chat requests given it.")
    chat_ok: int = Field(default=0, description="Chat requests answered normally (no fault).")
    bad_requests: int = 0
    in_flight: int = 0
    in_flight_peak: int = 0
    connections_total: int = 0
    connections_open: int = 0
    header_names: list[str] = Field(default_factory=list, description="Every request header name seen (lowercase).")
    watch_hits: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Watched string -> where it was seen ('header:<name>', 'target' or 'body') -> count.",
    )
    latency_s: float = 0.0
    process_cpu_s: float = Field(
        default=0.0, description="CPU time of the process hosting the stub (only the stub's when it runs alone)."
    )


# -- HTTP plumbing ------------------------------------------------------------------------------------------------


@dataclass
class Request:
    """One parsed HTTP request. Header names are lowercase."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Response:
    """What a handler answers. ``action`` 'reset' sends nothing and resets the connection; 'truncate' announces
    a longer body than it sends, then closes."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    action: Literal["send", "reset", "truncate"] = "send"


Handler = Callable[["StubServer", Request], Awaitable[Response]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _parse_request(buf: bytearray) -> Request | None:
    """Take one complete request off the front of ``buf``; None if more bytes are needed."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > _MAX_HEAD:
            raise _BadRequest(431, "request head too large")
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, f"malformed request line {lines[0][:80]!r}")
    method, target, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest(400, f"malformed header line {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    start = end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunked = _parse_chunked(buf, start)
        if chunked is None:
            return None
        body, consumed = chunked
    else:
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(400, f"bad Content-Length {headers['content-length']!r}") from None
        if length > _MAX_BODY:
            raise _BadRequest(413, "body too large")
        if len(buf) < start + length:
            return None
        body, consumed = bytes(buf[start : start + length]), start + length
    del buf[:consumed]
    conn = headers.get("connection", "").lower()
    keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
    return Request(method, target, headers, body, keep_alive)


def _parse_chunked(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """Decode a chunked body starting at ``pos``: (body, end position), or None if incomplete."""
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        except ValueError:
            raise _BadRequest(400, "bad chunk size") from None
        if size == 0:
            # Trailers (rare) end with an empty line; without trailers that empty line follows at once.
            done = buf.find(b"\r\n\r\n", eol)
            if buf[eol : eol + 4] == b"\r\n\r\n" or done >= 0:
                return bytes(out), (eol + 4 if buf[eol : eol + 4] == b"\r\n\r\n" else done + 4)
            return None
        if len(buf) < eol + 2 + size + 2:
            return None
        out += buf[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


def _head(status: int, headers: Sequence[tuple[str, str]], content_type: str, length: int, close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}"]
    lines.append(f"Content-Length: {length}")
    lines.extend(f"{k}: {v}" for k, v in headers)
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Connection(asyncio.Protocol):
    """One client connection: requests are answered one at a time, in order (keep-alive and pipelining)."""

    def __init__(self, server: StubServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.pending: deque[Request | _BadRequest] = deque()
        self.broken = False
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # always a Transport for TCP servers
        self.server._connections.add(self)
        self.server._counts["connections_total"] += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server._connections.discard(self)
        if self.task is not None:
            self.task.cancel()  # e.g. a held 'timeout' request whose client gave up

    def data_received(self, data: bytes) -> None:
        if self.broken:
            return  # a malformed request was seen: the connection closes after its 400
        self.buf += data
        try:
            while (req := _parse_request(self.buf)) is not None:
                self.pending.append(req)
        except _BadRequest as exc:
            self.server._counts["bad_requests"] += 1
            self.pending.append(exc)
            self.broken = True
            self.buf.clear()
        if self.pending and self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._serve())

    async def _serve(self) -> None:
        try:
            while self.pending and not self.closed:
                req = self.pending.popleft()
                if not await self._answer(req):
                    return
        finally:
            self.task = None

    async def _answer(self, req: Request | _BadRequest) -> bool:
        """Handle and write one response; False if the connection is finished."""
        if isinstance(req, _BadRequest):
            resp, keep_alive = _error(req.status, str(req), "invalid_request_error"), False
        else:
            resp, keep_alive = await self.server._dispatch(req), req.keep_alive
        transport = self.transport
        if self.closed or transport is None:
            return False
        self.server._status[resp.status] += 1
        if resp.action == "reset":
            _reset(transport)
            return False
        if resp.action == "truncate":
            cut = resp.body[: len(resp.body) // 2]
            transport.write(_head(resp.status, resp.headers, resp.content_type, len(resp.body) + 100, True) + cut)
            transport.close()
            return False
        close = not keep_alive
        transport.write(_head(resp.status, resp.headers, resp.content_type, len(resp.body), close) + resp.body)
        if close:
            transport.close()
        return not close


def _reset(transport: asyncio.Transport) -> None:
    """Close with SO_LINGER 0, so the peer sees a TCP RST rather than an orderly FIN."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# -- the OpenAI-shaped responses ----------------------------------------------------------------------------------


def _json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(), headers or [])


def _error(status: int, message: str, kind: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return _json_response({"error": {"message": message, "type": kind, "param": None, "code": None}}, status, headers)


def _digest(request: dict[str, Any], salt: int = 0) -> int:
    """A stable hash of the conversation: identical messages give identical answers."""
    canon = json.dumps(request.get("messages"), sort_keys=True, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha256(f"{salt}:{canon}".encode()).digest()[:8], "big")


def answer_schema(request: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema in the request's ``response_format``, if any: OpenAI's ``json_schema`` type, or
    llama.cpp's ``{"type": "json_object", "schema": ...}``."""
    rf = request.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_object" and isinstance(rf.get("schema"), dict):
        return rf["schema"]
    if not isinstance(rf, dict) or rf.get("type") != "json_schema":
        return None
    js = rf.get("json_schema")
    schema = js.get("schema") if isinstance(js, dict) else None
    return schema if isinstance(schema, dict) else None


def _score_field(schema: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """The score field and its allowed values: the first property with an ``enum`` (default: score, 1..5)."""
    props = (schema or {}).get("properties") or {}
    for name, spec in props.items():
        if isinstance(spec, dict) and isinstance(spec.get("enum"), list) and spec["enum"]:
            return name, list(spec["enum"])
    for name, spec in props.items():
        if isinstance(spec, dict) and spec.get("type") in ("integer", "number") and "maximum" in spec:
            low, high = int(spec.get("minimum", 0)), int(spec["maximum"])
            return name, list(range(low, high + 1))
    return "score", [1, 2, 3, 4, 5]


def _answer(schema: dict[str, Any], h: int) -> dict[str, Any]:
    name, choices = _score_field(schema)
    return {"rationale": f"Stub rationale {h % 10_000:04d}.", name: choices[h % len(choices)]}


def default_responder(request: dict[str, Any]) -> str:
    """A deterministic judge: a schema-valid JSON answer if ``response_format`` asks for JSON, else
    ``<score>N</score>`` text. The score is chosen from a hash of the messages."""
    h = _digest(request)
    rf = request.get("response_format")
    if isinstance(rf, dict) and rf.get("type") in ("json_schema", "json_object"):
        schema = answer_schema(request) or {}
        nested = {
            k: v
            for k, v in (schema.get("properties") or {}).items()
            if isinstance(v, dict) and v.get("type") == "object"
        }
        if nested:  # one answer per criterion (all criteria judged in one call)
            return json.dumps({k: _answer(sub, h + i) for i, (k, sub) in enumerate(nested.items())})
        return json.dumps(_answer(schema, h))
    if _asks_verdict(request):  # a compact pairwise question: the verdict alone
        return _VERDICTS[h % 3]
    return f"Stub rationale {h % 10_000:04d}.\n<score>{h % 5 + 1}</score>"


def _faulty_content(kind: str, request: dict[str, Any], normal: str) -> tuple[str, str]:
    """(content, finish_reason) for the content-level faults."""
    if kind == "empty":
        return "", "stop"
    if kind == "refusal":
        return REFUSAL_TEXT, "stop"
    if kind == "length":
        return normal[: max(1, len(normal) // 2)], "length"
    is_json = isinstance(request.get("response_format"), dict)
    name, choices = _score_field(answer_schema(request))
    if kind == "off_scale":
        numbers = [c for c in choices if isinstance(c, int | float)]
        bad: Any = max(numbers) + 7 if numbers else "Not a listed label"
        return (json.dumps({"rationale": "Off the scale.", name: bad}) if is_json else f"<score>{bad}</score>"), "stop"
    # missing_field
    return (json.dumps({"rationale": "No score given."}) if is_json else "A rationale but no score."), "stop"


def _tokens(text: str) -> int:
    return len(text) // 4 + 1  # a rough, deterministic stand-in for a tokenizer


_TOKEN = re.compile(r"\d|[^\d]+")


def stub_logprobs(content: str, top: int) -> dict[str, Any]:
    """OpenAI-style ``logprobs`` for ``content``: tokens are single digits and the runs between them; a digit's
    alternatives are itself (p 0.6) and its neighbours (0.2 each), so expected scores are predictable in tests."""
    entries = []
    for tok in _TOKEN.findall(content):
        alts = [(tok, 1.0)]
        if tok.isdigit():
            d = int(tok)
            alts = [(tok, 0.6)] + [(str(n), 0.2) for n in (d - 1, d + 1) if 0 <= n <= 9]
        tops = [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in alts[: max(1, top)]]
        entries.append({"token": tok, "logprob": math.log(alts[0][1]), "bytes": None, "top_logprobs": tops})
    return {"content": entries, "refusal": None}


_VERDICT_TOKEN = re.compile(r'^(?:A|B|tie)$|(?<=")(?:A|B|tie)(?=")|(?:(?!(?<=")(?:A|B|tie)(?=")).)+', re.S)
_VERDICTS = ("A", "B", "tie")


def verdict_logprobs(content: str, top: int) -> dict[str, Any]:
    """OpenAI-style ``logprobs`` for a pairwise answer: a verdict (``"A"``, ``"B"``, ``"tie"``, quoted or alone) is
    one token whose alternatives are itself (p 0.6) and the two other verdicts (0.2 each), so P(first is better) is
    predictable in tests (A: 0.7, B: 0.3, tie: 0.5); the rest are plain tokens."""
    entries = []
    for m in _VERDICT_TOKEN.finditer(content):
        tok = m.group(0)
        alts = [(tok, 1.0)]
        if tok in _VERDICTS:
            alts = [(tok, 0.6)] + [(v, 0.2) for v in _VERDICTS if v != tok]
        tops = [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in alts[: max(1, top)]]
        entries.append({"token": tok, "logprob": math.log(alts[0][1]), "bytes": None, "top_logprobs": tops})
    return {"content": entries, "refusal": None}


def _asks_verdict(request: dict[str, Any]) -> bool:
    """A pairwise question: a verdict schema, or (free text) a last message asking for A, B or tie."""
    schema = answer_schema(request)
    if schema is None:
        messages = request.get("messages") or [{}]
        return str(messages[-1].get("content", "")).rstrip().endswith("Answer A, B or tie only.")
    _, choices = _score_field(schema)
    return set(map(str, choices)) == set(_VERDICTS)


def _completion(server: StubServer, request: dict[str, Any], choices: list[tuple[str, str]]) -> dict[str, Any]:
    want = bool(request.get("logprobs"))
    top = int(request.get("top_logprobs") or 0)
    logprobs = verdict_logprobs if _asks_verdict(request) else stub_logprobs
    prompt = sum(_tokens(str(m.get("content", ""))) for m in request.get("messages", []) if isinstance(m, dict))
    completion = sum(_tokens(c) for c, _ in choices)
    return {
        "id": f"chatcmpl-stub-{server._counts['chat_seq']}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(request.get("model", MODEL_ID)),
        "system_fingerprint": "fp_stub",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": finish,
                "logprobs": logprobs(content, top) if want else None,
            }
            for i, (content, finish) in enumerate(choices)
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


_HTTP_FAULTS = {
    "http_429": (429, "Rate limit reached (stub).", "rate_limit_error"),
    "http_429_retry_after": (429, "Rate limit reached (stub).", "rate_limit_error"),
    "http_500": (500, "The server had an error (stub).", "server_error"),
    "http_502": (502, "Bad gateway (stub).", "server_error"),
    "http_503": (503, "The engine is overloaded (stub).", "server_error"),
}


async def handle_chat(server: StubServer, req: Request) -> Response:
    """``POST /v1/chat/completions``: latency, then a fault or the responder's answer."""
    try:
        request = req.json()
    except (ValueError, UnicodeDecodeError):
        return _error(400, "request body is not valid JSON", "invalid_request_error")
    if not isinstance(request, dict) or not isinstance(request.get("messages"), list):
        return _error(400, "request must be a JSON object with a 'messages' list", "invalid_request_error")
    if request.get("stream"):
        return _error(400, "the stub does not support stream=true", "invalid_request_error")
    kind = server._next_fault()
    if server.latency_s > 0:
        await asyncio.sleep(server.latency_s)
    if kind is not None:
        server._faults[kind] += 1
        if kind in _HTTP_FAULTS:
            status, message, etype = _HTTP_FAULTS[kind]
            extra = [("Retry-After", str(server.faults.retry_after_s))] if kind == "http_429_retry_after" else []
            return _error(status, message, etype, extra)
        if kind == "reset":
            return Response(action="reset")
        if kind == "timeout":
            await asyncio.sleep(server.faults.hold_s)  # cancelled when the client hangs up
            return Response(action="reset")
        if kind == "invalid_json":
            return Response(200, b'{"id": "chatcmpl-stub", "choices": [{"message": ')
    n = request.get("n") or 1
    choices = []
    for i in range(int(n) if isinstance(n, int) and 0 < n <= 16 else 1):
        normal = server.responder(request if i == 0 else {**request, "messages": [*request["messages"], i]})
        choices.append(_faulty_content(kind, request, normal) if kind else (normal, "stop"))
    full = _completion(server, request, choices)
    if kind == "truncated_body":
        body = json.dumps(full, separators=(",", ":")).encode()
        return Response(200, body, action="truncate")
    if kind is None:
        server._counts["chat_ok"] += 1
    return _json_response(full)


async def handle_models(server: StubServer, req: Request) -> Response:
    """``GET /v1/models``."""
    return _json_response(
        {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "stub"}]}
    )


async def handle_stats(server: StubServer, req: Request) -> Response:
    """``GET /_stub/stats``: the counters, for a stub running in another process."""
    return Response(200, server._snapshot().model_dump_json().encode())


# (method, path) -> handler. A path ending in "/*" matches every path below it (e.g. "/v1/files/*").
ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/chat/completions"): handle_chat,
    ("GET", "/v1/models"): handle_models,
    ("GET", "/_stub/stats"): handle_stats,
}


# -- the server ---------------------------------------------------------------------------------------------------


class StubServer:
    """The stub server. Use it from sync code (``start``/``stop`` or ``with``: a background thread runs its loop)
    or from async code (``await start_async()``/``await stop_async()`` or ``async with``).

    Args:
        latency_s: fixed delay before each chat answer (``asyncio.sleep``; concurrent requests overlap).
        responder: ``(request_json) -> assistant content``; default :func:`default_responder`.
        faults: fault probabilities / script; default none.
        port: 0 picks a free port.
        record: keep the last ``record`` POST requests (what was asked of the model) in :attr:`recorded` (0: keep
            none; memory stays flat). GETs (e.g. a client asking the server's slots) are counted, not recorded.
        watch: strings (e.g. an API key) whose every occurrence in request headers, target and body is counted
            in ``stats().watch_hits`` by location.
    """

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        responder: Responder | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = 4096,
        record: int = 0,
        watch: Sequence[str] = (),
    ) -> None:
        self.latency_s = latency_s
        self.responder: Responder = responder or default_responder
        self.faults = faults or Faults()
        self.host, self.port, self.backlog = host, port, backlog
        self.routes: dict[tuple[str, str], Handler] = dict(ROUTES)
        self.recorded: deque[Request] = deque(maxlen=record) if record > 0 else deque(maxlen=0)
        self.watch = [w for w in watch if w]
        self._rng = random.Random(self.faults.seed)
        self._script = list(self.faults.script)
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._reset_counters()

    # -- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start_async(self) -> str:
        """Listen on the running loop; return the base URL (``http://127.0.0.1:<port>/v1``)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=self.backlog, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop_async(self) -> None:
        """Stop listening and drop every connection (held requests are cancelled)."""
        if self._server is None:
            return
        self._server.close()
        for conn in list(self._connections):
            if conn.transport is not None:
                conn.transport.abort()
        await self._server.wait_closed()
        self._server = None

    def start(self) -> str:
        """Run the server on a new event loop in a daemon thread; return the base URL."""
        if self._thread is not None:
            raise RuntimeError("the stub server is already running")
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="stub-server", daemon=True)
        self._thread.start()
        try:
            return asyncio.run_coroutine_threadsafe(self.start_async(), loop).result(timeout=10)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
            self._thread = None
            raise

    def stop(self) -> None:
        """Stop the background-thread server started with :meth:`start`."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop_async(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._thread = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> str:
        return await self.start_async()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Add or replace an endpoint on this server (``path`` may end in ``/*`` to match a subtree)."""
        self.routes[(method.upper(), path)] = handler

    # -- counters

    def _reset_counters(self) -> None:
        self._counts: Counter[str] = Counter()
        self._paths: Counter[str] = Counter()
        self._status: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._header_names: set[str] = set()
        self._watch_hits: dict[str, Counter[str]] = {w: Counter() for w in self.watch}

    def _snapshot(self) -> StubStats:
        c = self._counts
        return StubStats(
            requests_total=c["requests_total"],
            by_path=dict(self._paths),
            by_status=dict(self._status),
            faults=dict(self._faults),
            chat_ok=c["chat_ok"],
            bad_requests=c["bad_requests"],
            in_flight=c["in_flight"],
            in_flight_peak=c["in_flight_peak"],
            connections_total=c["connections_total"],
            connections_open=len(self._connections),
            header_names=sorted(self._header_names),
            watch_hits={w: dict(h) for w, h in self._watch_hits.items()},
            latency_s=self.latency_s,
            process_cpu_s=time.process_time(),
        )

    def _on_loop(self) -> bool:
        """Whether we may touch the counters directly (no loop thread, or we are on it)."""
        return self._thread is None or threading.current_thread() is self._thread

    def stats(self) -> StubStats:
        """A consistent snapshot of the counters (safe from any thread)."""
        if self._on_loop() or self._loop is None:
            return self._snapshot()

        async def snap() -> StubStats:
            return self._snapshot()

        return asyncio.run_coroutine_threadsafe(snap(), self._loop).result(timeout=10)

    def reset_stats(self) -> None:
        """Zero the counters (the fault RNG and script position are kept)."""
        if self._on_loop() or self._loop is None:
            self._reset_counters()
        else:
            self._loop.call_soon_threadsafe(self._reset_counters)

    # -- request handling

    def _next_fault(self) -> str | None:
        seq = self._counts["chat_seq"]
        self._counts["chat_seq"] += 1
        if seq < len(self._script):
            scripted = self._script[seq]
            return None if scripted == "ok" else scripted
        u = self._rng.random()
        for kind, rate in self.faults.rates().items():
            if u < rate:
                return kind
            u -= rate
        return None

    def _observe(self, req: Request) -> None:
        self._header_names.update(req.headers)
        for w in self.watch:
            hits = self._watch_hits[w]
            for name, value in req.headers.items():
                if w in value:
                    hits[f"header:{name}"] += 1
            if w in req.target:
                hits["target"] += 1
            if w.encode() in req.body:
                hits["body"] += 1
        if self.recorded.maxlen and req.method == "POST":
            self.recorded.append(req)

    def _route(self, method: str, path: str) -> Handler | Response:
        handler = self.routes.get((method, path))
        if handler is not None:
            return handler
        prefixes = [p for (m, p) in self.routes if m == method and p.endswith("/*") and path.startswith(p[:-1])]
        if prefixes:
            return self.routes[(method, max(prefixes, key=len))]
        if any(p == path for _, p in self.routes):
            return _error(405, f"method {method} not allowed on {path}", "invalid_request_error")
        return _error(404, f"no route for {method} {path} on the stub server", "invalid_request_error")

    async def _dispatch(self, req: Request) -> Response:
        c = self._counts
        c["requests_total"] += 1
        self._paths[f"{req.method} {req.path}"] += 1
        self._observe(req)
        c["in_flight"] += 1
        c["in_flight_peak"] = max(c["in_flight_peak"], c["in_flight"])
        try:
            target = self._route(req.method, req.path)
            return target if isinstance(target, Response) else await target(self, req)
        finally:
            c["in_flight"] -= 1


# -- running in another process -----------------------------------------------------------------------------------


@contextlib.contextmanager
def stub_process(
    *, latency_ms: float = 0.0, faults: Faults | None = None, port: int = 0, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the stub in a subprocess (its CPU is then not counted in the caller's); yield (process, base_url)."""
    cmd = [sys.executable, "-m", "tests.support.stub", "--port", str(port), "--latency-ms", str(latency_ms)]
    if faults is not None:
        cmd += ["--faults", faults.model_dump_json()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline().strip() if proc.stdout is not None else ""
        if not line.isdigit():
            raise RuntimeError(f"the stub process did not print its port (got {line!r}, exit {proc.poll()})")
        yield proc, f"http://127.0.0.1:{line}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tests.support.stub``: serve until SIGTERM/SIGINT; print the port as the first stdout line."""
    ap = argparse.ArgumentParser(prog="python -m tests.support.stub", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: pick a free port (printed on the first line)")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--faults", default="{}", help='JSON of Faults, e.g. \'{"http_500": 0.1, "seed": 3}\'')
    args = ap.parse_args(argv)
    try:
        faults = Faults.model_validate_json(args.faults)
    except ValidationError as exc:
        ap.error(f"--faults: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']} (got {args.faults!r})")
    server = StubServer(latency_s=args.latency_ms / 1000, faults=faults, host=args.host, port=args.port)

    async def serve() -> None:
        await server.start_async()
        print(server.port, flush=True)
        print(f"stub serving {server.base_url}", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop_async()
        print(server._snapshot().model_dump_json(), file=sys.stderr, flush=True)

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
