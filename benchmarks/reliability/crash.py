"""Crash and resume: ``judge run`` as a subprocess, SIGKILLed at random points and restarted each time.

The stub answers deterministically from the messages, so the resumed run's records must equal an uninterrupted
run's, with no duplicates, and the calls paid for must stay within the judgments plus the calls in flight at each
kill (each restart draws its own concurrency, so the bound is ``judgments + sum of concurrency at each kill``).
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

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
    judgments: int
    kills: int = Field(description="SIGKILLs delivered while the run was still going.")
    restarts: int
    identical: bool = Field(description="Final records equal the uninterrupted run's (score, reason, raw output).")
    duplicates: int
    missing: int
    model_calls: int = Field(description="Chat requests made by the killed-and-resumed runs together.")
    call_bound: int = Field(description="judgments + sum of the concurrency in flight at each kill.")
    within_bound: bool
    reference_calls: int
    kill_points: list[int] = Field(description="Records on disk at each kill.")
    wall_s: float
    skipped: str | None = None


def _answers(run_dir: Path) -> dict[tuple[str, str, str, int], tuple[object, object, object]]:
    return {record_key(r): (r["score"], r["unscored_reason"], r["raw_output"]) for r in read_raw_records(run_dir)}


def _cmd(bench: Path, url: str, out: Path, cache: Path, concurrency: int) -> list[str]:
    return judge_cmd(
        "run", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base", url, "--out", str(out),
        "--cache-dir", str(cache), "--concurrency", str(concurrency), "--no-progress", "--json",
    )  # fmt: skip


def run_crash_resume(work: Path, n_items: int, kills: int, *, seed: int = 11, latency_s: float = 0.03) -> CrashResult:
    """Kill ``judge run`` ``kills`` times at random points, restarting each time, then finish it and compare."""
    from judge.testing.stub import StubServer

    rng = random.Random(seed)
    bench = synthetic_benchmark(work / "bench", n_items)
    total = n_items * len(criteria_names())
    env = subprocess_env()
    t0 = time.monotonic()
    stub = StubServer(latency_s=latency_s)
    with stub as url:
        subprocess.run(_cmd(bench, url, work / "ref", work / "cache-ref", 8), check=True, env=env, capture_output=True)
        ref_calls = _chat_calls(stub)
        delivered, restarts, bound, points = 0, 0, total, []
        run_dir = work / "run"
        while delivered < kills:
            done = len(read_raw_records(run_dir))
            if done >= total:
                break  # finished before we could kill it often enough: the caller sizes n_items to avoid this
            conc = rng.choice(CONCURRENCIES)
            p = subprocess.Popen(_cmd(bench, url, run_dir, work / "cache", conc), env=env, cwd=ROOT,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            restarts += 1
            _wait_for_kill_point(p, run_dir, done, rng)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                delivered += 1
                bound += conc
                points.append(len(read_raw_records(run_dir)))
            p.wait()
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


def generate_verb_note() -> CrashResult | None:
    """``judge generate`` is covered only once ``judge/cli/generate.py`` exists; otherwise a skipped result."""
    if (ROOT / "judge" / "cli" / "generate.py").exists():
        return CrashResult(
            verb="generate", judgments=0, kills=0, restarts=0, identical=False, duplicates=0, missing=0,
            model_calls=0, call_bound=0, within_bound=True, reference_calls=0, kill_points=[], wall_s=0.0,
            skipped="judge/cli/generate.py exists but its kill/resume check is not written yet",
        )  # fmt: skip
    return CrashResult(
        verb="generate", judgments=0, kills=0, restarts=0, identical=False, duplicates=0, missing=0,
        model_calls=0, call_bound=0, within_bound=True, reference_calls=0, kill_points=[], wall_s=0.0,
        skipped="judge/cli/generate.py does not exist yet",
    )  # fmt: skip
