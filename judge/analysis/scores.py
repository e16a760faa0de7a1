"""Judge scores as the analysis verbs read them: from run directories, checked, optionally calibrated.

One place decides which judge of a run is meant, refuses scores made with other rubric versions than the ones
loaded, and applies calibrators only to the judge, rubric and prompt they were fitted for. ``judge agree``,
``judge leaderboard``, ``judge calibrate`` and ``judge estimate`` read scores through here; ``judge gate`` picks its
judge here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.data.benchmark import Benchmark
from judge.data.names import normal_name
from judge.data.rubric import Rubric
from judge.engine.identity import CalibrationHow, CalibrationRef, JudgeIdentity, identity_from_manifest
from judge.engine.store import (
    RunManifest,
    check_run_benchmark,
    iter_records,
    load_run_manifest,
    load_run_scores,
    read_summary,
)
from judge.errors import InputError, Problem, StaleArtifact, UsageError

if TYPE_CHECKING:
    from judge.analysis.calibration import Calibrator
    from judge.analysis.stats.consistency import Consistency

Scores = dict[str, dict[str, float | None]]  # criterion -> item_id -> score (None = unscored)


@dataclass
class JudgeScores:
    """One judge's scores from one run, with who the judge is (``identity``: typed, carried to every report) and
    where they came from. Its ``name`` in reports is rendered from the identity, never parsed back."""

    identity: JudgeIdentity
    run_dir: Path
    manifest: RunManifest
    scores: Scores
    summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_run(
        cls,
        name: str,
        run_dir: str | Path,
        manifest: RunManifest,
        scores: Scores,
        summary: dict[str, Any] | None = None,
    ) -> JudgeScores:
        """The scores of judge ``name`` of a run, with the identity its manifest records."""
        return cls(identity_from_manifest(manifest, name), Path(run_dir), manifest, scores, summary)

    @property
    def name(self) -> str:
        """How reports name this judge (``identity.label``)."""
        return self.identity.label

    @property
    def model(self) -> str:
        return self.identity.model

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.identity.params)

    @property
    def run_judge(self) -> str:
        """The judge's name in its run (a calibrated copy has its raw judge's)."""
        return self.identity.name

    @property
    def calibrator(self) -> str | None:
        """The calibrator file applied to the scores, if any."""
        return None if self.identity.calibration is None else self.identity.calibration.path

    @property
    def imported(self) -> bool:
        """Scores imported from precomputed outputs: no calls were made, so no cost or time was measured."""
        return self.identity.imported

    @property
    def self_consistency(self) -> dict[str, Consistency]:
        """criterion -> how repeated samples agree (``items``, ``mean_sd``, ``all_agree_rate``), from the run's
        records; empty when the run drew one sample per item."""
        return run_self_consistency(self.run_dir).get(self.run_judge, {})


def run_self_consistency(run_dir: str | Path) -> dict[str, dict[str, Consistency]]:
    """judge -> criterion -> how the run's repeated samples of one item agree (``stats.consistency``), from its
    records; only judges and criteria with an item of two or more scored samples appear."""
    from judge.analysis.stats.consistency import self_consistency

    samples: dict[tuple[str, str, str], list[float]] = {}
    for j in iter_records(run_dir):
        if j.score is not None:
            samples.setdefault((j.judge, j.criterion, j.item_id), []).append(j.score)
    return self_consistency(samples)


def check_rubrics(
    run_dir: str | Path,
    manifest: RunManifest,
    rubrics: Mapping[str, Rubric],
    criteria: Sequence[str] | None = None,
) -> None:
    """Refuse a run scored with other versions of the loaded rubrics (each difference is named).

    Args:
        criteria: check only these criteria (default: every loaded rubric the run scored).
    """
    used = manifest.rubrics
    names = list(criteria) if criteria is not None else list(rubrics)
    stale = [
        f"{c}: the run used {used[c]!r}, loaded {rubrics[c].ref!r}"
        for c in names
        if c in used and used[c] != rubrics[c].ref
    ]
    if stale:
        raise StaleArtifact(
            f"run {run_dir} was scored with other rubric versions ({'; '.join(stale)}); "
            "pass the run's rubrics with --rubrics, or re-run the judge"
        )


def check_on_scale(
    run_dir: str | Path, by_judge: Mapping[str, Mapping[str, Mapping[str, float | None]]], rubrics: Mapping[str, Rubric]
) -> None:
    """Refuse a run holding scores off the loaded rubrics' scales (an edited or foreign ``judgments.jsonl``): they
    would enter every statistic as if a judge had answered them.

    Raises:
        InputError: naming the run's record file, the judge, criterion, item and value (one per criterion).
    """
    problems = []
    for judge, by_crit in by_judge.items():
        for crit, by_item in by_crit.items():
            r = rubrics.get(crit)
            if r is None:
                continue
            off = [(i, v) for i, v in by_item.items() if v is not None and not (r.low <= v <= r.high)]
            if off:
                (item, v), more = off[0], f" ... and {len(off) - 1} more" if len(off) > 1 else ""
                problems.append(
                    Problem(
                        f"{Path(run_dir) / 'judgments.jsonl'}: judge {judge!r}, {crit}",
                        f"score {v!r} of item {item!r} is outside the {crit} scale ({r.low:g} to {r.high:g}){more}",
                    )
                )
    if problems:
        raise InputError(problems)


def pick_judge(judges: Iterable[str], wanted: str | None, run_dir: str | Path) -> str:
    """The judge a verb that needs exactly one means: the one named with ``--judge``, or the run's only judge."""
    names = sorted(judges)
    if not names:
        raise UsageError(f"--run {run_dir}: the run has no judgments yet")
    if wanted is not None:
        wanted = normal_name(wanted)
        if wanted not in names:
            raise UsageError(f"--judge {wanted!r} is not in run {run_dir}; expected one of {names}")
        return wanted
    if len(names) != 1:
        raise UsageError(f"--judge: run {run_dir} has {len(names)} judges, name one of {names}")
    return names[0]


