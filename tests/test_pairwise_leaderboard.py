"""Pairwise runs in the leaderboard, its reports and the viewer (issue 28, points 3 and 6).

A pairwise run of the loopback stub (``tests/support/stub.py``: a verdict chosen by hashing the messages, and
logprobs giving P(first) 0.7, 0.3 or 0.5) over the demo with two invented raters (``tests/support/pages.py``), so
the experts decide every pair. The real CLI writes ``judge leaderboard`` in every format, and every figure is checked
against ``pairwise_rankings`` and ``run_agreement`` computed directly on the run. The pair viewer is opened in
headless Chromium at 390 px and 1,400 px. One test runs on the RESORT release (skipped without it), where the
ceiling is two real psychologists.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from judge.analysis.pairwise import pairwise_rankings
from judge.analysis.pairwise.runs import run_agreement, run_preferences
from judge.data import load_benchmark
from judge.report.format import with_ci
from tests.support.cdp import CHROMIUM, Browser
from tests.support.cli import run_judge
from tests.support.layout import box, measure
from tests.support.pages import rated_demo
from tests.support.stub import StubServer

N_BOOT, SEED, BASE = 300, 7, "demo-generic"
CRITERIA = ("empathy", "alignment_with_standards")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The rated demo, a pairwise run of every pair and a scoring run of it, judged by the stub."""
    tmp = tmp_path_factory.mktemp("pairlb")
    bench = rated_demo(tmp / "bench")
    common = ["--benchmark", str(bench), "--judge", "openai/stub-judge", "--criteria", *CRITERIA,
              "--cache-dir", str(tmp / "cache"), "--no-progress", "--scoring", "expected"]  # fmt: skip
    with StubServer() as url:
        pair = run_judge("run", "--task", "pairwise", "--pairs", "all", "--api-base", url, *common,
                         "--out", str(tmp / "pairs"))  # fmt: skip
        score = run_judge("run", "--api-base", url, *common, "--out", str(tmp / "scores"))
    assert pair.rc == 0 and score.rc == 0, (pair.err, score.err)
    return {"bench": bench, "pairs": tmp / "pairs", "scores": tmp / "scores", "tmp": tmp}


def _leaderboard(runs: dict[str, Path], out: Path, *extra: str) -> dict[str, Path]:
    r = run_judge("leaderboard", "--benchmark", str(runs["bench"]), "--run", str(runs["pairs"]), "--baseline-system",
                  BASE, "--n-boot", str(N_BOOT), "--seed", str(SEED), "--out", str(out), *extra)  # fmt: skip
    assert r.rc == 0 and not r.fault, r.err
    return {k: Path(v) for k, v in json.loads(r.out)["files"].items()} if "--json" in extra else {}


def test_the_leaderboard_ranks_a_pairwise_run_in_every_format(runs: dict[str, Path]) -> None:
    bench = load_benchmark(runs["bench"])
    prefs = run_preferences(runs["pairs"], bench)
    want = pairwise_rankings(prefs, baseline=BASE, n_boot=N_BOOT, seed=SEED)
    agree = run_agreement(runs["pairs"], bench, n_boot=N_BOOT, seed=SEED)
    assert agree is not None and {c.criterion for c in agree.criteria} == set(CRITERIA)
    files = _leaderboard(runs, runs["tmp"] / "lb", "--json", "--viewer")
    assert set(files) == {"md", "json", "csv", "html", "viewer"}

    # json: the rankings and the agreement, as computed directly
    got = json.loads(files["json"].read_text())
    assert got["kind"] == "pairwise" and got["baseline"] == BASE
    assert got["rankings"] == want.model_dump(mode="json")
    assert got["agreement"] == agree.model_dump(mode="json")
    systems = {(r.criterion, s.system): s for r in want.rankings for s in r.systems}
    assert len(systems) == 3 * len(CRITERIA)

    # csv: one row per criterion x system, the raw numbers
    rows = list(csv.DictReader(files["csv"].open()))
    assert len(rows) == len(systems)
    for row in rows:
        s = systems[(row["criterion"], row["system"])]
        assert int(row["rank"]) == s.rank and int(row["n_pairs"]) == s.n_pairs
        assert float(row["strength"]) == pytest.approx(s.strength.value)
        assert float(row["win_rate"]) == pytest.approx(s.win_rate.value)
        assert float(row["win_rate_low"]) == pytest.approx(s.win_rate.ci[0])  # type: ignore[index]
        if s.system == BASE:
            assert row["vs_baseline"] == ""
        else:
            assert float(row["vs_baseline"]) == pytest.approx(s.vs_baseline.raw.value)  # type: ignore[union-attr]

    # md and html: every system's strength and win rate as written, and the experts' ceiling and chance rows
    md = files["md"].read_text()
    html = re.sub(r"<[^>]+>", "", files["html"].read_text())  # the cells' text, without the CI's <span>
    for s in systems.values():
        for text in (with_ci(s.strength.value, s.strength.ci), with_ci(s.win_rate.value, s.win_rate.ci)):
            assert text in md and text in html, text
    for crit in agree.criteria:
        judge_row = next(r for r in crit.rows if r.kind == "judge")
        for row in (judge_row, crit.ceiling):
            assert with_ci(row.kappa.value, row.kappa.ci) in md
        assert "chance:first" in md and "chance:coin" in html
    assert "Agreement with the experts' preferences" in md and 'href="viewer.html"' in files["html"].read_text()
    # each system opens its own pairs in the viewer, largest disagreement with the experts first
    assert 'href="viewer.html#system=demo-careful&amp;sort=experts"' in files["html"].read_text()


