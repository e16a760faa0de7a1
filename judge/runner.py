"""Orchestrate a judging run: cache first, then bounded-concurrency calls, every result appended as it lands.

Data flow per judgment (judge x item x criterion x sample)::

    render messages -> cache key -> cache hit? -> record
                                  -> miss: call (retries) -> cache -> parse -> record

Resuming: judgments already in the run's ``judgments.jsonl`` are skipped, and a call that finished before a kill
but was not recorded is served from the cache, so no finished call is paid for twice. Cache lookups are batched and
happen before LiteLLM is imported: a fully cached run never loads the provider layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.benchmark import Benchmark, Item
from judge.cache import Cache, CachedReply, cache_key
from judge.errors import ProviderError, RunIncomplete, UsageError
from judge.judges import JudgeSpec
from judge.judgment import Judgment, UnscoredReason
from judge.prompt import prompt_hash, render_messages
from judge.rubric import Rubric
from judge.store import RunManifest, RunStore, RunSummary, load_run_manifest, stream_records, summarise

CHUNK = 512  # judgments prepared and looked up in the cache at once: bounds memory on huge runs
LOCAL_MAX_POST_CHARS = 6000  # keeps prompts inside the embedded judge's 4k-token context


@dataclass
class RunConfig:
    """Everything a run needs. ``out`` is the run directory (created; resumed if it holds the same run)."""

    benchmark: Benchmark
    rubrics: dict[str, Rubric]
    judges: list[JudgeSpec]
    out: Path
    samples: int = 1
    concurrency: int = 8
    budget_usd: float | None = None
    cache_dir: Path | None = None
    read_cache: bool = True
    item_ids: list[str] | None = None
    max_post_chars: int | None = None
    seed: int = 0
    progress: bool | None = None  # None: only when stderr is a terminal
    command: list[str] = field(default_factory=list)
    # Scale-out (docs/scale.md): pass 2 through provider batch APIs (poll interval, seconds) or Ray tasks.
    batch_poll_s: float | None = None
    ray_address: str | None = None


@dataclass
class _Unit:
    judge: JudgeSpec
    item: Item
    rubric: Rubric
    sample: int
    messages: list[dict[str, str]]
    flags: list[str]
    response_format: dict[str, Any] | None
    seed: int
    key: str
    group: list[Rubric] | None = None  # set when every criterion is judged in one call


class Progress:
    """A one-line progress display on stderr (done, rate, ETA, cost, unscored); silent when not a terminal."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.done = 0
        self.cost = 0.0
        self.unscored = 0
        self.t0 = time.monotonic()
        self._last = 0.0

    def update(self, j: Judgment) -> None:
        self.done += 1
        self.cost += j.cost_usd
        self.unscored += j.score is None
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.25 or self.done == self.total):
            self._last = now
            rate = self.done / max(now - self.t0, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            sys.stderr.write(
                f"\r  {self.done}/{self.total} judgments  {rate:6.1f}/s  ETA {eta:6.0f}s  "
                f"cost ${self.cost:.4f}  unscored {self.unscored}   "
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.total:
            sys.stderr.write("\n")


def _manifest(cfg: RunConfig) -> RunManifest:
    return RunManifest(
        command=cfg.command,
        benchmark={
            "name": cfg.benchmark.name,
            "path": str(cfg.benchmark.path or ""),
            "items": len(cfg.benchmark.items),
        },
        judges={j.name: j.public() for j in cfg.judges},
        rubrics={c: r.ref for c, r in cfg.rubrics.items()},
        aggregation={c: r.aggregation for c, r in cfg.rubrics.items()},
        levels={c: r.level for c, r in cfg.rubrics.items()},
        prompt_hash=prompt_hash(),
        samples=cfg.samples,
        items=len(cfg.item_ids) if cfg.item_ids is not None else len(cfg.benchmark.items),
    )


def _check_resumable(cfg: RunConfig, new: RunManifest) -> RunManifest:
    """A run directory may only be resumed by the same run; extend judges/criteria, never change them."""
    if not (cfg.out / "run.json").exists():
        return new
    old = load_run_manifest(cfg.out)
    diffs = []
    if old.prompt_hash != new.prompt_hash:
        diffs.append(f"prompt {old.prompt_hash} -> {new.prompt_hash}")
    for c, ref in new.rubrics.items():
        if c in old.rubrics and old.rubrics[c] != ref:
            diffs.append(f"rubric {old.rubrics[c]} -> {ref}")
    for name, spec in new.judges.items():
        prev = old.judges.get(name)
        if prev and (prev.get("model"), prev.get("params")) != (spec.get("model"), spec.get("params")):
            diffs.append(f"judge {name!r} model/params changed")
    if diffs:
        raise UsageError(
            f"{cfg.out} holds a different run ({'; '.join(diffs)}); choose a new --out to keep both results"
        )
    merged = old.model_copy(
        update={
            "judges": {**old.judges, **new.judges},
            "rubrics": {**old.rubrics, **new.rubrics},
            "aggregation": {**old.aggregation, **new.aggregation},
            "levels": {**old.levels, **new.levels},
            "samples": max(old.samples, new.samples),
            "command": new.command,
        }
    )
    return merged


def _units(cfg: RunConfig, done: set[tuple[str, str, str, int]]) -> Iterator[_Unit]:
    from judge.client import response_format_for

    ids = cfg.item_ids if cfg.item_ids is not None else list(cfg.benchmark.items)
    formats = {
        (j.name, c): response_format_for(j, r.answer_schema(), f"{c}_answer")
        for j in cfg.judges
        for c, r in cfg.rubrics.items()
    }
    for judge in cfg.judges:
        max_chars = cfg.max_post_chars or (LOCAL_MAX_POST_CHARS if judge.is_local else None)
        identity = judge.identity()
        if judge.all_criteria_in_one_call and len(cfg.rubrics) > 1:
            yield from _multi_units(cfg, judge, ids, done, max_chars)
            continue
        # Criterion-major order: consecutive calls share the criterion's system prompt, which a local model then
        # evaluates once (judge/local/provider.py); for hosted judges the order makes no difference.
        for crit, rubric in cfg.rubrics.items():
            for item_id in ids:
                item = cfg.benchmark.items[item_id]
                messages, flags = render_messages(rubric, item, max_post_chars=max_chars)
                rf = formats[(judge.name, crit)]
                for sample in range(cfg.samples):
                    if (judge.name, item_id, crit, sample) in done:
                        continue
                    seed = cfg.seed + sample
                    key = cache_key(
                        model_identity=identity,
                        messages=messages,
                        response_format=rf,
                        rubric_ref=rubric.ref,
                        sample=sample,
                        seed=seed,
                    )
                    yield _Unit(judge, item, rubric, sample, messages, flags, rf, seed, key)


def _multi_units(
    cfg: RunConfig, judge: JudgeSpec, ids: list[str], done: set[tuple[str, str, str, int]], max_chars: int | None
) -> Iterator[_Unit]:
    """Units of a judge that answers every criterion in one call: the criteria of one item and sample share the
    call's key, so the call is made once (the others wait for it, or find it in the cache)."""
    from judge.client import response_format_for
    from judge.prompt import multi_answer_schema, render_multi_messages

    group = list(cfg.rubrics.values())
    rf = response_format_for(judge, multi_answer_schema(group), "all_criteria_answer")
    refs = "|".join(r.ref for r in group)
    identity = judge.identity()
    for item_id in ids:
        item = cfg.benchmark.items[item_id]
        messages, flags = render_multi_messages(group, item, max_post_chars=max_chars)
        for sample in range(cfg.samples):
            seed = cfg.seed + sample
            key = cache_key(
                model_identity=identity,
                messages=messages,
                response_format=rf,
                rubric_ref=refs,
                sample=sample,
                seed=seed,
            )
            for rubric in group:
                if (judge.name, item_id, rubric.name, sample) not in done:
                    yield _Unit(
                        judge, item, rubric, sample, messages, [*flags, "all_criteria_call"], rf, seed, key, group
                    )


def _judgment(
    u: _Unit,
    reply: CachedReply | None,
    *,
    cache_hit: bool,
    attempts: int = 0,
    error: str | None = None,
    overflow: bool = False,
) -> Judgment:
    from judge.parse import parse_answer

    base: dict[str, Any] = dict(
        item_id=u.item.item_id,
        criterion=u.rubric.name,
        judge=u.judge.name,
        sample=u.sample,
        model=u.judge.model,
        rubric=u.rubric.ref,
        prompt_hash=_prompt_hash(),
        cache_key=u.key,
        cache_hit=cache_hit,
        attempts=attempts,
        flags=list(u.flags),
        created_at=time.time(),
    )
    if reply is None:
        reason: UnscoredReason = "context_overflow" if overflow else "api_error"
        return Judgment(**base, unscored_reason=reason, detail=error)
    if u.group is not None:
        from judge.parse import parse_multi_answer

        parsed = parse_multi_answer(reply.content, u.group, finish_reason=reply.finish_reason)[u.rubric.name]
    else:
        parsed = parse_answer(reply.content, u.rubric, finish_reason=reply.finish_reason)
    base["flags"] = [*u.flags, f"parsed:{parsed.method}"]
    return Judgment(
        **base,
        score=parsed.score,
        unscored_reason=parsed.unscored_reason,
        detail=parsed.detail,
        rationale=parsed.rationale,
        raw_output=reply.content,
        tokens_in=reply.tokens_in,
        tokens_out=reply.tokens_out,
        cost_usd=0.0 if cache_hit else reply.cost_usd,
        latency_s=0.0 if cache_hit else reply.latency_s,
    )


@functools.cache
def _prompt_hash() -> str:
    # The templates are constants: hash them once per process, not once per judgment.
    return prompt_hash()


class _Budget:
    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
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


@dataclass
class CallPass:
    """Pass 2's working set, whichever way the calls are made (online here, a batch API, Ray tasks).

    The run's config, what is already recorded, the run's writers, the budget (online calls only) and the state
    the runner reads back: ``calls`` (provider requests answered, retries included) and ``stop``/``error``.
    """

    cfg: RunConfig
    done: set[tuple[str, str, str, int]]
    store: RunStore
    cache: Cache
    progress: Progress
    budget: _Budget
    state: dict[str, Any]

    def pending(self) -> Iterator[_Unit]:
        """The units not recorded yet (identical requests included: each way of calling groups them by key)."""
        return _units(self.cfg, self.done)

    def record(
        self,
        units: list[_Unit],
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
        u: _Unit,
        reply: CachedReply | None,
        *,
        hit: bool,
        attempts: int,
        error: str | None = None,
        overflow: bool = False,
    ) -> None:
        """Append one judgment to the run store and the progress line (nothing is cached here)."""
        j = _judgment(u, reply, cache_hit=hit, attempts=0 if hit else attempts, error=error, overflow=overflow)
        self.store.append(j)
        self.progress.update(j)

    def fail(self, error: str) -> None:
        """Stop the run on a permanent provider error; finished work stays recorded."""
        self.state["stop"], self.state["error"] = "provider_error", error


async def _call_misses(p: CallPass) -> None:
    """Stream the units not yet recorded through ``concurrency`` workers (a bounded queue keeps memory flat)."""
    from judge.client import call_judge, estimate_cost, shutdown_background

    cfg, budget, state = p.cfg, p.budget, p.state
    queue: asyncio.Queue[_Unit | None] = asyncio.Queue(maxsize=4 * cfg.concurrency)
    # Identical requests (same key: e.g. one response rated twice in a benchmark) are called once; the others
    # wait for that reply and are recorded from it as cache hits, as a later cached run would record them.
    inflight: dict[str, asyncio.Future[Any]] = {}

    async def produce() -> None:
        for u in p.pending():
            if state["stop"]:
                break
            await queue.put(u)
        for _ in range(cfg.concurrency):
            await queue.put(None)

    async def worker() -> None:
        while (u := await queue.get()) is not None:
            if state["stop"]:
                continue  # drain the queue so the producer can finish
            if u.key in inflight:
                res = await inflight[u.key]
                if res is not None:
                    p.record_unit(
                        u,
                        res.reply,
                        hit=res.reply is not None,
                        attempts=res.attempts,
                        error=res.error,
                        overflow=res.overflow,
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

    async def _call_one(u: _Unit) -> Any:
        est = estimate_cost(u.judge, u.messages) if budget.limit is not None else 0.0
        if not budget.reserve(est):
            state["stop"] = "budget"
            return None
        try:
            res = await call_judge(u.judge, u.messages, u.response_format, u.seed)
        except ProviderError as exc:
            budget.settle(est, 0.0)
            p.fail(f"judge {u.judge.name!r}: {exc}")
            return None
        state["calls"] += res.attempts
        budget.settle(est, res.reply.cost_usd if res.reply is not None else 0.0)
        return res

    await asyncio.gather(produce(), *(worker() for _ in range(cfg.concurrency)))
    await shutdown_background()


def run_judging(cfg: RunConfig) -> RunSummary:
    """Run (or resume) a judging run and return its summary.

    Raises:
        RunIncomplete: the budget was reached or a judge failed permanently; finished work is kept, and
            running the same command again resumes.
    """
    if cfg.samples < 1:
        raise UsageError(f"--samples must be >= 1, got {cfg.samples}")
    if cfg.concurrency < 1:
        raise UsageError(f"--concurrency must be >= 1, got {cfg.concurrency}")
    _check_scale_options(cfg)
    t0 = time.monotonic()
    manifest = _check_resumable(cfg, _manifest(cfg))
    store = RunStore(cfg.out).open()
    store.write_manifest(manifest)
    done = {j.key for j in stream_records(cfg.out)}
    cache = Cache(cfg.cache_dir)
    ids = cfg.item_ids if cfg.item_ids is not None else list(cfg.benchmark.items)
    total = len(cfg.judges) * len(ids) * len(cfg.rubrics) * cfg.samples
    progress = Progress(total - len(done), cfg.progress)
    state: dict[str, Any] = {"stop": None, "calls": 0, "error": None}
    budget = _Budget(cfg.budget_usd)
    try:
        # Pass 1, synchronous and without LiteLLM: record everything the cache can answer.
        misses = 0
        chunk: list[_Unit] = []
        for u in _units(cfg, done):
            chunk.append(u)
            if len(chunk) >= CHUNK:
                misses += _serve_cached(chunk, cache, cfg.read_cache, store, progress, done)
                chunk = []
        misses += _serve_cached(chunk, cache, cfg.read_cache, store, progress, done)
        # Pass 2: call the model for the rest, streamed.
        if misses:
            with fewer_gc_pauses():
                _call_pass(CallPass(cfg, done, store, cache, progress, budget, state))
    finally:
        progress.close()
        store.close()
        cache.close()
    summary = summarise(
        stream_records(cfg.out),
        cfg.out,
        model_calls=state["calls"],
        wall_s=time.monotonic() - t0,
        complete=state["stop"] is None,
        stop_reason=state["stop"],
    )
    RunStore(cfg.out).write_summary(summary)
    if state["stop"] == "budget":
        raise RunIncomplete(
            f"budget of ${cfg.budget_usd:.2f} reached after ${budget.spent:.4f}; "
            f"{summary.judgments}/{total} judgments done; raise --budget and run again to resume"
        )
    if state["stop"] == "provider_error":
        raise RunIncomplete(f"{state['error']}; {summary.judgments}/{total} judgments done; fix it and run again")
    return summary


def _serve_cached(
    chunk: list[_Unit],
    cache: Cache,
    read: bool,
    store: RunStore,
    progress: Progress,
    done: set[tuple[str, str, str, int]],
) -> int:
    """Record the cached units of a chunk (adding them to ``done``); return how many missed."""
    if not chunk:
        return 0
    hits = cache.get_many([u.key for u in chunk]) if read else {}
    misses = 0
    for u in chunk:
        reply = hits.get(u.key)
        if reply is None:
            misses += 1
            continue
        j = _judgment(u, reply, cache_hit=True)
        store.append(j)
        progress.update(j)
        done.add(j.key)
    return misses


def _check_scale_options(cfg: RunConfig) -> None:
    """Refuse scale-out options that cannot apply, before anything is recorded or paid for."""
    if cfg.batch_poll_s is not None and cfg.ray_address is not None:
        raise UsageError("--batch and --ray are alternatives; choose one")
    if (cfg.batch_poll_s is not None or cfg.ray_address is not None) and cfg.budget_usd is not None:
        raise UsageError("--budget is enforced on online calls only; drop it with --batch or --ray")
    if cfg.batch_poll_s is not None:
        if cfg.batch_poll_s <= 0:
            raise UsageError(f"--batch-poll must be > 0 seconds, got {cfg.batch_poll_s}")
        from judge.batch import check_batchable

        for spec in cfg.judges:
            check_batchable(spec)


@contextlib.contextmanager
def fewer_gc_pauses(gen0: int = 50_000) -> Iterator[None]:
    """Run the block with the cyclic garbage collector's first generation 70x larger than Python's default (700).

    Each model call through LiteLLM allocates thousands of short-lived container objects, so with the default
    threshold the collector runs hundreds of times per thousand calls, every time walking all young objects; in
    ``benchmarks/perf`` that was 5-10% of the CPU of a run. Reference counting still frees almost everything at
    once; the collector only finds cycles, and a few hundred KB of them waiting a little longer is nothing next to
    the run's ~200 MB. The previous thresholds are restored afterwards (this is a library, not only a CLI).
    """
    old = gc.get_threshold()
    gc.set_threshold(gen0, max(old[1], 20), max(old[2], 50))
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _call_pass(p: CallPass) -> None:
    """Pass 2 (the cache misses): online calls here, or a provider's batch API, or Ray tasks."""
    if p.cfg.batch_poll_s is not None:
        from judge.batch import judge_in_batches

        asyncio.run(judge_in_batches(p, poll_s=p.cfg.batch_poll_s))
    elif p.cfg.ray_address is not None:
        from judge.distributed import judge_with_ray

        judge_with_ray(p)
    else:
        asyncio.run(_call_misses(p))
