"""The pairwise gate (issue 28, point 5): candidate vs baseline replies from two generation runs, judged pairwise
(``judge import versus``, ``judge run --task pairwise --pairs baseline:baseline``), and ``judge gate --pairwise``.

Every run goes through the real CLI and real HTTP to the loopback stub (``tests/support/stub.py``) with a scripted
judge: on empathy it prefers the longer reply, on alignment the shorter one, and on posts that say "always first"
it picks the reply shown first whatever it is (a position-biased judge). The figures of the gate's report are
checked against the statistics of ``judge.analysis.stats.preference`` computed here from the run's records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import pytest

from judge.analysis.stats.preference import PostDraws, pair_score, position_consistency, win_rates
from judge.data.benchmark import Benchmark, BenchmarkManifest, Item, load_benchmark, save_benchmark
from judge.engine.pairwise import PairJudgment
from judge.engine.store import iter_task_records
from judge.report.write import formats_of, render, write_report
from tests.support.cli import run_judge
from tests.support.gate_sample import GOLDEN, sample_pairwise_gate_report
from tests.support.stub import StubServer

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
N_POSTS = 12
BIASED = {3, 7}  # posts on which the scripted judge picks the reply shown first
N_BOOT = 500


def _responder(request: dict[str, Any]) -> str:
    """A scripted pairwise judge: longer wins on empathy, shorter on alignment; "always first" posts: A."""
    system = next(m["content"] for m in request["messages"] if m["role"] == "system")
    user = next(m["content"] for m in request["messages"] if "[[BEGIN" in str(m.get("content")))
    texts = dict(re.findall(r"\[\[BEGIN [A-Z ]+ ([AB]) \w+\]\]\n(.*?)\n\[\[END", user, re.S))
    longer = "A" if len(texts["A"]) > len(texts["B"]) else "B"
    if "unreadable" in user:
        return "I could not say."
    if "always first" in user:
        verdict = "A"
    elif "Criterion: Empathy" in system:
        verdict = longer
    else:
        verdict = "B" if longer == "A" else "A"
    return json.dumps({"rationale": "Scripted.", "verdict": verdict})


def _generated(tmp: Path, name: str, words: int, *, posts: int = N_POSTS, unreadable: int = 0) -> Path:
    """A benchmark as ``judge generate`` leaves one: one reply per post and dimension, of ``words`` words; the
    candidate's replies to the first ``unreadable`` posts get answers the judge's parser cannot read."""
    items = {}
    for i in range(posts):
        biased = " This one is always first." if i in BIASED else ""
        for dim in (1, 4):
            item_id = f"app-reply:p{i}:{dim}"
            items[item_id] = Item(
                item_id=item_id,
                post_id=f"p{i}",
                post=f"Post {i}: I failed an exam and feel hopeless.{biased}",
                response=" ".join(["You can recover from this."] * (words + i % 3))
                + " (unreadable)" * (i < unreadable),
                system={"model": "openai/app", "pipeline": "vanilla", "method": "app-reply"},
                dimension_id=dim,
            )
    out = tmp / name
    save_benchmark(Benchmark(manifest=BenchmarkManifest(name=f"generated-{name}"), items=items), out)
    return out


def _pairwise_run(
    url: str, bench: Path, out: Path, cache: Path, *criteria: str, pairs: str = "baseline:baseline", rc: int = 0
) -> None:
    r = run_judge("run", "--task", "pairwise", "--pairs", pairs, "--benchmark", str(bench), "--judge",
                  "openai/stub-judge", "--api-base", url, "--criteria", *criteria, "--out", str(out),
                  "--cache-dir", str(cache), "--no-progress", "--json")  # fmt: skip
    assert r.rc == rc, r.err


def _versus(tmp: Path, candidate: Path, baseline: Path, name: str) -> Path:
    out = tmp / name
    r = run_judge("import", "versus", str(candidate), str(baseline), "--out", str(out), "--json")
    assert r.rc == 0 and not r.fault, r.err
    return out


def _expected(run: Path, criterion: str) -> dict[str, Any]:
    """The gate's figures from the run's records, computed here with the statistics functions: each pair's two
    orders as the candidate's scores (1 better, 0.5 tie, 0 worse), then pair_score, win_rates, position_consistency
    over the same post draws as the gate (GateConfig's seed 0)."""
    recs = [r for r in iter_task_records(run) if isinstance(r, PairJudgment) and r.criterion == criterion]
    by_pair: dict[tuple[str, str], dict[str, float]] = {}
    for r in recs:
        shown_first = r.item_a if r.order == "ab" else r.item_b
        won = {"first": shown_first, "second": r.item_b if shown_first == r.item_a else r.item_a}.get(r.verdict or "")
        cand = r.item_a if r.item_a.startswith("candidate:") else r.item_b
        score = np.nan if r.verdict is None else 0.5 if r.verdict == "tie" else float(won == cand)
        by_pair.setdefault((r.item_a, r.item_b), {})[r.order] = score
    pairs = sorted(by_pair)
    ab = np.array([by_pair[p]["ab"] for p in pairs])
    ba = np.array([by_pair[p]["ba"] for p in pairs])
    posts = [p[0].split(":")[2] for p in pairs]  # candidate:app-reply:p<i>:<dim>
    draws = PostDraws.make(posts, N_BOOT, 0)
    s = pair_score(ab, ba)
    zeros = np.zeros(len(s), dtype=np.int64)
    win = win_rates(zeros, zeros + 1, s, 2, draws, confidence=0.95)[0]
    cons = position_consistency(ab, ba, draws, confidence=0.95)
    return {"n": len(pairs), "win": win, "consistency": cons, "scores": s}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two pairwise runs through the CLI: a longer candidate (better on empathy, worse on alignment) and a shorter
    one, each against the same baseline replies."""
    tmp = tmp_path_factory.mktemp("pairwise-gate")
    baseline = _generated(tmp, "main", words=4)
    longer = _versus(tmp, _generated(tmp, "pr-long", words=9), baseline, "vs-long")
    shorter = _versus(tmp, _generated(tmp, "pr-short", words=1), baseline, "vs-short")
    with StubServer(responder=_responder) as url:
        _pairwise_run(url, longer, tmp / "run-long", tmp / "cache", "empathy")
        _pairwise_run(url, longer, tmp / "run-mixed", tmp / "cache", "empathy", "alignment_with_standards")
        _pairwise_run(url, shorter, tmp / "run-short", tmp / "cache", "empathy")
        _pairwise_run(url, longer, tmp / "run-all", tmp / "cache", "empathy", pairs="all")
    gate_toml = tmp / "judge.toml"
    gate_toml.write_text(f"[gate]\nn_boot = {N_BOOT}\n\n[gate.pairwise]\nmargin = 0.05\n")
    names = {"long": "run-long", "mixed": "run-mixed", "short": "run-short", "all": "run-all"}
    return {"tmp": tmp, "vs-long": longer, "config": gate_toml, **{k: tmp / v for k, v in names.items()}}


def test_the_versus_benchmark_pairs_each_candidate_reply_with_the_baseline_reply_to_the_same_input(
    runs: dict[str, Path],
) -> None:
    bench = load_benchmark(runs["vs-long"])
    assert {it.system_name for it in bench.items.values()} == {"candidate", "baseline"}
    assert len(bench.items) == 2 * 2 * N_POSTS
    recs = [r for r in iter_task_records(runs["mixed"]) if isinstance(r, PairJudgment)]
    assert len(recs) == 2 * N_POSTS * 2 * 2  # inputs x criteria x orders
    for r in recs:
        a, b = bench.items[r.item_a], bench.items[r.item_b]
        assert (a.system_name, b.system_name) == ("candidate", "baseline")
        assert (a.post_id, a.dimension_id) == (b.post_id, b.dimension_id)  # the same post and dimension only
        assert a.meta["versus"]["item_id"] == r.item_a.removeprefix("candidate:")


def test_a_better_candidate_passes_and_a_worse_one_fails_with_the_pr_summary_saying_so(
    runs: dict[str, Path],
) -> None:
    tmp = runs["tmp"]
    ok = run_judge("gate", "--pairwise", str(runs["long"]), "--config", str(runs["config"]), "--json")
    assert ok.rc == 0 and not ok.fault, ok.err
    report = json.loads(ok.out)
    assert report["exit_code"] == 0 and report["mode"] == "pairwise"
    assert report["generated"] == {
        "candidate": f"{tmp / 'pr-long'} (openai/app / vanilla / app-reply)",
        "baseline": f"{tmp / 'main'} (openai/app / vanilla / app-reply)",
    }
    (emp,) = report["results"]
    want = _expected(runs["long"], "empathy")
    assert emp["status"] == "pass" and emp["n_pairs"] == want["n"] == 2 * N_POSTS
    assert emp["win_rate"] == pytest.approx(want["win"].value) and want["win"].value > 0.5
    assert (emp["ci_low"], emp["ci_high"]) == pytest.approx(want["win"].ci)
    assert emp["consistency"]["value"] == pytest.approx(want["consistency"].value)
    assert want["consistency"].value == pytest.approx(1 - len(BIASED) / N_POSTS)  # the biased posts' pairs
    assert emp["consistency"]["ci"] == pytest.approx(want["consistency"].ci)
    s = want["scores"]
    assert (emp["wins"], emp["ties"], emp["losses"]) == (
        int((s > 0.5).sum()),
        int((s == 0.5).sum()),
        int((s < 0.5).sum()),
    )
    assert emp["ties"] == 2 * len(BIASED)  # each biased pair: the first shown in both orders, a tie
    assert "PASS" in run_judge("gate", "--pairwise", str(runs["long"]), "--config", str(runs["config"])).out

    md, junit = tmp / "summary.md", tmp / "gate.xml"
    bad = run_judge("gate", "--pairwise", str(runs["short"]), "--config", str(runs["config"]), "--markdown", str(md),
                    "--junit", str(junit), env={"COLUMNS": "80"})  # fmt: skip
    assert bad.rc == 1 and not bad.fault, bad.err
    want_bad = _expected(runs["short"], "empathy")
    summary = md.read_text(encoding="utf-8")
    assert "**FAIL**: empathy (regression)" in summary and "| REGRESSION |" in summary
    assert f"| empathy | {want_bad['win'].value:.3f} |" in summary
    assert "Candidate `candidate` against baseline `baseline`" in summary
    assert "FAIL: empathy (regression)" in bad.out and "**" not in bad.out  # text for the terminal
    assert all(len(line) <= 80 for line in bad.out.splitlines())
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("failures") == "1"


def test_the_junit_has_one_testcase_per_criterion(runs: dict[str, Path]) -> None:
    """The mixed run: the judge prefers the longer candidate on empathy and the shorter baseline on alignment."""
    junit = runs["tmp"] / "both.xml"
    r = run_judge("gate", "--pairwise", str(runs["mixed"]), "--config", str(runs["config"]), "--junit", str(junit),
                  "--json")  # fmt: skip
    assert r.rc == 1 and not r.fault, r.err
    report = json.loads(r.out)
    by = {x["criterion"]: x for x in report["results"]}
    want = _expected(runs["mixed"], "alignment_with_standards")["win"]
    assert by["alignment_with_standards"]["win_rate"] == pytest.approx(want.value)
    assert by["alignment_with_standards"]["status"] == "regression" and want.ci is not None and want.ci[1] < 0.45
    assert by["empathy"]["status"] == "pass"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"empathy", "alignment_with_standards"}
    assert cases["empathy"].find("failure") is None and cases["alignment_with_standards"].find("failure") is not None


def test_a_margin_from_the_config_moves_the_line(runs: dict[str, Path]) -> None:
    want = _expected(runs["short"], "empathy")["win"]
    assert want.ci is not None
    lenient = runs["tmp"] / "lenient.toml"  # a margin that puts 0.5 - margin under the whole CI: pass
    lenient.write_text(f"[gate]\nn_boot = {N_BOOT}\n\n[gate.pairwise.margins]\nempathy = {0.5 - want.ci[0] + 0.01}\n")
    r = run_judge("gate", "--pairwise", str(runs["short"]), "--config", str(lenient), "--json")
    assert r.rc == 0, r.out + r.err
    typo = runs["tmp"] / "typo.toml"
    typo.write_text("[gate.pairwise.margins]\nempaty = 0.1\n")
    r = run_judge("gate", "--pairwise", str(runs["short"]), "--config", str(typo))
    assert r.clean_error and "[gate.pairwise.margins] ['empaty']: no such criterion" in r.err


def test_the_example_ci_config_sets_the_documented_defaults() -> None:
    from judge.jobs.gate import DEFAULT_WIN_MARGIN, PairwiseGateConfig, load_gate_config

    cfg = load_gate_config(ROOT / "examples" / "ci" / "judge.toml").pairwise
    assert cfg == PairwiseGateConfig() and cfg.margin == DEFAULT_WIN_MARGIN == 0.05 and cfg.max_unscored == 0.1


def test_a_run_that_is_not_candidate_vs_baseline_is_refused_with_what_was_expected(runs: dict[str, Path]) -> None:
    r = run_judge("gate", "--pairwise", str(runs["all"]))
    assert r.clean_error and "its pairs are 'all', not candidate vs baseline" in r.err
    assert "--pairs baseline:SYSTEM" in r.err
    r = run_judge("gate", "--pairwise", str(runs["long"]), "--candidate", str(runs["long"]))
    assert r.clean_error and "drop --candidate" in r.err
    r = run_judge("gate", "--candidate", str(runs["long"]), "--baseline", str(runs["long"]))
    assert r.clean_error and f"judge gate --pairwise {runs['long']}" in r.err


def test_too_many_unscored_pairs_cannot_be_checked_and_fail(tmp_path: Path) -> None:
    """3 of 12 posts' pairs get answers nobody can read (25% of the pairs, above max_unscored 10%): the candidate
    wins the others, yet the criterion is not checked and the gate exits 1; with max_unscored 0.3 it passes."""
    base = _generated(tmp_path, "main", words=4)
    vs = _versus(tmp_path, _generated(tmp_path, "pr", words=9, unreadable=3), base, "vs")
    with StubServer(responder=_responder) as url:
        _pairwise_run(url, vs, tmp_path / "r", tmp_path / "c", "empathy", rc=1)  # the run says so too
    md = tmp_path / "summary.md"
    r = run_judge("gate", "--pairwise", str(tmp_path / "r"), "--markdown", str(md), "--json")
    assert r.rc == 1 and not r.fault, r.err
    (emp,) = json.loads(r.out)["results"]
    unread = [x for x in iter_task_records(tmp_path / "r") if isinstance(x, PairJudgment) and x.verdict is None]
    assert emp["unscored"] == len({(x.item_a, x.item_b) for x in unread}) == 3 * 2
    assert emp["status"] == "no_data" and emp["win_rate"] > 0.5 and emp["n_pairs"] == 2 * N_POSTS - 6
    assert "6 of 24 pairs (25%) are unscored in both orders" in md.read_text() and "not checked" in md.read_text()
    lenient = tmp_path / "judge.toml"
    lenient.write_text("[gate.pairwise]\nmax_unscored = 0.3\n")
    assert run_judge("gate", "--pairwise", str(tmp_path / "r"), "--config", str(lenient)).rc == 0


def test_a_scoring_run_given_as_pairwise_is_refused(tmp_path: Path) -> None:
    with StubServer() as url:
        r = run_judge("run", "--benchmark", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url,
                      "--criteria", "empathy", "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c"),
                      "--no-progress", "--json")  # fmt: skip
    assert r.rc == 0, r.err
    r = run_judge("gate", "--pairwise", str(tmp_path / "r"))
    assert r.clean_error and "a run of the task 'score'; expected a pairwise run of candidate vs baseline" in r.err


def test_two_systems_of_one_benchmark_and_a_run_of_several_candidates(tmp_path: Path) -> None:
    """The demo holds three systems: --pairs baseline:demo-generic pairs two candidates with it; the gate asks which."""
    with StubServer(responder=_responder) as url:
        _pairwise_run(url, DEMO, tmp_path / "r", tmp_path / "c", "empathy", pairs="baseline:demo-generic")
    r = run_judge("gate", "--pairwise", str(tmp_path / "r"))
    assert r.clean_error and "2 systems are paired with the baseline 'demo-generic'" in r.err and "--system" in r.err
    r = run_judge("gate", "--pairwise", str(tmp_path / "r"), "--system", "demo-careful", "--json")
    assert r.rc in (0, 1) and not r.fault, r.err
    report = json.loads(r.out)
    assert (report["candidate"], report["baseline"]) == ("demo-careful", "demo-generic")
    assert report["results"][0]["n_pairs"] == 5 and report["exit_code"] == r.rc
    r = run_judge("gate", "--pairwise", str(tmp_path / "r"), "--system", "nobody")
    assert r.clean_error and "--system 'nobody'" in r.err


def test_import_versus_refuses_what_cannot_be_paired(tmp_path: Path) -> None:
    base = _generated(tmp_path, "main", words=4)
    r = run_judge("import", "versus", str(DEMO), str(base), "--out", str(tmp_path / "x"))
    assert r.clean_error and "each side must hold one reply per post and dimension" in r.err
    other = _generated(tmp_path, "other", words=4, posts=2)
    bench = load_benchmark(other)
    moved = {k: v.model_copy(update={"post_id": "elsewhere"}) for k, v in bench.items.items()}
    save_benchmark(Benchmark(manifest=bench.manifest, items=moved), tmp_path / "moved")
    r = run_judge("import", "versus", str(tmp_path / "moved"), str(base), "--out", str(tmp_path / "y"))
    assert r.clean_error and "share no post and dimension" in r.err
    r = run_judge("import", "versus", str(base), "--out", str(tmp_path / "z"))
    assert r.clean_error and "expected two benchmark directories" in r.err
    assert not any((tmp_path / n).exists() for n in "xyz")


def test_the_pairwise_gate_files_are_report_layouts_and_keep_their_bytes(tmp_path: Path) -> None:
    report = sample_pairwise_gate_report()
    assert formats_of(report) == ["md", "junit", "json"]
    golden = {"md": "pairwise_gate.md", "junit": "pairwise_gate.xml", "json": "pairwise_gate.json"}
    for fmt, name in golden.items():
        assert render(report, fmt) == (GOLDEN / name).read_text(encoding="utf-8"), fmt
    paths = write_report(report, tmp_path, ("md", "junit", "json"), stem="gate")
    assert all(
        paths[f].read_text(encoding="utf-8") == (GOLDEN / n).read_text(encoding="utf-8") for f, n in golden.items()
    )
