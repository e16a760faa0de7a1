"""Engine speed: ``judge run`` (whole process) against bare ``openai`` and bare ``litellm`` loops on one stub.

Everything runs against one loopback stub in its own process (its CPU is not counted). For each concurrency the
engine and both baselines are measured interleaved, in the same run, so the ratios compare like with like on a
shared 2-core machine. The engine is measured as a subprocess (``python -m judge run``) with ``os.wait4``, so CPU
and peak RSS are whole-process numbers, imports included; the baselines' ``process_cpu_s`` is whole-process too.

Measured:

* CPU ms per judgment, wall time, peak RSS at concurrency 16, 64, 256, and the ratios engine/litellm,
  engine/openai (whole process);
* achieved judgments/s over the ideal (concurrency / latency) at concurrency 1, 16, 64, 256, engine vs openai;
* a fully cached re-run (new run directory, same cache) of 10,000 judgments as a share of the first run's time;
* peak RSS of a 2,000- and a 20,000-judgment run (memory must stay flat).

Run::

    python -m benchmarks.perf engine            # full (~15 min on 2 cores)
    python -m benchmarks.perf engine --quick    # small version (~1 min)

Writes ``reports/perf/engine.json`` and ``reports/perf/engine.md`` (either size; the report says which).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.perf.baselines import measure_in_subprocess, openai_transport
from judge.fileio import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports" / "perf"
CRITERIA = 4  # the bundled RESORT rubric set has four criteria: judgments = items x 4
MODEL = "openai/stub-judge"


def make_benchmark(directory: Path, judgments: int) -> Path:
    """Write a synthetic benchmark whose items x the real rubrics give at least ``judgments`` judgments."""
    directory.mkdir(parents=True, exist_ok=True)
    items = math.ceil(judgments / CRITERIA)
    manifest = {"format_version": 1, "name": "perf", "description": "synthetic items for the engine benchmark"}
    write_json(directory / "benchmark.json", manifest)
    lines = []
    for i in range(items):
        post = f"Post {i}: " + "I feel stuck and anxious about my job and I can't sleep. " * 10
        response = f"Response {i}: " + "It makes sense to feel this way; look at what is in your control. " * 4
        row = {"item_id": f"perf:{i}", "post_id": f"p{i // 3}", "post": post, "response": response}
        lines.append(json.dumps(row))
    write_text(directory / "items.jsonl", "\n".join(lines) + "\n")
    return directory


def run_engine(url: str, bench: Path, out: Path, cache: Path, concurrency: int) -> dict[str, Any]:
    """Run ``python -m judge run`` once as a subprocess; return its wall/CPU/peak RSS and summary counts."""
    cmd = [sys.executable, "-m", "judge", "run", "--benchmark", str(bench), "--judge", MODEL, "--api-base", url]
    cmd += ["--out", str(out), "--cache-dir", str(cache), "--concurrency", str(concurrency), "--no-progress", "--json"]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=ROOT)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        text, err = stdout.read(), stderr.read()
    if proc.returncode != 0:
        raise RuntimeError(f"judge run failed (exit {proc.returncode}): {err[-2000:]}")
    summary = json.loads(text)
    n = int(summary["judgments"])
    cpu = ru.ru_utime + ru.ru_stime
    return {
        "judgments": n,
        "concurrency": concurrency,
        "model_calls": summary["model_calls"],
        "cache_hits": summary["cache_hits"],
        "unscored": summary["unscored"],
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_judgment": round(1000 * cpu / n, 3),
        "max_rss_mb": round(ru.ru_maxrss / 1024, 1),
    }


def _baseline(kind: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    r = measure_in_subprocess(kind, url, n, concurrency)  # type: ignore[arg-type]
    # Whole process, like the engine's numbers: interpreter start and imports included.
    r["cpu_ms_per_judgment"] = round(1000 * r["process_cpu_s"] / n, 3)
    return r


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def measure_all(url: str, latency_s: float, work: Path, plan: dict[str, Any]) -> dict[str, Any]:
    """Run every measurement of ``plan`` against the stub at ``url``; return the report dict."""
    n = plan["n"]
    bench = make_benchmark(work / f"bench-{n}", n)
    rows = []
    for c in plan["concurrency"]:
        for rep in range(plan["repeats"]):
            # Interleaved: the three measurements of one repeat see the same machine load; the order flips on odd
            # repeats so a slow drift of the machine does not always favour the same side.
            order = ["openai", "litellm", "engine"] if rep % 2 == 0 else ["engine", "litellm", "openai"]
            got: dict[str, dict[str, Any]] = {}
            for kind in order:
                if kind == "engine":
                    got[kind] = run_engine(url, bench, work / f"run-{c}-{rep}", work / f"cache-{c}-{rep}", c)
                else:
                    got[kind] = _baseline(kind, url, n, c)
            oa, ll, en = got["openai"], got["litellm"], got["engine"]
            en["throughput_rps"] = round(en["judgments"] / en["wall_s"], 2)
            rows.append(
                {
                    "concurrency": c,
                    "repeat": rep,
                    "engine": en,
                    "litellm": _pick(ll),
                    "openai": _pick(oa),
                    "cpu_ratio_vs_litellm": _ratio(en["cpu_ms_per_judgment"], ll["cpu_ms_per_judgment"]),
                    "cpu_ratio_vs_openai": _ratio(en["cpu_ms_per_judgment"], oa["cpu_ms_per_judgment"]),
                    "wall_ratio_vs_litellm": _ratio(en["wall_s"], ll["wall_s"] + ll["import_s"]),
                }
            )
    summary = [_summarise_rows([r for r in rows if r["concurrency"] == c]) for c in plan["concurrency"]]
    efficiency = []
    for c, n_eff in plan["efficiency"]:
        b = make_benchmark(work / f"bench-{n_eff}", n_eff)
        oa = measure_in_subprocess("openai", url, n_eff, c)
        en = run_engine(url, b, work / f"eff-{c}", work / f"eff-cache-{c}", c)
        ideal = min(c, n_eff) / latency_s
        # The engine's wall is whole-process (imports, store, summary); the openai loop's is the calls only.
        en_rps = en["judgments"] / en["wall_s"]
        efficiency.append(
            {
                "concurrency": c,
                "judgments": n_eff,
                "ideal_rps": round(ideal, 2),
                "engine_rps": round(en_rps, 2),
                "engine_efficiency": round(en_rps / ideal, 4),
                "openai_rps": oa["throughput_rps"],
                "openai_efficiency": oa["efficiency"],
            }
        )
    nc = plan["cached_n"]
    bc = make_benchmark(work / f"bench-{nc}", nc)
    first = run_engine(url, bc, work / "cached-first", work / "cache-rerun", 64)
    again = run_engine(url, bc, work / "cached-again", work / "cache-rerun", 64)
    # The yardstick: the same 2,000 judgments as the rows above, re-run from their cache into a new run.
    c0 = plan["concurrency"][0]
    again_n = run_engine(url, bench, work / "cached-again-n", work / f"cache-{c0}-0", 64)
    cached = {
        "judgments": nc,
        "first": first,
        "rerun": again,
        "rerun_share_of_first": _ratio(again["wall_s"], first["wall_s"]),
        "rerun_n": again_n,
    }
    small, big = plan["memory"]
    mem = {}
    for m in (small, big):
        bm = make_benchmark(work / f"bench-{m}", m)
        mem[str(m)] = run_engine(url, bm, work / f"mem-{m}", work / f"mem-cache-{m}", 64)
    return {
        "cli_startup": cli_startup(),
        "rows": rows,
        "summary": summary,
        "efficiency": efficiency,
        "cached_rerun": cached,
        "memory": {"runs": mem, "rss_ratio": _ratio(mem[str(big)]["max_rss_mb"], mem[str(small)]["max_rss_mb"])},
    }


def cli_startup(repeats: int = 7) -> dict[str, Any]:
    """Wall time of ``python -m judge --help`` (interpreter start included): median and max of ``repeats``."""
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "judge", "--help"], cwd=ROOT, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
    return {
        "command": "python -m judge --help",
        "median_s": round(statistics.median(walls), 3),
        "max_s": round(max(walls), 3),
    }


def _summarise_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the repeats of one concurrency, and the spread of the per-repeat ratios.

    Ratios are taken within a repeat (the three measurements ran back to back under the same load), then the
    median of those ratios is reported with its min and max: on a shared 2-core machine one run's ratio moves by
    several percent, so a single repeat cannot tell 1.05 from 1.12.
    """

    def med(xs: list[float]) -> float:
        return round(statistics.median(xs), 3)

    ratios_ll = [r["cpu_ratio_vs_litellm"] for r in rows]
    ratios_oa = [r["cpu_ratio_vs_openai"] for r in rows]
    return {
        "concurrency": rows[0]["concurrency"],
        "repeats": len(rows),
        "engine_cpu_ms": med([r["engine"]["cpu_ms_per_judgment"] for r in rows]),
        "litellm_cpu_ms": med([r["litellm"]["cpu_ms_per_judgment"] for r in rows]),
        "openai_cpu_ms": med([r["openai"]["cpu_ms_per_judgment"] for r in rows]),
        "ratio_vs_litellm": med(ratios_ll),
        "ratio_vs_litellm_range": [min(ratios_ll), max(ratios_ll)],
        "ratio_vs_openai": med(ratios_oa),
        "engine_wall_s": med([r["engine"]["wall_s"] for r in rows]),
        "litellm_wall_s": med([r["litellm"]["wall_s"] + r["litellm"]["import_s"] for r in rows]),
        "engine_rss_mb": med([r["engine"]["max_rss_mb"] for r in rows]),
        "litellm_rss_mb": med([r["litellm"]["max_rss_mb"] for r in rows]),
    }


