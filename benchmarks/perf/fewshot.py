"""What few-shot exemplars cost the embedded judge per item: the exemplar block kept in llama.cpp's KV cache (as
``judge run --exemplars`` does) against the same prompts evaluated afresh, and against zero-shot prompts.

Every call is the engine's own (``LocalEngine.score_choices`` on the messages ``judge run`` plans: the compact
prompt, each item on each criterion, items in run order), timed in one process one after the other:

* ``zero-shot``: no exemplars (the system message and each item's message are cached as in a run);
* ``few-shot, prefix cached``: the exemplar message after the system message, kept in the KV cache across items;
* ``few-shot, afresh``: the same prompts with the KV cache emptied before each call (what it would cost if the
  exemplar block were evaluated with every item).

Reported: seconds per call (mean, median), prompt tokens per call, and the ratios of the few-shot modes to
zero-shot, measured in one run. Run it on quiet cores (llama.cpp slows several-fold when its threads compete)::

    python -m benchmarks.perf fewshot --benchmark bench/resort --exemplars aligned/shots.json --items 12

Without ``--benchmark`` it uses the bundled demo benchmark and, without ``--exemplars``, three of its items shown
with made-up ratings (the cost depends on the block's length, not on its ratings).
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from judge.data.benchmark import default_demo_dir, load_benchmark
from judge.data.exemplars import Exemplar, ExemplarSet
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.judge_spec import resolve_judges
from judge.engine.plan import RunConfig, plan_units
from judge.fileio import write_json, write_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "perf"


def _demo_exemplars(bench: Any, criteria: list[str]) -> ExemplarSet:
    items = list(bench.items.values())[-3:]
    shots = [Exemplar(item=it, ratings=dict.fromkeys(criteria, 3.0), raters=dict.fromkeys(criteria, 2)) for it in items]
    return ExemplarSet(benchmark="timing-fixture", criteria=criteria, exemplars=shots)


def _time_mode(engine: Any, units: list[Any], afresh: bool) -> list[tuple[float, int]]:
    from judge.engine.local.provider import choice_schema, choice_text

    out = []
    for u in units:
        if afresh:  # nothing kept: the whole prompt is evaluated again, exemplars included
            engine.llama.reset()
            engine._cached_segments = []
        t0 = time.perf_counter()
        choices = [choice_text(c) for c in choice_schema(u.response_format) or []]
        _, tokens = engine.score_choices(u.messages, choices)
        out.append((time.perf_counter() - t0, tokens))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.perf fewshot", description=__doc__)
    ap.add_argument("--benchmark", help="benchmark directory (default: the bundled demo)")
    ap.add_argument("--exemplars", help="exemplar file (judge exemplars); default: 3 demo items, made-up ratings")
    ap.add_argument("--criteria", default="alignment_with_standards,empathy")
    ap.add_argument("--items", type=int, default=12, help="items timed per mode (each on every criterion)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    from judge.engine.local.provider import load_engine

    criteria = [c for c in args.criteria.split(",") if c]
    rubrics = load_rubric_set(default_rubrics_dir(), criteria)
    bench = load_benchmark(args.benchmark or default_demo_dir(), known_criteria=None)
    shots = ExemplarSet.load(args.exemplars) if args.exemplars else _demo_exemplars(bench, criteria)
    judge = resolve_judges(["local"], None, {"temperature": 0.0, "max_tokens": 400})[0]
    reserved = set(shots.reserved_items(bench)) | {e.item.item_id for e in shots.exemplars}
    rated = set(bench.rated_item_ids()) or set(bench.items)
    ids = [i for i in bench.items if i in rated and i not in reserved][: args.items]

    def units(j: Any) -> list[Any]:
        cfg = RunConfig(benchmark=bench, rubrics=rubrics, judges=[j], out=Path("-"), item_ids=ids)
        return list(plan_units(cfg, set()))

    zero, few = units(judge), units(judge.model_copy(update={"exemplars": shots}))
    engine = load_engine(judge.model)
    _time_mode(engine, zero[:2], afresh=True)  # warm-up: first-call allocations are not the per-item cost
    modes = {
        "zero-shot": _time_mode(engine, zero, afresh=False),
        "few-shot, prefix cached": _time_mode(engine, few, afresh=False),
        "few-shot, afresh": _time_mode(engine, few, afresh=True),
    }
    res: dict[str, Any] = {
        "items": len(ids),
        "calls_per_mode": len(zero),
        "exemplars": len(shots.exemplars),
        "threads": engine.llama.n_threads if hasattr(engine.llama, "n_threads") else None,
        "modes": {},
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version()},
    }
    base = statistics.fmean(s for s, _ in modes["zero-shot"])
    for name, rows in modes.items():
        secs = [s for s, _ in rows]
        res["modes"][name] = {
            "mean_s": round(statistics.fmean(secs), 3),
            "median_s": round(statistics.median(secs), 3),
            "first_s": round(secs[0], 3),
            "prompt_tokens": round(statistics.fmean(t for _, t in rows)),
            "ratio_to_zero_shot": round(statistics.fmean(secs) / base, 2),
        }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "fewshot.json", res)
    write_text(args.out / "fewshot.md", render(res, args))
    print(render(res, args))
    return 0


def render(r: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        "# Few-shot exemplars: what they cost the embedded judge per call",
        "",
        f"{r['items']} items x {r['calls_per_mode'] // max(r['items'], 1)} criteria = {r['calls_per_mode']} calls "
        f"per mode, {r['exemplars']} exemplars, in one process one mode after the other "
        f"(`python -m benchmarks.perf fewshot{' --benchmark ...' if args.benchmark else ''}"
        f"{' --exemplars ...' if args.exemplars else ''} --items {r['items']}`).",
        "",
        "| mode | s per call (mean) | median | first call | prompt tokens | time vs zero-shot |",
        "| :--- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in r["modes"].items():
        lines.append(
            f"| {name} | {m['mean_s']:.2f} | {m['median_s']:.2f} | {m['first_s']:.2f} | {m['prompt_tokens']} | "
            f"{m['ratio_to_zero_shot']:.2f}x |"
        )
    lines += ["", f"Machine: {r['machine']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
