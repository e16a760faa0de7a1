"""Every judgment of a benchmark's runs, item by item: the data of ``judge view`` (the HTML viewer) and of the
disagreements ``judge show`` lists.

One row per item and criterion holds each judge's samples (score, or the unscored reason with its detail, and the
rationale), the judge's aggregated score (the run's own aggregation over samples), the calibrated score where a
calibrator fits the judge, and each expert's rating. The disagreements a person sorts by are defined here once:

- judge vs experts: ``score - expert mean`` per judge (``diff``; ``cal_diff`` for the calibrated score);
- judge vs judge: the range of the judges' aggregated scores on the row (``judge_range``);
- sample spread: the range of one judge's scored samples (``spread``).

Rankings compare them relative to the criterion's scale (``/ (high - low)``), so a 2-point gap on a 1-10 scale
ranks below a 2-point gap on a 1-5 scale.

Example::

    from judge.report.items import build_item_view, largest
    view = build_item_view(bench, rubrics, ["runs/gpt4o"])
    for row in largest(view, "experts", 10):
        ...
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from judge import __version__
from judge.analysis.scores import check_on_scale
from judge.data.benchmark import Benchmark, ExpertRating, Item, check_ratings
from judge.data.rubric import Rubric
from judge.engine.store import aggregate, load_run_manifest, stream_records
from judge.errors import InputError, UsageError

if TYPE_CHECKING:
    from judge.analysis.calibration import Calibrator

FORMAT_VERSION = 1
Disagreement = Literal["experts", "calibrated", "judges", "samples"]
DISAGREEMENTS: tuple[str, ...] = ("experts", "calibrated", "judges", "samples")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CriterionInfo(_Model):
    name: str
    title: str
    low: float
    high: float
    level: str
    ref: str = Field(default="", description="name@version#hash of the loaded rubric.")


class JudgeInfo(_Model):
    """A judge of one run. ``label`` is unique in the view (the judge name, plus the run when two runs share it)."""

    label: str
    name: str
    model: str
    run: str
    rubrics: dict[str, str] = Field(default_factory=dict)
    samples: int = 1
    calibrator: str | None = None
    fitted_posts: dict[str, int] = Field(
        default_factory=dict,
        description="criterion -> shown posts the calibrator was fitted on (there its calibrated scores are in-sample)",
    )


# Rows are typed dicts, not models: a 10,000-item run with 3 judges has 40,000 rows and 160,000 samples, built
# from records that were validated when read; making a model instance of each would cost more than reading the run.


class Turn(TypedDict):
    role: str
    text: str


class Post(TypedDict):
    """What an item answers: a post, or a conversation (its turns)."""

    id: str
    text: str
    turns: list[Turn]


class ViewItem(TypedDict):
    id: str
    post: int  # index into ItemView.posts
    response: str
    system: int  # index into ItemView.systems
    dimension: str | None


class Sample(TypedDict):
    """One sample of a judgment: a score, or the reason it is unscored (with its detail and the raw answer)."""

    score: float | None
    rationale: str | None
    reason: NotRequired[str]
    detail: NotRequired[str | None]
    raw: NotRequired[str | None]


def _with_distribution(rationale: str | None, j: Any) -> str | None:
    """The rationale, followed by what the judge's probabilities say when it has them (the embedded judge writes
    no rationale: this is what a reader can see of why it scored what it did)."""
    if not j.distribution or j.score is None:
        return rationale
    probs = ", ".join(
        f"{v}: {p:.2f}" for v, p in sorted(j.distribution.items(), key=lambda kv: float(kv[0])) if p >= 0.01
    )
    answered = f"answered {j.answer_score:g}; " if j.answer_score is not None else ""
    note = f"{answered}{j.scored_by} score {j.score:.2f} from its probabilities ({probs})"
    return f"{rationale}\n{note}" if rationale else note


class JudgeCell(TypedDict):
    score: float | None  # aggregated over the scored samples (None when none is scored)
    samples: list[Sample]
    calibrated: float | None
    diff: float | None  # score - expert mean
    cal_diff: float | None  # calibrated - expert mean
    spread: float | None  # max - min of the scored samples (2 or more)


class Rating(TypedDict):
    rater: int  # index into ItemView.raters
    value: float
    rationale: str | None


class Row(TypedDict):
    item: int  # index into ItemView.items
    criterion: int  # index into ItemView.criteria
    judges: list[JudgeCell | None]  # one per ItemView.judges (None: not judged)
    experts: list[Rating]
    expert_mean: float | None
    judge_range: float | None  # max - min of the judges' scores (2 or more)


class ItemView(_Model):
    """Every judgment and rating of a benchmark's runs, one row per item and criterion (serialized into the
    viewer page)."""

    format_version: int = FORMAT_VERSION
    title: str
    benchmark: str
    created_at: float = Field(default_factory=time.time)
    tool_version: str = __version__
    notes: list[str] = Field(default_factory=list)
    criteria: list[CriterionInfo]
    judges: list[JudgeInfo]
    raters: list[str]
    systems: list[str]
    reasons: list[str] = Field(description="Unscored reasons that occur, most frequent first.")
    posts: list[Post]
    items: list[ViewItem]
    rows: list[Row]

    def scale(self, row: Row) -> float:
        c = self.criteria[row["criterion"]]
        return (c.high - c.low) or 1.0


# -- building -----------------------------------------------------------------------------------------------------


def _turns(item: Item) -> list[Turn]:
    """The turns of a conversation item, else none."""
    return [{"role": t.role, "text": t.text} for t in item.conversation or []]


Cells = dict[tuple[str, str], dict[int, Sample]]  # (criterion, item_id) -> sample index -> Sample


class _Run:
    """One run directory read: its judges' samples and aggregated scores."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir
        self.manifest = load_run_manifest(run_dir)
        self.cells: dict[str, Cells] = {}  # judge -> cells
        self.scores: dict[str, dict[str, dict[str, float | None]]] = {}  # judge -> criterion -> item -> score

    def read(self, keep: Callable[[str, str], bool], reasons: dict[str, int], skipped: dict[str, int]) -> None:
        found: dict[str, Cells] = defaultdict(lambda: defaultdict(dict))
        for j in stream_records(self.dir):
            if not keep(j.criterion, j.item_id):
                skipped[j.criterion] += 1
                continue
            if j.score is None:
                reasons[j.unscored_reason or "unknown"] += 1
            sample: Sample = {"score": j.score, "rationale": _with_distribution(j.rationale, j)}
            if j.score is None:
                sample["reason"] = j.unscored_reason or "unknown"
                sample["detail"] = j.detail
                sample["raw"] = j.raw_output
            found[j.judge][(j.criterion, j.item_id)][j.sample] = sample
        for judge in sorted(found):
            self.cells[judge] = dict(found[judge])
            by_crit: dict[str, dict[str, float | None]] = defaultdict(dict)
            for (crit, item_id), samples in found[judge].items():
                vals = [x["score"] for x in samples.values() if x["score"] is not None]
                how = self.manifest.aggregation.get(crit, "mean")
                by_crit[crit][item_id] = aggregate(vals, how) if vals else None
            self.scores[judge] = dict(by_crit)

    def stale_note(self, rubrics: Mapping[str, Rubric]) -> str | None:
        judged = {c for cells in self.cells.values() for c, _ in cells}
        stale = [
            f"{c}: scored with {ref}, loaded {rubrics[c].ref}"
            for c, ref in self.manifest.rubrics.items()
            if c in judged and ref != rubrics[c].ref
        ]
        if not stale:
            return None
        return f"run {self.dir} used other rubric versions ({'; '.join(stale)}): titles and scales are the loaded ones"


