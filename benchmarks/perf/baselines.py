"""Bare-client baselines: what one process costs to push N chat completions through a stub at concurrency C.

The engine's benchmark compares itself against these two floors:

* ``openai``: one ``openai.AsyncOpenAI`` client, an ``asyncio.Semaphore(C)``, ``gather`` over N calls;
* ``litellm``: the same loop over ``litellm.acompletion(model="openai/stub-judge", api_base=...)``.

Each measurement runs in a fresh subprocess (:func:`measure_in_subprocess`), so the numbers are whole-process
numbers with import time reported separately, and the stub runs in a process of its own so its CPU is not
counted (the machine has 2 cores). Run it::

    python benchmarks/perf/baselines.py --n 2000 --concurrency 64 --latency-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Literal

# LiteLLM fetches a remote cost map at import unless told otherwise; measurements must work offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

Kind = Literal["openai", "litellm"]
KINDS: tuple[Kind, ...] = ("openai", "litellm")
MODEL = "stub-judge"
API_KEY = "sk-stub-benchmark"

# The answer format the engine sends (the shape of ``Rubric.answer_schema``), so the stub does the same work.
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"rationale": {"type": "string"}, "score": {"enum": [1, 2, 3, 4, 5]}},
            "required": ["rationale", "score"],
            "additionalProperties": False,
        },
    },
}


def messages(i: int) -> list[dict[str, str]]:
    """A judging-sized prompt (about 1.5 kB), distinct per call so nothing upstream can dedupe it."""
    system = "You are a clinical psychologist rating a cognitive reappraisal response. " * 8
    return [{"role": "system", "content": system}, {"role": "user", "content": f"Item {i}: " + "context " * 120}]


def _cpu() -> float:
    """CPU seconds (user + system) used so far by this whole process, all threads."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _gather_limited(n: int, concurrency: int, call: Any) -> Counter[str]:
    """Run ``call(i)`` for i < n with at most ``concurrency`` in flight; count outcomes by exception type."""
    sem = asyncio.Semaphore(concurrency)
    outcomes: Counter[str] = Counter()

    async def one(i: int) -> None:
        async with sem:
            try:
                await call(i)
                outcomes["ok"] += 1
            except Exception as exc:  # counted, not hidden: errors are part of the result
                outcomes[type(exc).__name__] += 1

    await asyncio.gather(*(one(i) for i in range(n)))
    return outcomes


def openai_transport() -> str:
    """Which HTTP transport the openai baseline uses: ``aiohttp`` (``pip install -e ".[perf]"``) or ``httpx``."""
    try:
        import httpx_aiohttp  # noqa: F401  (the openai SDK's aiohttp backend)
    except ImportError:
        return "httpx"
    return "aiohttp"


async def openai_loop(url: str, n: int, concurrency: int, timeout: float = 60.0) -> Counter[str]:
    """N calls through one ``AsyncOpenAI`` client (connection pool sized to the concurrency).

    The SDK's aiohttp backend when installed: it is the fastest floor (LiteLLM also sends over aiohttp), while
    httpx's own pool costs several times more CPU per call above ~64 connections.
    """
    import httpx
    import openai

    http: Any = None
    if openai_transport() == "aiohttp":
        http = openai.DefaultAioHttpClient(timeout=timeout)
    elif concurrency > 100:
        # The SDK's default pool (1000 connections, 100 kept alive) unless more than 100 must stay open.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        http = openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout)
    client = openai.AsyncOpenAI(base_url=url, api_key=API_KEY, max_retries=0, timeout=timeout, http_client=http)
    async with client:
        create: Any = client.chat.completions.create  # typed loosely: plain dicts, not the SDK's TypedDicts

        async def call(i: int) -> None:
            await create(model=MODEL, messages=messages(i), response_format=RESPONSE_FORMAT)

        return await _gather_limited(n, concurrency, call)


async def litellm_loop(url: str, n: int, concurrency: int, timeout: float = 60.0) -> Counter[str]:
    """N calls through ``litellm.acompletion`` with the openai provider pointed at the stub."""
    import litellm

    litellm.suppress_debug_info = True

    async def call(i: int) -> None:
        await litellm.acompletion(
            model=f"openai/{MODEL}",
            api_base=url,
            api_key=API_KEY,
            messages=messages(i),
            response_format=RESPONSE_FORMAT,
            timeout=timeout,
            num_retries=0,
            max_retries=0,
        )

    return await _gather_limited(n, concurrency, call)


def stub_stats(url: str) -> dict[str, Any]:
    """The stub's counters (``StubStats`` as JSON), read from its ``/_stub/stats`` endpoint."""
    with urllib.request.urlopen(url.rstrip("/").removesuffix("/v1") + "/_stub/stats", timeout=10) as r:
        stats: dict[str, Any] = json.loads(r.read())
    return stats


