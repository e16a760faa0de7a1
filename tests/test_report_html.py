"""The HTML report in a real headless Chromium: the table, the SVG plots, sorting by the URL hash, no network."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

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
