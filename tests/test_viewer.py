"""The item viewer (``judge view``) and the run summary (``judge show``), from real run files: the bundled demo judged
over real HTTP by the loopback stub, and a synthetic run of 10,000 items x 4 criteria x 3 judges. The pages are
opened in the distribution's headless Chromium, driven over the DevTools protocol (clicks, typing, choices), and
checked from the DOM. Set JUDGE_SCREENSHOT_DIR to keep the 1,400 px screenshots (reports/viewer/ holds them).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from judge.cli import main
from judge.data.benchmark import load_benchmark
from judge.data.rubric import default_rubrics_dir, load_rubric_set
from judge.report.items import ItemView, build_item_view, largest
from judge.report.viewer import link_viewer, render_viewer, script_json, viewer_href
from tests.support.cdp import CHROMIUM, Browser
from tests.support.stub import Faults, StubServer, default_responder
from tests.support.synthetic import HOSTILE, NEEDLE, write_synthetic

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "datasets" / "demo"
RUBRICS = load_rubric_set(default_rubrics_dir())
SHOTS = os.environ.get("JUDGE_SCREENSHOT_DIR")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium): the browser checks are skipped"
)
EVIL_RATIONALE = '</script><script>window.pwned = 3</script><b id="evil">bold?</b>'


def responder(request: dict[str, Any]) -> str:
    """The stub's judge, with a second opinion for odd seeds (so samples disagree) and markup in the rationale of
    the exam post's answers (so the page must show it as text)."""
    if request.get("seed", 0) % 2:
        request = {**request, "messages": [*request["messages"], {"role": "user", "content": "again"}]}
    text = default_responder(request)
    if "organic chemistry" in json.dumps(request["messages"]):
        answer = json.loads(text)
        answer["rationale"] = EVIL_RATIONALE + " " + answer["rationale"]
        text = json.dumps(answer)
    return text


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ItemView]:
    """The demo benchmark judged twice per item by the stub (1 in 6 answers is a refusal or off the scale), and its
    viewer written by ``judge view``."""
    tmp = tmp_path_factory.mktemp("demo")
    run = tmp / "run"
    with StubServer(responder=responder, faults=Faults(refusal=0.08, off_scale=0.08, seed=3)) as url:
        main(
            ["run", "--benchmark", str(DEMO), "--judge", "openai/stub-judge", "--api-base", url, "--samples", "2",
             "--out", str(run), "--no-progress", "--cache-dir", str(tmp / "cache")]
        )  # fmt: skip
    assert (run / "judgments.jsonl").stat().st_size > 0
    page = tmp / "viewer.html"
    assert main(["view", "--benchmark", str(DEMO), "--run", str(run), "--out", str(page)]) == 0
    return run, page, build_item_view(load_benchmark(DEMO), RUBRICS, [run])


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ItemView]:
    tmp = tmp_path_factory.mktemp("big")
    syn = write_synthetic(tmp, RUBRICS, n_items=10_000)
    page = tmp / "viewer.html"
    assert main(["view", "--run", str(syn.run), "--out", str(page)]) == 0  # the benchmark found from run.json
    return page, build_item_view(load_benchmark(syn.bench), RUBRICS, [syn.run])


# -- without a browser ---------------------------------------------------------------------------------------------


def test_json_in_the_page_cannot_end_its_script_element() -> None:
    data = json.dumps({"text": "</script><script>alert(1)</script> & \u2028 <!-- -->"})
    safe = script_json(data)
    assert "<" not in safe and ">" not in safe and "\u2028" not in safe
    assert json.loads(safe) == json.loads(data)


def test_demo_view_holds_every_sample_and_reason(demo: tuple[Path, Path, ItemView]) -> None:
    run, page, view = demo
    records = [json.loads(line) for line in (run / "judgments.jsonl").read_text().splitlines()]
    assert len(view.rows) == 15 * 4 and len(view.items) == 15 and view.raters == []
    samples = [s for r in view.rows for c in r["judges"] if c for s in c["samples"]]
    assert len(samples) == len(records) == 15 * 4 * 2
    unscored = sorted(s["reason"] for s in samples if "reason" in s)
    assert unscored == sorted(r["unscored_reason"] for r in records if r["score"] is None)
    assert {"refusal", "off_scale"} <= set(unscored)
    assert any(r["judges"][0]["spread"] for r in view.rows)  # the two samples disagree somewhere
    html = page.read_text(encoding="utf-8")
    assert not re.search(r"https?://|<link|<script src|@import|url\(", html), "the page must need no network"
    assert "window.pwned" in html and "</script><script>window.pwned" not in html  # escaped inside the JSON