def _judge_infos(
    runs: Sequence[_Run],
    rubrics: Mapping[str, Rubric],
    calibrators: Sequence[tuple[Path, Calibrator]],
    bench: Benchmark | None,
) -> tuple[list[JudgeInfo], list[dict[str, dict[str, float | None]]]]:
    """Each (run, judge) with a unique label, and its calibrated scores where a calibrator fits it."""
    from judge.analysis.scores import JudgeScores, calibrated, match_calibrator

    counts: dict[str, int] = defaultdict(int)
    for run in runs:
        for name in run.cells:
            counts[name] += 1
    post_of = {i: it.post_id for i, it in bench.items.items()} if bench is not None else {}
    infos: list[JudgeInfo] = []
    cal_scores: list[dict[str, dict[str, float | None]]] = []
    used: set[Path] = set()
    for run in runs:
        for name in run.cells:
            js = JudgeScores.from_run(name, run.dir, run.manifest, run.scores[name])
            match = match_calibrator(js, list(calibrators))
            cal_map: dict[str, dict[str, float | None]] = {}
            fitted: dict[str, int] = {}
            if match is not None:
                path, cal = match
                mapped = calibrated(js, cal, path)  # refuses a calibrator fitted for another judge setup
                cal_map = {c: s for c, s in mapped.scores.items() if c in cal.maps}
                used.add(path)
                for c in cal_map:
                    fit_posts = {p for fold in (cal.fit[c].folds if c in cal.fit else []) for p in fold}
                    shown = {post_of.get(i, i) for i, v in cal_map[c].items() if v is not None}
                    fitted[c] = len(shown & fit_posts)
            infos.append(
                JudgeInfo(
                    label=name if counts[name] == 1 else f"{name} ({run.dir.name or run.dir})",
                    name=name,
                    model=js.model,
                    run=str(run.dir),
                    rubrics={c: r for c, r in run.manifest.rubrics.items() if c in rubrics},
                    samples=run.manifest.samples,
                    calibrator=str(match[0]) if match else None,
                    fitted_posts=fitted,
                )
            )
            cal_scores.append(cal_map)
    unused = [str(p) for p, _ in calibrators if p not in used]
    if unused:
        have = sorted({f"{j.name} ({j.model})" for j in infos})
        raise UsageError(f"--calibrator {', '.join(unused)}: fits no judge of the runs; the runs' judges are {have}")
    return infos, cal_scores


