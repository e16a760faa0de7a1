"""Online calls: the pending units streamed through ``concurrency`` workers, each call retried on its own."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from judge.engine.calls import CallPass
from judge.engine.task import TaskUnit
from judge.errors import ProviderError


def judge_online(p: CallPass) -> None:
    """Make every pending call of the run online (the default call strategy)."""
    p.load_provider_layer()
    limits = server_limits(p)
    p.progress.start_calls()
    with warnings.catch_warnings():
        # Ctrl-C cancels the calls in flight, and LiteLLM leaves behind a coroutine it made but never started for
        # each; Python would print a "never awaited" warning (with a hint about tracemalloc) above the message
        # that says what was kept. Nothing is lost with them: every answer that arrived was recorded.
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
        asyncio.run(_call_misses(p, limits))


def server_limits(p: CallPass) -> dict[str, int]:
    """Calls at once per self-hosted server (its ``api_base``): its parallel slots where it says them and they are
    fewer than ``--concurrency`` (judge.engine.server_slots). Each decision is said in a progress note."""
    from judge.engine.server_slots import server_slots

    limits: dict[str, int] = {}
    concurrency = p.cfg.concurrency
    for base in sorted({j.api_base.rstrip("/") for j in p.cfg.judges if j.api_base and not j.deployments}):
        spec = next(j for j in p.cfg.judges if j.api_base and j.api_base.rstrip("/") == base)
        slots = server_slots(base, api_key=spec.api_key())
        if slots is None:
            if concurrency > 1:
                p.progress.note(
                    f"the server at {base} does not say how many requests it works on at once: up to --concurrency "
                    f"{concurrency} are sent (a server that serves one at a time wants --concurrency 1)"
                )
        elif slots.n < concurrency:
            limits[base] = slots.n
            p.progress.note(
                f"the server at {base} works on {slots.n} request(s) at once ({slots.source}): at most {slots.n} "
                f"of its calls are in flight (--concurrency {concurrency}), so none waits in its queue past the "
                "timeout"
            )
    return limits


async def _call_misses(p: CallPass, limits: dict[str, int] | None = None) -> None:
    """Stream the units not yet recorded through ``concurrency`` workers (a bounded queue keeps memory flat)."""
    from judge.engine.client import call_judge, estimate_cost, shutdown_background

    cfg, budget, state = p.cfg, p.budget, p.state
    queue: asyncio.Queue[TaskUnit | None] = asyncio.Queue(maxsize=4 * cfg.concurrency)
    # Identical requests (same key: e.g. one response rated twice in a benchmark) are called once; the others
    # wait for that reply and are recorded from it as cache hits, as a later cached run would record them (and
    # with no attempts of their own: the call is counted once, in the first unit's record).
    inflight: dict[str, asyncio.Future[Any]] = {}
    # The embedded model runs one call at a time anyway; taking the calls in the planned order (asyncio's lock is
    # first come, first served) keeps an item's criteria together, so its shared prompt is evaluated once.
    local_turn = asyncio.Lock()
    # A server's slots (server_limits): requests wait here, not in its queue, where the client's timeout runs.
    server_turn = {base: asyncio.Semaphore(n) for base, n in (limits or {}).items()}

    async def produce() -> None:
        for u in p.pending():
            if state.stop:
                break
            await queue.put(u)
        for _ in range(cfg.concurrency):
            await queue.put(None)

    async def worker() -> None:
        while (u := await queue.get()) is not None:
            if state.stop:
                continue  # drain the queue so the producer can finish
            if u.key in inflight:
                res = await inflight[u.key]
                if res is not None:
                    p.record_unit(
                        u, res.reply, hit=res.reply is not None, attempts=0, error=res.error, overflow=res.overflow
                    )
                continue
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            inflight[u.key] = fut
            res = None
            try:
                res = await _call_one(u)
                if res is not None:
                    p.record([u], res.reply, res.attempts, res.error, res.overflow)
            finally:
                fut.set_result(res)  # waiters of the same key get the reply (None: stopped or failed hard)
                del inflight[u.key]

    async def _call_one(u: TaskUnit) -> Any:
        est = estimate_cost(u.judge, u.messages) if budget.limit is not None else 0.0
        if not budget.reserve(est):
            state.stop = "budget"
            return None
        try:
            base = u.judge.api_base.rstrip("/") if u.judge.api_base else None
            if u.judge.is_local:
                async with local_turn:
                    res = await call_judge(u.judge, u.messages, u.response_format, u.seed)
            elif base in server_turn:
                async with server_turn[base]:
                    res = await call_judge(u.judge, u.messages, u.response_format, u.seed)
            else:
                res = await call_judge(u.judge, u.messages, u.response_format, u.seed)
        except ProviderError as exc:
            budget.settle(est, 0.0)
            p.fail(f"judge {u.judge.name!r}: {exc}")
            return None
        state.calls += res.attempts
        budget.settle(est, (res.reply.cost_usd or 0.0) if res.reply is not None else 0.0)
        return res

    await asyncio.gather(produce(), *(worker() for _ in range(cfg.concurrency)))
    await shutdown_background()
