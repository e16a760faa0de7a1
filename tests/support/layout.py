"""Computed sizes of a page as the browser lays it out, read over the DevTools protocol (tests/support/cdp.py).

``measure(page)`` returns what a phone or desktop check needs: the document's width against the viewport's, the
elements that stick out of the viewport outside any scroll box of their own, and the smallest rendered size of
visible text, HTML and SVG alike (an SVG scaled down to fit draws its text smaller than its font-size says: the
size that counts is font-size times the SVG's scale on screen, ``getScreenCTM().a``).
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.cdp import Browser

_MEASURE = r"""
(function () {
  var vw = document.documentElement.clientWidth;
  function visible(el) {
    for (var e = el; e && e.nodeType === 1; e = e.parentElement) {
      var cs = getComputedStyle(e);
      if (cs.display === 'none' || cs.visibility === 'hidden') return false;
    }
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }
  function scrollBox(el) {  /* the nearest ancestor that scrolls sideways on its own (a table's wrap) */
    for (var e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      if (e instanceof SVGElement) continue;  /* an <svg> clips by default: that is not a box to scroll in */
      var ox = getComputedStyle(e).overflowX;
      if (ox === 'auto' || ox === 'scroll') return e;
    }
    return null;
  }
  function label(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.className && typeof el.className === 'string') s += '.' + el.className.trim().split(/\s+/).join('.');
    return s;
  }
  var fonts = [], small = [], wide = [];
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  var seen = new Set();
  while (walker.nextNode()) {
    var node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    var el = node.parentElement;
    if (!el || seen.has(el) || !visible(el)) continue;
    seen.add(el);
    var size = parseFloat(getComputedStyle(el).fontSize);
    var svg = el.closest('svg');
    if (svg) {
      if (el.tagName.toLowerCase() === 'title') continue;  /* a tooltip, not drawn */
      var ctm = el.getScreenCTM ? el.getScreenCTM() : null;
      if (ctm) size = size * Math.sqrt(ctm.a * ctm.a + ctm.b * ctm.b);
    }
    fonts.push(size);
    if (size < 10) {
      small.push({el: label(el), size: Math.round(size * 10) / 10, text: node.textContent.trim().slice(0, 40)});
    }
  }
  document.querySelectorAll('body *').forEach(function (el) {
    if (!visible(el)) return;
    var r = el.getBoundingClientRect();
    if (r.right > vw + 1 || r.left < -1) {
      var box = scrollBox(el);
      if (box) {
        var b = box.getBoundingClientRect();
        if (b.right <= vw + 1 && b.left >= -1) return;  /* inside its own scroll box, which fits */
      }
      var where = [];
      for (var e = el.parentElement; e && e !== document.body && where.length < 4; e = e.parentElement) {
        where.push(label(e));
      }
      wide.push({el: label(el), left: Math.round(r.left), right: Math.round(r.right), in: where.join(' < ')});
    }
  });
  return {
    viewport: vw,
    doc_width: document.documentElement.scrollWidth,
    min_font: fonts.length ? Math.min.apply(null, fonts) : null,
    small_text: small.slice(0, 20),
    n_small: small.length,
    too_wide: wide.slice(0, 20),
    n_too_wide: wide.length
  };
})()
"""


def measure(page: Browser) -> dict[str, Any]:
    """The page's computed sizes (see the module docstring) as a dict."""
    result: dict[str, Any] = page.eval(_MEASURE)
    return result


def box(page: Browser, selector: str) -> dict[str, float] | None:
    """The first match's bounding box in CSS pixels (``x``, ``y``, ``width``, ``height``), or None."""
    got: dict[str, float] | None = page.eval(
        f"(function(){{ var e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
        " var r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })()"
    )
    return got
