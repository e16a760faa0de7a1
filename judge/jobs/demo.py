"""The main job on one machine: score the bundled demo with the embedded local judge and write a report.

``run_demo`` = ``judge run`` (local judge, resumable, cached) + ``judge leaderboard`` on the judge's scores
(+ ``judge agree`` when the benchmark carries expert ratings) + ``judge view`` (every judgment, linked from the
leaderboard), written to ``reports/demo/`` by default.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.analysis.agreement import AgreementReport, agreement_report
from judge.analysis.leaderboard import Leaderboard, system_leaderboard
from judge.data.benchmark import default_demo_dir, load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.engine.judge_spec import JudgeSpec, resolve_judges
from judge.engine.runner import RunConfig, run_judging
from judge.engine.store import RunSummary, load_run_scores
from judge.errors import RunIncomplete
from judge.report import system_report, write_report
from judge.report.items import build_item_view
from judge.report.viewer import VIEWER_FILE, write_viewer

# The bundled demo is judged on these two criteria unless --criteria says otherwise: its three systems differ most
# on them, and two criteria keep the first run (empty cache, embedded model on 2 cores) within about 3 minutes.
DEMO_CRITERIA = ["alignment_with_standards", "empathy"]


@dataclass
class DemoResult:
    summary: RunSummary
    leaderboard: Leaderboard
    files: dict[str, Path]
    agreement: AgreementReport | None = None
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower() or "judge"


def run_demo(
    *,
    judge: str = "local",
    api_base: str | None = None,
    benchmark: str | Path | None = None,
    rubrics: str | Path | None = None,
    criteria: list[str] | None = None,
    out: str | Path = "reports/demo",
    limit: int | None = None,
    cache_dir: Path | None = None,
    concurrency: int = 4,
    progress: bool | None = None,
    command: list[str] | None = None,
    announce: Callable[[str], None] | None = None,
) -> DemoResult:
    """Judge a benchmark (default: the bundled demo, on ``DEMO_CRITERIA``) and write a leaderboard report under
    ``out``.

    The run itself goes to ``out/runs/<judge>/`` and is resumed (or served from the cache) when run again.
    ``announce`` is told, before any judging, what will be judged (one line for the user).
    """
    t0 = time.monotonic()
    if criteria is None and benchmark is None and rubrics is None:
        criteria = DEMO_CRITERIA
    rubric_set = load_rubric_set(rubrics or default_rubrics_dir(), criteria)
    bench = load_benchmark(benchmark or default_demo_dir())
    judges = resolve_judges([judge], api_base, {"temperature": 0.0, "max_tokens": 400})
    spec = judges[0]
    out = Path(out)
    run_dir = out / "runs" / slug(spec.name)
    ids = bench.rated_item_ids() if bench.ratings else list(bench.items)
    ids = ids[:limit] if limit is not None else ids
    if announce is not None:
        announce(plan_line(bench, ids, list(rubric_set), spec))
    cfg = RunConfig(
        benchmark=bench,
        rubrics=rubric_set,
        judges=judges,
        out=run_dir,
        concurrency=concurrency,
        cache_dir=cache_dir,
        item_ids=ids,
        progress=progress,
        command=command or ["judge", "demo"],
    )
    summary = run_judging(cfg)
    scores = load_run_scores(run_dir).get(spec.name, {})
    if summary.problems and not any(s is not None for by_item in scores.values() for s in by_item.values()):
        # Nothing to rank: say why (a provider failure is exit 1, not bad input), and keep what was recorded.
        raise RunIncomplete("; ".join(summary.problems) + f"; the records are in {run_dir}: run again to retry")
    board = system_leaderboard(bench, rubric_set, scores, judge=spec.name, command=" ".join(cfg.command))
    board.notes.insert(0, judge_note(spec))
    viewer = write_viewer(build_item_view(bench, rubric_set, [run_dir]), out / VIEWER_FILE)
    # links the viewer, and each system to its items there (sorted by disagreement with experts only if there are any)
    report = system_report(board, viewer=VIEWER_FILE, experts=bool(bench.ratings))
    files = write_report(board, out, ("md", "html", "json", "csv"), report=report)
    files["viewer"] = viewer
    agreement = None
    if bench.ratings:
        agreement = agreement_report(bench, rubric_set, judges={spec.name: scores})
        from judge.fileio import write_json, write_text
        from judge.report.agreement import render_agreement_table

        write_json(out / "agreement.json", agreement.model_dump(mode="json"))
        write_text(out / "agreement.txt", render_agreement_table(agreement) + "\n")
        files["agreement"] = out / "agreement.json"
    return DemoResult(
        summary=summary, leaderboard=board, files=files, agreement=agreement, wall_s=time.monotonic() - t0
    )


VALIDITY_REPORT = "reports/validity/validity.md"


def judge_note(spec: JudgeSpec) -> str:
    """What scored the report, and where that judge's agreement with experts is measured."""
    how = (
        f"{'compact score-only' if spec.compact_prompt else 'standard'} prompts, "
        f"{'expected scores from its token probabilities' if spec.expected_scores else 'the values it answered'}"
    )
    if spec.is_local:
        from judge.engine.local.models import get_model

        model = get_model(spec.model)
        return (
            f"Scored by the embedded judge {spec.model} ({model.description}; {how}). A 1.5B model is far from a "
            f"psychologist: its agreement with RESORT's clinical psychologists, beside GPT-4's and chance, is measured "
            f"in {VALIDITY_REPORT} (python -m benchmarks.validity). Read these scores as a demonstration of the tool."
        )
    return (
        f"Scored by {spec.name} ({spec.model}; {how}). Its agreement with experts is not measured by this report: "
        "run judge agree on an expert-rated benchmark before trusting it."
    )


