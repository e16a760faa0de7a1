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
