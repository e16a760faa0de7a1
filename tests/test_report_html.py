"""The HTML report in a real headless Chromium: the table, the SVG plots, sorting by the URL hash, no network."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from judge.analysis.leaderboard import system_leaderboard
from judge.data.benchmark import Benchmark, BenchmarkManifest, ExpertRating, Item
from judge.data.rubric import Rubric, ScalePoint
from judge.report import build_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium) - the browser check is skipped"
)
HOSTILE = '<img src=x onerror="document.title=1">'


def rubric(name: str, values: list[float]) -> Rubric:
    return Rubric(
        name=name,
        version="1.0",
        title=name.title(),
        question="?",
        level="ordinal",
        scale=[ScalePoint(value=v, label=f"p{v:g}", anchor="a") for v in values],
    )


def bench() -> Benchmark:
    """Four systems on five posts; system k's empathy on post p is 1 + k + p % 2 (means 1.4, 2.4, 3.4, 4.4)."""
    models = ["alpha", "beta", HOSTILE, "delta"]
    items, ratings = [], []
    for k, m in enumerate(models):
        for p in range(5):
            iid = f"{k}-{p}"
            items.append(
                Item(
                    item_id=iid,
                    post_id=f"p{p}",
                    post="",
                    response="",
                    system={"model": m, "method": "x" if k % 2 else ""},
                )
            )
            ratings.append(ExpertRating(item_id=iid, rater="r1", criterion="empathy", value=1 + k + p % 2))
            ratings.append(ExpertRating(item_id=iid, rater="r1", criterion="harmfulness", value=float(p == k)))
    return Benchmark(
        manifest=BenchmarkManifest(name="browser <test>"), items={i.item_id: i for i in items}, ratings=ratings
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lb = system_leaderboard(
        bench(),
        {"empathy": rubric("empathy", [1, 2, 3, 4, 5]), "harmfulness": rubric("harmfulness", [0, 1])},
        n_boot=200,
    )
    return write_report(lb, tmp_path_factory.mktemp("report"), ("html",))["html"]


def chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'prof'}",
        "--virtual-time-budget=2000",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def column_values(dom: str, key: str) -> list[str]:
    """The ``data-sort`` values of one column of the systems table, in DOM (displayed) order."""
    table = re.search(r'<table class="data" data-key="systems"[^>]*>(.*?)</table>', dom, re.S)
    assert table, "the systems table is missing from the DOM"
    heads = re.findall(r'<th data-col="(\d+)" data-key="([^"]+)"', table.group(1))
    col = next(int(n) for n, k in heads if k == key)
    body = table.group(1).split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [re.findall(r"<td([^>]*)>", r)[col].split('data-sort="', 1)[1].split('"', 1)[0] for r in rows]


def test_html_is_self_contained(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", html), "the page must not reference any network resource"
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*//|@import|url\(""", html)
    assert "<script src" not in html and "<link" not in html
    assert HOSTILE not in html and "&lt;img src=x onerror=&quot;document.title=1&quot;&gt;" in html
    assert "browser &lt;test&gt;" in html


@needs_chromium
def test_browser_renders_table_and_plots_and_sorts_by_hash(page: Path, tmp_path: Path) -> None:
    lb_means = column_values(page.read_text(encoding="utf-8"), "empathy")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri() + "#sort=empathy:asc")
    assert 'data-sorted="empathy:asc"' in dom
    shown = [float(v) for v in column_values(dom, "empathy")]
    assert shown == sorted(shown) and sorted(shown) == sorted(float(v) for v in lb_means)
    assert shown != [float(v) for v in lb_means]  # the page really reordered the rows (served best first)
    assert dom.count('<svg class="whiskers"') == 1 and dom.count('<svg class="hist"') == 4 * 2
    assert dom.count('class="mean"') == 4 * 2  # a dot per system per criterion
    assert "<title>Leaderboard: browser &lt;test&gt;</title>" in dom  # the hostile onerror never ran
    dom = chromium(tmp_path, "--dump-dom", page.as_uri() + "#sort=model:desc")
    names = column_values(dom, "model")
    assert names == sorted(names, key=str.lower, reverse=True)


