"""The agreement report (headline, chance rows, rater hygiene, thin data), its tables, the ``judge agree`` verb,
expert ratings checked against the rubrics, and the real RESORT data with GPT-4's released judgments."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pytest
import yaml

from judge.analysis.agreement import agreement_report
from judge.analysis.experts import expert_matrix
from judge.cli import main
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item, save_benchmark
from judge.data.rubric import Rubric, ScalePoint
from judge.errors import InputError
from judge.report.agreement import render_agreement_table

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
    """Items rated by 2 of 4 experts on 'empathy' (1-5) and 'harm' (0/1); 6 systems, one post per item."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, n)
    items = {
        f"i{k}": Item(item_id=f"i{k}", post_id=f"p{k}", post="p", response="r", system={"model": f"m{k % 6}"})
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


def _ordinal_distance(a: float, b: float, freq: dict[float, float]) -> float:
    """Krippendorff's ordinal distance, written out: (sum of the frequencies from a to b - (n_a + n_b) / 2)^2."""
    lo, hi = min(a, b), max(a, b)
    between = sum(f for v, f in freq.items() if lo <= v <= hi)
    return (between - (freq[a] + freq[b]) / 2) ** 2


def _pairwise_kappa(pairs: list[tuple[float, float]], level: str) -> float:
    """The headline by its definition, in plain Python over the list of (side 1, side 2) pairs."""
    values = [v for p in pairs for v in p]
    freq = {v: float(values.count(v)) for v in set(values)}

    def delta(a: float, b: float) -> float:
        if level == "nominal":
            return float(a != b)
        if level == "interval":
            return (a - b) ** 2
        return _ordinal_distance(a, b, freq)

    observed = sum(delta(a, b) for a, b in pairs) / len(pairs)
    expected = sum(delta(a, b) for a, _ in pairs for _, b in pairs) / len(pairs) ** 2
    return 1 - observed / expected


def _judge_pairs(judge: dict[str, float | None], bench: Benchmark, criterion: str) -> list[tuple[float, float]]:
    return [
        (judge[r.item_id], r.value)  # type: ignore[misc]
        for r in bench.ratings
        if r.criterion == criterion and judge.get(r.item_id) is not None
    ]


def test_headline_chance_rows_and_counts() -> None:
    bench, truth = _bench()
    good = {f"i{k}": (float(t) if k % 10 else None) for k, t in enumerate(truth)}  # 12 unscored
    del good["i1"]  # one rated item never judged
    judges = {"const": {"empathy": {f"i{k}": 3.0 for k in range(len(truth))}}, "good": {"empathy": good}}
    systems = {i: it.system_name for i, it in bench.items.items()}
    report = agreement_report(bench, RUBRICS, judges, systems=systems, n_boot=300)
    emp = report.criteria["empathy"]
    raters, _items, m = expert_matrix(bench, "empathy")
    assert raters == RATERS and emp.level == "ordinal" and emp.rubric_level == "ordinal"
    # Krippendorff's alpha among the experts is still reported, and matches the package
    assert emp.experts.alpha == pytest.approx(krippendorff.alpha(m, level_of_measurement="ordinal"))
    # The headline by its definition: judge-expert pairs only (one pair per expert rating of a scored item)
    g = emp.judges["good"]
    assert g.headline.value == pytest.approx(_pairwise_kappa(_judge_pairs(good, bench, "empathy"), "ordinal"))
    assert g.headline.n_pairs == 2 * 107 and g.headline.n == 107
    # The experts on the same footing: pairs of two experts' ratings of an item, both orders; with two ratings per
    # item that is Krippendorff's alpha without its small-sample factor: 1 - kappa = (1 - alpha) * n / (n - 1)
    expert_pairs = []
    for k in range(m.shape[1]):
        vals = m[~np.isnan(m[:, k]), k]
        for a, b in combinations(vals, 2):
            expert_pairs += [(a, b), (b, a)]
    ceiling = emp.experts.headline
    assert ceiling.value == pytest.approx(_pairwise_kappa(expert_pairs, "ordinal"))
    n_values = 240
    assert 1 - ceiling.value == pytest.approx((1 - emp.experts.alpha) * n_values / (n_values - 1))  # type: ignore[operator]
    # chance rows: a constant judge is exactly at chance, the shuffled judge on average
    const, perm = emp.judges["chance:constant"], emp.judges["chance:permuted"]
    assert abs(const.headline.value) < 1e-12 and emp.judges["const"].headline.value == pytest.approx(0, abs=1e-12)  # type: ignore[arg-type]
    assert abs(perm.headline.value) < 0.03  # type: ignore[arg-type]
    for row in (const, perm):
        assert row.kind == "chance" and row.headline.ci is not None
        assert row.headline.ci[0] <= 0 <= row.headline.ci[1] + 1e-12
    # the good judge sits between chance and perfect, its CI well clear of chance
    assert g.headline.ci is not None and g.headline.ci[0] > perm.headline.ci[1]  # type: ignore[index]
    # judges by headline, best first, then the chance rows
    length = ["baseline:length (characters)", "baseline:length (words)"]
    assert list(emp.judges) == ["good", "const", *length, "chance:constant", "chance:permuted"]
    assert (g.unscored, g.not_judged, g.n_items) == (12, 1, 107)
    assert g.spearman is not None and g.spearman.value > 0.8  # type: ignore[operator]
    assert g.kendall is not None and g.kendall.value > 0.7  # type: ignore[operator]
    assert set(g.kappa) == set(RATERS) and g.alt_test is not None and g.alt_test.passed
    c = emp.judges["const"]
    assert c.spearman is not None and c.spearman.value is None and c.spearman.note
    assert c.alt_test is not None and not c.alt_test.passed
    # system level: 6 systems of ~18 scored items each, one post per item
    assert g.system is not None and g.system.n_systems == 6 and g.system.icc_a1.form == "A,1"
    assert g.system.spearman.value is not None and g.system.icc_c1.ci is not None
    # no judge scored harm: the reference rows only
    assert {j.kind for j in report.criteria["harm"].judges.values()} == {"baseline", "chance"}
    d = report.model_dump(mode="json")["criteria"]["empathy"]
    assert set(d["judges"]["good"]["headline"]) >= {"value", "ci", "n", "n_pairs"}
    assert set(d["experts"]["headline"]) >= {"value", "ci"} and "alpha" in d["experts"]


def test_nominal_criterion_headline_is_cohens_kappa_over_pairs() -> None:
    bench, truth = _bench()
    judge = {f"i{k}": float(t == 1) if k % 3 else float(t == 2) for k, t in enumerate(truth)}
    j = agreement_report(bench, RUBRICS, {"j": {"harm": judge}}, n_boot=100).criteria["harm"].judges["j"]
    pairs = _judge_pairs(judge, bench, "harm")  # type: ignore[arg-type]
    po = np.mean([a == b for a, b in pairs])
    pe = sum(np.mean([a == v for a, _ in pairs]) * np.mean([b == v for _, b in pairs]) for v in (0.0, 1.0))
    assert j.headline.value == pytest.approx((po - pe) / (1 - pe))
    assert j.kappa == {} and j.kappa_note and j.icc is None
    assert j.alt_test is not None and j.alt_test.scoring == "accuracy"


def test_alt_test_null_with_reason_when_too_few_items() -> None:
    bench, truth = _bench(n=12)
    judges = {"j": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    j = agreement_report(bench, RUBRICS, judges, n_boot=50).model_dump()["criteria"]["empathy"]["judges"]["j"]
    assert j["alt_test"] is None and "at least 2 experts" in j["alt_test_note"]


def test_the_same_seed_gives_the_same_report_and_another_seed_other_intervals() -> None:
    """Every interval of the report (the experts' alpha included) is drawn from the seed it is given: a report can
    be reproduced, and the seed is what makes it so (another seed moves the intervals)."""
    bench, truth = _bench(n=60)
    judges = {"j": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    one, two, other = (
        agreement_report(bench, RUBRICS, judges, n_boot=100, seed=s).criteria["empathy"] for s in (3, 3, 4)
    )
    assert one.model_dump() == two.model_dump()
    assert one.experts.ci is not None and one.experts.ci != other.experts.ci
    assert one.judges["j"].headline.ci != other.judges["j"].headline.ci


def test_too_few_items_get_no_interval() -> None:
    bench, truth = _bench(n=4)
    judges = {"j": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    c = agreement_report(bench, RUBRICS, judges, n_boot=200).criteria["empathy"]
    j = c.judges["j"]
    assert j.headline.value is not None and j.headline.ci is None and "too few" in (j.headline.note or "")
    assert j.spearman is not None and j.spearman.ci is None and j.bias is not None and j.bias.ci is None
    assert c.experts.headline.ci is None and "4 item(s)" in (c.experts.headline.note or "")
    assert "[too few]" in render_agreement_table(agreement_report(bench, RUBRICS, judges, n_boot=50))


def test_interval_criterion_has_named_icc() -> None:
    bench, truth = _bench()
    rubrics = {"empathy": _rubric("empathy", "interval", [1, 2, 3, 4, 5])}
    judges = {"j": {"empathy": {f"i{k}": float(t) + 0.5 for k, t in enumerate(truth)}}}  # off-scale, biased
    j = agreement_report(bench, rubrics, judges, n_boot=100).criteria["empathy"].judges["j"]
    assert j.icc is not None and j.icc.form == "A,1" and j.icc.value is not None and 0 < j.icc.value < 1
    assert j.bias is not None and j.bias.value is not None and j.bias.value > 0.3
    pairs = _judge_pairs(judges["j"]["empathy"], bench, "empathy")  # type: ignore[arg-type]
    assert j.headline.value == pytest.approx(_pairwise_kappa(pairs, "interval"))


def _plain_quadratic_kappa(x: list[float], y: list[float]) -> float:
    """Quadratic-weighted kappa written out: 1 - mean (x_i - y_i)^2 / mean over all (i, j) of (x_i - y_j)^2."""
    n = len(x)
    observed = sum((a - b) ** 2 for a, b in zip(x, y, strict=True)) / n
    expected = sum((a - b) ** 2 for a in x for b in y) / n**2
    return 1 - observed / expected


def test_every_judge_number_is_the_statistic_on_the_judges_items() -> None:
    """Each number of a judge's row against its definition on the items it covers (the report once halved the
    per-expert kappa and no test noticed)."""
    from scipy import stats

    bench, truth = _bench()
    rng = np.random.default_rng(5)
    scores = {f"i{k}": float(np.clip(t + rng.integers(-1, 2), 1, 5)) for k, t in enumerate(truth) if k % 7}
    rubrics = {"empathy": _rubric("empathy", "interval", [1, 2, 3, 4, 5])}
    j = agreement_report(bench, rubrics, {"j": {"empathy": scores}}, n_boot=200).criteria["empathy"].judges["j"]
    raters, items, m = expert_matrix(bench, "empathy")
    keep = [k for k, i in enumerate(items) if i in scores]
    x = np.array([scores[items[k]] for k in keep])
    y = np.nanmean(m[:, keep], axis=0)
    assert j.n_items == len(keep)
    assert j.spearman is not None and j.spearman.value == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert j.kendall is not None and j.kendall.value == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert j.bias is not None and j.bias.value == pytest.approx(float(np.mean(x - y)), abs=1e-12)
    assert j.bias.sd == pytest.approx(float(np.std(x - y, ddof=1)))
    # ICC(A,1) of the two columns (judge, expert mean), two-way ANOVA written out (McGraw & Wong 1996)
    pair = np.column_stack([x, y])
    n, k = pair.shape
    grand = pair.mean()
    msr = k * ((pair.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((pair.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    mse = ((pair - pair.mean(axis=1, keepdims=True) - pair.mean(axis=0) + grand) ** 2).sum() / ((n - 1) * (k - 1))
    icc_a1 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    assert j.icc is not None and j.icc.value == pytest.approx(icc_a1, abs=1e-12)
    for r, rater in enumerate(raters):
        both = [c for c in keep if not np.isnan(m[r, c])]
        want = _plain_quadratic_kappa([scores[items[c]] for c in both], [float(m[r, c]) for c in both])
        est = j.kappa[rater]
        assert est.value == pytest.approx(want, abs=1e-12) and est.n == len(both)
        assert est.ci is not None and est.ci[0] < est.value < est.ci[1]  # type: ignore[operator]
    for est in (j.spearman, j.kendall, j.bias, j.icc, j.headline):
        assert est.ci is not None and est.ci[0] <= est.value <= est.ci[1]  # type: ignore[operator]


def test_permuted_chance_row_comes_from_one_judge_and_its_items() -> None:
    """``judge agree --run A --run B``: the permuted chance row once pooled the shuffles of a 198-item judge and a
    5-item judge, printing the 5-item judge's wide interval beside n = 198."""
    from judge.analysis.stats.pairwise import chance_permuted, permuted_kappas

    bench, truth = _bench()
    big = {f"i{k}": float(np.clip(t + (k % 3) - 1, 1, 5)) for k, t in enumerate(truth)}
    small = {f"i{k}": float(1 + k % 5) for k in range(5)}
    alone = agreement_report(bench, RUBRICS, {"big": {"empathy": big}}, n_boot=300).criteria["empathy"]
    for order in (("small", "big"), ("big", "small")):
        judges = {name: {"empathy": {"big": big, "small": small}[name]} for name in order}
        emp = agreement_report(bench, RUBRICS, judges, n_boot=300).criteria["empathy"]
        perm = emp.judges["chance:permuted"]
        assert perm.model_dump() == alone.judges["chance:permuted"].model_dump() | {"description": perm.description}
        assert perm.n_items == perm.headline.n == emp.judges["big"].n_items == 120
        assert "big's own scores" in (perm.description or "") and "small" not in (perm.description or "")
    # and it is the shuffles of that judge alone, on its items
    _, items, m = expert_matrix(bench, "empathy")
    vec = np.array([big[i] for i in items])
    want = chance_permuted(permuted_kappas(vec, m, "ordinal", [1, 2, 3, 4, 5], n_perm=300, seed=1), 120, 240)
    assert alone.judges["chance:permuted"].headline == want
    # the 5-item judge's own chance interval is the wide one that used to leak into the row
    thin = agreement_report(bench, RUBRICS, {"small": {"empathy": small}}, n_boot=300).criteria["empathy"]
    wide, narrow = thin.judges["chance:permuted"].headline.ci, want.ci
    assert wide is not None and narrow is not None and wide[1] - wide[0] > 2 * (narrow[1] - narrow[0])


def test_level_is_chosen_at_analysis_time() -> None:
    bench, truth = _bench()
    judges = {"j": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    ordinal = agreement_report(bench, RUBRICS, judges, n_boot=0).criteria["empathy"]
    interval = agreement_report(bench, RUBRICS, judges, n_boot=0, levels={"empathy": "interval"}).criteria["empathy"]
    assert (interval.level, interval.rubric_level, interval.rubric) == ("interval", "ordinal", ordinal.rubric)
    assert interval.experts.alpha == pytest.approx(krippendorff.alpha(expert_matrix(bench, "empathy")[2]))
    pairs = _judge_pairs(judges["j"]["empathy"], bench, "empathy")  # type: ignore[arg-type]
    assert interval.judges["j"].headline.value == pytest.approx(_pairwise_kappa(pairs, "interval"))
    assert interval.judges["j"].icc is not None and ordinal.judges["j"].icc is None


def test_a_judge_that_is_one_of_the_raters_is_flagged() -> None:
    bench, _ = _bench()
    copy = {r.item_id: r.value for r in bench.ratings if r.rater == "a" and r.criterion == "empathy"}
    report = agreement_report(bench, RUBRICS, {"copy": {"empathy": copy}}, n_boot=0)
    j = report.criteria["empathy"].judges["copy"]
    assert [m.rater for m in j.same_as_rater] == ["a"] and j.same_as_rater[0].share == 1.0
    assert any("'copy'" in w and "--exclude-rater a" in w for w in report.warnings)
    # a judge that always answers the experts' common value equals them often, but by chance: not flagged
    constant = {i: 0.0 for i in bench.items}
    assert agreement_report(bench, RUBRICS, {"z": {"harm": constant}}, n_boot=0).warnings == []


def test_every_judge_named_like_a_rater_gets_its_warning_and_rows_go_best_first() -> None:
    """Two judges named like raters 'a' and 'b': one warning each (not only the last). The rows go by headline,
    best first, a negative one included, and a judge with no headline (every answer unscored) comes last."""
    bench, truth = _bench(n=60)
    good = {f"i{k}": float(t) for k, t in enumerate(truth)}
    worse = {f"i{k}": float(6 - t) for k, t in enumerate(truth)}  # the scale upside down: a negative headline
    unscored: dict[str, float | None] = dict.fromkeys(good)
    judges = {"a": {"empathy": good}, "b": {"empathy": worse}, "0-none": {"empathy": unscored}}
    report = agreement_report(bench, RUBRICS, judges, n_boot=0)
    named = [w for w in report.warnings if "--exclude-rater" in w]
    assert any("--exclude-rater a" in w for w in named) and any("--exclude-rater b" in w for w in named)
    rows = report.criteria["empathy"].judges
    judged = [n for n in rows if n in judges]
    assert judged == ["a", "b", "0-none"], judged
    assert rows["b"].headline.value is not None and rows["b"].headline.value < 0
    assert rows["0-none"].headline.value is None


def test_unknown_item_ids_are_an_input_error() -> None:
    bench, _ = _bench()
    with pytest.raises(InputError, match="not in benchmark 'synth'"):
        agreement_report(bench, RUBRICS, {"j": {"empathy": {"nope": 3.0}}}, n_boot=0)
    with pytest.raises(InputError, match="not a finite number"):
        agreement_report(bench, RUBRICS, {"j": {"empathy": {"i0": float("nan")}}}, n_boot=0)


def test_wrong_rubric_set_is_an_input_error_naming_both_sides() -> None:
    bench, _ = _bench(n=10)
    with pytest.raises(InputError) as exc:
        agreement_report(bench, {"other": _rubric("other", "ordinal", [1, 2, 3])}, n_boot=0)
    assert "['empathy', 'harm']" in str(exc.value) and "['other']" in str(exc.value)
    # a selected criterion without ratings, beside rated ones, is shown with a note
    rubrics = {**RUBRICS, "other": _rubric("other", "ordinal", [1, 2, 3])}
    report = agreement_report(bench, rubrics, n_boot=0)
    assert "no expert ratings" in (report.criteria["other"].experts.note or "")
    # unselected criteria with a rubric are not reported as "no rubric"
    assert agreement_report(bench, rubrics, n_boot=0, criteria=["empathy"]).notes == []


def test_render_table() -> None:
    bench, truth = _bench()
    judges = {"good-judge": {"empathy": {f"i{k}": float(t) for k, t in enumerate(truth)}}}
    text = render_agreement_table(agreement_report(bench, RUBRICS, judges, n_boot=100))
    assert "experts (ceiling)" in text and "good-judge" in text and "pass w=" in text
    assert "chance:constant" in text and "chance:permuted" in text and "## Raters" in text


# -- the verb and the expert ratings it reads ------------------------------------------------------------------


def _write_rubrics(root: Path, rubrics: dict[str, Rubric]) -> Path:
    root.mkdir(exist_ok=True)
    for r in rubrics.values():
        (root / f"{r.name}.yaml").write_text(yaml.safe_dump(r.model_dump(mode="json", exclude_defaults=True)))
    return root


def test_cli_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench, _ = _bench()
    save_benchmark(bench, tmp_path / "b")
    rub = str(_write_rubrics(tmp_path / "r", RUBRICS))
    base = ["agree", "--benchmark", str(tmp_path / "b"), "--rubrics", rub, "--n-boot", "50"]
    assert main([*base, "--criteria", "empathy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    emp = out["criteria"]["empathy"]
    assert emp["experts"]["n_items"] == 120 and emp["experts"]["headline"]["value"] is not None
    assert list(emp["judges"]) == [
        "baseline:length (characters)",
        "baseline:length (words)",
        "chance:constant",
        "chance:permuted",
    ]
    assert "harm" not in out["criteria"] and out["notes"] == []  # harm has a rubric: it was just not selected
    assert main([*base, "--criteria", "empathy", "--out", str(tmp_path / "o"), "--format", "md,csv,html"]) == 0
    assert "experts (ceiling)" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["agreement.csv", "agreement.html", "agreement.md"]
    assert main([*base, "--exclude-rater", "a", "--level", "empathy=interval", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["excluded_raters"] == ["a"] and "a" not in out["criteria"]["empathy"]["raters"]
    assert out["criteria"]["empathy"]["level"] == "interval"
    assert main([*base, "--exclude-rater", "zz"]) == 2
    assert main([*base, "--level", "cubic"]) == 2
    assert main(["agree", "--benchmark", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "'zz'" in err and "cubic" in err
    other = str(_write_rubrics(tmp_path / "other", {"other": _rubric("other", "ordinal", [1, 2, 3])}))
    assert main(["agree", "--benchmark", str(tmp_path / "b"), "--rubrics", other]) == 2
    err = capsys.readouterr().err
    assert "'empathy'" in err and "other" in err  # the wrong rubric set, naming both sides


@pytest.mark.parametrize(
    ("criterion", "value", "expected"),
    [
        ("empathy", "7", "7 is not a point of the empathy scale (1 (p1), 2 (p2), 3 (p3), 4 (p4), 5 (p5))"),
        ("empathy", "2.5", "2.5 is not a point of the empathy scale (1 (p1), 2 (p2), 3 (p3), 4 (p4), 5 (p5))"),
        ("harm", "0.5", "0.5 is not a point of the harm scale (0 (p0), 1 (p1))"),
        ("empathy", "NaN", "nan is not a finite number"),
        ("empathy", "Infinity", "inf is not a finite number"),
        ("emapthy", "3", "'emapthy' has no rubric; expected one of ['empathy', 'harm']"),
    ],
    ids=["off-scale", "ordinal-between-points", "nominal-between-categories", "nan", "infinity", "misspelt"],
)
def test_bad_expert_ratings_exit_2_naming_the_place(
    criterion: str, value: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench, _ = _bench(n=10)
    bench_dir = save_benchmark(bench, tmp_path / "b")
    lines = (bench_dir / "ratings.jsonl").read_text().splitlines()
    bad = {"item_id": "i3", "rater": "a", "criterion": criterion, "value": "VALUE"}
    lines.insert(4, json.dumps(bad).replace('"VALUE"', value))  # becomes line 5
    (bench_dir / "ratings.jsonl").write_text("\n".join(lines) + "\n")
    rub = str(_write_rubrics(tmp_path / "r", RUBRICS))
    assert main(["agree", "--benchmark", str(bench_dir), "--rubrics", rub, "--n-boot", "0"]) == 2
    err = capsys.readouterr().err
    field = "criterion" if criterion == "emapthy" else "value"
    assert f"ratings.jsonl:5: {field}: {expected}" in err and "rater 'a', item 'i3'" in err
    assert "Traceback" not in err and err.count("\n  - ") == 1  # one problem, no knock-on errors


def test_repeated_bad_ratings_are_listed_once_with_a_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench, _ = _bench(n=30)
    bench.ratings = [r.model_copy(update={"value": 7.0}) if r.criterion == "empathy" else r for r in bench.ratings]
    bench_dir = save_benchmark(bench, tmp_path / "b")
    rub = str(_write_rubrics(tmp_path / "r", RUBRICS))
    assert main(["leaderboard", "--benchmark", str(bench_dir), "--rubrics", rub, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "ratings.jsonl:1: value: 7 is not a point of the empathy scale" in err and "... and 59 more like this" in err


# -- RESORT and GPT-4's released judgments -----------------------------------------------------------------------


def test_resort_expert_alpha_matches_package(resort_bench: Path) -> None:
    from judge.analysis.inputs import load_inputs

    inp = load_inputs(resort_bench)
    report = agreement_report(inp.bench, inp.rubrics, n_boot=200)
    assert set(report.criteria) == {"alignment_with_standards", "empathy", "factuality", "harmfulness"}
    for name, c in report.criteria.items():
        _, items, m = expert_matrix(inp.bench, name)
        assert len(items) == 227 and c.experts.n_items == 227
        expected = krippendorff.alpha(m, value_domain=inp.rubrics[name].points_values(), level_of_measurement=c.level)
        assert c.experts.alpha == pytest.approx(expected, abs=1e-12)
        assert c.experts.ci is not None and c.experts.ci[0] <= c.experts.alpha <= c.experts.ci[1]
        # 2 ratings per item, 454 values: the ceiling is alpha without its small-sample factor
        assert 1 - c.experts.headline.value == pytest.approx((1 - expected) * 454 / 453)  # type: ignore[operator]


def test_resort_gpt4_sits_between_chance_and_the_ceiling(
    resort_bench: Path, gpt4_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's acceptance check: a constant and a shuffled judge land at or below zero with CIs covering zero,
    GPT-4 between them and the experts' ceiling, computed the same way."""
    run = gpt4_run
    capsys.readouterr()
    assert main(["agree", "--benchmark", str(resort_bench), "--run", str(run), "--n-boot", "1000", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("alignment_with_standards", "empathy"):
        c = report["criteria"][name]
        ceiling = c["experts"]["headline"]
        gpt4 = c["judges"]["gpt-4-1106-preview"]["headline"]
        for chance in ("chance:constant", "chance:permuted"):
            h = c["judges"][chance]["headline"]
            assert h["value"] <= 1e-12 or abs(h["value"]) < 0.01, (name, chance, h)
            assert h["ci"][0] <= 1e-12 and h["ci"][1] >= -1e-12, (name, chance, h)
            assert gpt4["ci"][0] > h["ci"][1], (name, chance)  # GPT-4 clear of chance
        assert gpt4["value"] < ceiling["value"]
    # GPT-4 answered "not harmful" to every item: on harmfulness it is a constant judge, exactly at chance
    harm = report["criteria"]["harmfulness"]["judges"]["gpt-4-1106-preview"]["headline"]
    assert harm["value"] == pytest.approx(0.0, abs=1e-12)


def test_analysis_refuses_a_run_of_other_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A run records the content hash of the benchmark it judged; joining it by item id to another benchmark (same
    # ids, other responses) would compare scores of texts the judge never read.
    from judge.cli import main
    from judge.data import Benchmark, BenchmarkManifest, ExpertRating, Item, default_rubrics_dir, save_benchmark
    from judge.engine import Judgment, RunManifest, RunStore
    from judge.engine.store import benchmark_record

    def bench(word: str) -> Benchmark:
        items = {f"i{k}": Item(item_id=f"i{k}", post_id=f"p{k}", post="p", response=f"{word} {k}") for k in range(8)}
        ratings = [ExpertRating(item_id=i, rater=r, criterion="empathy", value=3.0) for i in items for r in "ab"]
        return Benchmark(manifest=BenchmarkManifest(name=word), items=items, ratings=ratings)

    judged = bench("judged")
    judged.path = save_benchmark(judged, tmp_path / "judged")
    other = save_benchmark(bench("other"), tmp_path / "other")
    from judge.data import load_rubric_set

    ref = load_rubric_set(default_rubrics_dir())["empathy"].ref
    store = RunStore(tmp_path / "run").open()
    store.write_manifest(
        RunManifest(
            benchmark=benchmark_record(judged), judges={"j": {"name": "j", "model": "x"}}, rubrics={"empathy": ref}
        )
    )
    for i in judged.items:
        store.append(Judgment(item_id=i, criterion="empathy", judge="j", score=3.0, rubric=ref))
    store.close()
    args = ["agree", "--criteria", "empathy", "--run", str(tmp_path / "run"), "--n-boot", "100"]
    assert main([*args, "--benchmark", str(tmp_path / "judged")]) == 0
    capsys.readouterr()
    assert main([*args, "--benchmark", str(other)]) == 2
    err = capsys.readouterr().err
    assert "content hash" in err and "pass the benchmark the run judged" in err
