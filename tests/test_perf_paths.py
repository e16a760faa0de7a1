"""The engine's fast paths stay fast by construction (no timings here: the speed itself is measured in
``python -m benchmarks.perf engine``). What is checked: LiteLLM's per-call logging is off, one HTTP client is
reused across calls, cost is still recorded correctly, and the CLI's start-up paths import nothing heavy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from judge.engine.client import call_judge, litellm_module, response_format_for
from judge.engine.judge_spec import JudgeSpec
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [{"role": "system", "content": "Rate it."}, {"role": "user", "content": "Rate response {i}."}]


def _messages(i: int) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": m["content"].format(i=i)} for m in MESSAGES]


def _calls(spec: JudgeSpec, n: int, concurrency: int) -> list[Any]:
    """n distinct calls through ``call_judge``, at most ``concurrency`` in flight, in one event loop (as a run)."""
    rf = response_format_for(spec, {"type": "object"}, "answer")

    async def go() -> list[Any]:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> Any:
            async with sem:
                return await call_judge(spec, _messages(i), rf, seed=0)

        return list(await asyncio.gather(*(one(i) for i in range(n))))

    return asyncio.run(go())


def test_no_success_logging_or_redaction_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = litellm_module()
    from litellm.litellm_core_utils import redact_messages
    from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

    queued: list[Any] = []

    def enqueue(async_coroutine: Any) -> None:
        queued.append(async_coroutine)
        async_coroutine.close()  # never awaited: only counted

    redactions: list[Any] = []
    real_redact = redact_messages.perform_redaction

    def redact(*args: Any, **kwargs: Any) -> Any:
        redactions.append(1)
        return real_redact(*args, **kwargs)

    monkeypatch.setattr(GLOBAL_LOGGING_WORKER, "ensure_initialized_and_enqueue", enqueue)
    monkeypatch.setattr(redact_messages, "perform_redaction", redact)
    with StubServer() as url:
        spec = JudgeSpec(name="stub", model="openai/stub-judge", api_base=url, max_retries=0)
        results = _calls(spec, 6, 2)
    assert all(r.reply is not None for r in results)
    # LiteLLM would queue one success handler per call (6) on its logging worker and deepcopy each request to
    # redact it; with our settings neither happens, and nobody registered a callback behind our back.
    assert queued == []
    assert redactions == []
    assert litellm.turn_off_message_logging is False
    assert not litellm.success_callback and not litellm._async_success_callback


def test_one_http_client_is_reused_across_calls() -> None:
    stub = StubServer()
    with stub as url:
        spec = JudgeSpec(name="stub", model="openai/stub-judge", api_base=url, max_retries=0)
        results = _calls(spec, 40, 4)
        stats = stub.stats()
    assert sum(r.reply is not None for r in results) == 40
    assert stats.by_path["POST /v1/chat/completions"] == 40
    # A client (or connection) per call would open 40 connections; a reused pool opens about one per worker.
    assert stats.connections_total <= 8, stats.connections_total


def test_cost_is_still_recorded_from_usage() -> None:
    # gpt-4o-mini is priced in LiteLLM's bundled cost map; with the success logging skipped, the cost must still
    # be LiteLLM's price for the usage the stub reported.
    litellm = litellm_module()
    with StubServer() as url:
        spec = JudgeSpec(name="mini", model="openai/gpt-4o-mini", api_base=url, max_retries=0)
        (res,) = _calls(spec, 1, 1)
    reply = res.reply
    assert reply is not None and reply.tokens_in > 0 and reply.tokens_out > 0
    p, c = litellm.cost_per_token(
        model="gpt-4o-mini", prompt_tokens=reply.tokens_in, completion_tokens=reply.tokens_out
    )
    assert reply.cost_usd == pytest.approx(p + c, rel=1e-9)
    assert reply.cost_usd > 0


def test_unpriced_model_gets_an_explicit_zero_price_and_priced_models_keep_theirs() -> None:
    # A self-hosted model has no price in LiteLLM's map, and LiteLLM searches its whole map for one on every call
    # (the CPU this costs is measured in benchmarks/perf, not here). After the first call the engine has given
    # the model an explicit zero price, visible through LiteLLM's public model info; priced models are untouched.
    # The zero is LiteLLM's bookkeeping only: the replies are recorded unpriced (cost None), never as $0.
    litellm = litellm_module()
    with pytest.raises(Exception, match="isn't mapped"):
        litellm.get_model_info("openai/unpriced-judge-7b")
    with StubServer() as url:
        spec = JudgeSpec(name="self-hosted", model="openai/unpriced-judge-7b", api_base=url, max_retries=0)
        results = _calls(spec, 3, 2)
        mini = JudgeSpec(name="mini", model="openai/gpt-4o-mini", api_base=url, max_retries=0)
        (priced,) = _calls(mini, 1, 1)
    assert all(r.reply is not None for r in results)
    assert {r.reply.cost_usd for r in results} == {None}
    info = litellm.get_model_info("openai/unpriced-judge-7b")
    assert info["input_cost_per_token"] == 0.0 and info["output_cost_per_token"] == 0.0
    assert priced.reply is not None and priced.reply.cost_usd > 0


HEAVY = ("litellm", "openai", "numpy", "scipy", "httpx", "aiohttp")


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert res.returncode == 0, res.stderr
    last = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else ""
    return [m for m in last.split(",") if m]


def test_help_imports_nothing_heavy() -> None:
    code = "from judge.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert _imported_after(code) == []
    code = "from judge.cli import main\ntry:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass"
    assert _imported_after(code) == []


def test_probe_sees_heavy_imports() -> None:
    # The probe itself must be able to fail: importing the client layer's provider does show up.
    assert "litellm" in _imported_after("from judge.engine.client import litellm_module\nlitellm_module()")
