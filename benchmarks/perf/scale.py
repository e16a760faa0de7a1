"""Scale-out throughput on this machine: llama.cpp pool vs one server, Ray vs one process, batch mode.

* **pool**: one ``llama_cpp.server`` with ``--n_threads 2`` vs a pool of two with ``--n_threads 1`` each (same total
  threads), the 0.5B embedded model, criterion ``empathy``, concurrency 2.
* **ray**: a single-process run vs a 2-CPU local Ray cluster on the loopback stub (fixed latency per call).
* **batch**: batch mode on the stub's files/batches endpoints (the time is the poll interval, not compute).

Usage: ``python -m benchmarks.perf.scale [--items N] [--skip-llama]``
-> ``reports/perf/scale.json`` and ``.md``. Fresh caches every time: every number is of real calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from judge.data.benchmark import load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.judge_spec import Deployment, JudgeSpec
from judge.engine.runner import RunConfig, run_judging
from tests.support.batch_stub import add_batch_routes
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "perf"
DEMO = ROOT / "datasets" / "demo"


def _run(tmp: Path, name: str, judge: JudgeSpec, criteria: list[str] | None, **kw: Any) -> dict[str, Any]:
    bench = load_benchmark(DEMO)
    cfg = RunConfig(
        benchmark=bench,
        rubrics=load_rubric_set(default_rubrics_dir(), criteria),
        judges=[judge],
        out=tmp / name,
        cache_dir=tmp / f"cache-{name}",
        progress=False,
        **kw,
    )
    t0 = time.perf_counter()
    s = run_judging(cfg)
    wall = time.perf_counter() - t0
    return {
        "name": name,
        "judgments": s.judgments,
        "scored": s.scored,
        "unscored": s.unscored,
        "model_calls": s.model_calls,
        "wall_s": round(wall, 3),
        "judgments_per_s": round(s.judgments / wall, 3),
    }


# -- llama.cpp: one server vs a pool of two ------------------------------------------------------------------------


def bench_pool(tmp: Path, items: int) -> list[dict[str, Any]]:
    from judge.engine.local.models import model_path
    from judge.engine.local.server import start_server, wait_ready

    model = model_path("qwen2.5-0.5b")
    params = {"temperature": 0.0, "max_tokens": 120}
    results = []
    for label, threads in (("one server, n_threads=2", [2]), ("pool of two, n_threads=1+1", [1, 1])):
        ports = [18431 + n for n in range(len(threads))]
        procs = [start_server(model, p, threads=t) for p, t in zip(ports, threads, strict=True)]
        try:
            for p, proc in zip(ports, procs, strict=True):
                wait_ready(p, proc)
            bases = [f"http://127.0.0.1:{p}/v1" for p in ports]
            if len(bases) == 1:
                spec = JudgeSpec(name="llama", model="openai/qwen2.5-0.5b", api_base=bases[0], params=params)
            else:
                spec = JudgeSpec(
                    name="llama",
                    model="openai/qwen2.5-0.5b",
                    params=params,
                    deployments=[Deployment(api_base=b) for b in bases],
                )
            r = _run(
                tmp, f"pool{len(bases)}", spec, ["empathy"], item_ids=_ids(items), concurrency=2, max_post_chars=1500
            )
            results.append({**r, "name": label})
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
    return results


def _ids(n: int) -> list[str]:
    return list(load_benchmark(DEMO).items)[:n]


# -- loopback stub: one process vs Ray; batch mode -------------------------------------------------------------------


def bench_ray(tmp: Path, latency_s: float, samples: int) -> list[dict[str, Any]]:
    import ray

    results = []
    with StubServer(latency_s=latency_s) as url:
        spec = JudgeSpec(name="stub", model="openai/stub-judge", api_base=url, timeout=30.0)
        results.append(_run(tmp, "single process", spec, None, samples=samples, concurrency=8))
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        start = time.perf_counter() - t0
        try:
            r = _run(tmp, "ray, 2 workers", spec, None, samples=samples, concurrency=8, ray_address="auto")
        finally:
            ray.shutdown()
        results.append({**r, "ray_init_s": round(start, 2)})
    return results


def bench_batch(tmp: Path, samples: int, poll_s: float) -> dict[str, Any]:
    stub = StubServer()
    add_batch_routes(stub, complete_after=2)
    with stub as url:
        spec = JudgeSpec(name="stub", model="openai/stub-judge", api_base=url, timeout=30.0)
        r = _run(tmp, "batch", spec, None, samples=samples, batch_poll_s=poll_s)
    return {**r, "name": f"batch mode (poll {poll_s}s, stub completes on the 2nd poll)"}


def _load(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def render_md(report: dict[str, Any]) -> str:
    lines = [
        "# Scale-out throughput",
        "",
        "Generated by `python -m benchmarks.perf.scale`; do not edit by hand.",
        "",
        f"Machine: {report['machine']['cpus']} cores (shared), {report['machine']['platform']}. "
        f"Load average before/after: {_load(report['machine']['load_before'])} / "
        f"{_load(report['machine']['load_after'])} (other workers share the cores: every number is noisy).",
        "",
        "| setup | judgments | scored | model calls | wall (s) | judgments/s | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for section in ("pool", "ray", "batch"):
        for r in report.get(section) or []:
            note = f"ray.init {r['ray_init_s']} s (not in wall)" if "ray_init_s" in r else ""
            lines.append(
                f"| {r['name']} | {r['judgments']} | {r['scored']} | {r['model_calls']} | {r['wall_s']} | "
                f"{r['judgments_per_s']} | {note} |"
            )
    lines += ["", *report["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf.scale")
    ap.add_argument("--items", type=int, default=4, help="items for the llama.cpp comparison (empathy only)")
    ap.add_argument("--samples", type=int, default=5, help="samples per judgment on the stub (12 items x 4 criteria)")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="stub latency per call")
    ap.add_argument("--skip-llama", action="store_true")
    args = ap.parse_args(argv)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_before": os.getloadavg()},
        "notes": [
            "- pool: the 0.5B embedded model behind `python -m llama_cpp.server`, criterion empathy, concurrency 2, "
            "posts cut to 1500 characters, max_tokens 120.",
            f"- ray/single process: loopback stub with {args.latency_ms} ms per call, concurrency 8 (per Ray task), "
            "fresh caches; Ray's wall time includes task start-up but not `ray.init`.",
            "- batch: the wall time is the polling schedule of the stub, not throughput a provider would give "
            "(real batch APIs finish within their completion window, typically minutes to hours).",
        ],
    }
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_llama:
            report["pool"] = bench_pool(tmp, args.items)
        report["ray"] = bench_ray(tmp, args.latency_ms / 1000, args.samples)
        report["batch"] = [bench_batch(tmp, args.samples, 0.2)]
    report["machine"]["load_after"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    (OUT / "scale.md").write_text(render_md(report))
    print(render_md(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
