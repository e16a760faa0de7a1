"""Stage 2, engine: judge the items of a benchmark and keep every answer.

Judge specs, prompts, the answer format and its parser, the one seam to LiteLLM (hosted models, servers, pools,
the embedded local model), the reply cache, the judge tasks (``task``: what a unit is; absolute scoring's
``JudgmentUnit`` in ``plan``, pairwise in ``pairwise``), the call strategies (online, batch APIs, Ray) under the
runner, the run store, response generation and the import of precomputed judgments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from judge.lazy import load_attribute

if TYPE_CHECKING:
    from judge.engine.answer import (
        answer_model as answer_model,
        multi_answer_schema as multi_answer_schema,
        single_answer_schema as single_answer_schema,
    )
    from judge.engine.cache import (
        Cache as Cache,
        CachedReply as CachedReply,
        cache_key as cache_key,
    )
    from judge.engine.client import (
        CallResult as CallResult,
        call_judge as call_judge,
    )
    from judge.engine.generate import (
        GenerateConfig as GenerateConfig,
        load_posts as load_posts,
        run_generation as run_generation,
    )
    from judge.engine.imported import (
        RawOutput as RawOutput,
        import_judgments as import_judgments,
        import_judgments_to_run as import_judgments_to_run,
        write_import as write_import,
        write_imported_run as write_imported_run,
    )
    from judge.engine.judge_spec import (
        DEFAULT_LOCAL as DEFAULT_LOCAL,
        Deployment as Deployment,
        JudgeSpec as JudgeSpec,
        judge_from_model as judge_from_model,
        load_judges_file as load_judges_file,
        resolve_judges as resolve_judges,
    )
    from judge.engine.judgment import (
        Judgment as Judgment,
        UnscoredReason as UnscoredReason,
        judgment_from_answer as judgment_from_answer,
        unanswered_judgment as unanswered_judgment,
    )
    from judge.engine.pairwise import (
        PairJudgment as PairJudgment,
        PairPlan as PairPlan,
        PairwiseTask as PairwiseTask,
    )
    from judge.engine.parse import (
        ParsedAnswer as ParsedAnswer,
        parse_answer as parse_answer,
        parse_multi_answer as parse_multi_answer,
    )
    from judge.engine.plan import (
        JudgmentUnit as JudgmentUnit,
        RunConfig as RunConfig,
        plan_unit as plan_unit,
        plan_units as plan_units,
    )
    from judge.engine.prompt import (
        framing_of as framing_of,
        neutralise as neutralise,
        prompt_hash as prompt_hash,
        render_messages as render_messages,
        render_multi_messages as render_multi_messages,
    )
    from judge.engine.runner import (
        run_judging as run_judging,
    )
    from judge.engine.score_task import ScoreTask as ScoreTask
    from judge.engine.store import (
        RunManifest as RunManifest,
        RunStore as RunStore,
        RunSummary as RunSummary,
        RunTotals as RunTotals,
        benchmark_content_hash as benchmark_content_hash,
        check_run_benchmark as check_run_benchmark,
        is_final as is_final,
        iter_records as iter_records,
        iter_task_records as iter_task_records,
        load_run_manifest as load_run_manifest,
        load_run_scores as load_run_scores,
        read_summary as read_summary,
        resolve_run_benchmark as resolve_run_benchmark,
        stream_records as stream_records,
        stream_task_records as stream_task_records,
    )
    from judge.engine.task import (
        JudgeTask as JudgeTask,
        TaskRecord as TaskRecord,
        TaskUnit as TaskUnit,
        get_task as get_task,
        register_task as register_task,
        task_names as task_names,
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
    "write_import": "judge.engine.imported",
    "write_imported_run": "judge.engine.imported",
    "framing_of": "judge.engine.prompt",
    "RawOutput": "judge.engine.imported",
    "ScoreTask": "judge.engine.score_task",
    "PairJudgment": "judge.engine.pairwise",
    "PairPlan": "judge.engine.pairwise",
    "PairwiseTask": "judge.engine.pairwise",
    "JudgeTask": "judge.engine.task",
    "TaskRecord": "judge.engine.task",
    "TaskUnit": "judge.engine.task",
    "get_task": "judge.engine.task",
    "register_task": "judge.engine.task",
    "task_names": "judge.engine.task",
    "stream_task_records": "judge.engine.store",
    "iter_task_records": "judge.engine.store",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    return load_attribute(__name__, _WHERE, name)
