"""Speed of the embedded local judge models: load time, prompt and generation tokens/s, seconds per judgment.

For each local model: time to load the verified GGUF into llama.cpp, then a few judgments through the same
``LocalEngine.chat`` path the LiteLLM provider uses (state reset, seed, JSON-schema grammar from
``judge.engine.answer``). Token rates come from llama.cpp's own perf counters (prompt evaluation and
generation are timed separately inside the library); seconds per judgment is wall time per call.

The machine is often shared: the report records the load average before and after, read the numbers with it.

Run: ``python -m benchmarks.perf.local_models [--models qwen2.5-1.5b ...] [--judgments 3]``
-> ``reports/perf/local_models.json`` and ``.md``.

Two ways to judge an item on the four RESORT criteria are timed side by side, with the engine's real prompts
(``judge.engine.prompt``): ``one_call_per_criterion`` (four calls, in the runner's criterion-major order so each
criterion's system prompt is evaluated once) and ``all_criteria_in_one_call`` (one call whose answer holds every
criterion). Reported per item: seconds and prompt/generated tokens.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judge.data.benchmark import Item, default_demo_dir, load_benchmark
from judge.data.rubric import Rubric, default_rubrics_dir, load_rubric_set
from judge.engine.answer import multi_answer_schema, single_answer_schema
from judge.engine.local.models import MODELS, get_model, model_path
from judge.engine.local.provider import LocalEngine, default_threads, llama_response_format, load_engine
from judge.engine.prompt import render_messages, render_multi_messages
from judge.fileio import write_json, write_text

OUT = Path(__file__).resolve().parents[2] / "reports" / "perf"
MAX_TOKENS = 128

MAX_TOKENS = 400
DEMO_ITEMS = 3  # items of the bundled demo benchmark per model and variant

Messages = list[dict[str, str]]
Call = tuple[Messages, dict[str, Any]]
Variant = Callable[[list[Rubric], list[Item]], list[Call]]


def one_call_per_criterion(rubrics: list[Rubric], items: list[Item]) -> list[Call]:
    """Four calls per item, criterion-major (as ``judge run`` orders them)."""
    return [(render_messages(r, it)[0], single_answer_schema(r)) for r in rubrics for it in items]


def all_criteria_in_one_call(rubrics: list[Rubric], items: list[Item]) -> list[Call]:
    """One call per item answering every criterion."""
    return [(render_multi_messages(rubrics, it)[0], multi_answer_schema(rubrics)) for it in items]


VARIANTS: dict[str, Variant] = {
    "one_call_per_criterion": one_call_per_criterion,
    "all_criteria_in_one_call": all_criteria_in_one_call,
}


def _perf(engine: LocalEngine) -> Any:
    import llama_cpp

    return llama_cpp.llama_perf_context(engine.llama._ctx.ctx)


def _reset_perf(engine: LocalEngine) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(engine.llama._ctx.ctx)


def time_variant(engine: LocalEngine, rubrics: list[Rubric], items: list[Item], variant: Variant) -> dict[str, Any]:
    """Judge ``items`` on every rubric the variant's way; seconds and tokens per item, llama.cpp token rates."""
    from judge.engine import judge_from_model
    from judge.engine.client import response_format_for

    spec = judge_from_model("local")

    p_tokens = p_ms = g_tokens = g_ms = 0.0
    answers: list[str] = []
    engine.llama.reset()  # the first call of each variant pays for its system prompt, as a new run would
    start = time.perf_counter()
    for messages, schema in variant(rubrics, items):
        _reset_perf(engine)
        out = engine.chat(
            messages,
            temperature=0.0,
            seed=0,
            max_tokens=MAX_TOKENS,
            response_format=llama_response_format(response_format_for(spec, schema, "answer")),
        )
        perf = _perf(engine)
        p_tokens += perf.n_p_eval
        p_ms += perf.t_p_eval_ms
        g_tokens += perf.n_eval
        g_ms += perf.t_eval_ms
        answers.append(out["choices"][0]["message"]["content"])
    wall = time.perf_counter() - start
    n = len(items)
    return {
        "items": n,
        "calls": len(answers),
        "seconds_per_item": wall / n,
        "prompt_tokens_per_s": p_tokens / (p_ms / 1000) if p_ms else None,
        "generation_tokens_per_s": g_tokens / (g_ms / 1000) if g_ms else None,
        "prompt_tokens_evaluated_per_item": p_tokens / n,
        "generated_tokens_per_item": g_tokens / n,
        "answers": answers,
    }


def _compact_messages(rubrics: list[Rubric], item: Item) -> list[tuple[Messages, list[str]]]:
    from judge.engine.local.provider import choice_text
    from judge.engine.prompt import render_compact_messages

    return [
        (render_compact_messages(r, item, criteria=rubrics)[0], [choice_text(c) for c in r.answer_choices()])
        for r in rubrics
    ]


def _to_system_only(engine: LocalEngine) -> None:
    """Forget everything but the system message (which every call of a run shares)."""
    engine._cached_segments = engine._cached_segments[:1]