def read_judges(
    run_dir: str | Path, rubrics: Mapping[str, Rubric], judge: str | None = None, bench: Benchmark | None = None
) -> list[JudgeScores]:
    """Every judge of a run (or the one named), checked against the loaded rubrics and, when given, against the
    benchmark (a run that judged other items is refused rather than joined by item id)."""
    if bench is not None:
        check_run_benchmark(run_dir, bench)
    manifest = load_run_manifest(run_dir)
    if manifest.task != "score":
        raise UsageError(
            f"--run {run_dir}: a run of the task {manifest.task!r} has no scores to read here; 'judge show "
            f"{run_dir}' sums it up (pairwise: verdicts, position consistency, agreement with the experts)"
        )
    by_judge = load_run_scores(run_dir)
    if not by_judge:
        raise UsageError(f"--run {run_dir}: the run has no judgments yet")
    check_rubrics(run_dir, manifest, rubrics)
    check_on_scale(run_dir, by_judge, rubrics)
    if judge is not None:
        by_judge = {pick_judge(by_judge, judge, run_dir): by_judge[judge]}
    summary = read_summary(run_dir)
    return [
        JudgeScores.from_run(n, run_dir, manifest, {c: s for c, s in sc.items() if c in rubrics}, summary)
        for n, sc in sorted(by_judge.items())
    ]


def read_runs(
    run_dirs: Sequence[str | Path], rubrics: Mapping[str, Rubric], bench: Benchmark | None = None
) -> list[JudgeScores]:
    """The judges of several runs; the same judge name in two runs is an error (which one would be meant?)."""
    out: list[JudgeScores] = []
    for d in run_dirs:
        for js in read_judges(d, rubrics, bench=bench):
            if any(o.name == js.name for o in out):
                raise InputError(
                    Problem(
                        f"--run {d}",
                        f"judge {js.name!r} also appears in an earlier --run; expected each judge in one run only",
                    )
                )
            out.append(js)
    return out


