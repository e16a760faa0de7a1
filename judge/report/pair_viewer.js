/* The pair viewer: one card per judge x criterion x pair from the JSON block #viewer-data (a PairView, see
   judge/report/pair_viewer.py), the post above reply A and reply B side by side, the verdict in each order, P(A
   better) and the experts' ratings. Untrusted text (posts, replies, rationales, names) only reaches the page through
   textContent, never as markup. The state lives in the URL hash (#criterion=...&sort=experts). */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('viewer-data').textContent);
  var K = D.cards, I = D.items, P = D.posts;
  var SORTS = [['order', 'run order']];
  if (K.some(function (c) { return typeof c.disagreement === 'number'; })) {
    SORTS.push(['experts', 'disagreement with the experts']);
  }
  var DEFAULTS = {criterion: '', system: '', judge: '', q: '', sort: 'order', page: 1};
  var SIZE = 25;
  var S = {}, matched = [];

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function isNum(x) { return typeof x === 'number'; }
  function fmt(x) { return isNum(x) ? (Math.round(x * 100) / 100).toFixed(2) : '–'; }
  function option(sel, value, label) { var o = el('option', null, label); o.value = value; sel.appendChild(o); }

  option($('f-criterion'), '', 'all criteria');
  D.criteria.forEach(function (c) { option($('f-criterion'), c, c); });
  option($('f-system'), '', 'all systems');
  D.systems.forEach(function (s) { option($('f-system'), s, s); });
  option($('f-judge'), '', 'all judges');
  D.judges.forEach(function (j) { option($('f-judge'), j, j); });
  SORTS.forEach(function (s) { option($('f-sort'), s[0], s[1]); });
  if (D.judges.length < 2) $('f-judge').parentNode.hidden = true;

  function readHash() {
    var h = new URLSearchParams(location.hash.replace(/^#/, ''));
    S = {};
    Object.keys(DEFAULTS).forEach(function (k) {
      var v = h.get(k);
      S[k] = v === null ? DEFAULTS[k] : (isNum(DEFAULTS[k]) ? (parseInt(v, 10) || DEFAULTS[k]) : v);
    });
    [['criterion', 'f-criterion'], ['system', 'f-system'], ['judge', 'f-judge'], ['sort', 'f-sort']]
      .forEach(function (f) {
        var ok = Array.prototype.some.call($(f[1]).options, function (o) { return o.value === S[f[0]]; });
        if (!ok) S[f[0]] = DEFAULTS[f[0]];
      });
    $('f-criterion').value = S.criterion; $('f-system').value = S.system; $('f-judge').value = S.judge;
    $('f-q').value = S.q; $('f-sort').value = S.sort;
  }
  function writeHash() {
    var h = new URLSearchParams();
    Object.keys(DEFAULTS).forEach(function (k) { if (S[k] !== DEFAULTS[k]) h.set(k, String(S[k])); });
    var s = h.toString();
    history.replaceState(null, '', s ? '#' + s : location.pathname + location.search);
  }

  var texts = [];
  function textOf(i) {
    if (texts[i] === undefined) {
      var c = K[i], a = I[c.item_a], b = I[c.item_b], p = P[c.post];
      texts[i] = [a.id, b.id, a.system, b.system, p.id, p.text, a.response, b.response,
                  (c.ab && c.ab.rationale) || '', (c.ba && c.ba.rationale) || ''].join('\n').toLowerCase();
    }
    return texts[i];
  }
  function apply() {
    var q = S.q.trim().toLowerCase(), out = [];
    for (var i = 0; i < K.length; i++) {
      var c = K[i];
      if (S.criterion && c.criterion !== S.criterion) continue;
      if (S.judge && c.judge !== S.judge) continue;
      if (S.system && I[c.item_a].system !== S.system && I[c.item_b].system !== S.system) continue;
      if (q && textOf(i).indexOf(q) < 0) continue;
      out.push(i);
    }
    if (S.sort === 'experts') {  /* largest disagreement first; pairs the experts did not rate last */
      out.sort(function (x, y) {
        var a = K[x].disagreement, b = K[y].disagreement;
        if (!isNum(a) || !isNum(b)) return isNum(a) === isNum(b) ? x - y : (isNum(a) ? -1 : 1);
        return (b - a) || x - y;
      });
    }
    matched = out;
    render();
  }

  function experts(e) {
    var box = el('div', 'experts');
    if (!e) { box.appendChild(el('span', 'none', 'no expert ratings')); return box; }
    box.appendChild(el('b', null, 'experts ' + fmt(e.mean)));
    var each = Object.keys(e.ratings).map(function (r) { return r + ' ' + e.ratings[r]; }).join(' · ');
    box.appendChild(el('span', 'sub', ' (' + each + ')'));
    return box;
  }
  function reply(c, side) {
    var it = I[side === 'A' ? c.item_a : c.item_b];
    var box = el('section', 'reply reply-' + side.toLowerCase());
    var head = el('h3', null, 'Reply ' + side + ' · ' + it.system);
    head.appendChild(el('span', 'sub', ' ' + it.id + ', ' + it.chars + ' characters'));
    box.appendChild(head);
    box.appendChild(el('p', 'text', it.response));
    box.appendChild(experts(side === 'A' ? c.experts_a : c.experts_b));
    if (c.verdict === side) box.classList.add('chosen');
    return box;
  }
  function order(o, label) {
    var row = el('div', 'order');
    row.appendChild(el('b', null, label + ': '));
    if (!o) { row.appendChild(el('span', 'none', 'not asked')); return row; }
    if (!o.shown) { row.appendChild(el('span', 'badge', 'unscored: ' + (o.reason || 'unknown'))); return row; }
    row.appendChild(el('span', 'verdict', o.shown === 'tie' ? 'tie' : o.shown + ' shown (' + o.verdict + ')'));
    if (isNum(o.p_first)) row.appendChild(el('span', 'sub', ' · P(first better) ' + fmt(o.p_first)));
    if (o.rationale) row.appendChild(el('div', 'rationale', o.rationale));
    return row;
  }
  function card(i) {
    var c = K[i], p = P[c.post];
    var box = el('article', 'pair');
    var head = el('header', 'pair-head');
    head.appendChild(el('b', null, c.criterion));
    head.appendChild(el('span', 'sub', ' · ' + c.judge + ' · post ' + p.id + (p.dimension ? ', ' + p.dimension : '')));
    box.appendChild(head);
    box.appendChild(el('p', 'post text', p.text));
    var replies = el('div', 'replies');
    replies.appendChild(reply(c, 'A'));
    replies.appendChild(reply(c, 'B'));
    box.appendChild(replies);
    var v = el('div', 'verdicts');
    v.appendChild(order(c.ab, 'A shown first'));
    v.appendChild(order(c.ba, 'B shown first'));
    var sum = el('div', 'order sum');
    sum.appendChild(el('b', null, 'judge: ' + (c.verdict || 'unscored')));
    sum.appendChild(el('span', null, ' · P(A better) ' + fmt(c.p_a)));
    sum.appendChild(el('span', null, ' · experts: ' + (c.experts || 'not rated')));
    if (isNum(c.disagreement)) {
      sum.appendChild(el('span', 'diff' + (c.disagreement >= 0.5 ? ' big' : ''),
                         ' · disagreement ' + fmt(c.disagreement)));
    }
    v.appendChild(sum);
    box.appendChild(v);
    return box;
  }
  function render() {
    var pages = Math.max(1, Math.ceil(matched.length / SIZE));
    if (S.page > pages) S.page = pages;
    var list = $('cards');
    list.replaceChildren();
    matched.slice((S.page - 1) * SIZE, S.page * SIZE).forEach(function (i) { list.appendChild(card(i)); });
    $('empty').hidden = matched.length > 0;
    $('status').textContent = matched.length + ' of ' + K.length + ' pairs' +
      (S.sort === 'experts' ? ', largest disagreement with the experts first' : '');
    $('p-where').textContent = 'page ' + S.page + ' of ' + pages;
    $('p-prev').disabled = S.page <= 1; $('p-next').disabled = S.page >= pages;
    writeHash();
  }

  function change(k, v) { S[k] = v; S.page = 1; apply(); }
  $('f-criterion').addEventListener('change', function (e) { change('criterion', e.target.value); });
  $('f-system').addEventListener('change', function (e) { change('system', e.target.value); });
  $('f-judge').addEventListener('change', function (e) { change('judge', e.target.value); });
  $('f-sort').addEventListener('change', function (e) { change('sort', e.target.value); });
  $('f-q').addEventListener('input', function (e) { change('q', e.target.value); });
  $('f-reset').addEventListener('click', function () { S = Object.assign({}, DEFAULTS); writeHash(); readHash(); apply(); });
  $('p-prev').addEventListener('click', function () { S.page -= 1; render(); });
  $('p-next').addEventListener('click', function () { S.page += 1; render(); });
  $('f-toggle').addEventListener('click', function () {
    var open = document.body.classList.toggle('filters-open');
    $('f-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
  });
  window.addEventListener('hashchange', function () { readHash(); apply(); });
  readHash();
  apply();
  window.viewer = {ready: true, kind: 'pairs', state: function () { return Object.assign({}, S); },
                   shown: function () { return matched.slice((S.page - 1) * SIZE, S.page * SIZE); }};
}());
