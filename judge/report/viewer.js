/* The item viewer: filters, sorts and pages the rows of the JSON block #viewer-data (an ItemView, see
   judge/report/items.py). Untrusted text (posts, responses, rationales, names) only ever reaches the page through
   textContent and attribute setters, never as markup. Only one page of rows is in the DOM at a time, so 40,000
   rows filter as fast as 40. The state lives in the URL hash (#criterion=...&system=...&sort=experts), so a view
   can be linked to, e.g. from a leaderboard row. */
(function () {
  'use strict';
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById('viewer-data').textContent);
  var T = {parse_ms: performance.now() - t0};
  var C = D.criteria, J = D.judges, I = D.items, R = D.rows, P = D.posts;
  var span = C.map(function (c) { return (c.high - c.low) || 1; });
  var hasCal = J.some(function (j) { return j.calibrator; });
  var hasSamples = J.some(function (j) { return j.samples > 1; });
  var SORTS = [['order', 'benchmark order']];
  if (D.raters.length && J.length) SORTS.push(['experts', 'judge vs experts']);
  if (D.raters.length && hasCal) SORTS.push(['calibrated', 'calibrated judge vs experts']);
  if (J.length > 1) SORTS.push(['judges', 'judge vs judge']);
  if (hasSamples) SORTS.push(['samples', 'sample spread']);
  var SORT_HELP = {
    experts: 'largest |judge - expert mean|, relative to the criterion\'s scale',
    calibrated: 'largest |calibrated judge - expert mean|, relative to the criterion\'s scale',
    judges: 'range of the judges\' scores, relative to the criterion\'s scale',
    samples: 'largest range of one judge\'s samples, relative to the criterion\'s scale'
  };
  var DEFAULTS = {criterion: '', system: '', judge: '', unscored: '', q: '', sort: 'order', dir: 'desc', page: 1,
                  size: 50};
  var S = {};
  var matched = [];
  var opened = {};

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isNum(x) { return typeof x === 'number'; }
  function fmt(x) { return isNum(x) ? String(Math.round(x * 100) / 100) : '–'; }
  function signed(x) { return (x > 0 ? '+' : '') + fmt(x); }
  function option(sel, value, label) { var o = el('option', null, label); o.value = value; sel.appendChild(o); }

  /* -- controls --------------------------------------------------------------------------------------------- */
  option($('f-criterion'), '', 'all criteria');
  C.forEach(function (c) { option($('f-criterion'), c.name, c.title); });
  option($('f-system'), '', 'all systems');
  D.systems.forEach(function (s) { option($('f-system'), s, s); });
  option($('f-judge'), '', 'all judges');
  J.forEach(function (j) { option($('f-judge'), j.label, j.label); });
  option($('f-unscored'), '', 'scored or not');
  option($('f-unscored'), 'any', 'some sample unscored');
  option($('f-unscored'), 'none', 'every sample scored');
  D.reasons.forEach(function (r) { option($('f-unscored'), r, 'unscored: ' + r); });
  SORTS.forEach(function (s) { option($('f-sort'), s[0], s[1]); });
  [25, 50, 100, 200].forEach(function (n) { option($('p-size'), String(n), n + ' per page'); });
  if (J.length < 2) $('f-judge').parentNode.hidden = true;

  function judgeIndex() {
    if (!S.judge) return null;
    for (var k = 0; k < J.length; k++) if (J[k].label === S.judge) return k;
    return null;
  }

  /* -- the hash holds the state ------------------------------------------------------------------------------ */
  function readHash() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ''));
    S = {};
    Object.keys(DEFAULTS).forEach(function (k) {
      var v = h.get(k);
      S[k] = v === null ? DEFAULTS[k] : (isNum(DEFAULTS[k]) ? (parseInt(v, 10) || DEFAULTS[k]) : v);
    });
    /* a value the page does not offer (a stale link, a typo) falls back to the default instead of hiding all rows */
    [['criterion', 'f-criterion'], ['system', 'f-system'], ['judge', 'f-judge'], ['unscored', 'f-unscored'],
     ['sort', 'f-sort']].forEach(function (f) {
      var ok = Array.prototype.some.call($(f[1]).options, function (o) { return o.value === S[f[0]]; });
      if (!ok) S[f[0]] = DEFAULTS[f[0]];
    });
    if (S.dir !== 'asc') S.dir = 'desc';
    if ([25, 50, 100, 200].indexOf(S.size) < 0) S.size = DEFAULTS.size;
    $('f-criterion').value = S.criterion; $('f-system').value = S.system; $('f-judge').value = S.judge;
    $('f-unscored').value = S.unscored; $('f-q').value = S.q; $('f-sort').value = S.sort;
    $('p-size').value = String(S.size);
  }
  function writeHash() {
    var h = new URLSearchParams();
    Object.keys(DEFAULTS).forEach(function (k) { if (S[k] !== DEFAULTS[k]) h.set(k, String(S[k])); });
    var s = h.toString();
    history.replaceState(null, '', s ? '#' + s : location.pathname + location.search);
  }

  /* -- filtering and sorting -------------------------------------------------------------------------------- */
  var itemText = new Array(I.length), rowText = new Array(R.length);
  function textOfItem(k) {
    var t = itemText[k];
    if (t === undefined) {
      var it = I[k], p = P[it.post];
      var turns = (p.turns || []).map(function (x) { return x.role + ': ' + x.text; }).join('\n');
      t = [it.id, D.systems[it.system], p.id, p.text || '', turns, it.response, it.dimension || ''].join('\n')
        .toLowerCase();
      itemText[k] = t;
    }
    return t;
  }
  function textOfRow(i) {
    var t = rowText[i];
    if (t === undefined) {
      var parts = [], r = R[i];
      r.judges.forEach(function (c) {
        if (!c) return;
        c.samples.forEach(function (s) { parts.push(s.rationale || '', s.detail || '', s.reason || ''); });
      });
      r.experts.forEach(function (e) { parts.push(e.rationale || ''); });
      t = parts.join('\n').toLowerCase();
      rowText[i] = t;
    }
    return t;
  }
  function unscoredMatch(r, jk) {
    if (!S.unscored) return true;
    var judged = false, unscored = false;
    for (var k = 0; k < r.judges.length; k++) {
      var c = r.judges[k];
      if (!c || (jk !== null && k !== jk)) continue;
      judged = true;
      for (var n = 0; n < c.samples.length; n++) {
        var reason = c.samples[n].reason;
        if (!reason) continue;
        if (S.unscored === reason || S.unscored === 'any') return true;
        unscored = true;
      }
    }
    return S.unscored === 'none' && judged && !unscored;
  }
  /* Mirrors judge.report.items.disagreement: the same numbers rank the rows of `judge show`. */
  function disagreement(r, by, jk) {
    if (by === 'judges') return isNum(r.judge_range) ? r.judge_range / span[r.criterion] : null;
    var best = null;
    for (var k = 0; k < r.judges.length; k++) {
      var c = r.judges[k];
      if (!c || (jk !== null && k !== jk)) continue;
      var v = by === 'experts' ? c.diff : by === 'calibrated' ? c.cal_diff : c.spread;
      if (!isNum(v)) continue;
      v = Math.abs(v);
      if (best === null || v > best) best = v;
    }
    return best === null ? null : best / span[r.criterion];
  }
  var keyOf = null;
  function apply() {
    var t = performance.now();
    var ci = -1, si = S.system ? D.systems.indexOf(S.system) : -1, jk = judgeIndex();
    for (var n = 0; n < C.length; n++) if (C[n].name === S.criterion) ci = n;
    var q = S.q.trim().toLowerCase();
    var out = [];
    for (var i = 0; i < R.length; i++) {
      var r = R[i];
      if (S.criterion && r.criterion !== ci) continue;
      if (S.system && I[r.item].system !== si) continue;
      if (jk !== null && !r.judges[jk]) continue;
      if (!unscoredMatch(r, jk)) continue;
      if (q && textOfItem(r.item).indexOf(q) < 0 && textOfRow(i).indexOf(q) < 0) continue;
      out.push(i);
    }
    keyOf = null;
    if (S.sort !== 'order') {
      var keys = {};
      out.forEach(function (i) { keys[i] = disagreement(R[i], S.sort, jk); });
      var sign = S.dir === 'asc' ? 1 : -1;
      out.sort(function (a, b) {
        var x = keys[a], y = keys[b];
        if (x === null || y === null) return x === y ? a - b : (x === null ? 1 : -1);  /* no value: last */
        return (x - y) * sign || a - b;
      });
      keyOf = keys;
    } else if (S.dir === 'asc') {
      out.reverse();
    }
    matched = out;
    T.filter_ms = performance.now() - t;
    render();
  }

  /* -- rendering --------------------------------------------------------------------------------------------- */
  function visibleJudges() {
    var jk = judgeIndex();
    return jk === null ? J.map(function (_, k) { return k; }) : [jk];
  }
  function header(judges) {
    var cols = $('cols'), head = $('head');
    cols.replaceChildren(); head.replaceChildren();
    var spec = [['c-item', 'item · system'], ['c-crit', 'criterion'], ['c-text', 'post / response'],
                ['c-exp', D.raters.length ? 'experts' : 'experts (none)']];
    judges.forEach(function (k) { spec.push(['c-judge', J[k].label]); });
    if (S.sort !== 'order') spec.push(['c-key', 'gap / scale']);
    spec.forEach(function (s) {
      var col = el('col', s[0]); cols.appendChild(col);
      var th = el('th', null, s[1]); th.title = s[1]; head.appendChild(th);
    });
    return spec.length;
  }
  function judgeCell(r, k) {
    var td = el('td', 'judge'), c = r.judges[k];
    td.dataset.judge = J[k].label;
    td.dataset.label = J[k].label;
    if (!c) { td.appendChild(el('span', 'none', 'not judged')); return td; }
    var first = c.samples.filter(function (s) { return s.rationale || s.detail; })[0];
    if (first) td.title = String(first.rationale || first.detail).slice(0, 600);  /* a title is text, not markup */
    var score = el('div', 'score', isNum(c.score) ? fmt(c.score) : 'unscored');
    if (isNum(c.score)) td.dataset.score = String(c.score);
    td.appendChild(score);
    var reasons = {};
    c.samples.forEach(function (s) { if (s.reason) reasons[s.reason] = (reasons[s.reason] || 0) + 1; });
    Object.keys(reasons).forEach(function (why) {
      var b = el('span', 'badge', why + (c.samples.length > 1 ? ' ×' + reasons[why] : ''));
      td.appendChild(b);
    });
    if (c.samples.length > 1) {
      var box = el('div', 'samples');
      c.samples.forEach(function (s, n) {
        var chip = el('span', isNum(s.score) ? null : 'x', isNum(s.score) ? fmt(s.score) : '×');
        chip.title = 'sample ' + n + ': ' + (isNum(s.score) ? s.score : 'unscored (' + s.reason + ')');
        box.appendChild(chip);
      });
      td.appendChild(box);
    }
    if (isNum(c.calibrated)) td.appendChild(el('div', 'sub', 'calibrated ' + fmt(c.calibrated)));
    if (isNum(c.diff)) {
      var big = Math.abs(c.diff) / span[r.criterion] >= 0.25;
      td.appendChild(el('div', 'sub diff' + (big ? ' big' : ''), 'vs experts ' + signed(c.diff)));
    }
    return td;
  }
  function rowEl(i, judges) {
    var r = R[i], it = I[r.item], p = P[it.post];
    var tr = el('tr', 'row' + (opened[i] ? ' open' : ''));
    tr.tabIndex = 0;
    tr.dataset.row = String(i); tr.dataset.item = it.id; tr.dataset.criterion = C[r.criterion].name;
    tr.dataset.system = D.systems[it.system];
    var td = el('td', 'item');
    td.appendChild(el('div', 'mono', it.id));
    td.appendChild(el('div', 'sub', D.systems[it.system]));
    tr.appendChild(td);
    tr.appendChild(el('td', 'crit', C[r.criterion].title));
    td = el('td', 'text');
    var post = p.turns && p.turns.length ? p.turns[p.turns.length - 1].role + ': ' + p.turns[p.turns.length - 1].text
      : p.text;
    if (post) td.appendChild(el('div', 'post-line clamp l1', post));
    td.appendChild(el('div', 'response clamp l3', it.response));
    tr.appendChild(td);
    td = el('td', 'experts');
    td.dataset.label = 'experts';  /* shown above the value on a phone's card (viewer.css) */
    if (isNum(r.expert_mean)) {
      td.appendChild(el('div', 'score', fmt(r.expert_mean)));
      td.dataset.mean = String(r.expert_mean);
      td.appendChild(el('div', 'sub', r.experts.map(function (e) { return D.raters[e.rater] + ': ' + fmt(e.value); })
        .join(' · ')));
    } else {
      td.appendChild(el('span', 'none', 'not rated'));
    }
    tr.appendChild(td);
    judges.forEach(function (k) { tr.appendChild(judgeCell(r, k)); });
    if (keyOf) {
      var key = keyOf[i];
      td = el('td', 'key', key === null ? '–' : Math.round(key * 100) + '% of scale');
      td.dataset.key = key === null ? '' : String(key);
      td.dataset.label = 'gap / scale';
      td.title = SORT_HELP[S.sort] || '';
      tr.appendChild(td);
    }
    tr.addEventListener('click', function () {
      if (window.getSelection && String(window.getSelection()).length) return;  /* selecting text, not opening */
      toggle(i);
    });
    tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') toggle(i); });
    return tr;
  }
  function section(title) { var d = el('div'); d.appendChild(el('h4', null, title)); return d; }
  function detailEl(i, judges, ncols) {
    var r = R[i], it = I[r.item], p = P[it.post];
    var tr = el('tr', 'detail'), td = el('td'), grid = el('div', 'detail-grid');
    tr.dataset.row = String(i);
    td.colSpan = ncols;
    var left = el('div'), right = el('div');
    var sp = section(p.turns && p.turns.length ? 'Conversation (' + p.id + ')' : 'Post (' + p.id + ')');
    if (p.turns && p.turns.length) {
      p.turns.forEach(function (t) {
        var d = el('div', 'turn'); d.appendChild(el('b', null, t.role)); d.appendChild(el('p', 'text', t.text));
        sp.appendChild(d);
      });
    } else {
      sp.appendChild(el('p', 'text', p.text || '(no text)'));
    }
    left.appendChild(sp);
    var sr = section('Response (' + D.systems[it.system] + ')');
    sr.appendChild(el('p', 'text response-full', it.response));
    if (it.dimension) sr.appendChild(el('p', 'sub', 'dimension: ' + it.dimension));
    left.appendChild(sr);
    var sj = section(C[r.criterion].title + ': judgments');
    judges.forEach(function (k) {
      var c = r.judges[k];
      var box = el('div', 'judgment'), head = el('div', 'head', J[k].label + ' ');
      head.appendChild(el('span', 'sub', J[k].model === J[k].label ? '' : J[k].model));
      box.appendChild(head);
      if (!c) { box.appendChild(el('div', 'sub', 'not judged')); sj.appendChild(box); return; }
      var line = 'score ' + (isNum(c.score) ? fmt(c.score) : 'none (unscored)');
      if (c.samples.length > 1) line += ', aggregated over ' + c.samples.length + ' samples';
      if (isNum(c.calibrated)) line += ' · calibrated ' + fmt(c.calibrated);
      if (isNum(c.diff)) line += ' · vs experts ' + signed(c.diff);
      box.appendChild(el('div', 'sub', line));
      c.samples.forEach(function (s, n) {
        var d = el('div', 'sample');
        var what = isNum(s.score) ? 'score ' + fmt(s.score) : 'unscored: ' + s.reason;
        if (c.samples.length > 1 || !isNum(s.score)) {  /* one scored sample: its score is already in the line above */
          d.appendChild(el('div', 'sub', (c.samples.length > 1 ? 'sample ' + n + ': ' : '') + what));
        }
        if (s.detail) d.appendChild(el('p', 'text sub', s.detail));
        if (s.rationale) d.appendChild(el('p', 'text rationale', s.rationale));
        if (s.raw) d.appendChild(el('pre', 'raw', s.raw));
        box.appendChild(d);
      });
      sj.appendChild(box);
    });
    right.appendChild(sj);
    var se = section('Experts');
    if (!r.experts.length) se.appendChild(el('p', 'sub', 'no expert rated this item on this criterion'));
    r.experts.forEach(function (e) {
      var d = el('div', 'judgment');
      d.appendChild(el('div', 'head', D.raters[e.rater] + ': ' + fmt(e.value)));
      if (e.rationale) d.appendChild(el('p', 'text rationale', e.rationale));
      se.appendChild(d);
    });
    right.appendChild(se);
    grid.appendChild(left); grid.appendChild(right); td.appendChild(grid); tr.appendChild(td);
    return tr;
  }
  function render() {
    var t = performance.now();
    var pages = Math.max(1, Math.ceil(matched.length / S.size));
    S.page = Math.min(Math.max(1, S.page), pages);
    var judges = visibleJudges();
    var ncols = header(judges);
    var body = $('body');
    body.replaceChildren();
    var start = (S.page - 1) * S.size;
    matched.slice(start, start + S.size).forEach(function (i) {
      body.appendChild(rowEl(i, judges));
      if (opened[i]) body.appendChild(detailEl(i, judges, ncols));
    });
    $('empty').hidden = matched.length > 0;
    var st = $('status');
    st.textContent = matched.length.toLocaleString('en') + ' of ' + R.length.toLocaleString('en') + ' rows' +
      (matched.length ? ' · showing ' + (start + 1).toLocaleString('en') + '–' +
       Math.min(start + S.size, matched.length).toLocaleString('en') : '') +
      (S.sort !== 'order' ? ' · sorted by ' + SORTS.filter(function (s) { return s[0] === S.sort; })[0][1] +
       (S.dir === 'asc' ? ' (smallest first)' : ' (largest first)') : '');
    st.dataset.matching = String(matched.length);
    st.dataset.total = String(R.length);
    $('p-where').textContent = 'page ' + S.page + ' of ' + pages;
    $('p-first').disabled = $('p-prev').disabled = S.page <= 1;
    $('p-next').disabled = $('p-last').disabled = S.page >= pages;
    $('f-dir').textContent = S.dir === 'asc' ? '↑ smallest first' : '↓ largest first';
    var set = ['criterion', 'system', 'judge', 'unscored', 'q'].filter(function (k) { return S[k]; }).length;
    $('f-toggle').textContent = 'Filters and sort' + (set ? ' (' + set + ' set)' : '') +
      (S.sort !== 'order' ? ' · sorted' : '');
    $('f-dir').disabled = S.sort === 'order';
    document.body.dataset.sorted = S.sort + ':' + S.dir;
    writeHash();
    T.render_ms = performance.now() - t;
  }
  function toggle(i) {
    if (opened[i]) delete opened[i]; else opened[i] = true;
    render();
  }

  /* -- events ------------------------------------------------------------------------------------------------- */
  function onChange(id, key) {
    $(id).addEventListener('change', function () { S[key] = $(id).value; S.page = 1; apply(); });
  }
  onChange('f-criterion', 'criterion');
  onChange('f-system', 'system');
  onChange('f-judge', 'judge');
  onChange('f-unscored', 'unscored');
  $('f-sort').addEventListener('change', function () { S.sort = $('f-sort').value; S.dir = 'desc'; S.page = 1; apply(); });
  $('p-size').addEventListener('change', function () { S.size = parseInt($('p-size').value, 10); S.page = 1; render(); });
  var typing = null;
  $('f-q').addEventListener('input', function () {
    clearTimeout(typing);
    typing = setTimeout(function () { S.q = $('f-q').value; S.page = 1; apply(); }, 180);
  });
  $('f-dir').addEventListener('click', function () { S.dir = S.dir === 'asc' ? 'desc' : 'asc'; S.page = 1; apply(); });
  $('f-reset').addEventListener('click', function () {
    location.hash = ''; opened = {}; readHash(); apply();
  });
  function go(page) { S.page = page; render(); window.scrollTo(0, $('bar').offsetTop - 60); }
  $('p-first').addEventListener('click', function () { go(1); });
  $('p-prev').addEventListener('click', function () { go(S.page - 1); });
  $('p-next').addEventListener('click', function () { go(S.page + 1); });
  $('p-last').addEventListener('click', function () { go(Math.ceil(matched.length / S.size)); });
  $('f-toggle').addEventListener('click', function () {
    var open = document.body.classList.toggle('filters-open');
    $('f-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
    stickUnder();
  });
  window.addEventListener('hashchange', function () { readHash(); apply(); });

  /* the column headers stick just under the controls, whose height depends on the window's width */
  function stickUnder() {
    document.documentElement.style.setProperty('--controls-h', $('controls').offsetHeight + 'px');
  }
  window.addEventListener('resize', stickUnder);
  stickUnder();
  readHash();
  apply();
  T.first_view_ms = performance.now() - t0;
  window.viewer = {ready: true, timings: T, state: function () { return Object.assign({}, S); },
                   matching: function () { return matched.length; }};
})();
