"""Screenshots of the HTML reports on a phone (390 px) and a desktop (1,400 px): ``reports/viewer/*-390.png`` and
``*-1400.png``.

The pages are built from the project's own example data (tests/support/pages.py: the demo judged by the loopback
stub, the support-chats example with its invented judge scores), never from RESORT text, through the real CLI,
then opened in the distribution's headless Chromium (tests/support/cdp.py) at each width, the phone laid out as a
phone (its viewport meta tag decides the width).

Run: ``python -m benchmarks.screenshots [--out reports/viewer]`` (about a minute; needs chromium).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "reports" / "viewer"
# page kind -> file stem, and whether the whole page is shot (the viewer: its first screen, which shows the cards)
SHOTS = {
    "rated-viewer": ("demo-viewer-invented-ratings", False),  # the demo judged, beside invented expert ratings
    "leaderboard": ("demo-leaderboard", True),
    "judges": ("support-chats-judge-board", True),
    "calibration": ("support-chats-calibration", True),
    "probes": ("demo-probes", True),
}
SCREENS = {390: (844, True), 1400: (900, False)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.screenshots", description=__doc__)
    ap.add_argument("--out", type=Path, default=OUT, help="directory of the PNG files (default reports/viewer)")
    ap.add_argument("--kinds", nargs="+", choices=sorted(SHOTS), default=sorted(SHOTS), help="which pages")
    args = ap.parse_args(argv)
    from tests.support.cdp import CHROMIUM, Browser
    from tests.support.pages import build_pages
    from tests.support.stub import StubServer

    if CHROMIUM is None:
        print("error: chromium is not installed (apt-get install -y chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        os.environ["JUDGE_CACHE_DIR"] = str(Path(tmp) / "cache")
        with StubServer() as url:
            pages = build_pages(Path(tmp) / "pages", url)
        with Browser.launch(Path(tmp), width=1400, height=900) as page:
            for kind in args.kinds:
                stem, full = SHOTS[kind]
                for width, (height, mobile) in SCREENS.items():
                    page.viewport(width, height, mobile=mobile)
                    page.open(pages[kind].as_uri())
                    page.wait_for("!window.viewer || window.viewer.ready")
                    page.eval("window.scrollTo(0, 0)")
                    shot = page.screenshot(args.out / f"{stem}-{width}.png", full_page=full)
                    print(f"wrote {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