def measure(kind: Kind, url: str, n: int, concurrency: int, latency_s: float | None = None) -> dict[str, Any]:
    """Measure one baseline in *this* process. Call it in a fresh process (see :func:`measure_in_subprocess`):
    the import time is only meaningful if the client library was not imported yet.

    Returns:
        A dict: ``import_s``/``import_cpu_s`` (importing the client), ``wall_s``/``cpu_s`` (the N calls only),
        ``cpu_ms_per_call``, ``throughput_rps``, ``ideal_rps`` (= min(C, N) / latency), ``efficiency``
        (throughput / ideal), ``stub_cpu_ms_per_call`` (the stub's process), ``outcomes`` (counts by 'ok' or
        exception type), ``process_cpu_s`` (whole process, imports included) and ``max_rss_mb``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if n < 1 or concurrency < 1:
        raise ValueError(f"n and concurrency must be at least 1, got n={n}, concurrency={concurrency}")
    before = stub_stats(url)
    latency = float(before["latency_s"]) if latency_s is None else latency_s
    wall0, cpu0 = time.perf_counter(), _cpu()
    importlib.import_module(kind)
    if kind == "openai":
        importlib.import_module("httpx_aiohttp" if openai_transport() == "aiohttp" else "httpx")
    wall1, cpu1 = time.perf_counter(), _cpu()
    loop = openai_loop if kind == "openai" else litellm_loop
    outcomes = asyncio.run(loop(url, n, concurrency))
    wall2, cpu2 = time.perf_counter(), _cpu()
    stub_cpu = float(stub_stats(url)["process_cpu_s"]) - float(before["process_cpu_s"])
    wall, cpu = wall2 - wall1, cpu2 - cpu1
    ideal = min(concurrency, n) / latency if latency > 0 else float("inf")
    throughput = n / wall
    return {
        "kind": kind,
        "transport": openai_transport() if kind == "openai" else "litellm (aiohttp)",
        "n": n,
        "concurrency": concurrency,
        "latency_s": latency,
        "import_s": round(wall1 - wall0, 4),
        "import_cpu_s": round(cpu1 - cpu0, 4),
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "cpu_ms_per_call": round(1000 * cpu / n, 4),
        "throughput_rps": round(throughput, 2),
        "ideal_rps": round(ideal, 2),
        "efficiency": round(throughput / ideal, 4) if ideal != float("inf") else None,
        "outcomes": dict(outcomes),
        # The stub's own CPU per call (it runs in another process): if it nears the client's, the stub is the limit.
        "stub_cpu_ms_per_call": round(1000 * stub_cpu / n, 4),
        "process_cpu_s": round(_cpu(), 4),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def measure_in_subprocess(
    kind: Kind, url: str, n: int, concurrency: int, latency_s: float | None = None, timeout: float = 900.0
) -> dict[str, Any]:
    """Run :func:`measure` in a fresh Python process and return its result.

    Example::

        from tests.support.stub import stub_process
        with stub_process(latency_ms=50) as (_, url):
            print(measure_in_subprocess("openai", url, 2000, 64))
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--url", url]
    cmd += ["--n", str(n), "--concurrency", str(concurrency)]
    if latency_s is not None:
        cmd += ["--latency-ms", str(latency_s * 1000)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines:
        raise RuntimeError(f"baseline {kind!r} failed (exit {res.returncode}): {res.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _table(results: list[dict[str, Any]]) -> str:
    cols = ["kind", "n", "concurrency", "latency_s", "import_s", "wall_s", "cpu_s", "cpu_ms_per_call"]
    cols += ["stub_cpu_ms_per_call", "throughput_rps", "ideal_rps", "efficiency", "max_rss_mb", "outcomes"]
    rows = [cols] + [[str(r.get(c)) for c in cols] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="calls per measurement")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency-ms", type=float, default=50.0, help="stub latency (ignored with --url)")
    ap.add_argument("--kinds", default="openai,litellm", help="comma-separated: openai, litellm")
    ap.add_argument("--url", help="use a running stub at this base URL instead of starting one")
    ap.add_argument("--json", action="store_true", help="print results as JSON lines instead of a table")
    ap.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:  # inside measure_in_subprocess: measure once, print one JSON line
        latency = args.latency_ms / 1000 if "--latency-ms" in (argv or sys.argv) else None
        print(json.dumps(measure(args.child, args.url, args.n, args.concurrency, latency)))
        return 0
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"--kinds: unknown {bad}; expected some of {list(KINDS)}")

    def run_all(url: str) -> list[dict[str, Any]]:
        return [measure_in_subprocess(k, url, args.n, args.concurrency) for k in kinds]

    if args.url:
        results = run_all(args.url)
    else:
        from tests.support.stub import stub_process

        with stub_process(latency_ms=args.latency_ms) as (_, url):
            results = run_all(url)
    print("\n".join(json.dumps(r) for r in results) if args.json else _table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