def test_the_terminal_table_fits_80_columns(runs: dict[str, Path]) -> None:
    r = run_judge("leaderboard", "--benchmark", str(runs["bench"]), "--run", str(runs["pairs"]), "--n-boot", "50",
                  "--format", "md", "--out", str(runs["tmp"] / "lb80"), env={"COLUMNS": "80"})  # fmt: skip
    assert r.rc == 0, r.err
    assert "strength" in r.out and max(len(line) for line in r.out.splitlines()) <= 80, r.out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--baseline-system", "demo-nobody"), "--baseline-system 'demo-nobody' is not a system of run"),
        (("--run", "SCORES"), "is a pairwise run and --run"),
        (("--judges",), "--judges: not for a pairwise run"),
        (("--criteria", "harmfulness"), "no pairwise verdicts on the criteria"),
    ],
)
def test_bad_pairwise_leaderboards_exit_2_with_a_clear_message(
    runs: dict[str, Path], extra: tuple[str, ...], message: str
) -> None:
    extra = tuple(str(runs["scores"]) if a == "SCORES" else a for a in extra)
    r = run_judge("leaderboard", "--benchmark", str(runs["bench"]), "--run", str(runs["pairs"]), *extra,
                  "--n-boot", "50", "--out", str(runs["tmp"] / "bad"))  # fmt: skip
    assert r.clean_error and message in r.err, r.err
    assert not (runs["tmp"] / "bad").exists()


def test_a_scoring_run_first_then_a_pairwise_run_and_baseline_system_without_one_exit_2(
    runs: dict[str, Path],
) -> None:
    common = ("--benchmark", str(runs["bench"]), "--n-boot", "50", "--out", str(runs["tmp"] / "bad2"))
    r = run_judge("leaderboard", "--judges", "--run", str(runs["scores"]), "--run", str(runs["pairs"]), *common)
    assert r.clean_error and "is a pairwise run and --run" in r.err, r.err
    r = run_judge("leaderboard", "--run", str(runs["scores"]), "--baseline-system", BASE, *common)
    assert r.clean_error and "--baseline-system ranks against a system in a pairwise run" in r.err, r.err
    r = run_judge("view", "--run", str(runs["pairs"]), "--run", str(runs["scores"]), "--out", str(runs["tmp"] / "v"))
    assert r.clean_error and "is a pairwise run and --run" in r.err, r.err


# -- the pair viewer --------------------------------------------------------------------------------------------------

SCREENS = {"phone": (390, 844, True), "desktop": (1400, 900, False)}


@pytest.fixture(scope="module")
def viewer(runs: dict[str, Path]) -> Path:
    out = runs["tmp"] / "view" / "viewer.html"
    r = run_judge("view", "--benchmark", str(runs["bench"]), "--run", str(runs["pairs"]), "--out", str(out), "--json")
    assert r.rc == 0, r.err
    assert json.loads(r.out)["pairs"] == 3 * 5 * len(CRITERIA)
    return out


def _data(page: Path) -> dict[str, object]:
    text = page.read_text()
    start = text.index('id="viewer-data">') + len('id="viewer-data">')
    return json.loads(text[start : text.index("</script>", start)])  # type: ignore[no-any-return]


def test_the_viewer_holds_both_orders_p_first_and_every_experts_rating(runs: dict[str, Path], viewer: Path) -> None:
    bench = load_benchmark(runs["bench"])
    prefs = {(p.judge, p.criterion, p.item_a, p.item_b): p for p in run_preferences(runs["pairs"], bench)}
    data = _data(viewer)
    items, cards = data["items"], data["cards"]
    assert "https://" not in viewer.read_text() and "<script src" not in viewer.read_text()  # no network
    for c in cards:  # type: ignore[attr-defined]
        a, b = items[c["item_a"]]["id"], items[c["item_b"]]["id"]  # type: ignore[index]
        p = prefs[(c["judge"], c["criterion"], a, b)]
        assert c["p_a"] == pytest.approx(p.p_a) and c["ab"]["p_first"] == p.p_first_ab
        assert c["ba"]["verdict"] == p.verdict_ba and c["ba"]["p_first"] == p.p_first_ba
        ratings = {r.rater: r.value for r in bench.ratings if r.item_id == a and r.criterion == c["criterion"]}
        assert c["experts_a"]["ratings"] == ratings
        assert c["experts_a"]["mean"] == pytest.approx(sum(ratings.values()) / len(ratings))
        # the invented raters always rank careful > generic > dismissive: the experts decide every pair
        assert c["experts"] in ("A", "B") and c["disagreement"] == pytest.approx(abs(p.p_a - (c["experts"] == "A")))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with Browser.launch(tmp_path_factory.mktemp("chromium"), width=1400, height=900) as b:
        yield b