def _cell(samples: dict[int, Sample], score: float | None, cal: float | None, expert_mean: float | None) -> JudgeCell:
    vals = [x["score"] for x in samples.values() if x["score"] is not None]
    return {
        "score": score,
        "samples": [samples[n] for n in sorted(samples)],
        "calibrated": cal,
        "diff": None if score is None or expert_mean is None else score - expert_mean,
        "cal_diff": None if cal is None or expert_mean is None else cal - expert_mean,
        "spread": max(vals) - min(vals) if len(vals) >= 2 else None,
    }


def build_item_view(
    bench: Benchmark | None,
    rubrics: Mapping[str, Rubric],
    runs: Sequence[str | Path],
    calibrators: Sequence[tuple[Path, Calibrator]] = (),
    *,
    criteria: Sequence[str] | None = None,
    title: str | None = None,
) -> ItemView:
    """Read every judgment of ``runs`` (all samples) and the benchmark's expert ratings into one ``ItemView``.

    Args:
        bench: the benchmark the runs judged (items' text, systems, expert ratings); None shows the runs alone
            (item ids only).
        rubrics: criterion -> rubric (titles, scales); judged criteria without a rubric are left out with a note.
        runs: run directories; a judge name found in two runs is labelled with its run.
        calibrators: (path, calibrator) pairs; each must fit a judge of the runs (by name or model, then checked
            like ``judge leaderboard --calibrator``), whose calibrated scores are added.
        criteria: only these criteria (default: every criterion with a rubric that has judgments or ratings).
        title: the page title (default: the benchmark's name).

    Raises:
        UsageError: a calibrator fits no judge of the runs. StaleArtifact: it was fitted for another judge setup.
    """
    wanted = set(criteria) if criteria else None
    if bench is not None:  # ratings off their scale are refused here as by every analysis verb
        check_ratings(bench, rubrics, [c for c in rubrics if wanted is None or c in wanted])
    notes: list[str] = []
    reasons: dict[str, int] = defaultdict(int)
    no_rubric: dict[str, int] = defaultdict(int)
    read = [_Run(Path(r)) for r in runs]
    for run in read:
        not_in_bench: dict[str, int] = defaultdict(int)

        def keep(c: str, item_id: str, not_in_bench: dict[str, int] = not_in_bench) -> bool:
            if bench is not None and item_id not in bench.items:
                not_in_bench[item_id] += 1
                return False
            return c in rubrics and (wanted is None or c in wanted)

        skipped: dict[str, int] = defaultdict(int)
        run.read(keep, reasons, skipped)
        # Scores off the scale of the rubric the run used (an edited record file) are refused, as every analysis
        # verb refuses them; a run scored with another version of a rubric is shown with a note instead.
        same = {c: r for c, r in rubrics.items() if run.manifest.rubrics.get(c) == r.ref}
        check_on_scale(run.dir, run.scores, same)
        for c, n in skipped.items():
            if c not in rubrics and (wanted is None or c in wanted):
                no_rubric[c] += n
        if not_in_bench:
            notes.append(
                f"{sum(not_in_bench.values())} judgments of run {run.dir} are on items that are not in the "
                "benchmark; they are not shown"
            )
        note = run.stale_note(rubrics)
        if note:
            notes.append(note)
    notes += [
        f"{n} judgments on criterion {c!r} are not shown: no rubric for it was loaded"
        for c, n in sorted(no_rubric.items())
    ]
    judges, cal_scores = _judge_infos(read, rubrics, calibrators, bench)
    judge_cells = [run.cells[name] for run in read for name in run.cells]
    judge_scores = [run.scores[name] for run in read for name in run.cells]

    ratings_by: dict[tuple[str, str], list[ExpertRating]] = defaultdict(list)
    for r in bench.ratings if bench is not None else []:
        if r.criterion in rubrics and (wanted is None or r.criterion in wanted):
            ratings_by[(r.criterion, r.item_id)].append(r)
    used = {c for c, _ in ratings_by} | {c for jc in judge_cells for c, _ in jc}
    crit_names = [c for c in rubrics if c in used]
    raters = sorted({r.rater for rs in ratings_by.values() for r in rs})
    rater_idx = {r: k for k, r in enumerate(raters)}
    if bench is not None:
        bench_items = list(bench.items.values())
    else:  # the runs alone: items are the judged ids
        ids = dict.fromkeys(i for jc in judge_cells for _, i in jc)
        bench_items = [Item(item_id=i, post_id=i, post="", response="") for i in ids]

    posts: dict[str, Post] = {}
    post_idx: dict[str, int] = {}
    systems: dict[str, int] = {}
    items: list[ViewItem] = []
    rows: list[Row] = []
    for it in bench_items:
        present = [
            c for c in crit_names if (c, it.item_id) in ratings_by or any((c, it.item_id) in jc for jc in judge_cells)
        ]
        if not present:
            continue
        if it.post_id not in posts:
            post_idx[it.post_id] = len(posts)
            posts[it.post_id] = {"id": it.post_id, "text": it.post, "turns": _turns(it)}
        system = systems.setdefault(it.system_name if bench is not None else "unknown", len(systems))
        dim = it.dimension_aim or (str(it.dimension_id) if it.dimension_id is not None else None)
        items.append(
            {
                "id": it.item_id,
                "post": post_idx[it.post_id],
                "response": it.response,
                "system": system,
                "dimension": dim,
            }
        )
        for c in present:
            rated = ratings_by.get((c, it.item_id), [])
            expert_mean = sum(r.value for r in rated) / len(rated) if rated else None
            row_cells: list[JudgeCell | None] = [
                None
                if (got := jc.get((c, it.item_id))) is None
                else _cell(
                    got,
                    judge_scores[k].get(c, {}).get(it.item_id),
                    cal_scores[k].get(c, {}).get(it.item_id),
                    expert_mean,
                )
                for k, jc in enumerate(judge_cells)
            ]
            scored = [x["score"] for x in row_cells if x is not None and x["score"] is not None]
            rows.append(
                {
                    "item": len(items) - 1,
                    "criterion": crit_names.index(c),
                    "judges": row_cells,
                    "experts": [
                        {"rater": rater_idx[r.rater], "value": r.value, "rationale": r.rationale} for r in rated
                    ],
                    "expert_mean": expert_mean,
                    "judge_range": max(scored) - min(scored) if len(scored) >= 2 else None,
                }
            )
    names = [str(r.manifest.benchmark.get("name", "?")) for r in read]
    bench_name = bench.name if bench is not None else ", ".join(dict.fromkeys(names)) or "runs"
    notes += [f"WARNING: {w}" for w in _same_rater_warnings(judges, raters, crit_names, rows)]
    return ItemView.model_construct(  # the parts are validated models, or rows built from validated records
        title=title or f"Judgments: {bench_name}",
        benchmark=bench_name,
        notes=notes,
        criteria=[
            CriterionInfo(
                name=c,
                title=rubrics[c].title,
                low=rubrics[c].low,
                high=rubrics[c].high,
                level=rubrics[c].level,
                ref=rubrics[c].ref,
            )
            for c in crit_names
        ],
        judges=judges,
        raters=raters,
        systems=list(systems),
        reasons=[r for r, _ in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))],
        posts=list(posts.values()),
        items=items,
        rows=rows,
    )


