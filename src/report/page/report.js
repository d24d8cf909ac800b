/*
 * The HTML report's page script (browser, no modules: it runs after uPlot's IIFE in the same
 * inline block; report/html.ts). Reads the report JSON from #report-data and builds every view
 * from it: verdict, charts, sources with their lanes, targets, alerts, decisions, capture quality.
 * Times are packet time, shown in UTC. No network, no eval, no inline style attributes (the CSP
 * allows none): positions are set through element.style.
 *
 * Hooks for the browser tests: every decision is one `.marker[data-action]` over the main chart;
 * window.synwatchReport = { renderMs, markers, charts } once everything is drawn.
 */
(function () {
  'use strict';
  var t0 = performance.now();
  var R = JSON.parse(document.getElementById('report-data').textContent);
  var app = document.getElementById('app');
  var TL = R.timeline;

  // ---- small helpers -------------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  function usOf(iso) { // ISO-8601 with microseconds -> seconds since the epoch (float)
    if (!iso) return null;
    var ms = Date.parse(iso.slice(0, 19) + 'Z');
    var frac = iso.length > 20 ? parseFloat('0' + iso.slice(19, iso.length - 1)) : 0;
    return ms / 1000 + frac;
  }
  function pad(n, w) { n = String(n); while (n.length < w) n = '0' + n; return n; }
  function fmtTime(s, withDate) { // seconds -> HH:MM:SS.mmm UTC
    var d = new Date(Math.floor(s * 1000));
    var t = pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) + '.' + pad(d.getUTCMilliseconds(), 3);
    return withDate ? d.toISOString().slice(0, 10) + ' ' + t : t;
  }
  function fmtNum(n) {
    if (n === null || n === undefined) return '–';
    if (Math.abs(n) >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en-US');
    return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  }
  function fmtDur(s) {
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 0) + ' ms';
    if (s < 120) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    if (s < 7200) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
    return (s / 3600).toFixed(1) + ' h';
  }
  function pct(x) { return (x * 100).toFixed(x < 0.1 && x > 0 ? 2 : 1) + ' %'; }
  function section(title, note, cls) {
    var s = add(el('section', 'card' + (cls ? ' ' + cls : '')), el('h2', null, title));
    if (note) add(s, el('p', 'note', note));
    add(app, s);
    return s;
  }

  var first = usOf(R.capture.first), last = usOf(R.capture.last);
  var totals = R.totals;
  var decisions = R.decisions || [];
  var alerts = R.alerts || [];

  // ---- header ---------------------------------------------------------------------------------
  var head = add(el('header', 'top'),
    add(el('div', 'brand'), el('span', 'logo', 'synwatch'), el('span', 'kind', 'incident report')),
    el('h1', null, R.capture.file),
    el('p', 'sub', first === null ? 'empty capture' :
      fmtTime(first, true) + ' → ' + fmtTime(last, true) + ' UTC · ' + fmtDur(last - first) + ' · ' +
      fmtNum(R.capture.records) + ' packets · ' + R.capture.format + (R.capture.compressed ? ' (gzip)' : '') +
      ' · packet time'));
  add(app, head);

  // ---- verdict --------------------------------------------------------------------------------
  var floods = alerts.filter(function (a) { return a.kind !== 'backscatter'; });
  var spoofed = alerts.some(function (a) { return a.kind === 'spoofed-flood'; });
  var synFlood = alerts.some(function (a) { return a.kind === 'syn-flood'; });
  var flagged = R.sources.filter(function (s) { return s.flagged; });
  var blocks = decisions.filter(function (d) { return d.action === 'block'; }).length;
  var unblocks = decisions.filter(function (d) { return d.action === 'unblock'; }).length;
  var deferred = decisions.filter(function (d) { return d.action === 'deferred'; }).length;
  var winStart = null, winEnd = null, peak = 0;
  floods.forEach(function (a) {
    var s = usOf(a.start), e = usOf(a.end);
    if (winStart === null || s < winStart) winStart = s;
    if (winEnd === null || e > winEnd) winEnd = e;
    if (a.peakRate > peak) peak = a.peakRate;
  });
  var peakSyn = 0;
  if (TL) for (var i = 0; i < TL.bins; i++) if (TL.series.syn.max[i] > peakSyn) peakSyn = TL.series.syn.max[i];
  var distinct = TL ? TL.series.newSources.count.reduce(function (a, b) { return a + b; }, 0) : 0;
  var incompleteRatio = totals.attempts > 0 ? totals.incomplete / totals.attempts : 0;
  var headline, tone;
  if (synFlood && spoofed) { headline = 'SYN flood, partly spoofed'; tone = 'bad'; }
  else if (spoofed) { headline = 'Spoofed SYN flood'; tone = 'bad'; }
  else if (synFlood) { headline = 'SYN flood from real sources'; tone = 'bad'; }
  else if (alerts.length) { headline = 'Backscatter (reflected SYN-ACKs)'; tone = 'warn'; }
  else if (flagged.length) { headline = flagged.length + ' flagged source' + (flagged.length > 1 ? 's' : '') + ', no flood'; tone = 'warn'; }
  else { headline = 'No attack detected'; tone = 'ok'; }
  var verdict = add(el('section', 'card verdict ' + tone), add(el('div', 'headline'),
    el('span', 'dot'), el('h2', null, headline)));
  var stats = el('div', 'stats');
  function stat(label, value, hint) {
    add(stats, add(el('div', 'stat'), el('div', 'label', label), el('div', 'value', value), hint ? el('div', 'hint', hint) : null));
  }
  stat('Attack window', winStart === null ? 'none' : fmtDur(winEnd - winStart),
    winStart === null ? 'no flood alarm' : fmtTime(winStart) + ' – ' + fmtTime(winEnd) + ' UTC');
  stat('Peak SYN/s', fmtNum(peak || peakSyn), peak ? 'per second, flood detector' : 'highest rate sample (' + (TL ? TL.rateSeconds : 1) + ' s)');
  stat('Incomplete', pct(incompleteRatio), fmtNum(totals.incomplete) + ' of ' + fmtNum(totals.attempts) + ' attempts');
  stat('Distinct sources', fmtNum(distinct), fmtNum(flagged.length) + ' flagged');
  stat('Spoofed', spoofed ? 'yes' : 'no', spoofed ? 'one-shot random sources: routes cannot stop it' : 'sources repeat: blockable');
  var topT = R.targets.slice(0, 2).map(function (t) { return t.ip + ':' + t.port; }).join(', ');
  stat('Targets', fmtNum(R.targets.length), topT || '–');
  stat('Blocks', fmtNum(blocks), unblocks + ' unblocked' + (deferred ? ', ' + deferred + ' deferred' : ''));
  add(verdict, stats);
  floods.forEach(function (a) { add(verdict, el('p', 'advice', a.kind + ': ' + a.advice)); });
  add(app, verdict);

  // ---- charts ---------------------------------------------------------------------------------
  var charts = [];
  var markers = 0;
  var COLORS = { syn: '#d64545', completed: '#2f9e44', synAck: '#3b6fd4', rst: '#e8890c', ratio: '#8e44ad', newSources: '#0b8a8a' };
  var ACTION_COLOR = { block: '#c92a2a', renew: '#e67700', unblock: '#2b8a3e', skip: '#868e96', deferred: '#f08c00', alert: '#5f3dc4' };
  var xs = [], mid = [];
  if (TL) {
    var t0s = usOf(TL.start), w = TL.binSeconds;
    for (var b = 0; b < TL.bins; b++) xs.push(t0s + b * w);
    xs.push(t0s + TL.bins * w); // the end of the last bin: steps are drawn from bin starts
  }
  function rates(name) {
    var c = TL.series[name].count, out = [];
    for (var b = 0; b < c.length; b++) out.push(c[b] / TL.binSeconds);
    return withEnd(out);
  }
  // The point at the end of the last bin repeats its value: a step is drawn up to the next point,
  // so without it the last bin (a one-bin capture's only one) would not be drawn.
  function withEnd(a) { var o = a.slice(); o.push(a.length ? a[a.length - 1] : null); return o; }
  var spans = alerts.map(function (a) { return { s: usOf(a.start), e: usOf(a.end), kind: a.kind }; });
  function shadeAlerts(u) {
    var ctx = u.ctx;
    ctx.save();
    spans.forEach(function (sp) {
      var x0 = u.valToPos(sp.s, 'x', true), x1 = u.valToPos(sp.e, 'x', true);
      if (x1 - x0 < 2) { x0 -= 1; x1 += 1; }
      ctx.fillStyle = sp.kind === 'backscatter' ? 'rgba(59,111,212,0.10)' : 'rgba(214,69,69,0.10)';
      ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
    });
    ctx.restore();
  }
  function tzDate(ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); }
  function width(box) { return Math.max(320, box.clientWidth - 8); }
  var xMin = xs.length ? xs[0] : 0, xMax = xs.length ? xs[xs.length - 1] : 1;
  function xRange() { return [xMin, xMax]; }
  function axisFmt(u, vals) { return vals.map(function (v) { return v === null ? '' : fmtNum(v); }); }
  function timeAxis() {
    return { stroke: '#495057', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#dee2e6' },
      values: [[3600 * 24, '{YYYY}-{MM}-{DD}', null, null, null, null, null, null, 1],
        [3600, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
        [60, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
        [1, '{HH}:{mm}:{ss}', '\n{YYYY}-{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
        [0.001, '{HH}:{mm}:{ss}.{fff}', '\n{YYYY}-{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1]] };
  }
  function legendTime(u, v) { return v === null ? '' : fmtTime(v) + ' UTC'; }

  if (TL) {
    var mainBox = section('Handshakes over time',
      'Rates per second, bins of ' + fmtDur(TL.binSeconds) + (TL.binSeconds > TL.rateSeconds ? ' (the band: quietest to busiest second of each bin)' : '') +
      '. Shaded: alert spans. Markers above the plot: decisions (block, renew, unblock, skip, deferred, alert); ticks below: flags. UTC, packet time.');
    var mainEl = el('div', 'chart main-chart');
    mainBox.appendChild(mainEl);
    var bandMax = withEnd(TL.series.syn.max), bandMin = withEnd(TL.series.syn.min);
    var banded = TL.binSeconds > TL.rateSeconds;
    // SYN drawn last, on top: a server that answers every SYN draws its SYN-ACK line on the same values.
    var mainData = [xs, rates('synAck'), rates('rst'), rates('completed'), rates('syn')];
    var num = function (u, v) { return fmtNum(v); };
    var mainSeries = [{ value: legendTime },
      { label: 'SYN-ACK/s', stroke: COLORS.synAck, width: 1.25, dash: [4, 3], paths: uPlot.paths.stepped({ align: 1 }), value: num },
      { label: 'RST/s', stroke: COLORS.rst, width: 1.25, paths: uPlot.paths.stepped({ align: 1 }), value: num },
      { label: 'completed/s', stroke: COLORS.completed, width: 2, paths: uPlot.paths.stepped({ align: 1 }), value: num },
      { label: 'SYN/s', stroke: COLORS.syn, width: 2, fill: 'rgba(214,69,69,0.06)', paths: uPlot.paths.stepped({ align: 1 }), value: num }];
    var bands;
    if (banded) {
      mainData.push(bandMax, bandMin);
      mainSeries.push({ label: 'SYN/s max', stroke: 'rgba(214,69,69,0.35)', width: 1, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return fmtNum(v); } },
        { label: 'SYN/s min', stroke: 'rgba(214,69,69,0.35)', width: 1, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return fmtNum(v); } });
      bands = [{ series: [5, 6], fill: 'rgba(214,69,69,0.12)' }];
    }
    var markerLayer, markerEls = [], placeMarkers = null;
    var mainChart = new uPlot({
      width: width(mainBox), height: 340, tzDate: tzDate, bands: bands,
      scales: { x: { time: true, range: xRange }, y: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.08 : 1]; } } },
      axes: [timeAxis(), { stroke: '#495057', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#dee2e6' }, size: 64, values: axisFmt }],
      series: mainSeries, cursor: { drag: { x: true, y: false } },
      hooks: { drawClear: [shadeAlerts], draw: [function (u) { if (placeMarkers) placeMarkers(u); }] },
    }, mainData, mainEl);
    charts.push(mainChart);

    // Decision markers and flag ticks: DOM elements over the plot, so they can be counted, hovered and read.
    markerLayer = el('div', 'markers');
    mainChart.over.appendChild(markerLayer);
    decisions.forEach(function (d, i) {
      var m = el('div', 'marker');
      m.setAttribute('data-action', d.action);
      m.setAttribute('data-index', String(i));
      m.style.borderTopColor = ACTION_COLOR[d.action] || '#495057';
      var at = usOf(d.at);
      m.title = d.action + ' ' + d.ip + ' (' + d.reason + ') at ' + fmtTime(at, true) + ' UTC' + (at > xMax ? ', after the capture ended' : '') + (d.detail ? ': ' + d.detail : '');
      if (at > xMax) m.classList.add('after-end');
      markerEls.push({ el: m, t: Math.min(at, xMax) });
      markerLayer.appendChild(m);
      markers++;
    });
    flagged.forEach(function (s) {
      var f = el('div', 'flag');
      f.title = 'flagged ' + s.ip + ' (' + s.reason + ') at ' + fmtTime(usOf(s.flaggedAt), true) + ' UTC';
      markerEls.push({ el: f, t: usOf(s.flaggedAt) });
      markerLayer.appendChild(f);
    });
    // Reads no layout (the plot's width from uPlot, in CSS pixels): a read between the writes
    // would lay out the whole page once per marker, and even one read lays out every table.
    placeMarkers = function (u) {
      var w = u.bbox.width / uPlot.pxRatio;
      for (var k = 0; k < markerEls.length; k++) {
        var x = u.valToPos(markerEls[k].t, 'x');
        markerEls[k].el.style.left = x + 'px';
        markerEls[k].el.style.display = x < -1 || x > w + 1 ? 'none' : '';
      }
    };
    placeMarkers(mainChart);

    var ratio = [], completedC = TL.series.completed.count, attemptsC = TL.series.attempts.count;
    for (var r = 0; r < TL.bins; r++) ratio.push(attemptsC[r] > 0 ? Math.max(0, attemptsC[r] - completedC[r]) / attemptsC[r] * 100 : null);
    ratio = withEnd(ratio);
    var ratioBox = section('Incomplete ratio and new sources',
      'Incomplete: the share of each bin\'s new attempts not matched by a completion in the same bin. New sources: addresses seen for the first time, per second. A spoofed flood is a wall of new sources.');
    var ratioChart = new uPlot({
      width: width(ratioBox), height: 220, tzDate: tzDate,
      scales: { x: { time: true, range: xRange }, pct: { range: [0, 100] }, src: { range: function (u, lo, hi) { return [0, hi > 0 ? hi * 1.08 : 1]; } } },
      axes: [timeAxis(),
        { scale: 'pct', stroke: COLORS.ratio, grid: { stroke: '#eef0f3' }, size: 56, values: function (u, v) { return v.map(function (x) { return x + ' %'; }); } },
        { scale: 'src', side: 1, stroke: COLORS.newSources, grid: { show: false }, size: 64, values: axisFmt }],
      series: [{ value: legendTime },
        { label: 'incomplete', scale: 'pct', stroke: COLORS.ratio, width: 2, spanGaps: false, paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return v === null ? '–' : v.toFixed(1) + ' %'; } },
        { label: 'new sources/s', scale: 'src', stroke: COLORS.newSources, width: 1.5, fill: 'rgba(11,138,138,0.08)', paths: uPlot.paths.stepped({ align: 1 }), value: function (u, v) { return fmtNum(v); } }],
      hooks: { drawClear: [shadeAlerts] },
    }, [xs, ratio, rates('newSources')], ratioBox.appendChild(el('div', 'chart')));
    charts.push(ratioChart);
  }

  // ---- sortable tables ------------------------------------------------------------------------
  function table(box, columns, rows, opts) {
    var wrap = el('div', 'table-wrap' + (opts && opts.scroll ? ' scroll' : ''));
    var t = el('table', 'data' + (opts && opts.cls ? ' ' + opts.cls : ''));
    var thead = el('thead'), tr = el('tr'), tbody = el('tbody');
    add(box, add(wrap, add(t, add(thead, tr), tbody)));
    var state = { col: -1, dir: 1 };
    columns.forEach(function (c, ci) {
      var th = el('th', c.num ? 'num' : null, c.label);
      tr.appendChild(th);
      if (c.sort !== false) {
        th.classList.add('sortable');
        th.setAttribute('data-col', c.key || String(ci));
        th.tabIndex = 0;
        th.addEventListener('click', function () { sortBy(ci); });
        th.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') sortBy(ci); });
      }
      if (c.title) th.title = c.title;
    });
    function rowEl(row) {
      var r = el('tr');
      if (row.__cls) r.className = row.__cls;
      columns.forEach(function (c) {
        var td = el('td', c.num ? 'num' : null);
        r.appendChild(td);
        if (c.render) c.render(td, row); else td.textContent = c.text ? c.text(row) : fmtNum(row[c.key]);
      });
      return { el: r, row: row };
    }
    // A long table shows its first `limit` rows until asked (or sorted): thousands of rows are
    // most of the page's layout time (bench/html.ts), and the charts come first.
    var limit = opts && opts.limit && rows.length > opts.limit ? opts.limit : rows.length;
    var trs = rows.slice(0, limit).map(rowEl);
    var more = null;
    function showAll() {
      if (trs.length === rows.length) return;
      rows.slice(trs.length).forEach(function (row) { var x = rowEl(row); trs.push(x); tbody.appendChild(x.el); });
      if (more) { more.remove(); more = null; }
    }
    if (limit < rows.length) {
      more = el('button', 'more', 'show all ' + rows.length.toLocaleString('en-US') + ' rows (' + (rows.length - limit).toLocaleString('en-US') + ' more)');
      more.type = 'button';
      more.addEventListener('click', showAll);
      box.appendChild(more);
    }
    function sortBy(ci) {
      showAll();
      var c = columns[ci];
      state.dir = state.col === ci ? -state.dir : (c.num ? -1 : 1);
      state.col = ci;
      var key = c.sortKey || function (row) { return row[c.key]; };
      trs.sort(function (a, b) {
        var x = key(a.row), y = key(b.row);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * state.dir;
      });
      trs.forEach(function (x) { tbody.appendChild(x.el); });
      Array.prototype.forEach.call(tr.children, function (th, i) {
        th.classList.toggle('asc', i === ci && state.dir > 0);
        th.classList.toggle('desc', i === ci && state.dir < 0);
      });
    }
    trs.forEach(function (x) { tbody.appendChild(x.el); });
    return t;
  }
  function ipKey(ip) { // numeric order: IPv4 before IPv6
    if (ip.indexOf(':') < 0) return '4' + ip.split('.').map(function (o) { return pad(o, 3); }).join('.');
    return '6' + ip;
  }

  // Sources, each with a lane: seen (first SYN to last), flag, blocked spans.
  var blockSpans = {};
  var openBlock = {};
  decisions.forEach(function (d) {
    var at = usOf(d.at);
    if (d.action === 'block') openBlock[d.ip] = at;
    if (d.action === 'unblock' && openBlock[d.ip] !== undefined) {
      (blockSpans[d.ip] = blockSpans[d.ip] || []).push([openBlock[d.ip], at]);
      delete openBlock[d.ip];
    }
  });
  Object.keys(openBlock).forEach(function (ip) { (blockSpans[ip] = blockSpans[ip] || []).push([openBlock[ip], null]); });
  var laneMin = xMin, laneMax = xMax;
  function lanePos(t) { return Math.max(0, Math.min(100, (t - laneMin) / (laneMax - laneMin || 1) * 100)); }
  var srcBox = section('Sources', 'Flagged sources first, then the top sources by incomplete attempts. Click a column to sort. ' +
    'Lane: grey from first to last SYN seen, red while blocked, a black tick at the flag, over the capture\'s span.', 'below-fold');
  var srcRows = R.sources.map(function (s, i) {
    var o = Object.assign({}, s);
    o.lastSeen = TL && TL.lastSeen ? TL.lastSeen[i] : null;
    o.__cls = s.flagged ? 'flagged' : '';
    return o;
  });
  table(srcBox, [
    { label: 'source', key: 'ip', sortKey: function (r) { return ipKey(r.ip); }, render: function (td, r) { add(td, el('code', null, r.ip)); } },
    { label: 'flag', key: 'reason', text: function (r) { return r.reason || '–'; }, render: function (td, r) { add(td, r.reason ? el('span', 'badge ' + r.reason, r.reason) : el('span', 'muted', '–')); } },
    { label: 'flagged at', key: 'flaggedAt', text: function (r) { return r.flaggedAt ? fmtTime(usOf(r.flaggedAt)) : '–'; } },
    { label: 'SYN', key: 'syn', num: true },
    { label: 'attempts', key: 'attempts', num: true },
    { label: 'completed', key: 'completed', num: true },
    { label: 'incomplete', key: 'incomplete', num: true },
    { label: 'half-open', key: 'halfOpen', num: true, title: 'half-open attempts at the end of the capture' },
    { label: 'ports', key: 'distinctPorts', num: true, title: 'distinct destination ports' },
    { label: 'activity over the capture', sort: false, render: function (td, r) {
      var lane = el('div', 'lane');
      td.appendChild(lane);
      var a = usOf(r.firstSeen), z = r.lastSeen ? usOf(r.lastSeen) : laneMax;
      var seen = el('div', 'seen');
      lane.appendChild(seen);
      seen.style.left = lanePos(a) + '%';
      seen.style.width = Math.max(0.4, lanePos(z) - lanePos(a)) + '%';
      (blockSpans[r.ip] || []).forEach(function (sp) {
        var bl = el('div', 'blocked');
        lane.appendChild(bl);
        bl.style.left = lanePos(sp[0]) + '%';
        bl.style.width = Math.max(0.4, lanePos(sp[1] === null ? laneMax : sp[1]) - lanePos(sp[0])) + '%';
        bl.title = 'blocked ' + fmtTime(sp[0]) + (sp[1] === null ? '' : ' – ' + fmtTime(sp[1])) + ' UTC';
      });
      if (r.flaggedAt) { var ft = el('div', 'tick'); lane.appendChild(ft); ft.style.left = lanePos(usOf(r.flaggedAt)) + '%'; }
      lane.title = r.ip + ': first SYN ' + fmtTime(a) + ', last ' + (r.lastSeen ? fmtTime(z) : 'unknown (left the table)') + ' UTC';
    } },
  ], srcRows, { cls: 'sources', scroll: srcRows.length > 15 });
  if (!srcRows.length) add(srcBox, el('p', 'muted', 'No source sent a SYN.'));

  var tgtBox = section('Targets', 'Attacked destinations by attempts.', 'below-fold');
  table(tgtBox, [
    { label: 'target', key: 'ip', sortKey: function (r) { return ipKey(r.ip) + ':' + pad(r.port, 5); }, render: function (td, r) { add(td, el('code', null, r.ip + ':' + r.port)); } },
    { label: 'attempts', key: 'attempts', num: true },
    { label: 'completed', key: 'completed', num: true },
    { label: 'incomplete', key: 'incomplete', num: true },
    { label: 'incomplete %', key: 'ratio', num: true, sortKey: function (r) { return r.attempts ? r.incomplete / r.attempts : 0; }, text: function (r) { return r.attempts ? pct(r.incomplete / r.attempts) : '–'; } },
    { label: 'first seen', key: 'firstSeen', text: function (r) { return fmtTime(usOf(r.firstSeen)); } },
    { label: 'last seen', key: 'lastSeen', text: function (r) { return fmtTime(usOf(r.lastSeen)); } },
  ], R.targets, {});
  if (!R.targets.length) add(tgtBox, el('p', 'muted', 'No handshake attempt.'));

  if (alerts.length) {
    var alBox = section('Alerts');
    alerts.forEach(function (a) {
      var s = usOf(a.start), e = usOf(a.end);
      var card = el('div', 'alert ' + a.kind);
      alBox.appendChild(card);
      add(card, add(el('div', 'alert-head'), el('span', 'badge ' + a.kind, a.kind),
        el('span', null, fmtTime(s, true) + ' – ' + fmtTime(e) + ' UTC (' + fmtDur(e - s) + ')')));
      add(card, el('p', null, fmtNum(a.count) + ' attempts, ' + fmtNum(a.completed) + ' completed, peak ' + fmtNum(a.peakRate) + '/s' +
        (a.share !== undefined && a.share < 1 ? ', ' + pct(a.share) + ' of the flood' : '') +
        (a.targets && a.targets.length ? ' · targets ' + a.targets.map(function (t) { return t.ip + ':' + t.port; }).join(', ') : '')));
      add(card, el('p', 'advice', a.advice));
    });
  }

  var decBox = section('Decisions', decisions.length ? decisions.length + ' decisions of the enforcer under the policy in force, in packet time.' :
    'The enforcer made no decision under the policy in force.', 'below-fold');
  if (decisions.length) {
    table(decBox, [
      { label: 'time (UTC)', key: 'at', text: function (r) { return fmtTime(usOf(r.at), true); } },
      { label: '+s', key: 'at', num: true, sortKey: function (r) { return usOf(r.at); }, text: function (r) { return first === null ? '' : (usOf(r.at) - first).toFixed(3); } },
      { label: 'action', key: 'action', render: function (td, r) { add(td, el('span', 'badge act-' + r.action, r.action)); } },
      { label: 'address', key: 'ip', sortKey: function (r) { return ipKey(r.ip); }, render: function (td, r) { add(td, el('code', null, r.ip)); } },
      { label: 'reason', key: 'reason', text: function (r) { return r.reason; } },
      { label: 'expires', key: 'expires', text: function (r) { return r.expires ? fmtTime(usOf(r.expires)) : ''; } },
      { label: 'detail', key: 'detail', text: function (r) { return r.detail || ''; } },
    ], decisions, { scroll: true, cls: 'decisions', limit: 200 });
  }

  // ---- capture quality ------------------------------------------------------------------------
  var qBox = section('Capture quality');
  var q = el('dl', 'facts');
  function fact(k, v) { add(q, el('dt', null, k), el('dd', null, v)); }
  fact('format', R.capture.format + (R.capture.compressed ? ', gzip' : '') + ', ' + R.capture.byteOrder + '-endian headers');
  fact('link types', R.capture.linkTypes.join(', ') || '–');
  fact('records', fmtNum(R.capture.records) + ' (' + fmtNum(R.capture.bytes) + ' bytes)');
  fact('TCP segments', fmtNum(totals.tcpSegments) + ' of ' + fmtNum(totals.packets) + ' packets; ' + fmtNum(totals.nonIp) + ' not IP, ' + fmtNum(totals.nonTcp) + ' not TCP, ' + fmtNum(totals.fragments) + ' fragments, ' + fmtNum(totals.tcpInIcmp) + ' quoted in ICMP');
  fact('warnings', R.capture.warnings.length ? String(R.capture.warnings.length) : 'none: the file was read to its end');
  var anomalyNames = Object.keys(totals.anomalies || {});
  fact('decoder anomalies', anomalyNames.length ? anomalyNames.map(function (k) { return k + ' ' + fmtNum(totals.anomalies[k]); }).join(', ') : 'none');
  var unknown = Object.keys(totals.unknownLinkTypes || {});
  fact('unknown link types', unknown.length ? unknown.map(function (k) { return k + ': ' + fmtNum(totals.unknownLinkTypes[k]); }).join(', ') : 'none');
  var ev = Object.keys(R.tables).map(function (k) { return k + ' ' + fmtNum(R.tables[k].evictions); });
  var anyEv = Object.keys(R.tables).some(function (k) { return R.tables[k].evictions > 0; });
  fact('table evictions', anyEv ? ev.join(', ') + ' (state dropped: counts of evicted entries are incomplete)' : 'none (every source, attempt and target was kept)');
  fact('capture drops', 'not recorded by the file format; live capture counts kernel drops');
  add(qBox, q);
  if (R.capture.warnings.length) {
    table(qBox, [
      { label: 'offset', key: 'offset', num: true },
      { label: 'code', key: 'code', text: function (r) { return r.code; } },
      { label: 'message', key: 'message', text: function (r) { return r.message; } },
    ], R.capture.warnings, { cls: 'warnings' });
  }

  add(app, el('footer', null, 'synwatch analyze · report version ' + R.version + ' · every time is packet time, UTC · charts: uPlot'));

  var resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      charts.forEach(function (c) { c.setSize({ width: width(c.root.parentNode), height: c.height }); });
    }, 100);
  });
  window.synwatchReport = { renderMs: performance.now() - t0, startedAt: t0, markers: markers, charts: charts.length };
})();