def _open(b: Browser, page: Path, screen: str, frag: str = "") -> dict[str, object]:
    w, h, mobile = SCREENS[screen]
    b.viewport(w, h, mobile=mobile)
    b.open(page.as_uri() + frag)
    b.wait_for("!window.viewer || window.viewer.ready")
    b.eval("new Promise(function(r){ requestAnimationFrame(function(){ requestAnimationFrame(r); }); })")
    return measure(b)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_pairs_sit_side_by_side_and_stack_on_a_phone(screen: str, viewer: Path, browser: Browser) -> None:
    m = _open(browser, viewer, screen)
    w = SCREENS[screen][0]
    assert m["doc_width"] <= w and m["n_too_wide"] == 0, m["too_wide"]
    assert m["min_font"] is not None and m["min_font"] >= 10, m["small_text"]  # type: ignore[operator]
    a, b = box(browser, "article.pair .reply-a"), box(browser, "article.pair .reply-b")
    assert a is not None and b is not None
    if screen == "phone":  # stacked, each as wide as the card allows
        assert b["y"] >= a["y"] + a["height"] - 1 and a["width"] >= 300 and b["width"] >= 300
    else:  # side by side on one line
        assert abs(a["y"] - b["y"]) < 1 and b["x"] >= a["x"] + a["width"] and a["width"] >= 400
    text = browser.eval("document.querySelector('article.pair').innerText")
    for shown in ("Reply A", "Reply B", "A shown first", "B shown first", "P(first better)", "P(A better)",
                  "rater-a", "rater-b", "experts"):  # fmt: skip
        assert shown in text, (shown, text)


def test_sort_by_disagreement_puts_the_largest_first(viewer: Path, browser: Browser) -> None:
    cards = _data(viewer)["cards"]
    _open(browser, viewer, "desktop")
    before = browser.eval("window.viewer.shown()")
    assert before == list(range(25))  # run order, one page of 25
    browser.choose("#f-sort", "experts")
    after = browser.eval("window.viewer.shown()")
    gaps = [cards[i]["disagreement"] for i in after]  # type: ignore[index]
    want = sorted((c["disagreement"] for c in cards), reverse=True)[:25]  # type: ignore[attr-defined]
    assert after != before and gaps == want
    assert "sort=experts" in browser.eval("location.hash")
    first = browser.eval("document.querySelector('article.pair').innerText")
    assert f"disagreement {want[0]:.2f}" in first
    # the sort survives a reload from the link (a leaderboard may link to it)
    _open(browser, viewer, "phone", "#sort=experts")
    assert browser.eval("window.viewer.shown()") == after


def test_the_leaderboard_page_fits_a_phone(runs: dict[str, Path], browser: Browser) -> None:
    out = runs["tmp"] / "lb-phone"
    _leaderboard(runs, out, "--format", "html", "--viewer")
    for page in (out / "leaderboard.html", out / "viewer.html"):
        m = _open(browser, page, "phone")
        assert m["doc_width"] <= 390 and m["n_too_wide"] == 0, (page, m["too_wide"])
        assert m["min_font"] >= 10, m["small_text"]  # type: ignore[operator]


def test_on_resort_the_report_sets_the_judge_between_the_experts_ceiling_and_chance(
    resort_bench: Path, tmp_path: Path
) -> None:
    """The psychologists' own ratings: the ceiling is two real experts (not 1.0), the pairs their preferences."""
    with StubServer() as url:
        r = run_judge("run", "--task", "pairwise", "--pairs", "all", "--benchmark", str(resort_bench), "--rated-only",
                      "--limit", "40", "--judge", "openai/stub-judge", "--api-base", url, "--criteria", "empathy",
                      "--cache-dir", str(tmp_path / "cache"), "--no-progress",
                      "--out", str(tmp_path / "pairs"))  # fmt: skip
    assert r.rc == 0, r.err
    r = run_judge("leaderboard", "--benchmark", str(resort_bench), "--run", str(tmp_path / "pairs"), "--n-boot", "200",
                  "--viewer", "--out", str(tmp_path / "lb"), "--json")  # fmt: skip
    assert r.rc == 0, r.err
    board = json.loads(r.out)["leaderboard"]
    agree = run_agreement(tmp_path / "pairs", load_benchmark(resort_bench), n_boot=200, seed=0)
    assert agree is not None and board["agreement"] == agree.model_dump(mode="json")
    (crit,) = agree.criteria
    assert crit.n_decided > 0 and crit.ceiling.kappa.value is not None and crit.ceiling.kappa.value < 1.0
    md = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert f"| empathy | experts | experts | {crit.ceiling.n_decided} | " in md and "| chance:shuffled |" in md
    cards = _data(tmp_path / "lb" / "viewer.html")["cards"]
    rated = [c for c in cards if c.get("experts")]  # type: ignore[attr-defined]
    assert rated and all(len(c["experts_a"]["ratings"]) >= 1 for c in rated)
