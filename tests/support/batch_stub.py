"""OpenAI-style files and batches endpoints for the loopback stub, so batch mode is tested over real HTTP.

Added to a :class:`~tests.support.stub.StubServer` with :func:`add_batch_routes`:

* ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}``, ``GET /v1/files/{id}/content``
* ``POST /v1/batches``, ``GET /v1/batches/{id}``

A batch stays ``in_progress`` for ``complete_after`` polls, then "runs": each request line is answered with the
stub's normal responder (the same answer an online call would get), so a batch run and an online run can be
compared record by record. ``fail`` picks request lines to answer with a per-request error instead. Example::

    stub = StubServer()
    backend = add_batch_routes(stub, complete_after=2)
    with stub as url:
        ...  # litellm.acreate_file(..., api_base=url), acreate_batch(...), aretrieve_batch(...)
    backend.batches_created  # how many batches were submitted
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.stub import Request, Response, StubServer, _completion, _error, _json_response

FailRule = Callable[[dict[str, Any]], str | None]
"""``(request line) -> error message`` for lines to fail, ``None`` to answer normally."""


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int = field(default_factory=lambda: int(time.time()))

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class BatchBackend:
    """The state behind the routes: files and batches, inspectable by tests."""

    complete_after: int = 2
    fail: FailRule | None = None
    files: dict[str, _File] = field(default_factory=dict)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    batches_created: int = 0

    def _new_file(self, filename: str, purpose: str, data: bytes) -> _File:
        f = _File(f"file-stub-{len(self.files) + 1}", filename, purpose, data)
        self.files[f.id] = f
        return f


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``name -> (filename, data)`` of a ``multipart/form-data`` body (enough for the OpenAI SDK's uploads)."""
    marker = "boundary="
    if marker not in content_type:
        raise ValueError("multipart body without a boundary")
    boundary = content_type.split(marker, 1)[1].split(";")[0].strip().strip('"').encode()
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(b"--" + boundary):
        if not part.strip() or part.strip() == b"--":
            continue
        head, _, data = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
        disposition = next((h for h in head.decode().split("\r\n") if h.lower().startswith("content-disposition")), "")
        attrs = dict(
            kv.strip().split("=", 1) for kv in disposition.split(";")[1:] if "=" in kv
        )  # name="file"; filename="x.jsonl"
        name = attrs.get("name", "").strip('"')
        filename = attrs["filename"].strip('"') if "filename" in attrs else None
        fields[name] = (filename, data[:-2] if data.endswith(b"\r\n") else data)
    return fields


def _batch_object(b: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in b.items() if not k.startswith("_")}


def _run_batch(server: StubServer, backend: BatchBackend, b: dict[str, Any]) -> None:
    """Answer every request line of the batch; write the output and error files."""
    out_lines: list[str] = []
    err_lines: list[str] = []
    lines = [ln for ln in backend.files[b["input_file_id"]].data.decode().splitlines() if ln.strip()]
    for n, line in enumerate(lines):
        req = json.loads(line)
        rid = f"batch_req_{b['id']}_{n}"
        failure = backend.fail(req) if backend.fail else None
        if failure is not None:
            body = {"error": {"message": failure, "type": "invalid_request_error", "param": None, "code": None}}
            entry = {"id": rid, "custom_id": req["custom_id"], "response": {"status_code": 400, "body": body}}
            err_lines.append(json.dumps({**entry, "error": None}))
            continue
        server._counts["chat_seq"] += 1  # so completion ids stay unique, as for online calls
        content = server.responder(req["body"])
        body = _completion(server, req["body"], [(content, "stop")])
        entry = {"id": rid, "custom_id": req["custom_id"], "response": {"status_code": 200, "body": body}}
        out_lines.append(json.dumps({**entry, "error": None}))
    now = int(time.time())
    if out_lines:
        b["output_file_id"] = backend._new_file(f"{b['id']}_output.jsonl", "batch_output", _jsonl(out_lines)).id
    if err_lines:
        b["error_file_id"] = backend._new_file(f"{b['id']}_error.jsonl", "batch_output", _jsonl(err_lines)).id
    b.update(status="completed", completed_at=now, finalizing_at=now)
    b["request_counts"] = {"total": len(lines), "completed": len(out_lines), "failed": len(err_lines)}


def _jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def add_batch_routes(server: StubServer, *, complete_after: int = 2, fail: FailRule | None = None) -> BatchBackend:
    """Add the files/batches endpoints to ``server``; return their state.

    Args:
        server: the stub to extend (before or after it is started).
        complete_after: a batch completes on this many-th retrieval (``GET /v1/batches/{id}``).
        fail: which request lines get a per-request error (in the error file) instead of an answer.
    """
    backend = BatchBackend(complete_after=complete_after, fail=fail)

    async def upload(_: StubServer, req: Request) -> Response:
        try:
            fields = parse_multipart(req.body, req.headers.get("content-type", ""))
        except ValueError as exc:
            return _error(400, str(exc), "invalid_request_error")
        if "file" not in fields:
            return _error(400, "multipart upload without a 'file' field", "invalid_request_error")
        filename, data = fields["file"]
        purpose = fields.get("purpose", (None, b"batch"))[1].decode()
        return _json_response(backend._new_file(filename or "upload.jsonl", purpose, data).public())

    async def get_file(_: StubServer, req: Request) -> Response:
        rest = req.path.removeprefix("/v1/files/")
        file_id, _sep, tail = rest.partition("/")
        f = backend.files.get(file_id)
        if f is None:
            return _error(404, f"no file {file_id!r}", "invalid_request_error")
        if tail == "content":
            return Response(200, f.data, content_type="application/octet-stream")
        return _json_response(f.public())

    async def create_batch(_: StubServer, req: Request) -> Response:
        spec = req.json()
        if spec.get("input_file_id") not in backend.files:
            return _error(400, f"unknown input_file_id {spec.get('input_file_id')!r}", "invalid_request_error")
        backend.batches_created += 1
        bid = f"batch_stub_{backend.batches_created}"
        total = sum(1 for ln in backend.files[spec["input_file_id"]].data.splitlines() if ln.strip())
        backend.batches[bid] = {
            "id": bid,
            "object": "batch",
            "endpoint": spec.get("endpoint", "/v1/chat/completions"),
            "errors": None,
            "input_file_id": spec["input_file_id"],
            "completion_window": spec.get("completion_window", "24h"),
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "request_counts": {"total": total, "completed": 0, "failed": 0},
            "metadata": spec.get("metadata"),
        }
        backend.polls[bid] = 0
        return _json_response(_batch_object(backend.batches[bid]))

    async def get_batch(srv: StubServer, req: Request) -> Response:
        bid = req.path.removeprefix("/v1/batches/")
        b = backend.batches.get(bid)
        if b is None:
            return _error(404, f"no batch {bid!r}", "invalid_request_error")
        backend.polls[bid] += 1
        if b["status"] != "completed":
            if backend.polls[bid] >= backend.complete_after:
                _run_batch(srv, backend, b)
            else:
                b["status"] = "in_progress"
        return _json_response(_batch_object(b))

    server.add_route("POST", "/v1/files", upload)
    server.add_route("GET", "/v1/files/*", get_file)
    server.add_route("POST", "/v1/batches", create_batch)
    server.add_route("GET", "/v1/batches/*", get_batch)
    return backend