def calibrated(js: JudgeScores, cal: Calibrator, path: str | Path) -> JudgeScores:
    """The judge's scores mapped onto the expert scale, after checking the calibrator fits this judge.

    Raises:
        StaleArtifact: the calibrator was fitted for another judge model, params, rubric version or prompt.
    """
    if js.identity.calibration is not None:
        raise UsageError(
            f"--calibrator {path}: judge {js.run_judge!r} is already calibrated with {js.calibrator}; "
            "expected one calibrator per judge"
        )
    cal.check_compatible(js.model, js.params, js.manifest.rubrics, js.manifest.prompt_hash)
    scores = {c: (cal.apply_scores(c, s) if c in cal.maps else s) for c, s in js.scores.items()}
    notes = [f"{c}: not calibrated (the calibrator has no map for it)" for c in js.scores if c not in cal.maps]
    ref = calibration_ref(cal, path, "applied")
    return replace(js, identity=js.identity.calibrated(ref), scores=scores, notes=notes)


def calibration_ref(cal: Calibrator, path: str | Path, how: CalibrationHow) -> CalibrationRef:
    """What a calibrated judge's identity records of its calibrator."""
    return CalibrationRef(
        path=str(path),
        method=cal.method,
        how=how,
        format_version=cal.format_version,
        tool_version=cal.tool_version,
        created_at=cal.created_at,
    )


def cross_fitted(
    js: JudgeScores, cal: Calibrator, path: str | Path, bench: Benchmark, rubrics: Mapping[str, Rubric]
) -> JudgeScores:
    """The judge's calibrated scores for agreement with the experts: held out from the calibrator's fitting.

    Each rated item is scored by the calibrator's map refitted without its post (``calibration.held_out_scores``),
    so agreement is never measured on the items the map was fitted to. The name says so: ``NAME (calibrated,
    cross-fitted)``, or ``NAME (calibrated, in-sample)`` for a calibrator without fold records.

    Raises:
        StaleArtifact: the calibrator was fitted for another judge model, params, rubric version or prompt.
    """
    from judge.analysis.calibration import held_out_scores

    cal.check_compatible(js.model, js.params, js.manifest.rubrics, js.manifest.prompt_hash)
    scores: Scores = {}
    held = True
    notes = []
    for c, s in js.scores.items():
        if c not in cal.maps:
            scores[c] = s
            notes.append(f"{c}: not calibrated (the calibrator has no map for it)")
            continue
        scores[c], ok = held_out_scores(cal, bench, c, s, rubrics[c])
        held = held and ok
    if not held:
        notes.append("the calibrator has no record of its folds: its calibrated agreement may be measured in-sample")
    ref = calibration_ref(cal, path, "cross-fitted" if held else "in-sample")
    return replace(js, identity=js.identity.calibrated(ref), scores=scores, notes=notes)


def judges_with_calibrators(
    run_dirs: Sequence[str | Path],
    calibrators: Sequence[str | Path],
    bench: Benchmark,
    rubrics: Mapping[str, Rubric],
) -> tuple[list[JudgeScores], dict[str, Calibrator]]:
    """The judges of the runs, each followed by its cross-fitted calibrated copy when a calibrator fits it.

    Returns:
        The judges, and judge name -> the calibrator applied to it (for plotting its curve).

    Raises:
        UsageError: a calibrator fits no judge of the runs.
    """
    cals = load_calibrators(calibrators)
    out: list[JudgeScores] = []
    curves: dict[str, Calibrator] = {}
    used = set()
    for js in read_runs(run_dirs, rubrics, bench):
        out.append(js)
        match = match_calibrator(js, cals)
        if match is not None:
            out.append(cross_fitted(js, match[1], match[0], bench, rubrics))
            curves[js.name] = match[1]
            used.add(match[0])
    unused = [str(p) for p, _ in cals if p not in used]
    if unused:
        raise UsageError(f"--calibrator {unused}: fitted for no judge of the given runs")
    return out, curves


def load_calibrators(paths: Sequence[str | Path]) -> list[tuple[Path, Calibrator]]:
    from judge.analysis.calibration import Calibrator

    return [(Path(p), Calibrator.load(p)) for p in paths]


def match_calibrator(js: JudgeScores, cals: list[tuple[Path, Calibrator]]) -> tuple[Path, Calibrator] | None:
    """The calibrator fitted for this judge (by judge name or model), if any."""
    for path, cal in cals:
        if cal.judge == js.name or cal.judge_model == js.model:
            return path, cal
    return None
