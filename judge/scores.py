"""Judge scores as the analysis verbs read them: from run directories, checked, optionally calibrated.

One place decides which judge of a run is meant, refuses scores made with other rubric versions than the ones
loaded, and applies calibrators only to the judge, rubric and prompt they were fitted for. ``judge agree``,
``judge leaderboard`` and ``judge gate`` all read scores through here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.errors import InputError, Problem, StaleArtifact, UsageError
from judge.rubric import Rubric
from judge.store import RunManifest, load_run_manifest, load_run_scores, read_summary

if TYPE_CHECKING:
    from judge.calibration import Calibrator

Scores = dict[str, dict[str, float | None]]  # criterion -> item_id -> score (None = unscored)


@dataclass
class JudgeScores:
    """One judge's scores from one run, with where they came from."""

    name: str
    run_dir: Path
    manifest: RunManifest
    scores: Scores
    calibrator: str | None = None
    summary: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.manifest.judges.get(self.name, {}).get("model", self.name))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.manifest.judges.get(self.name, {}).get("params", {}))


def check_rubrics(run_dir: str | Path, manifest: RunManifest, rubrics: Mapping[str, Rubric]) -> None:
    """Refuse a run scored with other versions of the loaded rubrics (what differs is named)."""
    stale = [
        f"{c}: run used {manifest.rubrics[c]}, loaded {r.ref}"
        for c, r in rubrics.items()
        if c in manifest.rubrics and manifest.rubrics[c] != r.ref
    ]
    if stale:
        raise StaleArtifact(
            f"run {run_dir} was scored with other rubric versions ({'; '.join(stale)}); "
            "pass the run's rubrics with --rubrics, or re-run the judge"
        )


def read_judges(run_dir: str | Path, rubrics: Mapping[str, Rubric], judge: str | None = None) -> list[JudgeScores]:
    """Every judge of a run (or the one named), checked against the loaded rubrics."""
    manifest = load_run_manifest(run_dir)
    check_rubrics(run_dir, manifest, rubrics)
    by_judge = load_run_scores(run_dir)
    if not by_judge:
        raise UsageError(f"--run {run_dir}: the run has no judgments yet")
    if judge is not None:
        if judge not in by_judge:
            raise UsageError(f"--judge {judge!r} is not in run {run_dir}; expected one of {sorted(by_judge)}")
        by_judge = {judge: by_judge[judge]}
    summary = read_summary(run_dir)
    return [
        JudgeScores(
            name=n,
            run_dir=Path(run_dir),
            manifest=manifest,
            scores={c: s for c, s in sc.items() if c in rubrics},
            summary=summary,
        )
        for n, sc in sorted(by_judge.items())
    ]


def read_runs(run_dirs: Sequence[str | Path], rubrics: Mapping[str, Rubric]) -> list[JudgeScores]:
    """The judges of several runs; the same judge name in two runs is an error (which one would be meant?)."""
    out: list[JudgeScores] = []
    for d in run_dirs:
        for js in read_judges(d, rubrics):
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
    cal.check_compatible(js.model, js.params, js.manifest.rubrics, js.manifest.prompt_hash)
    scores = {c: (cal.apply_scores(c, s) if c in cal.maps else s) for c, s in js.scores.items()}
    notes = [f"{c}: not calibrated (the calibrator has no map for it)" for c in js.scores if c not in cal.maps]
    return JudgeScores(
        name=f"{js.name} (calibrated)",
        run_dir=js.run_dir,
        manifest=js.manifest,
        scores=scores,
        calibrator=str(path),
        summary=js.summary,
        notes=notes,
    )


def load_calibrators(paths: Sequence[str | Path]) -> list[tuple[Path, Calibrator]]:
    from judge.calibration import Calibrator

    return [(Path(p), Calibrator.load(p)) for p in paths]


def match_calibrator(js: JudgeScores, cals: list[tuple[Path, Calibrator]]) -> tuple[Path, Calibrator] | None:
    """The calibrator fitted for this judge (by judge name or model), if any."""
    for path, cal in cals:
        if cal.judge == js.name or cal.judge_model == js.model:
            return path, cal
    return None