def _same_rater_warnings(judges: list[JudgeInfo], raters: list[str], crits: list[str], rows: list[Row]) -> list[str]:
    """The view's judges that may be one of its raters (``analysis.experts``: by name or model id, or by scores)."""
    import numpy as np

    from judge.analysis.experts import named_like_raters, rater_matches, rater_warning

    out = []
    for k, j in enumerate(judges):
        out += [rater_warning(j.label, r) for r in named_like_raters([j.name, j.model], raters)]
        for ci, c in enumerate(crits):
            mine = [r for r in rows if r["criterion"] == ci and r["experts"]]
            m = np.full((len(raters), len(mine)), np.nan)
            vec = np.full(len(mine), np.nan)
            for col, r in enumerate(mine):
                cell = r["judges"][k]
                if cell is not None and cell["score"] is not None:
                    vec[col] = cell["score"]
                for e in r["experts"]:
                    m[e["rater"], col] = e["value"]
            out += [rater_warning(j.label, x.rater, c, x) for x in rater_matches(vec, m, raters)]
    return out


# -- ranking ------------------------------------------------------------------------------------------------------


def disagreement(view: ItemView, row: Row, by: Disagreement, judge: int | None = None) -> float | None:
    """How much a row disagrees, relative to its criterion's scale (0 = none, 1 = the whole scale).

    Args:
        by: ``experts`` (largest |judge - expert mean| over the judges), ``calibrated`` (the same with calibrated
            scores), ``judges`` (range of the judges' scores), ``samples`` (largest range of one judge's samples).
        judge: only this judge (index into ``view.judges``) for ``experts``, ``calibrated`` and ``samples``.
    """
    cells = [c for k, c in enumerate(row["judges"]) if c is not None and (judge is None or k == judge)]
    vals: list[float]
    if by == "judges":
        vals = [row["judge_range"]] if row["judge_range"] is not None else []
    elif by == "experts":
        vals = [abs(d) for c in cells if (d := c["diff"]) is not None]
    elif by == "calibrated":
        vals = [abs(d) for c in cells if (d := c["cal_diff"]) is not None]
    elif by == "samples":
        vals = [d for c in cells if (d := c["spread"]) is not None]
    else:
        raise ValueError(f"unknown disagreement {by!r}; expected one of {DISAGREEMENTS}")
    return max(vals) / view.scale(row) if vals else None


