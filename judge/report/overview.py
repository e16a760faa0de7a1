"""``judge show RUN``: a run summed up for a terminal: counts, unscored by reason, cost, judges, rubric versions and
the largest disagreements (judge vs experts, judge vs judge, or between one judge's samples).

Counts come from the run's records (the truth, even for a run that was interrupted); calls, cache hits, tokens,
cost and time from its ``summary.json`` (what the engine counted while calling).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

from judge.engine.store import IMPORTED_COST, load_run_manifest, read_summary
from judge.errors import UsageError
from judge.report.items import DISAGREEMENTS, Disagreement, ItemView, Row, largest
from judge.report.text import wrap_lines
from judge.terminal import fit, output_width, visible


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JudgeLine(_Model):
    label: str
    model: str
    judgments: int
    scored: int
    unscored: dict[str, int]
    cost: str = Field(description="From summary.json; '' when the run has none.")


class RubricLine(_Model):
    criterion: str
    used: str = Field(description="The rubric the run was scored with (name@version#hash).")
    loaded: str = Field(description="The rubric loaded now; differs from ``used`` when the rubric changed since.")
    aggregation: str


class DisagreementLine(_Model):
    item: str
    criterion: str
    system: str
    value: float = Field(description="The disagreement relative to the criterion's scale (0-1).")
    judges: dict[str, float | None] = Field(description="Judge label -> aggregated score.")
    samples: dict[str, list[float | None]] = Field(default_factory=dict, description="For 'samples': the scores.")
    experts: list[float] = Field(default_factory=list)
    expert_mean: float | None = None
    rationale: str = Field(default="", description="The first rationale of the judge that disagrees most.")


class RunOverview(_Model):
    run: str
    source: str
    created_at: str
    command: str
    benchmark: str
    benchmark_items: int | None
    items_judged: int
    judgments: int
    scored: int
    unscored: dict[str, int]
    cost: str
    calls: str
    judges: list[JudgeLine]
    rubrics: list[RubricLine]
    disagreement: str | None = Field(description="What the disagreements rank: experts, judges or samples.")
    disagreements: list[DisagreementLine]
    notes: list[str] = Field(default_factory=list)


def _cost(summary: dict[str, Any] | None, judge: str | None = None) -> str:
    if summary is None:
        return ""
    part = summary if judge is None else summary.get("per_judge", {}).get(judge, {})
    if isinstance(part.get("cost"), str) and part["cost"]:
        return str(part["cost"])  # the engine's own wording ('unpriced', 'free (local)')
    usd = part.get("cost_usd")
    return f"${usd:.4f}" if isinstance(usd, int | float) else ""


def _pick(view: ItemView, by: str | None) -> Disagreement | None:
    """The disagreement asked for, or the most telling one the run supports: experts, then judges, then samples."""
    if by is not None:
        if by not in DISAGREEMENTS:
            raise UsageError(f"--by {by!r}: expected one of {', '.join(DISAGREEMENTS)}")
        return cast(Disagreement, by)  # checked against the Literal's values just above
    cells = [c for r in view.rows for c in r["judges"] if c is not None]
    if any(c["diff"] is not None for c in cells):
        return "experts"
    if any(r["judge_range"] is not None for r in view.rows):
        return "judges"
    if any(c["spread"] is not None for c in cells):
        return "samples"
    return None


def run_overview(run_dir: str | Path, view: ItemView, *, top: int = 10, by: str | None = None) -> RunOverview:
    """Sum up one run (``view`` built from it, with its benchmark where found)."""
    manifest = load_run_manifest(run_dir)
    summary = read_summary(run_dir)
    per_judge: dict[str, Counter[str]] = {j.label: Counter() for j in view.judges}
    reasons: Counter[str] = Counter()
    for r in view.rows:
        for k, cell in enumerate(r["judges"]):
            if cell is None:
                continue
            c = per_judge[view.judges[k].label]
            for s in cell["samples"]:
                c["judgments"] += 1
                if "reason" in s:
                    c[f"unscored:{s['reason']}"] += 1
                    reasons[s["reason"]] += 1
                else:
                    c["scored"] += 1
    judges = [
        JudgeLine(
            label=j.label,
            model=j.model,
            judgments=per_judge[j.label]["judgments"],
            scored=per_judge[j.label]["scored"],
            unscored={
                k.split(":", 1)[1]: v for k, v in sorted(per_judge[j.label].items()) if k.startswith("unscored:")
            },
            cost=IMPORTED_COST if manifest.source == "imported" else _cost(summary, j.name),
        )
        for j in view.judges
    ]
    loaded = {c.name: c.ref for c in view.criteria}
    rubrics = [
        RubricLine(criterion=c, used=ref, loaded=loaded.get(c, ""), aggregation=manifest.aggregation.get(c, "mean"))
        for c, ref in manifest.rubrics.items()
    ]
    kind = _pick(view, by)
    lines = []
    if kind is not None:
        # rows that agree (0) are not disagreements, however many of them there are
        lines = [_line(view, row, value, kind) for row, value in largest(view, kind, top) if value > 0]
    calls = ""
    if summary is not None:
        calls = (
            f"{summary.get('model_calls', 0)} model calls, {summary.get('cache_hits', 0)} cache hits, "
            f"{summary.get('tokens_in', 0):,} tokens in, {summary.get('tokens_out', 0):,} out, "
            f"{summary.get('wall_s', 0):.0f} s"
            + ("" if summary.get("complete", True) else f"; incomplete: {summary.get('stop_reason') or 'stopped'}")
        )
    notes = list(view.notes)
    if summary is None:
        notes.append("no summary.json: the run has not finished an invocation (counts are from its records)")
    return RunOverview(
        run=str(run_dir),
        source=manifest.source,
        created_at=datetime.fromtimestamp(manifest.created_at, UTC).isoformat(timespec="seconds"),
        command=" ".join(manifest.command),
        benchmark=str(manifest.benchmark.get("name", view.benchmark)),
        benchmark_items=manifest.benchmark.get("items"),
        items_judged=len({r["item"] for r in view.rows if any(c is not None for c in r["judges"])}),
        judgments=sum(j.judgments for j in judges),
        scored=sum(j.scored for j in judges),
        unscored=dict(reasons.most_common()),
        cost=IMPORTED_COST if manifest.source == "imported" else (_cost(summary) or "unknown (no summary.json)"),
        calls=calls,
        judges=judges,
        rubrics=rubrics,
        disagreement=kind,
        disagreements=lines,
        notes=notes,
    )


def _line(view: ItemView, row: Row, value: float, kind: Disagreement) -> DisagreementLine:
    it = view.items[row["item"]]
    cells = row["judges"]
    judges = {view.judges[k].label: c["score"] for k, c in enumerate(cells) if c is not None}
    # the judge that disagrees most, for its rationale
    field = {"experts": "diff", "calibrated": "cal_diff", "samples": "spread"}.get(kind, "score")
    best, best_v = None, -1.0
    for k, c in enumerate(cells):
        v = c.get(field) if c is not None else None
        if isinstance(v, int | float) and abs(v) > best_v:
            best, best_v = k, abs(v)
    rationale = ""
    samples: dict[str, list[float | None]] = {}
    if best is not None and (cell := cells[best]) is not None:
        rationale = next((s["rationale"] for s in cell["samples"] if s["rationale"]), None) or ""
        if kind == "samples":
            samples = {view.judges[best].label: [s["score"] for s in cell["samples"]]}
    return DisagreementLine(
        item=it["id"],
        criterion=view.criteria[row["criterion"]].name,
        system=view.systems[it["system"]],
        value=round(value, 4),
        judges=judges,
        samples=samples,
        experts=[e["value"] for e in row["experts"]],
        expert_mean=row["expert_mean"],
        rationale=rationale,
    )


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}".rstrip("0").rstrip(".")


def _cut(text: str, width: int) -> str:
    return fit(visible(text.replace("\n", " ").replace("\t", " ")), width)


_HEADINGS = {
    "experts": "largest disagreements with the experts (|judge - expert mean|, share of the scale)",
    "calibrated": "largest disagreements of the calibrated judge with the experts (share of the scale)",
    "judges": "largest disagreements between judges (range of their scores, share of the scale)",
    "samples": "largest spread between one judge's samples (range, share of the scale)",
}


def render_overview(ov: RunOverview, width: int | None = None) -> str:
    """The overview as plain text for a terminal (lines of at most ``width`` columns; default: the terminal's).

    Text from the run (names, rationales, the command) is shown through ``visible``: control characters as escapes.
    """
    w = max(40, width or output_width())
    out = [f"run {ov.run}  ({ov.source}, created {ov.created_at})"]
    if ov.command:
        out.append(_cut(f"  command: {ov.command}", w))
    items = f" of {ov.benchmark_items:,}" if ov.benchmark_items else ""
    out.append(f"benchmark {ov.benchmark}: {ov.items_judged:,} items judged{items}")
    unscored = sum(ov.unscored.values())
    reasons = ", ".join(f"{k} {v}" for k, v in ov.unscored.items())
    out.append(
        f"judgments {ov.judgments:,}: {ov.scored:,} scored, {unscored:,} unscored"
        + (f" ({reasons})" if reasons else "")
    )
    out.append(f"cost {ov.cost}" + (f"  ({ov.calls})" if ov.calls else ""))
    out.append("")
    out.append("judges")
    lw = max((len(j.label) for j in ov.judges), default=5)
    for j in ov.judges:
        un = sum(j.unscored.values())
        why = ", ".join(f"{k} {v}" for k, v in j.unscored.items())
        model = f"  model {j.model}" if j.model != j.label else ""
        out.append(
            _cut(
                f"  {j.label:<{lw}}{model}  {j.judgments:,} judgments, {un:,} unscored"
                + (f" ({why})" if why else "")
                + (f", cost {j.cost}" if j.cost else ""),
                w,
            )
        )
    out.append("")
    out.append("rubrics")
    cw = max((len(r.criterion) for r in ov.rubrics), default=9)
    for r in ov.rubrics:
        changed = "" if not r.loaded or r.loaded == r.used else f"  (changed since: loaded {r.loaded})"
        out.append(_cut(f"  {r.criterion:<{cw}}  {r.used}  aggregation {r.aggregation}{changed}", w))
    out.append("")
    if ov.disagreement is None:
        out.append(
            "disagreements: nothing to rank (no expert ratings for the judged items, one judge, one sample each)"
        )
    else:
        out.append(_HEADINGS[ov.disagreement])
        if not ov.disagreements:
            out.append("  none: no row disagrees")
        for n, d in enumerate(ov.disagreements, 1):
            judges = "   ".join(f"{k}: {_num(v)}" for k, v in d.judges.items())
            if ov.disagreement == "samples":
                judges = "   ".join(f"{k}: samples {', '.join(_num(s) for s in v)}" for k, v in d.samples.items())
            experts = (
                f"   experts: {_num(d.expert_mean)} ({', '.join(_num(e) for e in d.experts)})" if d.experts else ""
            )
            out.append(_cut(f"{n:>3}. {d.value:>4.0%}  {d.item}  {d.criterion}  {d.system}", w))
            out.append(_cut(f"       {judges}{experts}", w))
            if d.rationale:
                out += textwrap.wrap(
                    " ".join(visible(d.rationale).split()),
                    w,
                    initial_indent="       > ",
                    subsequent_indent="         ",
                    max_lines=2,
                    placeholder=" …",
                )
    for note in ov.notes:
        out.append(f"note: {note}")
    return wrap_lines(visible("\n".join(out)), w) + "\n"
