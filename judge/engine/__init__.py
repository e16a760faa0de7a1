"""Stage 2, engine: judge the items of a benchmark and keep every answer.

Judge specs, prompts, the answer format and its parser, the one seam to LiteLLM (hosted models, servers, pools,
the embedded local model), the reply cache, the plan of a run (``JudgmentUnit``), the call strategies (online,
batch APIs, Ray) under the runner, the run store, response generation and the import of precomputed judgments.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judge.engine.answer import (
        answer_model as answer_model,
    )
    from judge.engine.answer import (
        multi_answer_schema as multi_answer_schema,
    )
    from judge.engine.answer import (
        single_answer_schema as single_answer_schema,
    )
    from judge.engine.cache import (
        Cache as Cache,
    )
    from judge.engine.cache import (
        CachedReply as CachedReply,
    )
    from judge.engine.cache import (
        cache_key as cache_key,
    )
    from judge.engine.client import (
        CallResult as CallResult,
    )
    from judge.engine.client import (
        call_judge as call_judge,
    )
    from judge.engine.generate import (
        GenerateConfig as GenerateConfig,
    )
    from judge.engine.generate import (
        load_posts as load_posts,
    )
    from judge.engine.generate import (
        run_generation as run_generation,
    )
    from judge.engine.imported import (
        RawOutput as RawOutput,
    )
    from judge.engine.imported import (
        import_judgments as import_judgments,
    )
    from judge.engine.imported import (
        import_judgments_to_run as import_judgments_to_run,
    )
    from judge.engine.judge_spec import (
        DEFAULT_LOCAL as DEFAULT_LOCAL,
    )
    from judge.engine.judge_spec import (
        Deployment as Deployment,
    )
    from judge.engine.judge_spec import (
        JudgeSpec as JudgeSpec,
    )
    from judge.engine.judge_spec import (
        judge_from_model as judge_from_model,
    )
    from judge.engine.judge_spec import (
        load_judges_file as load_judges_file,
    )
    from judge.engine.judge_spec import (
        resolve_judges as resolve_judges,
    )
    from judge.engine.judgment import (
        Judgment as Judgment,
    )
    from judge.engine.judgment import (
        UnscoredReason as UnscoredReason,
    )
    from judge.engine.judgment import (
        judgment_from_answer as judgment_from_answer,
    )
    from judge.engine.judgment import (
        unanswered_judgment as unanswered_judgment,
    )
    from judge.engine.parse import (
        ParsedAnswer as ParsedAnswer,
    )
    from judge.engine.parse import (
        parse_answer as parse_answer,
    )
    from judge.engine.parse import (
        parse_multi_answer as parse_multi_answer,
    )
    from judge.engine.plan import (
        JudgmentUnit as JudgmentUnit,
    )
    from judge.engine.plan import (
        RunConfig as RunConfig,
    )
    from judge.engine.plan import (
        plan_unit as plan_unit,
    )
    from judge.engine.plan import (
        plan_units as plan_units,
    )
    from judge.engine.prompt import (
        neutralise as neutralise,
    )
    from judge.engine.prompt import (
        prompt_hash as prompt_hash,
    )
    from judge.engine.prompt import (
        render_messages as render_messages,
    )
    from judge.engine.prompt import (
        render_multi_messages as render_multi_messages,
    )
    from judge.engine.runner import (
        run_judging as run_judging,
    )
    from judge.engine.store import (
        RunManifest as RunManifest,
    )
    from judge.engine.store import (
        RunStore as RunStore,
    )
    from judge.engine.store import (
        RunSummary as RunSummary,
    )
    from judge.engine.store import (
        RunTotals as RunTotals,
    )
    from judge.engine.store import (
        benchmark_content_hash as benchmark_content_hash,
    )
    from judge.engine.store import (
        check_run_benchmark as check_run_benchmark,
    )
    from judge.engine.store import (
        is_final as is_final,
    )
    from judge.engine.store import (
        iter_records as iter_records,
    )
    from judge.engine.store import (
        load_run_manifest as load_run_manifest,
    )
    from judge.engine.store import (
        load_run_scores as load_run_scores,
    )
    from judge.engine.store import (
        read_summary as read_summary,
    )
    from judge.engine.store import (
        resolve_run_benchmark as resolve_run_benchmark,
    )
    from judge.engine.store import (
        stream_records as stream_records,
    )

# name -> the module that defines it; imported on first use, so importing the stage stays cheap
_WHERE = {
    "DEFAULT_LOCAL": "judge.engine.judge_spec",
    "Deployment": "judge.engine.judge_spec",
    "judge_from_model": "judge.engine.judge_spec",
    "JudgeSpec": "judge.engine.judge_spec",
    "load_judges_file": "judge.engine.judge_spec",
    "resolve_judges": "judge.engine.judge_spec",
    "Judgment": "judge.engine.judgment",
    "judgment_from_answer": "judge.engine.judgment",
    "unanswered_judgment": "judge.engine.judgment",
    "UnscoredReason": "judge.engine.judgment",
    "JudgmentUnit": "judge.engine.plan",
    "plan_unit": "judge.engine.plan",
    "plan_units": "judge.engine.plan",
    "RunConfig": "judge.engine.plan",
    "run_judging": "judge.engine.runner",
    "Cache": "judge.engine.cache",
    "cache_key": "judge.engine.cache",
    "CachedReply": "judge.engine.cache",
    "call_judge": "judge.engine.client",
    "CallResult": "judge.engine.client",
    "benchmark_content_hash": "judge.engine.store",
    "check_run_benchmark": "judge.engine.store",
    "is_final": "judge.engine.store",
    "iter_records": "judge.engine.store",
    "resolve_run_benchmark": "judge.engine.store",
    "RunTotals": "judge.engine.store",
    "load_run_manifest": "judge.engine.store",
    "load_run_scores": "judge.engine.store",
    "read_summary": "judge.engine.store",
    "RunManifest": "judge.engine.store",
    "RunStore": "judge.engine.store",
    "RunSummary": "judge.engine.store",
    "stream_records": "judge.engine.store",
    "neutralise": "judge.engine.prompt",
    "prompt_hash": "judge.engine.prompt",
    "render_messages": "judge.engine.prompt",
    "render_multi_messages": "judge.engine.prompt",
    "parse_answer": "judge.engine.parse",
    "parse_multi_answer": "judge.engine.parse",
    "ParsedAnswer": "judge.engine.parse",
    "answer_model": "judge.engine.answer",
    "multi_answer_schema": "judge.engine.answer",
    "single_answer_schema": "judge.engine.answer",
    "GenerateConfig": "judge.engine.generate",
    "load_posts": "judge.engine.generate",
    "run_generation": "judge.engine.generate",
    "import_judgments": "judge.engine.imported",
    "import_judgments_to_run": "judge.engine.imported",
    "RawOutput": "judge.engine.imported",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
