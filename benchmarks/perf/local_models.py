"""Speed of the embedded local judge models: load time, prompt and generation tokens/s, seconds per judgment.

For each local model: time to load the verified GGUF into llama.cpp, then a few judgments through the same
``LocalEngine.chat`` path the LiteLLM provider uses (state reset, seed, JSON-schema grammar from
``Rubric.answer_schema()``). Token rates come from llama.cpp's own perf counters (prompt evaluation and
generation are timed separately inside the library); seconds per judgment is wall time per call.

The machine is often shared: the report records the load average before and after, read the numbers with it.

Run: ``python -m benchmarks.perf.local_models [--models qwen2.5-1.5b ...] [--judgments 3]``
-> ``reports/perf/local_models.json`` and ``.md``.

Hook for prompt strategies: ``VARIANTS`` maps a name to a function building the chat messages of one judgment.
Only ``one_call_per_criterion`` exists today; ``all_criteria_in_one_call`` is to be added once ``judge.prompt``
exists (it renders every criterion into one request and its answer schema holds one score per criterion). Add
it to ``VARIANTS`` and the benchmark times both, side by side.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judge.fileio import write_json, write_text
from judge.local.models import MODELS, get_model, model_path
from judge.local.provider import LocalEngine, default_threads, llama_response_format, load_engine
from judge.rubric import Rubric, default_rubrics_dir, load_rubric

OUT = Path(__file__).resolve().parents[2] / "reports" / "perf"
MAX_TOKENS = 128

# Original example posts and replies (not from any dataset).
ITEMS = [
    (
        "I moved to a new city for work and I haven't made a single friend in four months. Weekends are the worst.",
        "Four months without a friend in a new place sounds lonely, and weekends can make it sharper. That is a "
        "common stage after a move, not a sign that something is wrong with you.",
    ),
    (
        "My sister forgot my birthday again. I know it's small but it made me feel invisible.",
        "Just get over it, birthdays are for kids.",
    ),
    (
        "I froze during my presentation today and everyone saw it. I want to quit.",
        "Freezing in front of people feels awful in the moment. Many speakers have done it once and recovered; "
        "it may feel bigger to you than it looked to them.",
    ),
]

Messages = list[dict[str, str]]
Variant = Callable[[Rubric, str, str], tuple[Messages, dict[str, Any]]]


def one_call_per_criterion(rubric: Rubric, post: str, reply: str) -> tuple[Messages, dict[str, Any]]:
    """One request scoring one criterion (a stand-in prompt until ``judge.prompt`` exists)."""
    scale = "\n".join(f"{p.label}: {p.anchor}" for p in rubric.scale)
    system = (
        "You are a clinical psychologist rating a reply to a distressed person's post.\n"
        f"Criterion: {rubric.title}. {rubric.question}\n{rubric.guidance}\nScale:\n{scale}\n"
        f'Answer with JSON: {{"rationale": "<at most {rubric.answer.rationale_words} words>", '
        f'"{rubric.answer.field}": <score>}}.'
    )
    user = f"Post:\n{post}\n\nReply:\n{reply}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], rubric.answer_schema()


VARIANTS: dict[str, Variant] = {"one_call_per_criterion": one_call_per_criterion}


def _perf(engine: LocalEngine) -> Any:
    import llama_cpp

    return llama_cpp.llama_perf_context(engine.llama._ctx.ctx)


def _reset_perf(engine: LocalEngine) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(engine.llama._ctx.ctx)


def time_judgments(engine: LocalEngine, rubric: Rubric, variant: Variant, n: int) -> dict[str, Any]:
    """Run ``n`` judgments; wall seconds each, plus llama.cpp's prompt and generation token rates."""
    walls: list[float] = []
    p_tokens = p_ms = g_tokens = g_ms = 0.0
    answers: list[str] = []
    for i in range(n):
        post, reply = ITEMS[i % len(ITEMS)]
        messages, schema = variant(rubric, post, reply)
        _reset_perf(engine)
        start = time.perf_counter()
        out = engine.chat(
            messages,
            temperature=0.0,
            seed=1,
            max_tokens=MAX_TOKENS,
            response_format=llama_response_format({"type": "json_object", "schema": schema}),
        )
        walls.append(time.perf_counter() - start)
        perf = _perf(engine)
        p_tokens += perf.n_p_eval
        p_ms += perf.t_p_eval_ms
        g_tokens += perf.n_eval
        g_ms += perf.t_eval_ms
        answers.append(out["choices"][0]["message"]["content"])
    return {
        "judgments": n,
        "seconds_per_judgment": statistics.mean(walls),
        "seconds_each": [round(w, 2) for w in walls],
        "prompt_tokens_per_s": p_tokens / (p_ms / 1000) if p_ms else None,
        "generation_tokens_per_s": g_tokens / (g_ms / 1000) if g_ms else None,
        "mean_prompt_tokens": p_tokens / n,
        "mean_generated_tokens": g_tokens / n,
        "answers": answers,
    }


def bench_model(name: str, n: int) -> dict[str, Any]:
    start = time.perf_counter()
    path = model_path(name)  # assembles + verifies on first use; instant when the stamp matches
    prepare_s = time.perf_counter() - start
    engine = load_engine(name)
    rubric = _rubric()
    return {
        "model": f"local/{name}",
        "file": str(path),
        "size_bytes": get_model(name).size,
        "prepare_seconds": prepare_s,
        "load_seconds": engine.load_seconds,
        "variants": {v: time_judgments(engine, rubric, fn, n) for v, fn in VARIANTS.items()},
    }


def _rubric() -> Rubric:
    return load_rubric(default_rubrics_dir() / "empathy.yaml")


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
        f"Judgment: criterion `empathy`, JSON-schema grammar from `Rubric.answer_schema()`, temperature 0, "
        f"max_tokens {MAX_TOKENS}, state reset before each call.",
        "",
        "| model | load (s) | variant | prompt tok/s | generation tok/s | s / judgment | prompt tok | gen tok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        for v, r in m["variants"].items():
            lines.append(
                f"| `{m['model']}` | {m['load_seconds']:.1f} | {v} | {r['prompt_tokens_per_s']:.0f} | "
                f"{r['generation_tokens_per_s']:.1f} | {r['seconds_per_judgment']:.1f} | "
                f"{r['mean_prompt_tokens']:.0f} | {r['mean_generated_tokens']:.0f} |"
            )
    lines += ["", "Load time is from a verified file already in the cache (assembly is a one-off, ~10 s).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import llama_cpp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), help="models to time (default: all)")
    ap.add_argument("--judgments", type=int, default=3, help="judgments per model and variant")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    before = os.getloadavg()
    models = [bench_model(get_model(n).name, args.judgments) for n in args.models]
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
