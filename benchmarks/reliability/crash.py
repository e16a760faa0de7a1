"""Crash and resume: ``judge run`` and ``judge generate`` as subprocesses, SIGKILLed at random points and restarted.

The stub answers deterministically from the messages, so the resumed run's records must equal an uninterrupted
run's, with no duplicates, and the calls paid for must stay within the uninterrupted run's calls plus the calls in
flight at each kill. For ``judge run`` each restart draws its own concurrency, so the bound is ``judgments + sum of
concurrency at each kill``; ``judge generate`` caches every step's reply, so a kill costs at most one call per item in
flight (see :func:`run_generate_crash_resume`).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from benchmarks.reliability._common import (
    ROOT,
    criteria_names,
    expected_keys,
    judge_cmd,
    read_raw_records,
    record_key,
    store_consistency,
    subprocess_env,
    synthetic_benchmark,
)

CONCURRENCIES = (1, 2, 4, 8, 16)


class CrashResult(BaseModel):
    """Figures of one kill-and-resume session (``kill_resume_runs`` sessions of this kind are compared)."""

    verb: str
    judgments: int = Field(description="Units the session must produce: judgments (run) or items (generate).")
    unit: str = Field(default="judgments", description="What `judgments` counts: 'judgments' or 'items'.")
    kills: int = Field(description="SIGKILLs delivered while the run was still going.")
    restarts: int
    identical: bool = Field(
        description="Final records equal the uninterrupted run's: run, score, reason and raw output of each judgment; "
        "generate, every items.jsonl row and each record's steps. No duplicates, none missing."
    )
    duplicates: int
    missing: int
    model_calls: int = Field(description="Chat requests made by the killed-and-resumed runs together.")
    call_bound: int = Field(
        description="run: judgments + sum of the concurrency at each kill. generate: reference calls + sum over "
        "kills of min(concurrency, items not yet recorded)."
    )
    within_bound: bool
    reference_calls: int
    kill_points: list[int] = Field(description="Records on disk at each kill (judgments, or generation records).")
    wall_s: float
    skipped: str | None = None
    failed_records: int = Field(default=0, description="generate: records of failed items (none expected).")
    items_resumed_mid_way: int | None = Field(
        default=None, description="generate: items whose record reuses cached steps (cut mid-way by a kill)."
    )
    steps_reused: int | None = Field(default=None, description="generate: cached steps those records reused.")


def _answers(run_dir: Path) -> dict[tuple[str, str, str, int], tuple[object, object, object]]:
    return {record_key(r): (r["score"], r["unscored_reason"], r["raw_output"]) for r in read_raw_records(run_dir)}


def _cmd(bench: Path, url: str, out: Path, cache: Path, concurrency: int) -> list[str]:
    return judge_cmd(
        "run", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base", url, "--out", str(out),
        "--cache-dir", str(cache), "--concurrency", str(concurrency), "--no-progress", "--json",
    )  # fmt: skip


def run_crash_resume(work: Path, n_items: int, kills: int, *, seed: int = 11, latency_s: float = 0.03) -> CrashResult:
    """Kill ``judge run`` ``kills`` times at random points, restarting each time, then finish it and compare."""
    from tests.support.stub import StubServer

    rng = random.Random(seed)
    bench = synthetic_benchmark(work / "bench", n_items)
    total = n_items * len(criteria_names())
    env = subprocess_env()
    t0 = time.monotonic()
    stub = StubServer(latency_s=latency_s)
    with stub as url:
        subprocess.run(_cmd(bench, url, work / "ref", work / "cache-ref", 8), check=True, env=env, capture_output=True)
        ref_calls = _chat_calls(stub)
        run_dir = work / "run"
        delivered, restarts, extra, points = kill_and_restart(
            lambda conc: _cmd(bench, url, run_dir, work / "cache", conc),
            lambda: len(read_raw_records(run_dir)),
            total,
            kills,
            rng,
            wait=lambda p, done: _wait_for_kill_point(p, run_dir, done, rng),
            lost_calls=lambda conc, recorded: conc,
        )
        bound = total + extra
        final = subprocess.run(_cmd(bench, url, run_dir, work / "cache", 8), env=env, capture_output=True, text=True)
        restarts += 1
        calls = _chat_calls(stub) - ref_calls
    cons = store_consistency(run_dir, expected_keys("openai/stub-judge", n_items, criteria_names()))
    identical = final.returncode == 0 and _answers(run_dir) == _answers(work / "ref")
    return CrashResult(
        verb="run",
        judgments=total,
        kills=delivered,
        restarts=restarts,
        identical=identical and cons["duplicates"] == 0 and cons["missing"] == 0,
        duplicates=cons["duplicates"],
        missing=cons["missing"],
        model_calls=calls,
        call_bound=bound,
        within_bound=calls <= bound,
        reference_calls=ref_calls,
        kill_points=points,
        wall_s=round(time.monotonic() - t0, 1),
    )


def kill_and_restart(
    command: Callable[[int], list[str]],
    recorded: Callable[[], int],
    total: int,
    kills: int,
    rng: random.Random,
    *,
    wait: Callable[[subprocess.Popen[bytes], int], None],
    lost_calls: Callable[[int, int], int],
) -> tuple[int, int, int, list[int]]:
    """Start ``command(concurrency)`` (a random concurrency each time), wait for a kill point, SIGKILL it; repeat
    until ``kills`` kills landed or all ``total`` units are recorded.

    Args:
        recorded: how many units are on disk now.
        wait: waits for a kill point, given the process and the units recorded when it started.
        lost_calls: calls a kill may cost that a resumed run pays again, given the concurrency and the units
            recorded at the kill (the call bound grows by it).

    Returns:
        (kills delivered, processes started, extra calls allowed by the bound, units recorded at each kill).
    """
    delivered, restarts, extra, points = 0, 0, 0, []
    env = subprocess_env()
    while delivered < kills:
        done = recorded()
        if done >= total:
            break  # finished before we could kill it often enough: the caller sizes the work to avoid this
        conc = rng.choice(CONCURRENCIES)
        p = subprocess.Popen(command(conc), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        restarts += 1
        wait(p, done)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            delivered += 1
            now = recorded()
            extra += lost_calls(conc, now)
            points.append(now)
        p.wait()
    return delivered, restarts, extra, points


def _wait_for_kill_point(p: subprocess.Popen[bytes], run_dir: Path, done: int, rng: random.Random) -> None:
    """Wait for a random kill point: a random delay (often during start-up), or a random number of new records."""
    if rng.random() < 0.3:
        time.sleep(rng.uniform(0.05, 2.0))  # start-up, manifest write, cache pass...
        return
    target = done + rng.randint(1, 40)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None and len(read_raw_records(run_dir)) < target:
        time.sleep(0.02)


def _chat_calls(stub: object) -> int:
    stats = stub.stats()  # type: ignore[attr-defined]
    return int(stats.by_path.get("POST /v1/chat/completions", 0))


# -- judge generate -------------------------------------------------------------------------------------------------

GEN_SYSTEM = "iter+cons"  # an initial reply, then one revision per RESORT dimension: 7 sequential calls per item
GEN_RECORDS = "generations.jsonl"


def run_generate_crash_resume(
    work: Path, n_posts: int, kills: int, *, seed: int = 13, latency_s: float = 0.05
) -> CrashResult:
    """Kill ``judge generate`` ``kills`` times at random points, restarting each time, then finish it and compare.

    The system is the built-in ``iter+cons`` pointed at the stub: each item is a chain of 7 calls, each step's
    messages holding the previous step's output, so a resumed item only matches the reference if every step it
    re-used from the cache, or asked again, is the same. The stub's replies depend on the messages only, and nothing
    else in ``items.jsonl`` depends on time or order, so whole rows are compared (and every record's steps).

    Call bound: ``generate`` caches each step's reply as it arrives (SQLite, committed per row) and holds at most
    ``concurrency`` items in flight, each with one step call outstanding. A kill therefore loses at most
    ``min(concurrency, items not yet recorded)`` answered-but-uncached calls; the items it cut mid-way resume from
    their cached steps. Bound = the uninterrupted run's calls + that sum over kills (much tighter than
    ``calls per item x concurrency`` per kill, which would hold even without the step cache).

    Args:
        work: a directory for the posts, system file, output and cache directories.
        n_posts: distinct synthetic posts (one item each).
        kills: SIGKILLs to deliver; fewer if the run finishes first (``kills`` in the result says how many).
        seed: seeds the kill points and the concurrency of each restart.
        latency_s: the stub's delay per call, so that kills land while calls are in flight.
    """
    from tests.support.stub import StubServer

    rng = random.Random(seed)
    posts = _write_posts(work / "posts.jsonl", n_posts)
    expected = {f"{GEN_SYSTEM}:{_post_id(i)}" for i in range(n_posts)}
    env = subprocess_env()
    t0 = time.monotonic()
    stub = StubServer(latency_s=latency_s)
    with stub as url:
        system = _write_system(work / f"{GEN_SYSTEM}.yaml", url)
        ref = work / "ref"
        ref_cmd = _generate_cmd(posts, system, ref, work / "cache-ref", 8)
        subprocess.run(ref_cmd, check=True, env=env, cwd=ROOT, capture_output=True)
        ref_calls = _chat_calls(stub)
        per_item = max(1, ref_calls // n_posts)
        out = work / "run"
        delivered, restarts, extra, points = kill_and_restart(
            lambda conc: _generate_cmd(posts, system, out, work / "cache", conc),
            lambda: len(_recorded_ids(out)),
            n_posts,
            kills,
            rng,
            wait=lambda p, done: _wait_for_generation_kill_point(p, stub, out, n_posts - done, per_item, rng),
            lost_calls=lambda conc, recorded: min(conc, n_posts - recorded),
        )
        bound = ref_calls + extra
        final_cmd = _generate_cmd(posts, system, out, work / "cache", 8)
        final = subprocess.run(final_cmd, env=env, cwd=ROOT, capture_output=True, text=True)
        restarts += 1
        calls = _chat_calls(stub) - ref_calls
    return generate_result(out, ref, expected, final.returncode, delivered, restarts, calls, bound, ref_calls,
                            points, time.monotonic() - t0)  # fmt: skip


def generate_result(
    out: Path,
    ref: Path,
    expected: set[str],
    rc: int,
    kills: int,
    restarts: int,
    calls: int,
    bound: int,
    ref_calls: int,
    points: list[int],
    wall_s: float,
) -> CrashResult:
    records = _generation_records(out)
    ok = [r for r in records if r.get("response") is not None]
    counts: dict[str, int] = {}
    for r in ok:
        counts[r["item_id"]] = counts.get(r["item_id"], 0) + 1
    first = _first_records(out)
    items = _item_rows(out)
    duplicates = sum(c - 1 for c in counts.values())
    missing = len(expected - {row["item_id"] for row in items})
    same = rc == 0 and items == _item_rows(ref) and _steps(first) == _steps(_first_records(ref))
    resumed = [r for r in first.values() if r.get("cache_hits", 0) > 0]
    return CrashResult(
        verb="generate",
        judgments=len(expected),
        unit="items",
        kills=kills,
        restarts=restarts,
        identical=same and duplicates == 0 and missing == 0,
        duplicates=duplicates,
        missing=missing,
        model_calls=calls,
        call_bound=bound,
        within_bound=calls <= bound,
        reference_calls=ref_calls,
        kill_points=points,
        wall_s=round(wall_s, 1),
        failed_records=len(records) - len(ok),
        items_resumed_mid_way=len(resumed),
        steps_reused=sum(int(r["cache_hits"]) for r in resumed),
    )


def _post_id(i: int) -> str:
    return f"gen:{i:05d}"


def _write_posts(path: Path, n_posts: int) -> Path:
    """``n_posts`` distinct posts as JSONL of ``{post_id, post}`` (distinct text: no two share a cache key)."""
    filler = "My exam went badly and I keep thinking I will fail the whole year. "
    rows = [json.dumps({"post_id": _post_id(i), "post": f"Post {i}. " + filler * 3}) for i in range(n_posts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _write_system(path: Path, url: str) -> Path:
    """The built-in ``GEN_SYSTEM`` with its model pointed at the stub."""
    import yaml

    from judge.data.systems import load_system

    data = load_system(GEN_SYSTEM).model_dump(mode="json")
    data.update(model="openai/stub-judge", api_base=url)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _generate_cmd(posts: Path, system: Path, out: Path, cache: Path, concurrency: int) -> list[str]:
    return judge_cmd(
        "generate", "--posts", str(posts), "--system", str(system), "--out", str(out), "--cache-dir", str(cache),
        "--concurrency", str(concurrency), "--json",
    )  # fmt: skip


def _generation_records(out: Path) -> list[dict[str, Any]]:
    """Every complete line of ``generations.jsonl``, duplicates and failed items included (a partial tail skipped)."""
    path = out / GEN_RECORDS
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return [json.loads(line) for line in lines if line.endswith("\n") and line.strip()]


def _first_records(out: Path) -> dict[str, dict[str, Any]]:
    """The first successful record of each item: the one ``generate`` itself keeps on resume."""
    first: dict[str, dict[str, Any]] = {}
    for r in _generation_records(out):
        if r.get("response") is not None:
            first.setdefault(r["item_id"], r)
    return first


def _recorded_ids(out: Path) -> set[str]:
    return set(_first_records(out))


def _steps(records: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    return {k: [(s["step"], s["output"]) for s in r["steps"]] for k, r in records.items()}


def _item_rows(out: Path) -> list[dict[str, Any]]:
    path = out / "items.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _wait_for_generation_kill_point(
    p: subprocess.Popen[bytes], stub: Any, out: Path, remaining: int, per_item: int, rng: random.Random
) -> None:
    """Wait for a random kill point: a random delay (often during start-up), a number of new generation records,
    or a number of new model calls (which lands mid-item even at concurrency 1)."""
    u = rng.random()
    if u < 0.2:
        time.sleep(rng.uniform(0.05, 2.0))  # start-up, manifest write, cache open, first calls...
        return
    # At most half the remaining items per kill, so that the run is still going at the next kills.
    if u < 0.6:
        target = len(_recorded_ids(out)) + rng.randint(1, max(1, remaining // 2))

        def reached() -> bool:
            return len(_recorded_ids(out)) >= target
    else:
        target = _chat_calls(stub) + rng.randint(1, per_item * max(1, remaining // 2))

        def reached() -> bool:
            return _chat_calls(stub) >= target

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None and not reached():
        time.sleep(0.02)
