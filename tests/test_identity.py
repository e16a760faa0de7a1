"""A judge's identity is typed and carried from the run to every report: names are rendered from it, never parsed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.analysis.agreement import agreement_report
from judge.analysis.calibration import Calibrator, IsotonicMap
from judge.analysis.scores import calibrated, cross_fitted
from judge.cli import main
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item
from judge.data.rubric import Rubric, ScalePoint
from judge.engine.identity import CalibrationRef, JudgeIdentity, identity_from_manifest
from judge.engine.store import RunManifest
from judge.errors import UsageError

RUBRIC = Rubric(
    name="empathy",
    version="1.0",
    title="empathy",
    question="?",
    level="interval",
    scale=[ScalePoint(value=v, label=f"p{v}", anchor="a") for v in (1, 2, 3, 4, 5)],
)


def _manifest() -> RunManifest:
    spec = {"name": "gpt", "model": "openai/gpt-4o", "api_base": "http://127.0.0.1:9/v1", "scoring": "answer"}
    return RunManifest(judges={"gpt": {**spec, "params": {"temperature": 0}}}, rubrics={"empathy": RUBRIC.ref})


def test_identity_from_the_manifest_and_its_labels() -> None:
    ident = identity_from_manifest(_manifest(), "gpt")
    assert (ident.name, ident.model, ident.endpoint, ident.scoring, ident.params) == (
        "gpt",
        "openai/gpt-4o",
        "http://127.0.0.1:9/v1",
        "answer",
        {"temperature": 0},
    )
    assert ident.label == "gpt" and not ident.imported
    hows = ("applied", "cross-fitted", "in-sample")
    labels = [ident.calibrated(CalibrationRef(path="c.json", method="isotonic", how=h)).label for h in hows]
    assert labels == ["gpt (calibrated)", "gpt (calibrated, cross-fitted)", "gpt (calibrated, in-sample)"]


def _bench() -> Benchmark:
    items = {f"i{k}": Item(item_id=f"i{k}", post_id=f"p{k % 6}", post="p", response="r") for k in range(24)}
    ratings = [
        ExpertRating(item_id=f"i{k}", rater=r, criterion="empathy", value=float(1 + (k + d) % 5))
        for k in range(24)
        for r, d in (("a", 0), ("b", k % 2))
    ]
    return Benchmark(manifest=BenchmarkManifest(name="b"), items=items, ratings=ratings)


def test_a_calibrated_copy_keeps_its_judge_and_records_the_calibrator() -> None:
    from judge.analysis.scores import JudgeScores

    manifest = _manifest()
    raw = JudgeScores.from_run("gpt", Path("runs/gpt"), manifest, {"empathy": {f"i{k}": 4.0 for k in range(24)}})
    cal = Calibrator(
        judge="gpt",
        judge_model="openai/gpt-4o",
        judge_params={"temperature": 0},
        rubrics={"empathy": RUBRIC.ref},
        benchmark="b",
        method="isotonic",
        maps={"empathy": IsotonicMap(x=[1.0, 5.0], y=[1.5, 4.0], low=1, high=5)},
    )
    applied = calibrated(raw, cal, "cal/gpt.json")
    held = cross_fitted(raw, cal, "cal/gpt.json", _bench(), {"empathy": RUBRIC})
    for js, how in ((applied, "applied"), (held, "in-sample")):  # no fold records: in-sample, and said so
        assert js.model == "openai/gpt-4o" and js.run_judge == "gpt" and js.params == {"temperature": 0}
        assert js.identity.calibration is not None and js.identity.calibration.how == how
        assert js.calibrator == "cal/gpt.json" and js.identity.calibration.method == "isotonic"
    assert applied.name == "gpt (calibrated)" and held.name == "gpt (calibrated, in-sample)"
    with pytest.raises(UsageError, match="already calibrated"):
        calibrated(applied, cal, "cal/gpt.json")


def test_the_cross_fitted_note_follows_the_identity_not_the_name() -> None:
    bench = _bench()
    scores = {"empathy": {f"i{k}": float(1 + k % 5) for k in range(24)}}
    # a judge whose *name* looks calibrated is not taken for one
    odd = "gpt (calibrated, cross-fitted)"
    plain = JudgeIdentity(name=odd, model="m")
    report = agreement_report(bench, {"empathy": RUBRIC}, {odd: scores}, n_boot=0, identities={odd: plain})
    assert not any("cross-fitted" in n for n in report.notes)
    assert report.criteria["empathy"].judges[odd].identity == plain
    held = plain.model_copy(update={"name": "gpt"}).calibrated(
        CalibrationRef(path="c.json", method="isotonic", how="cross-fitted")
    )
    report = agreement_report(bench, {"empathy": RUBRIC}, {"x": scores}, n_boot=0, identities={"x": held})
    assert any(n.startswith("calibrated, cross-fitted") for n in report.notes)


def test_the_judge_board_carries_the_identity_of_each_row(
    resort_bench: Path, gpt4_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On GPT-4's released judgments: the calibrated row names GPT-4's model (it once showed its own label)."""
    run, cal = gpt4_run, tmp_path / "cal.json"
    args = ["--benchmark", str(resort_bench), "--run", str(run), "--criteria", "empathy", "--n-boot", "20"]
    assert main(["calibrate", *args, "--out", str(cal)]) == 0
    capsys.readouterr()
    assert (
        main(["leaderboard", "--judges", *args, "--calibrator", str(cal), "--out", str(tmp_path / "o"), "--json"]) == 0
    )
    board = json.loads(capsys.readouterr().out)["leaderboard"]
    rows = {r["judge"]: r for r in board["rows"]}
    prov = board["provenance"]["judges"]["gpt-4-1106-preview (calibrated, cross-fitted)"]
    assert set(prov) == {"model", "params", "run", "identity"} and prov["run"] == str(run)
    raw, held = rows["gpt-4-1106-preview"], rows["gpt-4-1106-preview (calibrated, cross-fitted)"]
    assert raw["model"] == held["model"] == "gpt-4-1106-preview"
    assert raw["identity"]["source"] == "imported" and raw["identity"]["calibration"] is None
    assert held["identity"]["name"] == "gpt-4-1106-preview" and held["identity"]["calibration"]["how"] == "cross-fitted"
    assert held["identity"]["calibration"]["path"] == str(cal) and held["calibrator"] == str(cal)
    assert rows["chance:permuted"]["identity"] is None