def time_compact(engine: LocalEngine, rubrics: list[Rubric], items: list[Item]) -> dict[str, Any]:
    """The embedded judge as ``judge run`` uses it: compact prompts, every answer's probability read at once.

    Per item, three timings from the same state (the system message evaluated, nothing of the item):
    ``prompt_once`` evaluates the item's prompt for one criterion; ``branching`` judges every criterion, the
    item evaluated once and each criterion branching from it; ``no_branching`` judges every criterion with the
    item evaluated again for each. The issue's goal: branching <= 1.5 x prompt_once.
    """
    engine.llama.reset()
    engine._cached_segments = []
    first = _compact_messages(rubrics, items[0])[0]
    engine.score_choices(*first)  # the system message, once per process as in a run
    once = branching = no_branching = 0.0
    p_tokens = p_ms = 0.0
    for item in items:
        calls = _compact_messages(rubrics, item)
        _to_system_only(engine)
        t = time.perf_counter()
        engine.score_choices(*calls[0])
        once += time.perf_counter() - t
        _to_system_only(engine)
        _reset_perf(engine)
        t = time.perf_counter()
        for msgs, choices in calls:
            engine.score_choices(msgs, choices)
        branching += time.perf_counter() - t
        perf = _perf(engine)
        p_tokens += perf.n_p_eval
        p_ms += perf.t_p_eval_ms
        t = time.perf_counter()
        for msgs, choices in calls:
            _to_system_only(engine)
            engine.score_choices(msgs, choices)
        no_branching += time.perf_counter() - t
    n = len(items)
    return {
        "items": n,
        "calls": n * len(rubrics),
        "seconds_per_item": branching / n,
        "prompt_once_seconds_per_item": once / n,
        "no_branching_seconds_per_item": no_branching / n,
        "branching_over_prompt_once": branching / once if once else None,
        "no_branching_over_prompt_once": no_branching / once if once else None,
        "prompt_tokens_per_s": p_tokens / (p_ms / 1000) if p_ms else None,
        "generation_tokens_per_s": None,
        "prompt_tokens_evaluated_per_item": p_tokens / n,
        "generated_tokens_per_item": 0.0,
    }


def bench_model(name: str) -> dict[str, Any]:
    start = time.perf_counter()
    path = model_path(name)  # assembles + verifies on first use; instant when the stamp matches
    prepare_s = time.perf_counter() - start
    engine = load_engine(name)
    rubrics = list(load_rubric_set(default_rubrics_dir()).values())
    items = list(load_benchmark(default_demo_dir()).items.values())[:DEMO_ITEMS]
    return {
        "model": f"local/{name}",
        "file": str(path),
        "size_bytes": get_model(name).size,
        "prepare_seconds": prepare_s,
        "load_seconds": engine.load_seconds,
        "variants": {
            "compact_branching (judge run's way)": time_compact(engine, rubrics, items),
            **{v: time_variant(engine, rubrics, items, fn) for v, fn in VARIANTS.items()},
        },
    }


def render_md(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        "# Embedded local judge models: speed",
        "",
        "Generated by `python -m benchmarks.perf.local_models`; do not edit by hand.",
        "",
        f"Machine: {env['cpu_count']} cores, n_threads={env['n_threads']}, {env['platform']}; "
        f"llama-cpp-python {env['llama_cpp']}. Load average before/after: {env['loadavg_before']} / "
        f"{env['loadavg_after']} (a shared machine slows every number below).",
        f"Items: the first {DEMO_ITEMS} of the bundled demo, all four RESORT criteria, the engine's prompts and "
        f"JSON-schema grammars, temperature 0, max_tokens {MAX_TOKENS}. Prompt tokens count only those evaluated "
        "(a criterion's system prompt is evaluated once and reused).",
        "",
        "| model | load (s) | variant | calls / item | s / item | prompt tok evaluated / item | generated tok / item "
        "| prompt tok/s | generation tok/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        for v, r in m["variants"].items():
            gen = r["generation_tokens_per_s"]
            lines.append(
                f"| `{m['model']}` | {m['load_seconds']:.1f} | {v} | {r['calls'] / r['items']:.0f} | "
                f"{r['seconds_per_item']:.1f} | {r['prompt_tokens_evaluated_per_item']:.0f} | "
                f"{r['generated_tokens_per_item']:.0f} | {r['prompt_tokens_per_s']:.0f} | "
                f"{'-' if gen is None else f'{gen:.1f}'} |"
            )
    lines += ["", "Compact prompts, every criterion of an item (the issue's goal: at most 1.5 x one prompt):", ""]
    for m in report["models"]:
        for r in m["variants"].values():
            if r.get("branching_over_prompt_once") is not None:
                lines.append(
                    f"- `{m['model']}`: one criterion's prompt {r['prompt_once_seconds_per_item']:.2f} s; all "
                    f"{r['calls'] // r['items']} criteria branching from the item {r['seconds_per_item']:.2f} s "
                    f"(**{r['branching_over_prompt_once']:.2f}x**); the item evaluated again per criterion "
                    f"{r['no_branching_seconds_per_item']:.2f} s ({r['no_branching_over_prompt_once']:.2f}x)."
                )
    lines += ["", "Load time is from a verified file already in the cache (assembly is a one-off, ~10 s).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import llama_cpp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), help="models to time (default: all)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    before = os.getloadavg()
    models = [bench_model(get_model(n).name) for n in args.models]
    report = {
        "environment": {
            "cpu_count": os.cpu_count(),
            "n_threads": default_threads(),
            "platform": platform.platform(),
            "llama_cpp": llama_cpp.__version__,
            "loadavg_before": [round(x, 2) for x in before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "models": models,
    }
    write_json(args.out / "local_models.json", report)
    write_text(args.out / "local_models.md", render_md(report))
    print(render_md(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
