"""The agreement report, its table, the ``judge agree`` verb, and the real RESORT expert ratings."""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np
import pytest

from judge.analysis.agreement import agreement_report, expert_matrix, render_agreement_table
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, save_benchmark
from judge.data.rubric import Rubric, ScalePoint
from judge.errors import InputError

RESORT = Path(__file__).parents[1].parent / "shared/data/resort"
RATERS = ["a", "b", "c", "d"]


def _rubric(name: str, level: str, values: list[float]) -> Rubric:
    return Rubric(
        name=name,
        version="1.0",
        title=name,
        question="?",
        level=level,  # type: ignore[arg-type]
        scale=[ScalePoint(value=v, label=f"p{v:g}", anchor="a") for v in values],
    )


def _bench(n: int = 120, seed: int = 0) -> tuple[Benchmark, np.ndarray]:
    """Items rated by 2 of 4 experts on 'empathy' (1-5) and 'harm' (0/1)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, n)
    items = {
        f"i{k}": Item(item_id=f"i{k}", post_id=f"p{k}", post="p", response="r", system={"model": f"m{k % 4}"})
        for k in range(n)
    }
    ratings = []
    for k in range(n):
        for r in rng.choice(4, 2, replace=False):
            v = float(np.clip(truth[k] + rng.integers(-1, 2), 1, 5))
            ratings.append(ExpertRating(item_id=f"i{k}", rater=RATERS[r], criterion="empathy", value=v))
            ratings.append(ExpertRating(item_id=f"i{k}", rater=RATERS[r], criterion="harm", value=float(truth[k] == 1)))
    return Benchmark(manifest=BenchmarkManifest(name="synth"), items=items, ratings=ratings), truth


RUBRICS = {"empathy": _rubric("empathy", "ordinal", [1, 2, 3, 4, 5]), "harm": _rubric("harm", "nominal", [0, 1])}


def test_report_shape_and_values() -> None:
    bench, truth = _bench()
    good = {f"i{k}": (float(t) if k % 10 else None) for k, t in enumerate(truth)}  # 12 unscored
    del good["i1"]  # one rated item never judged
    judges = {"good": {"empathy": good}, "const": {"empathy": {f"i{k}": 3.0 for k in range(len(truth))}}}
    systems = {i: it.system_name for i, it in bench.items.items()}
    report = agreement_report(bench, RUBRICS, judges, systems=systems, n_boot=300)
    d = report.model_dump()
    emp = d["criteria"]["empathy"]
    raters, _items, m = expert_matrix(bench, "empathy")
    assert raters == RATERS
    assert emp["level"] == "ordinal"
    assert emp["experts"]["alpha"] == pytest.approx(krippendorff.alpha(m, level_of_measurement="ordinal"))
    low, high = emp["experts"]["ci"]
    assert low <= emp["experts"]["alpha"] <= high
    assert emp["experts"]["n_items"] == 120
    g = emp["judges"]["good"]
    assert g["unscored"] == 12 and g["not_judged"] == 1 and g["n_items"] == 107
    judge_row = np.array([good.get(f"i{k}") if good.get(f"i{k}") is not None else np.nan for k in range(120)], float)
    scored = ~np.isnan(judge_row)  # alpha with the judge uses only the items the judge scored
    with_judge = np.vstack([m[:, scored], judge_row[scored]])
    assert g["alpha_with_experts"]["alpha"] == pytest.approx(
        krippendorff.alpha(with_judge.astype(float), level_of_measurement="ordinal")
    )
    assert g["spearman"]["value"] > 0.8 and g["kendall"]["value"] > 0.7
    assert g["system_spearman"]["n"] == 4
    assert set(g["kappa"]) == set(RATERS)
    assert g["alt_test"]["passed"] is True and g["alt_test_note"] is None
    c = emp["judges"]["const"]
    assert c["spearman"]["value"] is None and c["spearman"]["note"]
    assert c["alt_test"]["passed"] is False
    assert c["alpha_with_experts"]["alpha"] < emp["experts"]["alpha"]
    assert d["criteria"]["harm"]["judges"] == {}  # no judge scored harm
    assert len(emp["rater_stats"]) == 4 and emp["pairs"]


def test_nominal_criterion_skips_kappa_and_uses_accuracy() -> None:
    bench, truth = _bench()
    judges = {"j": {"harm": {f"i{k}": float(t == 1) for k, t in enumerate(truth)}}}
    j = agreement_report(bench, RUBRICS, judges, n_boot=100).criteria["harm"].judges["j"]
    assert j.kappa == {} and j.kappa_note and j.icc is None
    assert j.alt_test is not None and j.alt_test.scoring == "accuracy"


def test_alt_test_null_with_reason_when_too_few_items() -> None:
    bench, truth = _bench(n=12)
    judges = {"j": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    j = agreement_report(bench, RUBRICS, judges, n_boot=50).model_dump()["criteria"]["empathy"]["judges"]["j"]
    assert j["alt_test"] is None and "at least 2 experts" in j["alt_test_note"]


def test_interval_criterion_has_icc() -> None:
    bench, truth = _bench()
    rubrics = {"empathy": _rubric("empathy", "interval", [1, 2, 3, 4, 5])}
    judges = {"j": {"empathy": {f"i{k}": float(t) + 0.5 for k, t in enumerate(truth)}}}  # off-scale, biased
    j = agreement_report(bench, rubrics, judges, n_boot=100).criteria["empathy"].judges["j"]
    assert j.icc is not None and j.icc.value is not None and 0 < j.icc.value < 1
    assert j.bias.value is not None and j.bias.value > 0.3


def test_unknown_item_ids_are_an_input_error() -> None:
    bench, _ = _bench()
    with pytest.raises(InputError, match="not in benchmark 'synth'"):
        agreement_report(bench, RUBRICS, {"j": {"empathy": {"nope": 3.0}}}, n_boot=0)
    with pytest.raises(InputError, match="not a finite number"):
        agreement_report(bench, RUBRICS, {"j": {"empathy": {"i0": float("nan")}}}, n_boot=0)


def test_criterion_without_ratings_has_a_note() -> None:
    bench, _ = _bench(n=10)
    report = agreement_report(bench, {"other": _rubric("other", "ordinal", [1, 2, 3])}, n_boot=0)
    other = report.criteria["other"].experts
    assert other.alpha is None and "no expert ratings" in (other.note or "")
    assert any("'empathy' are ignored" in n for n in report.notes)


def test_render_table() -> None:
    bench, truth = _bench()
    judges = {"good-judge": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    text = render_agreement_table(agreement_report(bench, RUBRICS, judges, n_boot=100))
    assert "experts (ceiling)" in text and "good-judge" in text and "pass w=" in text
    assert "raters:" in text and "pairs:" in text


def test_cli_agree_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from judge.cli import main

    bench, _ = _bench()
    bench.ratings = [r for r in bench.ratings if r.criterion == "empathy"]
    save_benchmark(bench, tmp_path / "b")
    rc = main(["agree", "--benchmark", str(tmp_path / "b"), "--criteria", "empathy", "--n-boot", "50", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["criteria"]["empathy"]["experts"]["n_items"] == 120
    rc = main(["agree", "--benchmark", str(tmp_path / "b"), "--criteria", "empathy", "--n-boot", "50"])
    assert rc == 0 and "experts (ceiling)" in capsys.readouterr().out
    assert main(["agree", "--benchmark", str(tmp_path / "missing")]) == 2


@pytest.mark.skipif(not RESORT.is_dir(), reason=f"RESORT release not found at {RESORT}")
def test_resort_expert_alpha_matches_package() -> None:
    try:
        from judge.data.importers.resort import import_resort
    except ImportError as exc:
        pytest.skip(f"RESORT importer not available: {exc}")
    from judge.data.rubric import default_rubrics_dir, load_rubric_set

    bench = import_resort(RESORT)
    rubrics = load_rubric_set(default_rubrics_dir())
    report = agreement_report(bench, rubrics, n_boot=200)
    assert set(report.criteria) == {"alignment_with_standards", "empathy", "factuality", "harmfulness"}
    for name, c in report.criteria.items():
        _, items, m = expert_matrix(bench, name)
        assert len(items) == 227 and c.experts.n_items == 227
        expected = krippendorff.alpha(m, value_domain=rubrics[name].points_values(), level_of_measurement=c.level)
        assert c.experts.alpha == pytest.approx(expected, abs=1e-12)
        assert c.experts.ci is not None and c.experts.ci[0] <= c.experts.alpha <= c.experts.ci[1]
