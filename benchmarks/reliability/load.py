"""Load: many judgments at high concurrency against the stub (in its own process), with progress on a terminal.

``judge run`` runs as a subprocess whose stderr is a pseudo-terminal, so its progress line is on; a reader
thread timestamps every progress update, and the largest gap between updates shows whether progress stayed live.
Peak RSS is the child's own (``os.wait4`` returns the rusage of exactly that child), compared between a small
and a large run: memory must not grow with the number of judgments.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import re
import subprocess
import threading
import time
from pathlib import Path

from pydantic import BaseModel, Field

from benchmarks.reliability._common import (
    ROOT,
    criteria_names,
    expected_keys,
    judge_cmd,
    store_consistency,
    subprocess_env,
    synthetic_benchmark,
)

_PROGRESS = re.compile(rb"\r\s*(\d+)/(\d+) judgments")


class LoadRun(BaseModel):
    judgments: int
    concurrency: int
    exit_code: int
    wall_s: float
    throughput_per_s: float = Field(description="Judgments per second of wall time (process start to exit).")
    peak_rss_mb: float = Field(description="Peak resident memory of the judge run process (os.wait4 rusage).")
    duplicates: int
    missing: int
    progress_updates: int = Field(description="Progress lines written to the terminal.")
    progress_max_gap_s: float | None = Field(description="Longest time between two progress updates.")
    progress_last: str | None = Field(description="The last progress count seen, e.g. '20000/20000'.")


class LoadResult(BaseModel):
    runs: list[LoadRun]
    rss_growth: float | None = Field(description="Peak RSS of the largest run / peak RSS of the smallest.")
    engine_benchmark: dict[str, object] | None = Field(description="reports/perf/engine.json, if it exists.")
    stub_latency_ms: float


def _read_pty(fd: int, stamps: list[tuple[float, bytes]]) -> None:
    buf = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return  # the child closed the terminal
        if not data:
            return
        buf = (buf + data)[-4096:]
        for m in _PROGRESS.finditer(data):
            stamps.append((time.monotonic(), m.group(1) + b"/" + m.group(2)))


def load_run(work: Path, url: str, n_items: int, concurrency: int) -> LoadRun:
    """One ``judge run`` of ``n_items`` x 4 judgments with progress on a pty; returns its figures."""
    bench = synthetic_benchmark(work / f"bench-{n_items}", n_items)
    out = work / f"run-{n_items}"
    cmd = judge_cmd("run", "--benchmark", str(bench), "--judge", "openai/stub-judge", "--api-base", url,
                    "--out", str(out), "--cache-dir", str(work / f"cache-{n_items}"), "--concurrency",
                    str(concurrency), "--json")  # fmt: skip
    master, slave = pty.openpty()
    stamps: list[tuple[float, bytes]] = []
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=subprocess_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    reader = threading.Thread(target=_read_pty, args=(master, stamps), daemon=True)
    reader.start()
    stdout = p.stdout.read() if p.stdout is not None else b""
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    reader.join(5)
    os.close(master)
    total = n_items * len(criteria_names())
    cons = store_consistency(out, expected_keys("openai/stub-judge", n_items, criteria_names()))
    summary = json.loads(stdout) if stdout.strip() else {}
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(stamps)]
    return LoadRun(
        judgments=int(summary.get("judgments", 0)),
        concurrency=concurrency,
        exit_code=p.returncode,
        wall_s=round(wall, 2),
        throughput_per_s=round(total / wall, 1),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        duplicates=cons["duplicates"],
        missing=cons["missing"],
        progress_updates=len(stamps),
        progress_max_gap_s=round(max(gaps), 2) if gaps else None,
        progress_last=stamps[-1][1].decode() if stamps else None,
    )


def run_load(work: Path, sizes: list[int], concurrency: int = 256, latency_ms: float = 20.0) -> LoadResult:
    """Load runs of ``sizes`` items (x 4 criteria each) against one stub process."""
    from tests.support.stub import stub_process

    runs = []
    with stub_process(latency_ms=latency_ms) as (_, url):
        for n in sizes:
            runs.append(load_run(work, url, n, concurrency))
    engine = ROOT / "reports" / "perf" / "engine.json"
    rss = [r.peak_rss_mb for r in runs]
    return LoadResult(
        runs=runs,
        rss_growth=round(rss[-1] / rss[0], 3) if len(rss) > 1 and rss[0] else None,
        engine_benchmark=json.loads(engine.read_text()) if engine.exists() else None,
        stub_latency_ms=latency_ms,
    )
