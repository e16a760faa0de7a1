"""Secrets and limits: the API key never lands in a file or message; over-long posts are truncated or unscored.

Secrets: a run with its key in an environment variable (judges.toml ``api_key_env``) against a stub that watches
for the key and, on some requests, echoes it back inside an error message (as some providers do). Every file the
suite writes and every captured stream is then scanned for the key. Run directories must be private.

Limits: a post far beyond the judge's context either is cut (``--max-post-chars``; the default for local judges),
flagged ``post_truncated``, or, sent whole, draws the provider's 400 "context length exceeded", which must become
an unscored ``context_overflow`` judgment, not a crash.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import stat
import subprocess
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from benchmarks.reliability._common import (
    ROOT,
    judge_cmd,
    read_raw_records,
    subprocess_env,
    synthetic_benchmark,
    write_judges_toml,
)

KEY_ENV = "RELIABILITY_STUB_KEY"


class SecretsResult(BaseModel):
    key_env: str
    files_scanned: int
    streams_scanned: int
    secrets_leaked: int = Field(description="Files or captured streams containing the key: must be 0.")
    leaks: list[str]
    key_seen_by_stub: dict[str, int] = Field(description="Where the stub saw the key (only the auth header).")
    echoed_errors: int = Field(description="Error replies that echoed the key back to the client.")
    permissions_ok: bool
    permission_problems: list[str]


class LimitsResult(BaseModel):
    long_post_chars: int
    overflow_reason: str | None = Field(description="Unscored reason of the long item sent whole.")
    overflow_exit_code: int
    others_scored: bool
    truncated_flagged: bool = Field(description="--max-post-chars: the long item carries post_truncated.")
    truncated_scored: bool
    local_default_truncates: bool = Field(description="A local judge's prompts are cut by default.")


def _echo_route(secret_holder: dict[str, int]) -> Any:
    from tests.support.stub import Request, Response, StubServer, _error, handle_chat

    async def route(server: StubServer, req: Request) -> Response:
        secret_holder["n"] += 1
        if secret_holder["n"] % 7 == 0:  # some replies echo the credential back, as careless providers do
            secret_holder["echoed"] += 1
            auth = req.headers.get("authorization", "")
            return _error(500, f"internal error handling request with {auth} (api_key={auth[7:]})", "server_error")
        return await handle_chat(server, req)

    return route


def run_secrets(work: Path, scan_roots: list[Path]) -> SecretsResult:
    """Run with a key in the environment, make errors echo it, then scan everything written for it."""
    from judge.cli import main
    from tests.support.stub import Request, Response, StubServer, _error

    key = "sk-rel-" + secrets.token_hex(16)
    env = subprocess_env(**{KEY_ENV: key})
    bench = synthetic_benchmark(work / "bench", 30)
    holder = {"n": 0, "echoed": 0}
    stub = StubServer(watch=[key])
    stub.add_route("POST", "/v1/chat/completions", _echo_route(holder))
    streams: list[str] = []
    with stub as url:
        judges = write_judges_toml(work / "judges.toml", url, api_key_env=KEY_ENV, max_retries=1)
        cmd = judge_cmd("run", "--benchmark", str(bench), "--judge", str(judges), "--out", str(work / "run"),
                        "--cache-dir", str(work / "cache"), "--json")  # fmt: skip
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        streams += [p.stdout, p.stderr]
        hits = stub.stats().watch_hits.get(key, {})

    async def deny(server: StubServer, req: Request) -> Response:
        return _error(401, f"Incorrect API key provided: {key}", "invalid_api_key")

    stub = StubServer(watch=[key])
    stub.add_route("POST", "/v1/chat/completions", deny)
    os.environ[KEY_ENV] = key  # the in-process run reads it; removed again below
    try:
        with stub as url:
            judges = write_judges_toml(work / "judges-deny.toml", url, api_key_env=KEY_ENV)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main(["run", "--no-progress", "--benchmark", str(bench), "--judge", str(judges), "--out",
                          str(work / "run-deny"), "--cache-dir", str(work / "cache")])  # fmt: skip
                except Exception as exc:
                    streams.append(f"{type(exc).__name__}: {exc}")
            streams += [out.getvalue(), err.getvalue()]
    finally:
        del os.environ[KEY_ENV]
    (work / "captured.log").write_text("\n".join(streams), encoding="utf-8")
    leaks, files = _scan([work, *scan_roots], key)
    leaks += [f"captured stream {i}" for i, s in enumerate(streams) if key in s]
    perm = _permission_problems([work / "run", work / "run-deny"])
    return SecretsResult(
        key_env=KEY_ENV,
        files_scanned=files,
        streams_scanned=len(streams),
        secrets_leaked=len(leaks),
        leaks=leaks,
        key_seen_by_stub=dict(hits),
        echoed_errors=holder["echoed"],
        permissions_ok=not perm,
        permission_problems=perm,
    )


def _scan(roots: list[Path], key: str) -> tuple[list[str], int]:
    leaks, n = [], 0
    needle = key.encode()
    for root in roots:
        for f in root.rglob("*") if root.exists() else []:
            if f.is_file() and not f.is_symlink():
                n += 1
                if needle in f.read_bytes():
                    leaks.append(str(f))
    return leaks, n


def _permission_problems(run_dirs: list[Path]) -> list[str]:
    """Run directories 0700, every file in them 0600."""
    out = []
    for d in run_dirs:
        if not d.exists():
            continue
        mode = stat.S_IMODE(d.stat().st_mode)
        if mode != 0o700:
            out.append(f"{d}: directory mode {mode:o}, expected 700")
        for f in d.iterdir():
            fm = stat.S_IMODE(f.stat().st_mode)
            if f.is_file() and fm != 0o600:
                out.append(f"{f}: file mode {fm:o}, expected 600")
    return out


def run_limits(work: Path, long_chars: int = 60_000) -> LimitsResult:
    """A 60,000-character post: sent whole it overflows (400 -> context_overflow); cut, it is scored."""
    from judge.cli import main
    from tests.support.stub import Request, Response, StubServer, _error, handle_chat

    bench = synthetic_benchmark(work / "bench", 4, long_items={"syn:000002": long_chars})

    async def small_context(server: StubServer, req: Request) -> Response:
        if len(req.body) > 20_000:  # ~5k tokens: beyond this stub model's pretend 4k context
            return _error(400, "This model's maximum context length is 4096 tokens. However, your messages "
                          "resulted in 15000 tokens. Please reduce the length of the messages.",
                          "invalid_request_error")  # fmt: skip
        return await handle_chat(server, req)

    stub = StubServer()
    stub.add_route("POST", "/v1/chat/completions", small_context)
    with stub as url:
        base = ["run", "--no-progress", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base", url,
                "--criteria", "empathy", "--cache-dir", str(work / "cache")]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = main([*base, "--out", str(work / "whole")])
            main([*base, "--out", str(work / "cut"), "--max-post-chars", "4000"])
    whole = {r["item_id"]: r for r in read_raw_records(work / "whole")}
    cut = {r["item_id"]: r for r in read_raw_records(work / "cut")}
    long_id = "syn:000002"
    return LimitsResult(
        long_post_chars=long_chars,
        overflow_reason=whole.get(long_id, {}).get("unscored_reason"),
        overflow_exit_code=rc,
        others_scored=all(r["score"] is not None for i, r in whole.items() if i != long_id) and len(whole) == 4,
        truncated_flagged="post_truncated" in cut.get(long_id, {}).get("flags", []),
        truncated_scored=cut.get(long_id, {}).get("score") is not None,
        local_default_truncates=_local_truncates(bench, long_id),
    )


def _local_truncates(bench_dir: Path, long_id: str) -> bool:
    """The runner's work units for a local judge carry ``post_truncated`` for the long post (no model needed)."""
    from judge.data.benchmark import load_benchmark
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from judge.engine import RunConfig, plan_units
    from judge.engine.judge_spec import judge_from_model

    cfg = RunConfig(
        benchmark=load_benchmark(bench_dir),
        rubrics=load_rubric_set(default_rubrics_dir(), ["empathy"]),
        judges=[judge_from_model("local")],
        out=bench_dir / "unused",
    )
    flags = {u.item.item_id: u.flags for u in plan_units(cfg, set())}
    lengths = {u.item.item_id: len(json.dumps(u.messages)) for u in plan_units(cfg, set())}
    return "post_truncated" in flags[long_id] and lengths[long_id] < 20_000
