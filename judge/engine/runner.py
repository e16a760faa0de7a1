"""Orchestrate a judging run: cache first, then bounded-concurrency calls, every result appended as it lands.

What a unit is comes from the run's task (``judge.engine.task``: absolute scoring by default, pairwise, or any
registered task); the flow is the same for every task. Data flow per unit (for scores, judge x item x criterion x
sample)::

    render messages -> cache key -> cache hit? -> record
                                  -> miss: call (retries) -> cache -> parse -> record

Resuming: judgments already in the run's ``judgments.jsonl`` are skipped, and a call that finished before a kill
but was not recorded is served from the cache, so no finished call is paid for twice. A judgment recorded unscored
because its call failed (``api_error``) is not finished: the next invocation asks again, and its new record wins
(``--retry-unscored`` asks again for the other unscored ones too, bypassing the cache). Cache lookups are batched
and happen before LiteLLM is imported: a run the cache can answer never loads the provider layer.

Money: ``--budget`` is for the run directory, not the invocation. What earlier invocations spent (the cost in the
run's records) counts, and a judge whose price is unknown is refused a budget before any call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from typing import Any

from judge.data import Item
from judge.engine.cache import Cache
from judge.engine.calls import Budget, CallPass, RunState, strategy_for
from judge.engine.judge_spec import JudgeSpec
from judge.engine.judgment import TRANSIENT_REASONS
from judge.engine.plan import RunConfig
from judge.engine.progress import Progress
from judge.engine.store import (
    MANIFEST,
    RECORDS,
    SUMMARY,
    RunManifest,
    RunStore,
    RunSummary,
    RunTotals,
    benchmark_record,
    has_records,
    is_final,
    load_run_manifest,
    set_aside,
    stream_task_records,
    summarise,
)
from judge.engine.task import TaskRecord, TaskUnit, task_of
from judge.errors import RunIncomplete, UsageError
from judge.fileio import check_writable_dir
from judge.locks import locked

CHUNK = 512  # judgments prepared and looked up in the cache at once: bounds memory on huge runs


def _manifest(cfg: RunConfig) -> RunManifest:
    task = task_of(cfg)
    return RunManifest(
        task=task.name,
        task_options=task.options(),
        command=cfg.command,
        benchmark=benchmark_record(cfg.benchmark),
        judges={j.name: j.public() for j in cfg.judges},
        rubrics={c: r.ref for c, r in cfg.rubrics.items()},
        aggregation={c: r.aggregation for c, r in cfg.rubrics.items()},
        levels={c: r.level for c, r in cfg.rubrics.items()},
        directions={c: r.direction for c, r in cfg.rubrics.items() if r.direction != "higher"},
        prompt_hash=task.prompt_hash(cfg),
        samples=cfg.samples,
        items=len(cfg.item_ids) if cfg.item_ids is not None else len(cfg.benchmark.items),
    )


def _identity(spec: dict[str, Any]) -> dict[str, Any]:
    """A recorded judge's identity (model, params, endpoint), or its model and params for an older record."""
    try:
        return JudgeSpec.model_validate(spec).identity()
    except Exception:  # a manifest of another version or an imported judge: compare what every version records
        return {"model": spec.get("model"), "params": spec.get("params")}


def _check_resumable(cfg: RunConfig, new: RunManifest) -> RunManifest:
    """A run directory may only be resumed by the same run; extend judges/criteria, never change them.

    A directory that holds no judgment yet (a start that failed, or was killed, before the first record) is no run
    to protect: any command may use it.
    """
    if not (cfg.out / MANIFEST).exists() or not has_records(cfg.out):
        return new
    old = load_run_manifest(cfg.out)
    if (old.task, old.task_options) != (new.task, new.task_options):
        raise UsageError(
            f"{cfg.out} holds a run of the task {old.task!r} ({old.task_options or 'no options'}), not of "
            f"{new.task!r} ({new.task_options or 'no options'}); choose a new --out to keep both results"
        )
    diffs = []
    if old.prompt_hash != new.prompt_hash:
        diffs.append(f"prompt {old.prompt_hash} -> {new.prompt_hash}")
    for c, ref in new.rubrics.items():
        if c in old.rubrics and old.rubrics[c] != ref:
            diffs.append(f"rubric {old.rubrics[c]} -> {ref}")
    for name, spec in new.judges.items():
        prev = old.judges.get(name)
        if not prev:
            continue
        before, now = _identity(prev), _identity(spec)
        if (prev.get("model"), prev.get("params")) != (spec.get("model"), spec.get("params")):
            diffs.append(f"judge {name!r} model/params changed")
        elif "endpoint" in before and before != now:  # its answers would mix two servers' (or weights')
            diffs.append(f"judge {name!r} endpoint changed ({before['endpoint']} -> {now['endpoint']})")
    old_hash, new_hash = old.benchmark.get("content_hash"), new.benchmark.get("content_hash")
    if old_hash and new_hash and old_hash != new_hash:
        diffs.append(f"benchmark items changed (content hash {old_hash} -> {new_hash})")
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
            "benchmark": {**old.benchmark, **new.benchmark},
        }
    )
    return merged


