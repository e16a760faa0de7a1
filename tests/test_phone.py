"""Every HTML page on a phone (390x844) and a desktop (1,400x900), in headless Chromium (issue 29, point 1).

Checked from the computed layout (tests/support/layout.py): no page is wider than its screen (a table may scroll
inside its own box), the smallest visible text is at least 10 px as drawn (SVG text included: a plot shrunk to fit
would draw it smaller, so plots re-flow as stacked panels instead), the probes table fits 1,400 px, and on the
phone the item viewer is a list of cards whose post and response are readable, with the judge-expert gap in view,
and whose controls fold away.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cdp import CHROMIUM, Browser
from tests.support.layout import box, measure
from tests.support.pages import KINDS, build_pages
from tests.support.stub import StubServer

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium): the browser checks are skipped"
)
SCREENS = {"phone": (390, 844, True), "desktop": (1400, 900, False)}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    with StubServer() as url:
        return build_pages(tmp_path_factory.mktemp("pages"), url)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    with Browser.launch(tmp_path_factory.mktemp("chromium"), width=1400, height=900) as b:
        yield b


def _open(b: Browser, page: Path, screen: str) -> dict[str, object]:
    w, h, mobile = SCREENS[screen]
    b.viewport(w, h, mobile=mobile)
    b.open(page.as_uri())
    b.wait_for("!window.viewer || window.viewer.ready")
    b.eval("new Promise(function(r){ requestAnimationFrame(function(){ requestAnimationFrame(r); }); })")
    return measure(b)


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("kind", KINDS)
def test_page_fits_the_screen_and_its_text_is_readable(
    kind: str, screen: str, pages: dict[str, Path], browser: Browser
) -> None:
    m = _open(browser, pages[kind], screen)
    w = SCREENS[screen][0]
    assert m["viewport"] == w
    assert m["doc_width"] <= w, f"{kind} at {w} px is {m['doc_width']} px wide: {m['too_wide']}"
    assert m["n_too_wide"] == 0, m["too_wide"]
    assert m["min_font"] is not None and m["min_font"] >= 10, f"{kind} at {w} px: {m['small_text']}"


def test_probes_table_fits_1400(pages: dict[str, Path], browser: Browser) -> None:
    _open(browser, pages["probes"], "desktop")
    over = browser.eval(
        "Array.prototype.map.call(document.querySelectorAll('div.wrap'), function(w){"
        " return [w.scrollWidth, w.clientWidth]; })"
    )
    assert over and all(sw <= cw + 1 for sw, cw in over), over  # no column cut off, nothing to scroll to


def test_viewer_on_a_phone_is_cards_with_readable_text_and_the_gap(pages: dict[str, Path], browser: Browser) -> None:
    _open(browser, pages["rated-viewer"], "phone")
    # one card per row, as wide as the screen allows
    card = box(browser, "tr.row")
    assert card is not None and card["width"] >= 340
    # the post and the response get the card's width and several lines, not a sliver
    resp = box(browser, "tr.row .response")
    assert resp is not None and resp["width"] >= 300 and resp["height"] >= 3 * 14
    post = box(browser, "tr.row .post-line")
    assert post is not None and post["width"] >= 300
    # the judge's score, the experts' and the gap between them are in view on the card
    texts = browser.eval("document.querySelector('tr.row').innerText")
    assert "experts" in texts and "vs experts" in texts, texts
    gap = box(browser, "tr.row .diff")
    assert gap is not None and gap["x"] > 0 and gap["x"] + gap["width"] <= 390
    # the controls are folded behind one button; opening it shows them, and the cards stay under them
    controls = box(browser, "#controls")
    assert controls is None or controls["height"] == 0
    toggle = box(browser, "#f-toggle")
    assert toggle is not None and toggle["height"] > 0 and toggle["y"] < 844
    browser.click("#f-toggle")
    controls = box(browser, "#controls")
    assert controls is not None and controls["height"] > 60
    browser.click("#f-toggle")
    # a card opens to the whole post, response and judgment, in one column
    browser.click("tr.row")
    browser.wait_for("document.querySelector('tr.detail') !== null")
    detail = box(browser, "tr.detail .response-full")
    assert detail is not None and detail["width"] >= 300
    m = measure(browser)
    assert m["doc_width"] <= 390 and m["min_font"] >= 10, m


def test_viewer_on_a_desktop_is_still_a_table(pages: dict[str, Path], browser: Browser) -> None:
    _open(browser, pages["viewer"], "desktop")
    assert box(browser, "#f-toggle") is None or box(browser, "#f-toggle")["height"] == 0  # type: ignore[index]
    assert box(browser, "#controls")["height"] > 30  # type: ignore[index]
    assert browser.eval("getComputedStyle(document.querySelector('table.rows thead')).display") != "none"


def test_plots_reflow_as_stacked_panels_on_a_phone(pages: dict[str, Path], browser: Browser) -> None:
    _open(browser, pages["leaderboard"], "phone")
    shown = browser.eval(
        "Array.prototype.filter.call(document.querySelectorAll('svg'), function(s){"
        " return s.getBoundingClientRect().width > 0 && !s.classList.contains('hist'); }).map(function(s){"
        " var r = s.getBoundingClientRect(); return [s.getAttribute('class'), r.width, s.viewBox.baseVal.width]; })"
    )
    assert shown, "no plot is shown on the phone"
    for cls, width, view_w in shown:
        assert width <= 390 and width >= 0.9 * view_w, (cls, width, view_w)  # drawn at (about) its own size
    _open(browser, pages["leaderboard"], "desktop")
    wide = browser.eval("document.querySelectorAll('.plot .wide svg').length")
    assert wide >= 2  # the side-by-side panels on a desktop
