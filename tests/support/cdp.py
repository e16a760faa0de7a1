"""Drive the distribution's headless Chromium over the DevTools protocol: load a page, click, type, read the DOM,
take a screenshot. A small synchronous client over aiohttp's websocket (no browser download, no Playwright).

Example::

    with Browser.launch(tmp_path) as page:
        page.open(Path("viewer.html").as_uri())
        page.wait_for("window.viewer && window.viewer.ready")
        page.click("button#next")
        page.eval("document.querySelectorAll('tr.row').length")
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# What the tests always pass: no sandbox (containers), nothing that reaches the network, a fresh profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


class BrowserError(RuntimeError):
    """The browser did not start, or a page call failed (the message carries what Chromium said)."""


class Browser:
    """One Chromium process with one page, driven over the DevTools protocol."""

    def __init__(self, proc: subprocess.Popen[str], ws_url: str) -> None:
        self.proc = proc
        self.loop = asyncio.new_event_loop()
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.loop.run_until_complete(self._connect(ws_url))

    @classmethod
    def launch(cls, profile_dir: Path, *, width: int = 1400, height: int = 1000, timeout_s: float = 30) -> Browser:
        """Start Chromium with a fresh ``--user-data-dir`` under ``profile_dir`` and attach to its page."""
        if CHROMIUM is None:
            raise BrowserError("chromium is not installed")
        profile = profile_dir / "chromium-profile"
        cmd = [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        deadline = time.monotonic() + timeout_s
        port = None
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                if proc.poll() is not None:
                    break
                continue
            seen.append(line)
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            proc.kill()
            raise BrowserError("chromium did not start its DevTools endpoint:\n" + "".join(seen[-20:]))
        # keep reading stderr so a chatty browser never blocks on a full pipe
        threading.Thread(target=lambda: all(True for _ in proc.stderr or ()), daemon=True).start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.loads(resp.read())
        page = next(t for t in targets if t.get("type") == "page")
        browser = cls(proc, page["webSocketDebuggerUrl"])
        browser.viewport(width, height)
        return browser

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Lay the page out for a ``width`` x ``height`` screen; ``mobile``: as a phone does (the page's
        ``<meta name="viewport">`` then decides the layout width, as on a real phone)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)

    async def _connect(self, ws_url: str) -> None:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(ws_url, max_msg_size=0)

    async def _call(self, method: str, params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self._ws is not None
        msg_id = next(self._ids)
        await self._ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self._ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise BrowserError(f"{method}: the DevTools connection closed ({msg.type})")
                data = json.loads(msg.data)
                if data.get("id") == msg_id:  # events and other replies are not needed here
                    if "error" in data:
                        raise BrowserError(f"{method}: {data['error']}")
                    result: dict[str, Any] = data.get("result", {})
                    return result

    def call(self, method: str, timeout_s: float = 60, **params: Any) -> dict[str, Any]:
        """One DevTools command; returns its result."""
        return self.loop.run_until_complete(self._call(method, params, timeout_s))

    # -- page helpers

    def eval(self, expression: str, timeout_s: float = 60) -> Any:
        """Evaluate JavaScript in the page (promises are awaited); returns the value as JSON data."""
        r = self.call("Runtime.evaluate", timeout_s, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError(f"JavaScript error: {d.get('exception', {}).get('description') or d.get('text')}")
        return r.get("result", {}).get("value")

    def open(self, url: str, timeout_s: float = 60) -> None:
        """Navigate and wait until the document has loaded."""
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'", timeout_s)

    def wait_for(self, condition: str, timeout_s: float = 60) -> None:
        """Wait until a JavaScript condition is true in the page."""
        ok = self.eval(
            "new Promise(function(done){ var t0 = Date.now(); (function poll(){"
            f" var ok = false; try {{ ok = !!({condition}); }} catch (e) {{}}"
            f" if (ok) done(true); else if (Date.now() - t0 > {int(timeout_s * 1000)}) done(false);"
            " else setTimeout(poll, 25); })(); })",
            timeout_s + 10,
        )
        if not ok:
            raise BrowserError(f"timed out after {timeout_s} s waiting for: {condition}")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the middle of the first element matching ``selector``."""
        box = self.eval(
            f"(function(){{ var e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); var r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"no element matches {selector!r}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type(self, selector: str, text: str) -> None:
        """Focus an input, clear it, and type ``text`` as keyboard input."""
        self.eval(f"(function(){{ var e = document.querySelector({json.dumps(selector)}); e.focus(); e.select(); }})()")
        self.call(
            "Input.dispatchKeyEvent", type="rawKeyDown", key="Backspace", code="Backspace", windowsVirtualKeyCode=8
        )
        self.call("Input.dispatchKeyEvent", type="keyUp", key="Backspace", code="Backspace", windowsVirtualKeyCode=8)
        if text:
            self.call("Input.insertText", text=text)

    def choose(self, selector: str, value: str) -> None:
        """Pick an option of a ``<select>`` as a user would (the value changes, then a change event fires)."""
        sel, val = json.dumps(selector), json.dumps(value)
        ok = self.eval(
            f"(function(){{ var s = document.querySelector({sel}); if (!s) return false;"
            f" var has = Array.prototype.some.call(s.options, function(o){{ return o.value === {val}; }});"
            f" if (!has) return false; s.focus(); s.value = {val};"
            " s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
        )
        if not ok:
            raise BrowserError(f"{selector!r} has no option {value!r}")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page height unless ``full_page`` is False)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            w, h = self.eval("[document.documentElement.clientWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        async def shut() -> None:
            if self._ws is not None:
                await self._ws.close()
            if self._session is not None:
                await self._session.close()

        try:
            self.loop.run_until_complete(shut())
        finally:
            self.loop.close()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.support.cdp URL OUT.png [--click SELECTOR] [--width W] [--height H] [--full]``: a
    screenshot of a page as the tests see it (how the screenshots under reports/ are made)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m tests.support.cdp", description=main.__doc__)
    ap.add_argument("url")
    ap.add_argument("out", type=Path)
    ap.add_argument("--click", action="append", default=[], metavar="SELECTOR", help="click these first, in order")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--full", action="store_true", help="the whole page, not the first screen")
    args = ap.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, Browser.launch(Path(tmp), width=args.width, height=args.height) as page:
        page.open(args.url)
        page.wait_for("!window.viewer || window.viewer.ready")
        for sel in args.click:
            page.click(sel)
        page.eval("window.scrollTo(0, 0)")
        page.screenshot(args.out, full_page=args.full)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