def _recorded(cfg: RunConfig) -> tuple[set[Hashable], set[Hashable], RunTotals]:
    """(keys whose record stands, keys to ask the model again bypassing the cache, the run's totals so far).

    A record answers its unit only if it judged the present content of every item it showed the judge
    (``TaskRecord.judged_items``: ``Judgment.item_hash`` for a score). Records of changed (or removed) items, and
    records too old to carry a hash in a directory whose run.json is gone (nothing vouches for them), are set aside
    (``store.set_aside``) and their units judged again: from the reply cache when the content is in fact the same, by
    a new call otherwise. Call before the new manifest is written.
    """
    done, fresh, totals, stale = _read_recorded(cfg)
    if stale:
        set_aside(cfg.out, stale)
        done, fresh, totals, _ = _read_recorded(cfg)
    return done, fresh, totals


def _read_recorded(cfg: RunConfig) -> tuple[set[Hashable], set[Hashable], RunTotals, set[Hashable]]:
    """One pass over the run's records: ``_recorded``'s three answers, and the keys of stale records."""
    items = cfg.benchmark.items
    hashes: dict[str, str] = {}
    vouched = (cfg.out / MANIFEST).exists()  # _check_resumable compared its benchmark with this one
    done: set[Hashable] = set()
    fresh: set[Hashable] = set()
    stale: set[Hashable] = set()
    totals = RunTotals()
    for j in stream_task_records(cfg.out, totals=totals):
        if not _current(j, items, hashes, vouched):
            stale.add(j.key)
        elif is_final(j, retry_unscored=cfg.retry_unscored):
            done.add(j.key)
        elif j.unscored_reason not in TRANSIENT_REASONS:
            fresh.add(j.key)  # an answer that arrived but could not be read: the cache holds that same answer
    return done, fresh, totals, stale


def _current(j: TaskRecord, items: Mapping[str, Item], hashes: dict[str, str], vouched: bool) -> bool:
    """Whether a record judged the present content of every item it showed (see ``_recorded``)."""
    for item_id, judged in j.judged_items():
        item = items.get(item_id)
        if item is None or (judged is None and not vouched):
            return False
        if judged is not None:
            now = hashes.get(item_id) or hashes.setdefault(item_id, item.content_hash)
            if judged != now:
                return False
    return True


def run_judging(cfg: RunConfig) -> RunSummary:
    """Run (or resume) a judging run and return its summary.

    The summary's ``problems`` name what makes the result unclean (judgments left unscored by the provider, or
    more unscored than ``cfg.max_unscored``); ``judge run`` exits 1 when there are any.

    Raises:
        UsageError: a value no run can use, an output directory that cannot be written, a judge with no known
            price given a budget; all before any call.
        RunIncomplete: the budget was reached or a judge failed permanently; finished work is kept, and
            running the same command again resumes.
    """
    cfg.check()
    _check_scale_options(cfg)
    check_writable_dir(cfg.out, "--out")
    t0 = time.monotonic()
    with locked(cfg.out, f"--out {cfg.out}"):
        cache = Cache(cfg.cache_dir)
        try:
            return _run(cfg, cache, t0)
        except BaseException:
            _forget_empty_start(cfg.out)
            raise
        finally:
            cache.close()


def _forget_empty_start(run_dir: Path) -> None:
    """After a run that stopped before recording any judgment (a missing key, a refused judge, an interrupt during
    start-up), leave no run behind: a run.json would make the corrected command refuse the directory."""
    if has_records(run_dir):
        return
    for name in (MANIFEST, RECORDS, SUMMARY):
        (run_dir / name).unlink(missing_ok=True)