def test_view_cli_errors_name_the_problem(demo: tuple[Path, Path, ItemView], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    run, _, _ = demo
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({
        "format_version": 1, "judge": "someone-else", "judge_model": "other/model", "rubrics": {}, "benchmark": "x",
        "method": "isotonic", "maps": {},
    }))  # fmt: skip
    assert main(["view", "--run", str(run), "--calibrator", str(cal), "--out", str(tmp_path / "v.html")]) == 2
    err = capsys.readouterr().err
    assert "fits no judge of the runs" in err and "openai/stub-judge" in err
    assert main(["view", "--out", str(tmp_path / "v.html")]) == 2
    assert "at least one --run" in capsys.readouterr().err


def test_show_sums_up_a_run(demo: tuple[Path, Path, ItemView], capsys: pytest.CaptureFixture[str]) -> None:
    run, _, view = demo
    assert main(["show", str(run), "--json"]) == 0
    ov = json.loads(capsys.readouterr().out)
    records = [json.loads(line) for line in (run / "judgments.jsonl").read_text().splitlines()]
    assert ov["judgments"] == len(records) and ov["scored"] == sum(r["score"] is not None for r in records)
    assert sum(ov["unscored"].values()) == len(records) - ov["scored"]
    assert [r["criterion"] for r in ov["rubrics"]] == sorted(RUBRICS) and all(r["used"] for r in ov["rubrics"])
    # no expert ratings, one judge: the largest disagreements are between the judge's two samples
    assert ov["disagreement"] == "samples" and len(ov["disagreements"]) == 10
    expected = [(view.items[r["item"]]["id"], view.criteria[r["criterion"]].name) for r, _ in largest(view, "samples")]
    assert [(d["item"], d["criterion"]) for d in ov["disagreements"]] == expected
    assert main(["show", str(run), "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert "largest spread between one judge's samples" in text and "openai/stub-judge" in text
    assert "judgments 120:" in text and "refusal" in text and "empathy@" in text
    assert main(["show", str(run), "--by", "judges"]) == 0  # one judge: nothing to compare, and it says so
    assert "between judges" in (text := capsys.readouterr().out) and "none: no row disagrees" in text
    assert main(["show", str(run), "--top", "-1"]) == 2


def test_show_ranks_against_experts_when_there_are_ratings(big: tuple[Path, ItemView],
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    _, view = big
    run = Path(view.judges[0].run)
    assert main(["show", str(run), "--json", "--top", "5", "--criteria", "empathy"]) == 0
    ov = json.loads(capsys.readouterr().out)
    assert ov["disagreement"] == "experts"
    top = largest(view, "experts", 10_000)
    best = max(d for r, d in top if view.criteria[r["criterion"]].name == "empathy")
    assert ov["disagreements"][0]["value"] == pytest.approx(best, abs=1e-4)
    assert all(d["criterion"] == "empathy" and d["experts"] for d in ov["disagreements"])


def test_demo_writes_the_viewer_and_its_leaderboard_links_to_it(tmp_path: Path) -> None:
    with StubServer() as url:
        rc = main(["demo", "--judge", "openai/stub-judge", "--api-base", url, "--out", str(tmp_path / "d"),
                   "--criteria", "empathy", "--no-progress", "--json"])  # fmt: skip
    assert rc == 0
    viewer = tmp_path / "d" / "viewer.html"
    data = re.search(r'id="viewer-data">(.*?)</script>', viewer.read_text(encoding="utf-8"), re.S)
    assert data is not None and len(json.loads(data.group(1))["rows"]) == 15
    assert '<a href="viewer.html" title="judge view">' in (tmp_path / "d" / "leaderboard.html").read_text()
    assert "(viewer.html)" in (tmp_path / "d" / "leaderboard.md").read_text()


def test_links_into_the_viewer() -> None:
    from judge.report import Report, render_html, render_markdown

    href = viewer_href("viewer.html", system="gpt-4 / guided & co", sort="experts")
    assert href == "viewer.html#system=gpt-4%20%2F%20guided%20%26%20co&sort=experts"
    with pytest.raises(ValueError, match="unknown viewer filter"):
        viewer_href(colour="red")
    rep = link_viewer(Report(title="t", tables=[]), href)
    assert f'<a href="{href.replace("&", "&amp;")}" title="judge view">' in render_html(rep)
    assert f"]({href})" in render_markdown(rep)


# -- in the browser ------------------------------------------------------------------------------------------------


def _rows(page: Browser) -> list[dict[str, str]]:
    return page.eval(  # type: ignore[no-any-return]
        "Array.from(document.querySelectorAll('#body tr.row')).map(function(tr){ return {"
        " item: tr.dataset.item, criterion: tr.dataset.criterion, system: tr.dataset.system,"
        " key: (tr.querySelector('td.key') || {dataset: {}}).dataset.key,"
        " badges: Array.from(tr.querySelectorAll('.badge')).map(function(b){ return b.textContent; }).join(' ')}; })"
    )


def _matching(page: Browser) -> int:
    return int(page.eval("document.getElementById('status').dataset.matching"))


def _settle(page: Browser) -> None:
    """Wait for the debounced text filter to apply."""
    page.wait_for("window.viewer.state().q === document.getElementById('f-q').value")


def _count(view: ItemView, pred: Any) -> int:
    return sum(1 for i, r in enumerate(view.rows) if pred(i, r))


def _shot(page: Browser, tmp: Path, name: str) -> None:
    path = page.screenshot(tmp / name, full_page=False)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / name).write_bytes(data)


@needs_chromium
def test_demo_viewer_filters_sorts_and_shows_markup_as_text(demo: tuple[Path, Path, ItemView], tmp_path: Path) -> None:
    _, html, view = demo
    with Browser.launch(tmp_path, width=1400, height=1000) as page:
        page.open(html.as_uri())
        page.wait_for("window.viewer && window.viewer.ready")
        assert _matching(page) == 60 and len(_rows(page)) == 50  # 15 items x 4 criteria, 50 per page
        page.choose("#f-criterion", "empathy")
        rows = _rows(page)
        assert len(rows) == 15 and {r["criterion"] for r in rows} == {"empathy"}
        page.choose("#f-system", "demo-careful")
        assert [r["item"] for r in _rows(page)] == ["demo:exam-careful", "demo:parent-careful",
                                                   "demo:layoff-careful", "demo:friend-careful",
                                                   "demo:move-careful"]  # fmt: skip
        page.click("#f-reset")
        reason = view.reasons[0]
        page.choose("#f-unscored", reason)
        rows = _rows(page)
        expected = _count(view, lambda i, r: any("reason" in s and s["reason"] == reason
                                                 for c in r["judges"] if c for s in c["samples"]))  # fmt: skip
        assert len(rows) == expected > 0 and all(reason in r["badges"] for r in rows)
        page.choose("#f-unscored", "")
        page.choose("#f-sort", "samples")
        keys = [float(r["key"]) for r in _rows(page) if r["key"]]
        assert keys == sorted(keys, reverse=True) and keys[0] > 0
        top = [(view.items[r["item"]]["id"], view.criteria[r["criterion"]].name) for r, _ in largest(view, "samples")]
        assert [(r["item"], r["criterion"]) for r in _rows(page)[: len(top)]] == top  # the same order as judge show
        page.type("#f-q", "organic chemistry")
        _settle(page)
        assert {r["item"] for r in _rows(page)} == {"demo:exam-careful", "demo:exam-generic", "demo:exam-dismissive"}
        assert _matching(page) == 12
        assert "q=organic%20chemistry" in page.eval("location.hash") or "q=organic+chemistry" in page.eval(
            "location.hash"
        )
        page.click("#body tr.row")
        detail = page.eval("document.querySelector('#body tr.detail').textContent")
        assert EVIL_RATIONALE in detail  # the markup is there, as text
        assert page.eval("document.querySelectorAll('#evil').length") == 0
        assert page.eval("typeof window.pwned") == "undefined"
        _shot(page, tmp_path, "demo-viewer-1400.png")
        # a link with a value the page does not offer keeps the rest of its filters and shows rows
        page.eval("location.hash = '#criterion=no-such-criterion&system=demo-careful&sort=bogus'")
        page.wait_for("window.viewer.state().system === 'demo-careful'")
        assert _matching(page) == 20 and page.eval("window.viewer.state().criterion") == ""


@needs_chromium
def test_10k_viewer_stays_usable_and_escapes_markup(big: tuple[Path, ItemView], tmp_path: Path) -> None:
    html, view = big
    assert html.stat().st_size > 5_000_000
    with Browser.launch(tmp_path, width=1400, height=1000) as page:
        page.open(html.as_uri(), timeout_s=120)
        page.wait_for("window.viewer && window.viewer.ready", timeout_s=120)
        assert _matching(page) == 40_000 and len(_rows(page)) == 50  # one page in the DOM, not 40,000 rows
        timings = {"open": page.eval("window.viewer.timings")}
        page.choose("#f-criterion", "empathy")
        assert _matching(page) == 10_000 and {r["criterion"] for r in _rows(page)} == {"empathy"}
        page.type("#f-q", NEEDLE)
        _settle(page)
        timings["text filter"] = page.eval("window.viewer.timings")
        emp = [c.name for c in view.criteria].index("empathy")
        has = {i for i, it in enumerate(view.items) if NEEDLE in it["response"]}
        assert _matching(page) == _count(view, lambda i, r: r["item"] in has and r["criterion"] == emp) > 0
        page.choose("#f-system", "gamma-70b / guided / +cons")
        assert {r["system"] for r in _rows(page)} == {"gamma-70b / guided / +cons"}
        page.click("#f-reset")
        page.choose("#f-judge", "judge-c")
        page.choose("#f-unscored", "any")
        c_idx = [j.label for j in view.judges].index("judge-c")
        expected = _count(view, lambda i, r: (c := r["judges"][c_idx]) is not None and any(
            "reason" in s for s in c["samples"]))  # fmt: skip
        assert _matching(page) == expected > 0
        assert page.eval("document.querySelectorAll('#head th').length") == 4 + 1  # only judge-c's column
        page.click("#f-reset")
        page.choose("#f-sort", "experts")
        timings["sort"] = page.eval("window.viewer.timings")
        rows = _rows(page)
        keys = [float(r["key"]) for r in rows]
        assert keys == sorted(keys, reverse=True)
        top = [(view.items[r["item"]]["id"], view.criteria[r["criterion"]].name) for r, _ in largest(view, "experts")]
        assert [(r["item"], r["criterion"]) for r in rows[:10]] == top
        page.click("#p-next")
        assert "51–100" in page.eval("document.getElementById('status').textContent")
        page.click("#f-dir")
        keys = [float(r["key"]) for r in _rows(page) if r["key"]]
        assert keys == sorted(keys) and page.eval("document.body.dataset.sorted") == "experts:asc"
        page.choose("#f-sort", "judges")
        keys = [float(r["key"]) for r in _rows(page)]
        assert keys == sorted(keys, reverse=True)
        page.choose("#f-criterion", "alignment_with_standards")
        page.choose("#f-sort", "experts")
        page.click("#body tr.row")
        _shot(page, tmp_path, "synthetic-10k-viewer-1400.png")
        # item 0's response is hostile markup: found by text, shown as text, never run
        page.click("#f-reset")
        page.type("#f-q", "window.pwned")
        _settle(page)
        assert {r["item"] for r in _rows(page)} == {"syn:0"}
        page.click("#body tr.row")
        assert HOSTILE in page.eval("document.querySelector('#body tr.detail .response-full').textContent")
        assert HOSTILE in page.eval("document.querySelector('#body tr.row .response').textContent")
        assert page.eval("typeof window.pwned") == "undefined" and page.eval("document.title") != "pwned"
        assert page.eval("document.querySelectorAll('#body img, #body script').length") == 0
    print("viewer timings (ms) for 10,000 items x 4 criteria x 3 judges:", json.dumps(timings))


def test_render_viewer_is_one_file_with_the_data_inline(big: tuple[Path, ItemView]) -> None:
    _, view = big
    html = render_viewer(view)
    data = re.search(r'<script type="application/json" id="viewer-data">(.*?)</script>', html, re.S)
    assert data is not None and html.count("</script>") == 2
    parsed = json.loads(data.group(1))
    assert len(parsed["rows"]) == 40_000 and parsed["items"][0]["response"].startswith("A reply with markup")
    assert HOSTILE not in html  # only its escaped form travels