@needs_chromium
def test_browser_screenshot(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--hide-scrollbars", "--window-size=1400,1600", f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_report_tables_are_generic(page: Path) -> None:
    # A second table type plugs in through the same Report model: every renderer takes a list of tables.
    lb = system_leaderboard(bench(), {"empathy": rubric("empathy", [1, 2, 3, 4, 5])}, n_boot=50)
    report = build_report(lb)
    assert [t.key for t in report.tables] == ["systems"] and report.long_table is not None
    assert [c.key for c in report.tables[0].columns] == ["model", "method", "n_items", "empathy", "empathy_rank"]


# -- links, figure groups and the plots of issue 19 ----------------------------------------------------------------


def test_links_cells_and_groups_render_and_unsafe_hrefs_are_dropped() -> None:
    from judge.report import Cell, Column, Figure, Report, Table, render_html, render_markdown
    from judge.report.model import Link

    table = Table(
        key="t",
        title="T",
        columns=[Column(key="a", label="a"), Column(key="m", label="mean", numeric=True)],
        rows=[
            [Cell(text="sys <1>", href="viewer.html#system=sys%20%3C1%3E"), Cell(text="0.50 [0.40, 0.60]", value=0.5)]
        ],
    )
    rep = Report(
        title="r",
        tables=[table],
        links=[Link(label="viewer", href="viewer.html"), Link(label="bad", href="javascript:alert(1)")],
        figures=[Figure(key=f"f{k}", title=f"plot {k}", html="<svg></svg>", group="Side by side") for k in range(3)],
    )
    html = render_html(rep)
    assert '<nav class="links"><a href="viewer.html">viewer</a></nav>' in html and "javascript:" not in html
    assert '<a href="viewer.html#system=sys%20%3C1%3E">sys &lt;1&gt;</a>' in html
    assert '<td class="num has-ci" data-sort="0.5">0.50 <span class="ci">[0.40, 0.60]</span></td>' in html
    assert html.count("<h2>Side by side</h2>") == 1 and html.count('<div class="figs">') == 1
    assert html.count("<figure id=") == 3
    assert "[viewer](viewer.html)" in render_markdown(rep)


def test_rank_intervals_svg() -> None:
    from judge.report.html import RankPanel, rank_intervals_svg

    svg = rank_intervals_svg(
        ["a", "b <c>", "d"],
        [RankPanel(title="Empathy", ranks=[1, 2, None], intervals=[(1, 2), (1, 3), None], n=2)],
    )
    assert svg.count('<g class="rank">') == 2 and "not ranked" in svg and "b &lt;c&gt;" in svg
    assert "rank 2 (95% interval 1-3)" in svg and "rank (1 = best)" in svg


def test_agreement_panels_place_judges_between_chance_and_the_experts() -> None:
    from judge.report.html import AgreementPanel, AgreementRow, agreement_panels_svg

    rows = [
        AgreementRow("experts", 0.49, (0.39, 0.57), "experts"),
        AgreementRow("chance:permuted", -0.01, (-0.1, 0.08), "chance"),
        AgreementRow("gpt-4", 0.29, (0.19, 0.39)),
        AgreementRow("chance:constant", 0.0, None, "chance"),
    ]
    svg = agreement_panels_svg([AgreementPanel("alignment", rows), AgreementPanel("empathy", rows[:3])])
    assert svg.count('<g class="ceiling">') == 2 and svg.count('<g class="judge">') == 2
    assert svg.count('<g class="chance">') == 3 and "n/a" in svg  # chance:constant is missing from empathy
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert labels == ["gpt-4", "chance:permuted", "chance:constant"]  # judges first, then the chance rows
    assert "experts · alignment: 0.49 [0.39, 0.57]" in svg
    with pytest.raises(ValueError, match="kind must be one of"):
        agreement_panels_svg([AgreementPanel("x", [AgreementRow("j", 0.1, kind="oracle")])])


def test_reliability_bins_and_diagram() -> None:
    from judge.report.html import reliability_bins, reliability_svg

    bins = reliability_bins([1.0, 1.4, 4.9, 5.0, 2.2], [1.0, 2.0, 5.0, 4.0, 3.0], 1, 5, n_bins=4)
    assert [b.n for b in bins] == [2, 1, 0, 2]
    assert bins[0].predicted == pytest.approx(1.2) and bins[0].observed == pytest.approx(1.5)
    assert bins[2].predicted is None and bins[3].observed == pytest.approx(4.5)
    svg = reliability_svg(bins, low=1, high=5)
    assert svg.count('<g class="bin">') == 3 and "perfect calibration" in svg
    with pytest.raises(ValueError):
        reliability_bins([1.0], [1.0, 2.0], 1, 5)


def wide_bench() -> tuple[Benchmark, dict[str, Rubric]]:
    """RESORT-like: 4 criteria, long system names, one criterion unscored for some systems."""
    from judge.data.rubric import default_rubrics_dir, load_rubric_set

    rubrics = load_rubric_set(default_rubrics_dir())
    names = [
        ("Mistral-7B-Instruct-v0.1", "individual_guided_reappraisal", "+appr +cons"),
        ("Llama-2-13b-chat-hf", "iterative_guided_refinement", "+appr"),
        ("gpt-4-turbo", "individual_guided_reappraisal", "+cons"),
        ("top_reddit_comment", "", ""),
    ]
    items, ratings = [], []
    for k, (model, pipe, method) in enumerate(names):
        for p in range(6):
            iid = f"{k}-{p}"
            items.append(Item(item_id=iid, post_id=f"p{p}", post="", response="",
                              system={"model": model, "pipeline": pipe, "method": method}))  # fmt: skip
            for c, r in rubrics.items():
                if c == "alignment_with_standards" and k == 1:
                    continue
                pts = r.points_values()
                ratings.append(ExpertRating(item_id=iid, rater="r1", criterion=c, value=pts[(k + p) % len(pts)]))
    bench = Benchmark(manifest=BenchmarkManifest(name="wide"), items={i.item_id: i for i in items}, ratings=ratings)
    return bench, rubrics


@needs_chromium
def test_leaderboard_table_fits_1400px_and_says_when_it_scrolls(tmp_path: Path) -> None:
    from judge.analysis.leaderboard import system_leaderboard

    bench, rubrics = wide_bench()
    page = write_report(system_leaderboard(bench, rubrics, n_boot=50), tmp_path, ("html",))["html"]
    dom = chromium(tmp_path, "--window-size=1400,1000", "--dump-dom", page.as_uri())
    assert re.search(r'<div class="wrap"><table class="data" data-key="systems"', dom), "overflows at 1,400 px"
    dom = chromium(tmp_path, "--window-size=700,1000", "--dump-dom", page.as_uri())
    assert re.search(r'<div class="wrap overflows"><table class="data" data-key="systems"', dom)


def test_panel_plots_of_long_system_names_fit_the_page_at_their_own_size() -> None:
    # RESORT's system names run to 60 characters: the panels narrow so that the plot is drawn at its own size at
    # 1,400 px instead of being scaled down (which would shrink its 11 px text)
    from judge.analysis.leaderboard import system_leaderboard
    from judge.report import system_report
    from judge.report.html import PAGE_WIDTH

    bench, rubrics = wide_bench()
    report = system_report(system_leaderboard(bench, rubrics, n_boot=50))
    widths = {f.key: float(re.search(r'<svg class="\w+" width="([\d.]+)"', f.html).group(1))  # type: ignore[union-attr]
              for f in report.figures if f.key in ("ci", "ranks")}  # fmt: skip
    assert set(widths) == {"ci", "ranks"} and all(w <= PAGE_WIDTH for w in widths.values()), widths


# -- the plots wired into the reports (issue 19), without a browser ------------------------------------------------


def thin_bench() -> Benchmark:
    """Three systems on six posts; 'thin' has two items only (too few for a CI or a rank interval)."""
    items, ratings = [], []
    for k, (model, n) in enumerate((("wide", 6), ("broad", 6), ("thin", 2))):
        for p in range(n):
            iid = f"{model}-{p}"
            items.append(Item(item_id=iid, post_id=f"p{p}", post="", response="", system={"model": model}))
            ratings.append(ExpertRating(item_id=iid, rater="r1", criterion="empathy", value=1 + (k + p) % 5))
    return Benchmark(manifest=BenchmarkManifest(name="thin"), items={i.item_id: i for i in items}, ratings=ratings)


def test_system_report_draws_rank_intervals_and_links_each_system_to_the_viewer() -> None:
    from judge.report import system_report
    from judge.report.viewer import viewer_href

    lb = system_leaderboard(thin_bench(), {"empathy": rubric("empathy", [1, 2, 3, 4, 5])}, n_boot=200)
    thin = next(r for r in lb.rows if r.name == "thin")
    assert thin.scores["empathy"].too_few and thin.scores["empathy"].rank is not None
    report = system_report(lb)
    assert [f.key for f in report.figures] == ["ci", "ranks", "distributions"] and not report.links
    assert all(c.href == "" for row in report.tables[0].rows for c in row)  # no viewer, no links
    svg = next(f.html for f in report.figures if f.key == "ranks")
    # a dot and bar per ranked system; the thin one says "too few" (as the table does) and why, on hover
    assert svg.count('<g class="rank">') == 2 and svg.count('<text class="note"') == 1
    assert ">too few</text>" in svg and "thin · Empathy ↑: too few: 2 item(s)" in svg
    assert "rank (1 = best)" in svg
    linked = system_report(lb, viewer="viewer.html")
    assert [(link.label, link.href) for link in linked.links] == [("Every judgment, item by item", "viewer.html")]
    cells = {row[0].text: row[0].href for row in linked.tables[0].rows}
    assert cells == {name: viewer_href("viewer.html", system=name) for name in ("wide", "broad", "thin")}


def test_system_links_use_the_viewer_s_system_name_not_the_leaderboard_s() -> None:
    # two systems with one readable name: the leaderboard tells them apart with '#2', the viewer lists the name once
    from judge.report import system_report

    items, ratings = [], []
    for k, system in enumerate(({"model": "m", "method": "x"}, {"model": "m / x"})):
        for p in range(5):
            iid = f"{k}-{p}"
            items.append(Item(item_id=iid, post_id=f"p{p}", post="", response="", system=system))
            ratings.append(ExpertRating(item_id=iid, rater="r1", criterion="empathy", value=1 + k))
    b = Benchmark(manifest=BenchmarkManifest(name="twins"), items={i.item_id: i for i in items}, ratings=ratings)
    lb = system_leaderboard(b, {"empathy": rubric("empathy", [1, 2, 3, 4, 5])}, n_boot=50)
    assert sorted(r.name for r in lb.rows) == ["m / x", "m / x #2"]
    hrefs = {c.href for row in system_report(lb, viewer="v.html").tables[0].rows for c in row if c.href}
    assert hrefs == {"v.html#system=m%20%2F%20x"}


def _agreement_fixture() -> tuple[Benchmark, dict[str, Rubric], dict[str, dict[str, dict[str, float | None]]]]:
    """Two experts and two judges ('close' follows the experts, 'off' answers at random) on 40 items, 2 criteria."""
    import random

    rng = random.Random(0)
    rubrics = {c: rubric(c, [1, 2, 3, 4, 5]) for c in ("empathy", "alignment")}
    items, ratings = {}, []
    judges: dict[str, dict[str, dict[str, float | None]]] = {"close": {}, "off": {}}
    for i in range(40):
        iid = f"i{i}"
        items[iid] = Item(item_id=iid, post_id=f"p{i // 2}", post="", response="", system={"model": f"s{i % 4}"})
        for c in rubrics:
            truth = rng.randint(1, 5)
            for r in ("e1", "e2"):
                value = truth if rng.random() < 0.7 else rng.randint(1, 5)
                ratings.append(ExpertRating(item_id=iid, rater=r, criterion=c, value=value))
            judges["close"].setdefault(c, {})[iid] = float(truth if rng.random() < 0.8 else rng.randint(1, 5))
            judges["off"].setdefault(c, {})[iid] = float(rng.randint(1, 5))
    return Benchmark(manifest=BenchmarkManifest(name="agree"), items=items, ratings=ratings), rubrics, judges


def test_agreement_report_leads_with_judges_between_chance_and_the_ceiling() -> None:
    from judge.analysis.agreement import agreement_report
    from judge.report import agreement_document, render_html

    bench_, rubrics, judges = _agreement_fixture()
    report = agreement_report(bench_, rubrics, judges=judges, n_boot=200)
    doc = agreement_document(report)
    fig = next(f for f in doc.figures if f.key == "agreement")
    assert fig.lead and "ceiling" in fig.caption and "chance" in fig.caption
    svg = fig.html
    # per criterion: the experts' band, both judges, both chance rows
    assert svg.count('<g class="ceiling">') == 2 and svg.count('<g class="judge">') == 4
    assert svg.count('<g class="chance">') == 4 and svg.count('<g class="baseline">') == 4
    for name, c in report.criteria.items():
        e = c.experts.headline
        assert e.ci is not None and f"experts · {name}: {e.value:.2f}".rstrip("0") in svg
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    # judges by headline, then the baseline rows (the reply's length), then the chance rows
    assert labels[:2] == list(report.criteria["empathy"].judges)[:2]
    assert set(labels[2:4]) == {"baseline:length (characters)", "baseline:length (words)"}
    assert set(labels[4:]) == {"chance:constant", "chance:permuted"}
    html = render_html(doc)
    assert html.index('<svg class="agreement"') < html.index('<table class="data"')  # the summary comes first


def test_judge_board_plots_agreement_and_puts_a_judge_s_scatters_side_by_side() -> None:
    from judge.analysis import JudgeScores, judge_leaderboard
    from judge.engine.store import RunManifest
    from judge.report import judge_report, render_html
    from judge.report.viewer import viewer_href

    bench_, rubrics, scores = _agreement_fixture()
    judges = [
        JudgeScores.from_run(n, Path(f"runs/{n}"), RunManifest(judges={n: {"name": n}}), s) for n, s in scores.items()
    ]
    board, _ = judge_leaderboard(bench_, rubrics, judges, n_boot=200)
    report = judge_report(board, judges, bench_, viewer="viewer.html")
    keys = [f.key for f in report.figures]
    assert keys[0] == "agreement" and sum(k.startswith("scatter-") for k in keys) == 4
    svg = report.figures[0].html
    assert svg.count('<g class="ceiling">') == 2 and svg.count('<g class="chance">') == 4
    assert svg.count('<g class="judge">') == 4
    groups = [f.group for f in report.figures[1:]]
    assert groups == [g for g in groups if g.startswith("close:")] + [g for g in groups if g.startswith("off:")]
    html = render_html(report)
    assert html.count('<div class="figs">') == 2  # one grid per judge, its criteria side by side
    links = {row[0].text: row[0].href for row in report.tables[0].rows}
    assert links["close"] == viewer_href("viewer.html", judge="close", sort="experts")
    assert links["experts (ceiling)"] == "" and links["chance:constant"] == ""


def test_calibration_report_draws_reliability_from_held_out_predictions() -> None:
    import numpy as np

    from judge.analysis.calibration import fit_calibrator, held_out_scores
    from judge.report import calibration_document

    bench_, rubrics, scores = _agreement_fixture()
    biased = {c: {i: min(5.0, (s or 0) + 1) for i, s in v.items()} for c, v in scores["close"].items()}
    cal = fit_calibrator(bench_, biased, rubrics, judge="close", judge_model="x/close", n_boot=100)
    rep = cal.fit["empathy"]
    held = rep.held_out
    assert held is not None and len(held.judge) == len(held.calibrated) == len(held.expert_mean) == rep.n_items
    # the diagram's calibrated scores are the held-out ones (a map fitted without the item's post), which is what
    # the boards use too, and not the deployed map applied in-sample
    board_scores, held_out = held_out_scores(cal, bench_, "empathy", biased["empathy"], rubrics["empathy"])
    rated = bench_.rated_item_ids("empathy")
    assert held_out and np.allclose(held.calibrated, [board_scores[i] for i in rated], atol=1e-4)
    assert not np.allclose(held.calibrated, [cal.apply("empathy", biased["empathy"][i]) for i in rated], atol=1e-4)
    doc = calibration_document(cal)
    figs = [f for f in doc.figures if f.key.startswith("reliability-empathy")]
    assert [f.key for f in figs] == ["reliability-empathy-raw", "reliability-empathy-calibrated"]
    assert len({f.group for f in figs}) == 1 and "held-out" in figs[0].group
    assert all('<svg class="reliability"' in f.html and "perfect calibration" in f.html for f in figs)
    # a calibrator written before the held-out predictions were kept still loads and renders, and says why no plot
    old = cal.model_copy(update={"fit": {c: r.model_copy(update={"held_out": None}) for c, r in cal.fit.items()}})
    doc = calibration_document(old)
    assert not doc.figures and any("no reliability diagram" in n for n in doc.notes)


# -- the same reports written by the verbs, in the browser at 1,400 px ---------------------------------------------


@pytest.fixture(scope="module")
def verb_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic benchmark (240 items, 4 systems, 80 rated by two experts) and a run of three judges, through
    ``judge calibrate --report``, ``judge leaderboard --viewer`` (systems and judges) and ``judge agree --out``."""
    from judge.cli import main
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from tests.support.synthetic import write_synthetic

    tmp = tmp_path_factory.mktemp("verbs")
    syn = write_synthetic(tmp, load_rubric_set(default_rubrics_dir()), n_items=240)
    base = ["--benchmark", str(syn.bench), "--n-boot", "100"]
    crit = ["--criteria", "alignment_with_standards", "empathy"]
    cal = tmp / "cal.json"
    out = tmp / "out"
    assert main(["calibrate", *base, "--run", str(syn.run), "--judge", "judge-a", *crit, "--out", str(cal),
                 "--report", str(out / "cal")]) == 0  # fmt: skip
    assert main(["leaderboard", *base, "--run", str(syn.run), "--judge", "judge-a", "--viewer",
                 "--out", str(out / "systems")]) == 0  # fmt: skip
    assert main(["leaderboard", "--judges", *base, "--run", str(syn.run), "--calibrator", str(cal), "--viewer",
                 "--out", str(out / "judges")]) == 0  # fmt: skip
    assert main(["agree", *base, "--run", str(syn.run), "--out", str(out / "agree"), "--format", "html"]) == 0
    return {
        "systems": out / "systems" / "leaderboard.html",
        "judges": out / "judges" / "judges.html",
        "agree": out / "agree" / "agreement.html",
        "cal": out / "cal" / "calibration.html",
    }


def test_verbs_write_the_plots_and_a_linked_viewer(verb_reports: dict[str, Path]) -> None:
    html = {k: p.read_text(encoding="utf-8") for k, p in verb_reports.items()}
    assert html["systems"].count('<svg class="ranks"') == 1 and html["systems"].count('<g class="rank">') == 4 * 4
    for page in ("judges", "agree"):
        # four criteria: the experts' band on each, three judges (and judge-a calibrated on the board), two chance
        assert html[page].count('<g class="ceiling">') == 4 and html[page].count('<g class="chance">') == 4 * 2
    # three judges and judge-a's calibrated copy (raw on the two criteria its calibrator has no map for, as the board)
    assert html["judges"].count('<g class="judge">') == 4 * 4
    assert html["judges"].count('<div class="figs">') == 3  # each judge's scatters side by side
    assert html["cal"].count('<svg class="reliability"') == 2 * 2
    for page in ("systems", "judges"):
        viewer = verb_reports[page].parent / "viewer.html"
        assert viewer.exists() and '<nav class="links"><a href="viewer.html"' in html[page]
        assert "](viewer.html)" in (verb_reports[page].with_suffix(".md")).read_text(encoding="utf-8")
    assert 'href="viewer.html#system=alpha-7b%20%2F%20vanilla&amp;sort=experts"' in html["systems"]
    assert 'href="viewer.html#judge=judge-a&amp;sort=experts"' in html["judges"]
    assert 'href="viewer.html#judge=judge-a&amp;sort=calibrated"' in html["judges"]
    assert not (verb_reports["agree"].parent / "viewer.html").exists()  # only where asked for


def test_leaderboard_without_viewer_writes_and_links_none(tmp_path: Path) -> None:
    from judge.cli import main
    from judge.data.rubric import default_rubrics_dir, load_rubric_set
    from tests.support.synthetic import write_synthetic

    syn = write_synthetic(tmp_path, load_rubric_set(default_rubrics_dir()), n_items=40)
    out = tmp_path / "o"
    assert main(["leaderboard", "--benchmark", str(syn.bench), "--n-boot", "50", "--out", str(out)]) == 0
    assert not (out / "viewer.html").exists() and "viewer.html" not in (out / "leaderboard.html").read_text()
    # on expert ratings alone the viewer shows the ratings, linked from each system without a judge sort
    assert main(["leaderboard", "--benchmark", str(syn.bench), "--n-boot", "50", "--viewer", "--out", str(out)]) == 0
    assert 'href="viewer.html#system=beta-13b%20%2F%20guided"' in (out / "leaderboard.html").read_text()


PLOTS = "svg.ranks, svg.agreement, svg.reliability, svg.scatter, svg.whiskers"


def _follow(page: Any, selector: str) -> None:
    """Click a link as a user would and wait until the viewer it points to is ready (a call that lands while the
    page navigates is refused by the browser: ask again)."""
    import time

    from tests.support.cdp import BrowserError

    target = page.eval(f"document.querySelector({selector!r}).pathname")  # the viewer rewrites its hash
    page.click(selector)
    deadline = time.monotonic() + 60
    while True:
        try:
            page.wait_for(f"location.pathname === {target!r} && window.viewer && window.viewer.ready", 5)
            return
        except BrowserError:
            if time.monotonic() > deadline:
                raise


def _layout(page: Any) -> dict[str, Any]:
    """How the page lays out at its width: each plot's drawn width against its own, every table's box."""
    return page.eval(  # type: ignore[no-any-return]
        "(function(){ var m = document.querySelector('main'), mr = m.getBoundingClientRect();"
        " var main = {right: mr.right - parseFloat(getComputedStyle(m).paddingRight)};"
        # the plots shown (a panel plot also carries its stacked layout for a phone, hidden here)
        f" var plots = Array.from(document.querySelectorAll({PLOTS!r}))"
        ".filter(function(s){ return s.getBoundingClientRect().width > 0; }).map(function(s){"
        "   var r = s.getBoundingClientRect();"
        "   var fonts = Array.from(s.querySelectorAll('text')).map(function(t){"
        "     return parseFloat(t.getAttribute('font-size') || '12'); });"
        "   return {cls: s.getAttribute('class'), own: Number(s.getAttribute('width')), drawn: r.width,"
        "           right: r.right, min_font: Math.min.apply(null, fonts)}; });"
        " var wraps = Array.from(document.querySelectorAll('div.wrap')).map(function(w){"
        "   return {fits: w.scrollWidth <= w.clientWidth + 1, marked: w.classList.contains('overflows'),"
        "           right: w.getBoundingClientRect().right, scrolls: getComputedStyle(w).overflowX}; });"
        " return {main_right: main.right, page: document.documentElement.scrollWidth, view: window.innerWidth,"
        "         plots: plots, wraps: wraps}; })()"
    )


@needs_chromium
def test_reports_read_at_1400px_and_their_links_open_the_viewer(verb_reports: dict[str, Path], tmp_path: Path) -> None:
    from tests.support.cdp import Browser

    with Browser.launch(tmp_path, width=1400, height=1000) as page:
        for name, path in verb_reports.items():
            page.open(path.as_uri())
            lay = _layout(page)
            assert lay["page"] <= lay["view"], f"{name}: the page scrolls sideways"
            assert lay["plots"], name
            for p in lay["plots"]:
                # drawn at its own size (so its 10-12 px text stays 10-12 px), inside the page's box
                assert p["drawn"] >= 0.97 * p["own"] and p["min_font"] >= 10, (name, p)
                assert p["right"] <= lay["main_right"] + 1, (name, p)
            for w in lay["wraps"]:
                # a table fits its box, or scrolls inside it and says so
                assert w["fits"] or (w["marked"] and w["scrolls"] == "auto"), (name, w)
                assert w["right"] <= lay["main_right"] + 1
        # a system's link opens the viewer on that system's items, largest judge-expert disagreement first
        page.open(verb_reports["systems"].as_uri())
        _follow(page, 'table.data a[href*="system=beta-13b"]')
        state = page.eval("window.viewer.state()")
        assert (state["system"], state["sort"]) == ("beta-13b / guided", "experts")
        systems = page.eval("Array.from(document.querySelectorAll('#body tr.row')).map(r => r.dataset.system)")
        assert systems and set(systems) == {"beta-13b / guided"}
        # a judge's link on the board, and its calibrated copy's (the viewer was written with the calibrator)
        for link, sort in (('a[href$="judge=judge-b&sort=experts"]', "experts"),
                           ('a[href$="judge=judge-a&sort=calibrated"]', "calibrated")):  # fmt: skip
            page.open(verb_reports["judges"].as_uri())
            _follow(page, f"table.data {link}")
            state = page.eval("window.viewer.state()")
            assert state["sort"] == sort and state["judge"] == link.split("judge=")[1].split("&")[0]


@needs_chromium
def test_demo_leaderboard_plots_and_system_links_resolve(tmp_path: Path) -> None:
    """``judge demo`` (the stub as its judge, over real HTTP): the leaderboard's new plot reads at 1,400 px and each
    system's link opens the demo's viewer on that system's items."""
    from judge.cli import main
    from tests.support.cdp import Browser
    from tests.support.stub import StubServer

    out = tmp_path / "demo"
    with StubServer() as url:
        argv = ["demo", "--judge", "openai/stub-judge", "--api-base", url, "--out", str(out), "--no-progress"]
        assert main(argv) == 0
    page_html = out / "leaderboard.html"
    html = page_html.read_text(encoding="utf-8")
    assert '<svg class="ranks"' in html and html.count('href="viewer.html#system=') == 3
    # 5 posts per system: every system has its CI and rank interval (with 4, the demo said "too few" everywhere)
    assert ">too few</text>" not in html and "too few" not in (out / "leaderboard.md").read_text()
    with Browser.launch(tmp_path, width=1400, height=1000) as page:
        page.open(page_html.as_uri())
        lay = _layout(page)
        assert lay["page"] <= lay["view"] and {p["cls"] for p in lay["plots"]} == {"whiskers", "ranks"}
        assert all(p["drawn"] >= 0.97 * p["own"] and p["right"] <= lay["main_right"] + 1 for p in lay["plots"])
        for system in ("demo-careful", "demo-generic"):
            page.open(page_html.as_uri())
            _follow(page, f'table.data a[href*="system={system}"]')
            assert page.eval("window.viewer.state().system") == system
            rows = page.eval("Array.from(document.querySelectorAll('#body tr.row')).map(r => r.dataset.system)")
            assert len(rows) == 5 * 2 and set(rows) == {system}  # 5 posts x the demo's 2 criteria