def largest(view: ItemView, by: Disagreement, n: int = 10, judge: int | None = None) -> list[tuple[Row, float]]:
    """The ``n`` rows that disagree most (``disagreement``), largest first; ties keep the benchmark's order."""
    scored = [(r, d) for r in view.rows if (d := disagreement(view, r, by, judge)) is not None]
    scored.sort(key=lambda rd: -rd[1])  # stable: ties stay in row order (the viewer breaks ties the same way)
    return scored[:n]


def find_benchmark(run_dirs: Sequence[str | Path], given: str | Path | None) -> tuple[Benchmark | None, str | None]:
    """The benchmark of the runs: ``given`` (``--benchmark``), else the one the first run judged, found by its content
    wherever the run recorded it (``judge.engine.store.resolve_run_benchmark``). Every run is checked against it
    (``check_run_benchmark``, the one check of every verb that reads a run with a benchmark): a run that judged
    other items is refused, never shown beside these items' text and experts.

    Returns the benchmark (or None) and, when none was found, a note saying why and what to pass.

    Raises:
        InputError: a run judged another benchmark than ``given`` (or than the first run's).
    """
    from judge.data.benchmark import load_benchmark
    from judge.engine.store import check_run_benchmark, resolve_run_benchmark

    bench = load_benchmark(given) if given is not None else None
    why = "no run was given: pass --benchmark DIR"
    if bench is None and run_dirs:
        try:
            bench = resolve_run_benchmark(run_dirs[0])
        except InputError as exc:
            why = "; ".join(p.message for p in exc.problems)
    if bench is None:
        return None, f"{why}; meanwhile items are shown by id only, without text, systems or expert ratings"
    for run in run_dirs:
        check_run_benchmark(run, bench)
    return bench, None
