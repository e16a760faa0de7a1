"""``--self JUDGE=SYSTEM`` (issue 27, point 6): a judge's own system is left out of that judge's row only, counted,
and every format says so."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import pytest

from judge.analysis.agreement import agreement_report
from judge.analysis.inputs import systems_of
from judge.cli import main
from judge.data.benchmark import save_benchmark
from tests.test_agreement import RUBRICS, _bench, _write_rubrics


def test_own_system_items_leave_that_judges_row_only() -> None:
    bench, truth = _bench()  # systems m0..m5 (model), 20 items each
    scores = {f"i{k}": float(t) for k, t in enumerate(truth)}
    own = {i for i, it in bench.items.items() if it.system["model"] == "m0"}
    judges = {"j": {"empathy": scores}, "k": {"empathy": dict(scores)}}
    systems = systems_of(bench)
    own_systems = {"j": (["m0"], own)}
    c = agreement_report(bench, RUBRICS, judges, systems, n_boot=100, own_systems=own_systems).criteria["empathy"]
    j, k = c.judges["j"], c.judges["k"]
    assert (j.n_items, j.own_system_left_out, j.not_judged) == (100, 20, 0)
    assert (k.n_items, k.own_system_left_out) == (120, 0)  # the other judge keeps every item
    assert j.items == "the items j scored, less the 20 of its own system(s) ['m0']"
    # the row is exactly the judge scored without those items: kappa, its ceiling and the rest
    without = {i: v for i, v in scores.items() if i not in own}
    ref = agreement_report(bench, RUBRICS, {"j": {"empathy": without}}, systems, n_boot=100).criteria["empathy"]
    ref = ref.judges["j"]
    assert j.headline == ref.headline and j.ceiling == ref.ceiling and j.spearman == ref.spearman
    assert j.system is not None and ref.system is not None and j.system == ref.system
    assert j.system.n_systems == 5  # m0 is gone from its system-level agreement too


def _setup(tmp_path: Path) -> list[str]:
    bench, truth = _bench()
    save_benchmark(bench, tmp_path / "b")
    rubrics = _write_rubrics(tmp_path / "r", RUBRICS)
    run = tmp_path / "j.jsonl"
    run.write_text(
        "".join(
            json.dumps({"item_id": f"i{k}", "criterion": "empathy", "judge": "j", "raw_output": f"{t:g}"}) + "\n"
            for k, t in enumerate(truth)
        )
    )
    base = ["--benchmark", str(tmp_path / "b"), "--rubrics", str(rubrics)]
    assert main(["import", "judgments", str(run), *base, "--out", str(tmp_path / "run")]) == 0
    return [*base, "--run", str(tmp_path / "run"), "--criteria", "empathy", "--n-boot", "50"]


def test_every_format_says_the_judges_own_system_was_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _setup(tmp_path)
    assert main(["agree", *args, "--self", "j=m0", "--self", "j=m1", "--out", str(tmp_path / "rep")]) == 0
    said = "j: the items of its own system(s) ['m0', 'm1'] are left out of its row (--self): 40 on empathy"
    terminal = capsys.readouterr().out
    md = (tmp_path / "rep" / "agreement.md").read_text()
    html = unescape((tmp_path / "rep" / "agreement.html").read_text())
    for text in (md, html):
        assert said in text
    csv = (tmp_path / "rep" / "agreement.csv").read_text()
    assert "less the 40 of its own system(s) ['m0', 'm1']" in csv
    assert "40" in terminal and "--self" in terminal
    report = json.loads((tmp_path / "rep" / "agreement.json").read_text())
    row = report["criteria"]["empathy"]["judges"]["j"]
    assert (row["n_items"], row["own_system_left_out"]) == (80, 40) and said in report["notes"]
    # the judge board says it too
    assert main(["leaderboard", "--judges", *args, "--self", "j=m0", "--out", str(tmp_path / "board")]) == 0
    board = (tmp_path / "board" / "judges.md").read_text()
    assert "j: the items of its own system(s) ['m0'] are left out of its row (--self): 20 on empathy" in board


@pytest.mark.parametrize(
    ("value", "said"),
    [
        pytest.param("j", "expected JUDGE=SYSTEM", id="no-equals"),
        pytest.param("nobody=m0", "no judge 'nobody' in the runs", id="unknown-judge"),
        pytest.param("j=m9", "no item of benchmark 'synth' comes from system 'm9'", id="unknown-system"),
    ],
)
def test_a_bad_self_mapping_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, said: str
) -> None:
    args = _setup(tmp_path)
    capsys.readouterr()
    assert main(["agree", *args, "--self", value]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert main(["leaderboard", *args[:-4], "--self", "j=m0", "--out", str(tmp_path / "o")]) == 2
    assert "needs --judges" in capsys.readouterr().err
