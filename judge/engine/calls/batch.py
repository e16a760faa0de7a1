"""Batch mode (``judge run --batch``): the pending judgments go to a provider's batch API instead of online calls.

Data flow, per judge::

    pending units -> one JSONL line per cache key (custom_id = key) -> upload (files API) -> create batch
      -> batches.json in the run dir (atomic, *before* polling) -> poll every ``poll_s`` -> output/error files
      -> the same cache rows and run records an online run would write

Everything goes through LiteLLM's files/batches API (``acreate_file``, ``acreate_batch``, ``aretrieve_batch``,
``afile_content``) with ``custom_llm_provider="openai"``, so any OpenAI-compatible batch endpoint works (OpenAI
itself, or a server at ``api_base``). The cache keys are those of online calls: a batch run and an online run are
interchangeable, and a later online run is served from the cache a batch run filled.

Resuming: a submitted batch is recorded with its custom_ids before the first poll, so a re-run after a kill polls
that batch again instead of paying for a second one. A request the provider answers with an error is recorded as
unscored ``api_error`` with the error text; one the provider never answers (batch failed, expired, cancelled) too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from judge.engine.cache import CachedReply
from judge.engine.calls import CallPass
from judge.engine.judge_spec import JudgeSpec
from judge.engine.task import TaskUnit
from judge.errors import ProviderError, UsageError
from judge.fileio import load_document, write_json

LEDGER = "batches.json"
ENDPOINT = "/v1/chat/completions"
MAX_REQUESTS = 50_000  # OpenAI's per-batch limit; larger runs are split over several batches
FINAL_STATES = ("completed", "failed", "expired", "cancelled")


class SubmittedBatch(BaseModel):
    """One batch submitted to a provider (enough to poll it again after a kill)."""

    id: str
    judge: str
    input_file_id: str
    custom_ids: list[str] = Field(description="Cache keys of the requests in the batch.")
    submitted_at: float = Field(default_factory=time.time)
    status: str = "submitted"
    imported: bool = Field(default=False, description="Its results are in the run store and the cache.")


class BatchLedger(BaseModel):
    """``batches.json``: every batch this run submitted."""

    version: int = 1
    batches: list[SubmittedBatch] = Field(default_factory=list)


def load_ledger(run_dir: Path) -> BatchLedger:
    path = run_dir / LEDGER
    if not path.exists():
        return BatchLedger()
    return load_document(path, BatchLedger, "batch ledger", fmt="json")


def save_ledger(run_dir: Path, ledger: BatchLedger) -> None:
    write_json(run_dir / LEDGER, ledger.model_dump(mode="json"), private=True)


def provider_model(spec: JudgeSpec) -> str:
    """The model name the provider expects in a request body (LiteLLM's ``openai/`` prefix removed)."""
    return spec.model.split("/", 1)[1] if spec.model.startswith("openai/") else spec.model


def check_batchable(spec: JudgeSpec) -> None:
    """Refuse judges whose provider has no OpenAI-compatible batch API (before anything is paid for)."""
    provider = spec.model.split("/", 1)[0] if "/" in spec.model else "openai"
    if spec.is_local or provider != "openai" or getattr(spec, "deployments", None):
        raise UsageError(
            f"judge {spec.name!r} ({spec.model}): --batch supports single OpenAI-compatible judges "
            "('openai/<model>', optionally with api_base); run local judges and pools without --batch"
        )


def batch_line(u: TaskUnit) -> dict[str, Any]:
    """One request line of the provider's batch input JSONL (``custom_id`` = the unit's cache key)."""
    body: dict[str, Any] = {"model": provider_model(u.judge), "messages": u.messages, **u.judge.params}
    body["seed"] = u.seed
    if u.response_format is not None:
        body["response_format"] = u.response_format
    return {"custom_id": u.key, "method": "POST", "url": ENDPOINT, "body": body}


def parse_result_line(line: dict[str, Any], litellm: Any, spec: JudgeSpec) -> tuple[CachedReply | None, str | None]:
    """(reply, None) for an answered request; (None, error text) for a request the provider failed."""
    from judge.engine.client import reply_from_response

    resp = line.get("response") or {}
    body = resp.get("body") if isinstance(resp, dict) else None
    status = resp.get("status_code") if isinstance(resp, dict) else None
    if line.get("error") or status != 200 or not isinstance(body, dict) or not body.get("choices"):
        err = line.get("error") or (body or {}).get("error") or body
        text = err.get("message", json.dumps(err)) if isinstance(err, dict) else str(err)
        return None, f"batch request failed (status {status}): {text}"[:500]
    model_response = litellm.ModelResponse(**body)
    return reply_from_response(litellm, model_response, 0.0, spec), None


class _Provider:
    """The LiteLLM files/batches calls for one judge, with its key and base URL."""

    def __init__(self, litellm: Any, spec: JudgeSpec) -> None:
        self.litellm, self.spec = litellm, spec
        self.kwargs: dict[str, Any] = {"custom_llm_provider": "openai", "api_key": spec.api_key() or "none"}
        if spec.api_base:
            self.kwargs["api_base"] = spec.api_base

    async def call(self, fn: str, **kwargs: Any) -> Any:
        """One files/batches call; transient errors retried with our backoff, permanent ones raised."""
        from judge.engine.client import RetryableError, backoff_delay, call_unlogged, classify

        for attempt in range(self.spec.max_retries + 1):
            try:
                return await call_unlogged(getattr(self.litellm, fn), **kwargs, **self.kwargs)
            except Exception as exc:
                err = classify(exc, self.kwargs["api_key"])
                if not isinstance(err, RetryableError) or attempt == self.spec.max_retries:
                    raise ProviderError(f"batch API {fn}: {err}") from None
                await asyncio.sleep(backoff_delay(attempt, err.retry_after))
        raise AssertionError("unreachable")

    async def submit(self, units: list[TaskUnit]) -> tuple[str, str]:
        data = "".join(json.dumps(batch_line(u), ensure_ascii=False) + "\n" for u in units).encode()
        f = await self.call("acreate_file", file=(f"{self.spec.name}.jsonl", data), purpose="batch")
        b = await self.call("acreate_batch", completion_window="24h", endpoint=ENDPOINT, input_file_id=f.id)
        return str(b.id), str(f.id)

    async def lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        content = await self.call("afile_content", file_id=file_id)
        raw = content.content if hasattr(content, "content") else bytes(content)
        return [json.loads(ln) for ln in raw.decode().splitlines() if ln.strip()]


async def _finish(
    provider: _Provider,
    batch: SubmittedBatch,
    by_key: dict[str, list[TaskUnit]],
    p: CallPass,
    poll_s: float,
) -> int:
    """Poll one batch until it ends, then import its results; return the number of provider requests answered."""
    while True:
        b = await provider.call("aretrieve_batch", batch_id=batch.id)
        counts = getattr(b, "request_counts", None)
        done = f"{getattr(counts, 'completed', 0)}+{getattr(counts, 'failed', 0)} failed/{getattr(counts, 'total', 0)}"
        p.progress.status(f"batch {batch.id} ({batch.judge}): {b.status}  {done}")
        if b.status in FINAL_STATES:
            break
        await asyncio.sleep(poll_s)
    p.progress.note(f"batch {batch.id} ({batch.judge}) ended '{b.status}'")
    batch.status = str(b.status)
    answered: set[str] = set()
    for line in [*await provider.lines(b.output_file_id), *await provider.lines(b.error_file_id)]:
        key = line.get("custom_id")
        if key not in by_key or key in answered:
            continue  # not pending any more (recorded before a kill), or a duplicate line
        answered.add(key)
        reply, error = parse_result_line(line, provider.litellm, provider.spec)
        p.record(by_key[key], reply, 1, error)
    for key in batch.custom_ids:
        if key in by_key and key not in answered:
            p.record(by_key[key], None, 1, f"batch {batch.id} ended '{b.status}' without answering this request")
    return len(answered)


def judge_in_batches(p: CallPass) -> None:
    """Judge every pending unit through batch APIs (resuming submitted batches); the call strategy of ``--batch``.

    Args:
        p: the run's pass 2 (its judges must pass :func:`check_batchable`; ``p.cfg.batch_poll_s`` is the seconds
            between status polls); ``calls`` counts the provider requests answered; a permanent refusal of the
            batch stops the run with the error.
    """
    p.load_provider_layer()
    asyncio.run(_judge_in_batches(p, poll_s=p.cfg.batch_poll_s or 30.0))


async def _judge_in_batches(p: CallPass, *, poll_s: float) -> None:
    from judge.engine.client import litellm_module

    litellm = litellm_module()
    p.progress.start_calls()
    cfg = p.cfg
    ledger = load_ledger(cfg.out)
    pending: dict[str, dict[str, list[TaskUnit]]] = defaultdict(lambda: defaultdict(list))
    specs = {j.name: j for j in cfg.judges}
    for u in p.pending():
        pending[u.judge.name][u.key].append(u)
    for name, by_key in pending.items():
        provider = _Provider(litellm, specs[name])
        try:
            jobs = await _submit_missing(provider, ledger, by_key, cfg.out)
            for batch in jobs:
                p.state.calls += await _finish(provider, batch, by_key, p, poll_s)
                batch.imported = True
                save_ledger(cfg.out, ledger)
        except ProviderError as exc:
            p.fail(f"judge {name!r}: {exc}")
            return


async def _submit_missing(
    provider: _Provider, ledger: BatchLedger, by_key: dict[str, list[TaskUnit]], run_dir: Path
) -> list[SubmittedBatch]:
    """The batches to wait for: those already submitted for these keys, plus new ones for the rest."""
    name = provider.spec.name
    open_batches = [
        b for b in ledger.batches if b.judge == name and not b.imported and set(b.custom_ids) & by_key.keys()
    ]
    covered = {k for b in open_batches for k in b.custom_ids}
    todo = [units[0] for key, units in by_key.items() if key not in covered]
    for i in range(0, len(todo), MAX_REQUESTS):
        chunk = todo[i : i + MAX_REQUESTS]
        batch_id, file_id = await provider.submit(chunk)
        batch = SubmittedBatch(id=batch_id, judge=name, input_file_id=file_id, custom_ids=[u.key for u in chunk])
        ledger.batches.append(batch)
        save_ledger(run_dir, ledger)  # before polling: a kill from here on never pays for this batch twice
        open_batches.append(batch)
    return open_batches
