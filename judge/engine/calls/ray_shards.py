"""Ray execution (``judge run --ray ADDRESS|auto|local``): the pending judgments as Ray tasks on a cluster.

Ray is the scheduler; nothing here schedules. The driver (the ``judge run`` process) renders the pending units,
splits the distinct requests into shards and submits one Ray task per shard. Each task runs the same engine code
as a single-process run (``call_judge``: hosted APIs from many nodes, or the embedded llama.cpp judge on each
node) and returns the replies. The driver caches each reply and appends the records to the one run store as tasks
finish, exactly as ``_call_misses`` would, so the results are those of a single-process run.

A worker that dies mid-task is Ray's to handle: the task is retried (``max_retries``) and only the successful
attempt's result reaches the driver, so records are neither lost nor duplicated. The calls the dead worker had
made are paid again (the cache is written by the driver, not by workers).

Needs the optional extra: ``pip install 'reappraisal-judge[ray]'``; every node needs this package installed.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from judge.engine.cache import CachedReply
from judge.engine.calls import CallPass
from judge.engine.judge_spec import JudgeSpec
from judge.engine.task import TaskUnit
from judge.errors import ProviderError, UsageError

TASK_RETRIES = 3  # Ray re-runs a task whose worker died this many times
SHARDS_PER_CPU = 4  # small enough shards that a slow or retried one does not hold up the end of the run


class ShardRequest(BaseModel):
    """One distinct request of a shard (what ``call_judge`` needs)."""

    key: str
    judge: JudgeSpec
    messages: list[dict[str, str]]
    response_format: dict[str, Any] | None
    seed: int


class ShardResult(BaseModel):
    """What a task returns for one request: the reply, or why there is none."""

    key: str
    reply: CachedReply | None = None
    attempts: int = 0
    error: str | None = None
    overflow: bool = False
    provider_error: str | None = None  # permanent failure: the driver stops the run


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--ray requires optional dependencies. Install with: pip install 'reappraisal-judge[ray]'"
        ) from None
    return ray


async def _judge_requests(requests: list[ShardRequest], concurrency: int) -> list[ShardResult]:
    from judge.engine.client import call_judge, shutdown_background

    sem = asyncio.Semaphore(concurrency)
    stop = False

    async def one(r: ShardRequest) -> ShardResult:
        nonlocal stop
        async with sem:
            if stop:
                return ShardResult(key=r.key, provider_error="stopped after a permanent error")
            try:
                res = await call_judge(r.judge, r.messages, r.response_format, r.seed)
            except ProviderError as exc:
                stop = True
                return ShardResult(key=r.key, provider_error=f"judge {r.judge.name!r}: {exc}")
            return ShardResult(
                key=r.key, reply=res.reply, attempts=res.attempts, error=res.error, overflow=res.overflow
            )

    try:
        return list(await asyncio.gather(*(one(r) for r in requests)))
    finally:
        await shutdown_background()


def judge_shard(requests: list[dict[str, Any]], concurrency: int) -> list[dict]:
    """The body of one Ray task: judge a shard with the engine's ``call_judge``; plain dicts in and out."""
    parsed = [ShardRequest.model_validate(r) for r in requests]
    results = asyncio.run(_judge_requests(parsed, concurrency))
    return [r.model_dump(mode="json") for r in results]


def _connect(ray: Any, address: str) -> None:
    if ray.is_initialized():
        return  # the caller (a test, a notebook) already chose the cluster
    if address == "local":
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def split_shards(requests: list[ShardRequest], n_cpus: int) -> list[list[ShardRequest]]:
    """Consecutive shards, about ``SHARDS_PER_CPU`` per CPU, covering every request once."""
    n = max(1, min(len(requests), n_cpus * SHARDS_PER_CPU))
    size = math.ceil(len(requests) / n)
    return [requests[i : i + size] for i in range(0, len(requests), size)]


def judge_with_ray(p: CallPass, *, task_body: Any = None) -> None:
    """Judge every pending unit as Ray tasks; the runner's pass 2 for ``--ray``.

    Args:
        p: the run's pass 2; ``p.cfg.ray_address`` is a Ray address, ``auto`` (a running cluster) or ``local``
            (start one). Results are cached and recorded on the driver only.
        task_body: what each Ray task runs (default :func:`judge_shard`); tests pass a wrapper that kills its
            worker to check that Ray's retry loses nothing.
    """
    ray = import_ray()
    by_key: dict[str, list[TaskUnit]] = defaultdict(list)
    for u in p.pending():
        by_key[u.key].append(u)
    if not by_key:
        return
    _connect(ray, p.cfg.ray_address or "auto")
    requests = [
        ShardRequest(
            key=k, judge=us[0].judge, messages=us[0].messages, response_format=us[0].response_format, seed=us[0].seed
        )
        for k, us in by_key.items()
    ]
    cpus = int(ray.cluster_resources().get("CPU", 1))
    p.progress.start_calls()
    task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(task_body or judge_shard)
    pending = [
        task.remote([r.model_dump(mode="json") for r in shard], p.cfg.concurrency)
        for shard in split_shards(requests, cpus)
    ]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for raw in ray.get(ready[0]):
            res = ShardResult.model_validate(raw)
            if res.provider_error:
                p.fail(res.provider_error)
                continue
            p.state.calls += res.attempts
            p.record(by_key.pop(res.key, []), res.reply, res.attempts, res.error, res.overflow)
    if p.state.stop:
        for ref in pending:
            ray.cancel(ref)