def _run(cfg: RunConfig, cache: Cache, t0: float) -> RunSummary:
    from judge.engine.client import settle_response_format

    cfg = dataclasses.replace(cfg, judges=[settle_response_format(j, cache) for j in cfg.judges])
    manifest = _check_resumable(cfg, _manifest(cfg))
    done, fresh, totals = _recorded(cfg)
    task = task_of(cfg)
    total = task.size(cfg)
    pending = total - task.selected(cfg, done)
    progress = Progress(
        pending,
        cfg.progress,
        interval_s=cfg.progress_interval_s,
        eta_after=max(10, 2 * cfg.concurrency),
        local=all(j.is_local for j in cfg.judges),
    )
    state = RunState()
    budget = Budget(cfg.budget_usd, spent=totals.cost_usd)
    store = RunStore(cfg.out).open()
    store.write_manifest(manifest)
    try:
        # Pass 1, synchronous and without LiteLLM: record everything the cache can answer.
        misses = 0
        chunk: list[TaskUnit] = []
        for u in task.units(cfg, done):
            chunk.append(u)
            if len(chunk) >= CHUNK:
                misses += _serve_cached(chunk, cache, cfg.read_cache, store, progress, done, fresh)
                chunk = []
        misses += _serve_cached(chunk, cache, cfg.read_cache, store, progress, done, fresh)
        # Pass 2: call the model for the rest, streamed.
        if misses:
            _check_keys(cfg)
            _prepare_local_models(cfg, progress)
            if cfg.budget_usd is not None:
                _check_budget(cfg, budget, progress)
            if budget.exhausted:
                state.stop = "budget"
            else:
                with fewer_gc_pauses():
                    strategy_for(cfg)(CallPass(cfg, done, store, cache, progress, budget, state))
    finally:
        progress.close()
        store.close()
    summary = summarise(
        cfg.out,
        model_calls=state.calls,
        retries=progress.retries,
        wall_s=time.monotonic() - t0,
        complete=state.stop is None,
        stop_reason=state.stop,
        max_unscored=cfg.max_unscored,
    )
    summary.task = task.name
    extra = getattr(task, "summary", None)  # optional: what the task adds to the summary
    if extra is not None:
        summary.task_summary = extra(cfg.out)
    RunStore(cfg.out).write_summary(summary)
    if state.stop == "budget":
        raise RunIncomplete(
            f"budget of ${cfg.budget_usd:.4f} for this run directory reached: ${budget.spent:.4f} spent so far "
            f"(all invocations); {summary.judgments}/{total} judgments recorded; raise --budget and run again to "
            "resume"
        )
    if state.stop == "provider_error":
        raise RunIncomplete(f"{state.error}; {summary.judgments}/{total} judgments done; fix it and run again")
    return summary


def _check_keys(cfg: RunConfig) -> None:
    """Before any call: every key variable a judge names is set (``UsageError`` naming the variable)."""
    from judge.engine.pool import pool_keys

    for spec in cfg.judges:
        spec.api_key()
        if spec.deployments:
            pool_keys(spec)


def _prepare_local_models(cfg: RunConfig, progress: Progress) -> None:
    """Before any call: load the embedded models the run calls. A model that cannot be loaded, or a model directory
    that cannot be written, is permanent: it stops the run here, saying what is wrong and where, instead of every
    call failing and being retried."""
    names = sorted({j.model for j in cfg.judges if j.is_local})
    if not names:
        return
    from judge.engine.local.provider import load_engine

    for name in names:
        progress.note(f"loading the embedded model {name} ...")
        load_engine(name)


def _check_budget(cfg: RunConfig, budget: Budget, progress: Progress) -> None:
    """Before any call: refuse a budget for a judge whose price is unknown; stop at once if it is spent."""
    from judge.engine.client import load_provider_layer, price_known

    load_provider_layer(progress.note)
    unpriced = [j for j in cfg.judges if not price_known(j)]
    if unpriced:
        names = ", ".join(f"{j.name!r} ({j.model})" for j in unpriced)
        raise UsageError(
            f"--budget needs a price, and LiteLLM's price map has none for judge {names}: no call was made. Give "
            "the price in a judge config file (input_price_per_mtok and output_price_per_mtok, USD per million "
            "tokens; see judge run --help), or run without --budget"
        )
    if budget.limit is not None and budget.spent >= budget.limit:
        budget.exhausted = True


def _serve_cached(
    chunk: list[TaskUnit],
    cache: Cache,
    read: bool,
    store: RunStore,
    progress: Progress,
    done: set[Hashable],
    fresh: set[Hashable],
) -> int:
    """Record the cached units of a chunk (adding them to ``done``); return how many missed. Units in ``fresh``
    are never served from the cache (the user asked the model again for them)."""
    if not chunk:
        return 0
    hits = cache.get_many([u.key for u in chunk if u.judgment_key not in fresh]) if read else {}
    misses = 0
    for u in chunk:
        reply = None if u.judgment_key in fresh else hits.get(u.key)
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
    if cfg.ray_address is not None and cfg.call_strategy is None:
        from judge.engine.calls.ray_shards import import_ray

        import_ray()  # refused here, before run.json or judgments.jsonl exist
    if (cfg.batch_poll_s is not None or cfg.ray_address is not None) and cfg.budget_usd is not None:
        raise UsageError("--budget is enforced on online calls only; drop it with --batch or --ray")
    if cfg.batch_poll_s is not None:
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