def _pick(r: dict[str, Any]) -> dict[str, Any]:
    keys = ["transport", "n", "import_s", "wall_s", "cpu_s", "process_cpu_s", "cpu_ms_per_judgment", "cpu_ms_per_call"]
    keys += ["throughput_rps", "efficiency", "max_rss_mb", "outcomes", "stub_cpu_ms_per_call"]
    return {k: r.get(k) for k in keys}


def render_markdown(report: dict[str, Any]) -> str:
    """The report as markdown (generated; never edit by hand)."""
    p = report["plan"]
    out = [
        "# Engine speed",
        "",
        f"Generated by `python -m benchmarks.perf engine{' --quick' if report['quick'] else ''}`; do not edit.",
        f"Stub latency {p['latency_ms']:.0f} ms in its own process; {p['n']} judgments per row; "
        f"{report['machine']['cpus']} CPUs shared with other work. All numbers whole-process (imports included).",
        "",
        "## CPU per judgment vs bare clients (measured interleaved, same run)",
        "",
        f"Medians of {p['repeats']} repeats; each repeat runs the three back to back (in alternating order), and "
        "its ratios are taken within the repeat (range in brackets). The openai loop uses the SDK's "
        f"{report['openai_transport']} transport.",
        "",
        "| conc | engine CPU ms/j | litellm CPU ms/j | openai CPU ms/j | engine/litellm [range] | engine/openai "
        "| engine wall s | litellm wall s (+import) | engine RSS MB | litellm RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["summary"]:
        lo, hi = r["ratio_vs_litellm_range"]
        out.append(
            f"| {r['concurrency']} | {r['engine_cpu_ms']} | {r['litellm_cpu_ms']} | {r['openai_cpu_ms']} | "
            f"**{r['ratio_vs_litellm']}** [{lo}-{hi}] | {r['ratio_vs_openai']} | {r['engine_wall_s']} | "
            f"{r['litellm_wall_s']} | {r['engine_rss_mb']} | {r['litellm_rss_mb']} |"
        )
    out += [
        "",
        "## Throughput over the ideal (concurrency / latency)",
        "",
        "| conc | judgments | ideal j/s | engine j/s | engine eff. | bare openai j/s | openai eff. |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["efficiency"]:
        out.append(
            f"| {r['concurrency']} | {r['judgments']} | {r['ideal_rps']} | {r['engine_rps']} | "
            f"{r['engine_efficiency']} | {r['openai_rps']} | {r['openai_efficiency']} |"
        )
    c = report["cached_rerun"]
    m = report["memory"]
    out += [
        "",
        "The engine's rate is whole-process (start-up, imports, store); the openai loop's counts the calls only.",
        "",
        "## Fully cached re-run",
        "",
        f"{c['judgments']} judgments: first run {c['first']['wall_s']} s, re-run into a new run directory with the "
        f"same cache {c['rerun']['wall_s']} s ({c['rerun']['cpu_s']} s CPU, {c['rerun']['max_rss_mb']} MB): "
        f"**{c['rerun_share_of_first']}** of the first run's time.",
        "",
        f"The {c['rerun_n']['judgments']} judgments of the rows above, re-run from their cache into a new run "
        f"directory: **{c['rerun_n']['wall_s']} s** whole-process ({c['rerun_n']['cpu_s']} s CPU, "
        f"{c['rerun_n']['model_calls']} model calls). LiteLLM is not imported on this path (tested in "
        "tests/test_engine.py).",
        "",
        "## CLI start-up",
        "",
        f"`{report['cli_startup']['command']}`: median **{report['cli_startup']['median_s']} s**, "
        f"max {report['cli_startup']['max_s']} s (interpreter start included).",
        "",
        "## Memory",
        "",
        "| judgments | peak RSS MB | wall s |",
        "|---:|---:|---:|",
    ]
    for n, r in m["runs"].items():
        out.append(f"| {n} | {r['max_rss_mb']} | {r['wall_s']} |")
    out += ["", f"Peak RSS ratio (largest / smallest run): **{m['rss_ratio']}**.", ""]
    return "\n".join(out)


PLANS: dict[bool, dict[str, Any]] = {
    False: {
        "n": 2000,
        "concurrency": [16, 64, 256],
        "repeats": 5,
        "efficiency": [(1, 200), (16, 2000), (64, 2000), (256, 2000)],
        "cached_n": 10000,
        "memory": (2000, 20000),
    },
    True: {
        "n": 400,
        "concurrency": [16, 64, 256],
        "repeats": 1,
        "efficiency": [(1, 40), (16, 400), (64, 400), (256, 400)],
        "cached_n": 1000,
        "memory": (400, 2000),
    },
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf engine", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small version (~1 min)")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--out", type=Path, default=REPORTS, help="report directory (default reports/perf)")
    args = ap.parse_args(argv)
    from tests.support.stub import stub_process

    plan = {**PLANS[args.quick], "latency_ms": args.latency_ms}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="judge-perf-") as tmp, stub_process(latency_ms=args.latency_ms) as (_, url):
        results = measure_all(url, args.latency_ms / 1000, Path(tmp), plan)
    report = {
        "benchmark": "engine",
        "quick": args.quick,
        "plan": plan,
        "openai_transport": openai_transport(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "duration_s": round(time.perf_counter() - t0, 1),
        **results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    # One report name for both sizes: the report says which it is (``quick``, and in the markdown's first lines).
    write_json(args.out / "engine.json", report)
    write_text(args.out / "engine.md", render_markdown(report))
    print(render_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
