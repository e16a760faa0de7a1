"""Ways of making a run's uncached calls, behind one protocol.

The runner serves what the cache knows (pass 1), then hands the rest to one call strategy (pass 2): online calls
(``online``), a provider's batch API (``batch``) or Ray tasks (``ray_shards``). A strategy takes the run's
``CallPass``: it iterates the pending units, makes the calls its way, and records each reply with
``CallPass.record`` (cache first, then the run store), so every strategy leaves the same cache rows and records.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from judge.engine.cache import Cache, CachedReply
from judge.engine.plan import RunConfig
from judge.engine.progress import Progress
from judge.engine.store import RunStore
from judge.engine.task import TaskUnit, task_of


class Budget:
    """Spending limit of the online calls: a call is made only if its estimated cost still fits.

    Args:
        limit: USD for the whole run directory (None: no limit).
        spent: what earlier invocations of the run already spent (the run's records say).
    """

    def __init__(self, limit: float | None, spent: float = 0.0) -> None:
        self.limit = limit
        self.spent = spent
        self.reserved = 0.0
        self.exhausted = False

    def reserve(self, est: float) -> bool:
        if self.limit is None:
            return True
        if self.spent + self.reserved + est > self.limit:
            self.exhausted = True
            return False
        self.reserved += est
        return True

    def settle(self, est: float, actual: float) -> None:
        self.reserved -= est if self.limit is not None else 0.0
        self.spent += actual


StopReason = Literal["budget", "provider_error"]


@dataclass
class RunState:
    """What the call strategies tell the runner: how many provider requests were answered (retries included), and
    why the run stopped early (``stop`` None: it did not; ``error``: the provider error that stopped it)."""

    calls: int = 0
    stop: StopReason | None = None
    error: str | None = None


@dataclass
class CallPass:
    """Pass 2's working set, whichever way the calls are made.

    The run's config, what is already recorded, the run's writers, the budget (online calls only) and the state
    the runner reads back (``RunState``).
    """

    cfg: RunConfig
    done: set[Hashable]
    store: RunStore
    cache: Cache
    progress: Progress
    budget: Budget
    state: RunState

    def pending(self) -> Iterator[TaskUnit]:
        """The units not recorded yet (identical requests included: each way of calling groups them by key), of
        whatever task the run judges."""
        return task_of(self.cfg).units(self.cfg, self.done)

    def record(
        self,
        units: list[TaskUnit],
        reply: CachedReply | None,
        attempts: int,
        error: str | None = None,
        overflow: bool = False,
    ) -> None:
        """Cache one call's reply, then record every unit that asked for it: the first as the call, the others
        (identical requests, sent once) as served from it."""
        if reply is not None and units:
            self.cache.put(units[0].key, reply)  # cache before record: a kill in between never re-pays the call
        for n, u in enumerate(units):
            self.record_unit(
                u, reply, hit=n > 0 and reply is not None, attempts=attempts, error=error, overflow=overflow
            )

    def record_unit(
        self,
        u: TaskUnit,
        reply: CachedReply | None,
        *,
        hit: bool,
        attempts: int,
        error: str | None = None,
        overflow: bool = False,
    ) -> None:
        """Append one judgment to the run store and the progress line (nothing is cached here)."""
        j = u.judgment(reply, cache_hit=hit, attempts=0 if hit else attempts, error=error, overflow=overflow)
        self.store.append(j)
        self.progress.update(j)

    def load_provider_layer(self) -> None:
        """Import LiteLLM now, with a progress line while it loads (seconds: no run should look stuck)."""
        from judge.engine.client import load_provider_layer

        load_provider_layer(self.progress.note)

    def fail(self, error: str) -> None:
        """Stop the run on a permanent provider error; finished work stays recorded."""
        self.state.stop, self.state.error = "provider_error", error


class CallStrategy(Protocol):
    """Pass 2: make the pending calls of ``p`` and record every reply (or failure) through ``p.record``."""

    def __call__(self, p: CallPass, /) -> None: ...


def strategy_for(cfg: RunConfig) -> CallStrategy:
    """The call strategy the run asked for (its own ``call_strategy``, ``--batch``, ``--ray``, else online)."""
    if cfg.call_strategy is not None:
        return cfg.call_strategy
    if cfg.batch_poll_s is not None:
        from judge.engine.calls.batch import judge_in_batches

        return judge_in_batches
    if cfg.ray_address is not None:
        from judge.engine.calls.ray_shards import judge_with_ray

        return judge_with_ray
    from judge.engine.calls.online import judge_online

    return judge_online
