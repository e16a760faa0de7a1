"""Orchestrate a judging run: cache first, then bounded-concurrency calls, every result appended as it lands.

Data flow per judgment (judge x item x criterion x sample)::

    render messages -> cache key -> cache hit? -> record
                                  -> miss: call (retries) -> cache -> parse -> record

Resuming: judgments already in the run's ``judgments.jsonl`` are skipped, and a call that finished before a kill
but was not recorded is served from the cache, so no finished call is paid for twice. Cache lookups are batched and
happen before LiteLLM is imported: a fully cached run never loads the provider layer.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

from judge.engine.cache import Cache
from judge.engine.calls import Budget, CallPass, strategy_for
from judge.engine.plan import JudgmentKey, JudgmentUnit, RunConfig, plan_units
from judge.engine.progress import Progress
from judge.engine.prompt import prompt_hash
from judge.engine.store import RunManifest, RunStore, RunSummary, load_run_manifest, stream_records, summarise
from judge.errors import RunIncomplete, UsageError

CHUNK = 512  # judgments prepared and looked up in the cache at once: bounds memory on huge runs


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
        prompt_hash=prompt_hash(cfg.rubrics.values()),
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
    budget = Budget(cfg.budget_usd)
    try:
        # Pass 1, synchronous and without LiteLLM: record everything the cache can answer.
        misses = 0
        chunk: list[JudgmentUnit] = []
        for u in plan_units(cfg, done):
            chunk.append(u)
            if len(chunk) >= CHUNK:
                misses += _serve_cached(chunk, cache, cfg.read_cache, store, progress, done)
                chunk = []
        misses += _serve_cached(chunk, cache, cfg.read_cache, store, progress, done)
        # Pass 2: call the model for the rest, streamed.
        if misses:
            with fewer_gc_pauses():
                strategy_for(cfg)(CallPass(cfg, done, store, cache, progress, budget, state))
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
    chunk: list[JudgmentUnit],
    cache: Cache,
    read: bool,
    store: RunStore,
    progress: Progress,
    done: set[JudgmentKey],
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
        j = u.judgment(reply, cache_hit=True)
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
        from judge.engine.calls.batch import check_batchable

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