def plan_line(bench: Any, ids: list[str], criteria: list[str], spec: JudgeSpec) -> str:
    """What the demo is about to judge, and with what (said before the first judgment)."""
    systems = len({bench.items[i].system_name for i in ids})
    posts = len({bench.items[i].post_id for i in ids})
    n = len(ids) * len(criteria)
    line = (
        f"judge demo: {len(ids)} items ({posts} posts x {systems} systems) x {len(criteria)} criteria "
        f"({', '.join(criteria)}) = {n} judgments by {spec.name}"
    )
    if spec.is_local:
        from judge.engine.local.models import get_model, model_status

        state = model_status(get_model(spec.model)).state
        if state.startswith("installed"):  # not assembled yet: the one-off step that takes a while
            line += "; first the model is assembled from its installed packages (a one-off, about 10 s)"
    return line


def judge_line(spec_name: str, s: RunSummary, wall_s: float) -> str:
    """One line on the judge: calls, unscored, cost and time (or that every answer came from the cache)."""
    unscored = sum(s.unscored.values())
    reasons = ", ".join(f"{k} {v}" for k, v in s.unscored.items())
    head = f"judge {spec_name}: {s.judgments} judgments, {unscored} unscored{f' ({reasons})' if reasons else ''}"
    if not s.model_calls:
        return f"{head}, every answer from the cache (no model call), {wall_s:.0f} s"
    per = f"{s.wall_s / max(s.model_calls, 1):.1f} s per call"
    return f"{head}, {s.model_calls} model calls, {s.cache_hits} cache hits, cost {s.cost}, {wall_s:.0f} s ({per})"


def result_json(r: DemoResult) -> dict[str, Any]:
    return {
        "run": r.summary.model_dump(mode="json"),
        "files": {k: str(v) for k, v in r.files.items()},
        "leaderboard": r.leaderboard.model_dump(mode="json"),
        "agreement": r.agreement.model_dump(mode="json") if r.agreement else None,
        "wall_s": round(r.wall_s, 2),
    }
