// wisp console: live figures of the functions `wisp local start-api` / `start-lambda` run.
// Plain JavaScript; charts by uPlot (embedded). Figures arrive over server-sent events
// (api/events): a `state` when connected, then `changes` while something changes. Every
// figure cell carries its raw value in data-value (what the tests read).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const SHOWN_INVOCATIONS = 60; // a `changes` event carries at most the 60 newest
  const MIB = 1024 * 1024;
  const model = {
    functions: new Map(),
    invocations: [], // newest last, by seq
    totals: null,
    prices: null,
    selected: null,
    charts: {},
    renderQueued: false,
  };

  // ------------------------------------------------------------------ formatting

  const int = (n) => Math.round(n).toLocaleString('en-US');
  const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const money = (d) => {
    if (d === 0) return '$0';
    if (Math.abs(d) >= 0.01) return '$' + d.toFixed(2);
    const digits = 2 - Math.floor(Math.log10(Math.abs(d)));
    return '$' + d.toFixed(digits);
  };
  const gbs = (v) => v.toFixed(4);
  const time = (epochMs) => new Date(epochMs).toISOString().slice(11, 23);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v;
      else if (k.startsWith('data-')) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children)
      if (child !== null && child !== undefined)
        node.append(child instanceof Node ? child : String(child));
    return node;
  };
  // A figure cell: the text people read, the raw value tests read.
  const figure = (name, value, text, cls = 'num') =>
    el('td', { class: cls, 'data-figure': name, 'data-value': String(value) }, text);

  // ------------------------------------------------------------------ theme

  const root = document.documentElement;
  const savedTheme = localStorage.getItem('wisp-theme');
  if (savedTheme) root.dataset.theme = savedTheme;
  $('theme').addEventListener('click', () => {
    const dark = root.dataset.theme
      ? root.dataset.theme === 'dark'
      : matchMedia('(prefers-color-scheme: dark)').matches;
    root.dataset.theme = dark ? 'light' : 'dark';
    localStorage.setItem('wisp-theme', root.dataset.theme);
    for (const chart of Object.values(model.charts)) chart.redraw(false);
  });
  const css = (name) => getComputedStyle(root).getPropertyValue(name).trim();

  // ------------------------------------------------------------------ live updates

  function connect() {
    const link = $('link');
    const source = new EventSource('api/events');
    source.addEventListener('open', () => {
      link.dataset.state = 'live';
      link.textContent = 'live';
    });
    source.addEventListener('error', () => {
      // EventSource reconnects by itself; the next `state` replaces everything.
      link.dataset.state = 'lost';
      link.textContent = 'reconnecting…';
    });
    source.addEventListener('state', (e) => applyState(JSON.parse(e.data)));
    source.addEventListener('changes', (e) => applyChanges(JSON.parse(e.data)));
    source.addEventListener('durable', () => durableChanged());
    source.addEventListener('state', () => durableChanged());
  }

  function applyState(s) {
    model.functions = new Map(s.functions.map((f) => [f.id, f]));
    model.invocations = s.invocations.sort((a, b) => a.seq - b.seq).slice(-SHOWN_INVOCATIONS);
    model.totals = s.totals;
    model.prices = s.prices;
    $('app').textContent = s.app || '';
    const p = s.prices;
    $('prices-note').textContent =
      `Prices: ${p.origin} (checked ${p.asOf}), ${s.region}, ${p.currency}. ` +
      `Billed Duration includes a billed INIT on cold starts since ${p.initBillingSince}.`;
    if (!model.selected && s.functions.length) model.selected = s.functions[0].id;
    queueRender();
  }

  // A `changes` event's concurrency timeline starts where the last one it was in ended:
  // merged by second into what the page has, as long as the state's.
  function mergeTimeline(old, recent) {
    if (!old || !old.seconds.length || !recent) return recent;
    const from = recent.seconds.length ? recent.seconds[0] : Infinity;
    const keep = old.seconds.findIndex((s) => s >= from);
    const cut = keep < 0 ? old.seconds.length : keep;
    const merged = {
      seconds: old.seconds.slice(0, cut).concat(recent.seconds),
      max: old.max.slice(0, cut).concat(recent.max),
      throttles: old.throttles.slice(0, cut).concat(recent.throttles),
    };
    const extra = merged.seconds.length - Math.max(old.seconds.length, recent.seconds.length);
    if (extra > 0)
      for (const key of ['seconds', 'max', 'throttles']) merged[key].splice(0, extra);
    return merged;
  }

  function applyChanges(c) {
    for (const f of c.functions) {
      const old = model.functions.get(f.id);
      f.concurrency = mergeTimeline(old && old.concurrency, f.concurrency);
      model.functions.set(f.id, f);
    }
    const known = new Set(model.invocations.map((i) => i.seq));
    for (const i of c.invocations) if (!known.has(i.seq)) model.invocations.push(i);
    model.invocations.sort((a, b) => a.seq - b.seq);
    if (model.invocations.length > SHOWN_INVOCATIONS)
      model.invocations.splice(0, model.invocations.length - SHOWN_INVOCATIONS);
    model.totals = c.totals;
    queueRender();
  }

  function queueRender() {
    if (model.renderQueued) return;
    model.renderQueued = true;
    requestAnimationFrame(() => {
      model.renderQueued = false;
      render();
    });
  }

  // ------------------------------------------------------------------ rendering

  function render() {
    renderTotals();
    renderFunctions();
    renderDetail();
    renderInvocations();
    document.body.dataset.seq = String(
      model.invocations.length ? model.invocations[model.invocations.length - 1].seq : 0);
  }

  function setCard(id, value, text) {
    const node = $(id);
    node.dataset.value = String(value);
    node.textContent = text;
  }

  function renderTotals() {
    let invocations = 0, errors = 0, cold = 0, billed = 0;
    for (const f of model.functions.values()) {
      invocations += f.invocations;
      errors += f.errors;
      cold += f.coldStarts;
      billed += f.gbSeconds;
    }
    setCard('t-invocations', invocations, int(invocations));
    setCard('t-errors', errors, int(errors));
    setCard('t-cold', cold, int(cold));
    setCard('t-gbs', billed, gbs(billed));
    const t = model.totals;
    if (t) {
      setCard('t-cost', t.cost.total, money(t.cost.total));
      setCard('t-month', t.monthlyCost.total, money(t.monthlyCost.total));
    }
  }

  function renderFunctions() {
    const body = $('functions').tBodies[0];
    const rows = [];
    for (const f of model.functions.values()) {
      const used = f.memorySizeMB ? Math.min(100, (100 * f.maxMemoryUsedMB) / f.memorySizeMB) : 0;
      const meter = el('span', { class: 'meter' }, el('span', { style: `width:${used}%` }));
      meter.firstChild.style.width = used + '%';
      const share = f.invocations ? (100 * f.coldStarts) / f.invocations : 0;
      const reserved = f.reservedConcurrency === null ? '' : ` / ${f.reservedConcurrency}`;
      const traps = (f.traps || []).length;
      const row = el('tr', { 'data-function': f.id },
        el('td', {}, f.id),
        figure('invocations', f.invocations, int(f.invocations)),
        figure('errors', f.errors, int(f.errors), f.errors ? 'num bad' : 'num'),
        figure('throttles', f.throttles, int(f.throttles), f.throttles ? 'num bad' : 'num'),
        figure('coldStarts', f.coldStarts, `${int(f.coldStarts)} (${share.toFixed(0)}%)`),
        figure('p50', f.duration.p50, f.invocations ? ms(f.duration.p50) : '–'),
        figure('p95', f.duration.p95, f.invocations ? ms(f.duration.p95) : '–'),
        figure('p99', f.duration.p99, f.invocations ? ms(f.duration.p99) : '–'),
        figure('initP50', f.init.p50, f.coldStarts ? ms(f.init.p50) : '–'),
        figure('maxMemoryUsed', f.maxMemoryUsedMB, '', ''),
        figure('maxTmpUsed', f.maxTmpUsedBytes === null ? 0 : f.maxTmpUsedBytes / MIB, '', ''),
        figure('concurrency', f.inFlight, `${f.inFlight} now, ${f.peakConcurrency} peak${reserved}`),
        figure('gbSeconds', f.gbSeconds, gbs(f.gbSeconds)),
        figure('cost', f.cost ? f.cost.total : 0, money(f.cost ? f.cost.total : 0)),
        figure('monthlyCost', f.monthlyCost ? f.monthlyCost.total : 0,
          money(f.monthlyCost ? f.monthlyCost.total : 0)),
        el('td', {}, traps ? el('span', { class: 'tag bad', title: 'cost traps' }, `${traps} trap${traps > 1 ? 's' : ''}`) : ''),
      );
      const memoryCell = row.children[9];
      memoryCell.append(meter, `${f.maxMemoryUsedMB} / ${f.memorySizeMB} MB`);
      // /tmp: measured after each invocation in the worker's private /tmp (null: not measured)
      const tmpCell = row.children[10];
      if (f.maxTmpUsedBytes === null) {
        tmpCell.append(`– / ${f.ephemeralStorageMB} MB`);
        tmpCell.title = 'not measured: no invocation yet, or the function runs with host paths';
      } else {
        const tmpMB = f.maxTmpUsedBytes / MIB;
        const tmpShare = f.ephemeralStorageMB ? (100 * tmpMB) / f.ephemeralStorageMB : 0;
        tmpCell.append(`${tmpMB.toFixed(1)} / ${f.ephemeralStorageMB} MB`);
        tmpCell.title = `${tmpShare.toFixed(0)}% of EphemeralStorage, the most after an invocation`;
        if (tmpShare >= 80) tmpCell.classList.add('near');
      }
      if (f.id === model.selected) row.classList.add('selected');
      row.addEventListener('click', () => {
        model.selected = f.id;
        queueRender();
      });
      rows.push(row);
    }
    body.replaceChildren(...rows);
  }

  function renderInvocations() {
    const body = $('invocations').tBodies[0];
    const rows = [];
    const shown = model.invocations.slice(-SHOWN_INVOCATIONS).reverse();
    for (const i of shown) {
      const outcome = i.outcome === 'success'
        ? el('span', { class: 'ok' }, 'success')
        : el('span', { class: 'bad' }, i.errorType ? `${i.outcome} (${i.errorType})` : i.outcome);
      const row = el('tr', { 'data-request': i.requestId, 'data-function': i.function },
        el('td', {}, time(i.end)),
        el('td', {}, i.function),
        el('td', { class: 'mono' }, i.requestId),
        el('td', { 'data-figure': 'outcome', 'data-value': i.outcome }, outcome),
        el('td', {}, i.cold ? el('span', { class: 'tag cold' }, 'cold') : ''),
        figure('duration', i.durationMs, ms(i.durationMs)),
        figure('billed', i.billedDurationMs, int(i.billedDurationMs)),
        figure('init', i.cold ? i.initDurationMs : 0, i.cold ? ms(i.initDurationMs) : ''),
        figure('maxMemoryUsed', i.maxMemoryUsedMB, `${i.maxMemoryUsedMB} MB`),
      );
      row.addEventListener('click', () => showLogs(i));
      rows.push(row);
    }
    body.replaceChildren(...rows);
  }

  function renderDetail() {
    const f = model.functions.get(model.selected);
    $('detail').hidden = !f;
    if (!f) return;
    $('d-title').textContent = f.id;
    const reservedText = f.reservedConcurrency === null ? 'no ReservedConcurrentExecutions'
      : `ReservedConcurrentExecutions ${f.reservedConcurrency}`;
    $('d-config').textContent = `${f.runtime} · ${f.handler} · ${f.memorySizeMB} MB · ` +
      `${f.architecture} · Timeout ${f.timeout} s · /tmp ${f.ephemeralStorageMB} MB · ${reservedText}`;
    $('d-reserved').textContent = f.reservedConcurrency === null ? '' : `(reserved: ${f.reservedConcurrency})`;
    $('d-p50').textContent = f.invocations ? ms(f.duration.p50) : '–';
    $('d-p95').textContent = f.invocations ? ms(f.duration.p95) : '–';
    $('d-p99').textContent = f.invocations ? ms(f.duration.p99) : '–';
    $('d-cold').textContent = `${int(f.coldStarts)} of ${int(f.invocations)}` +
      (f.coldStarts ? `, p50 ${ms(f.init.p50)} ms, max ${ms(f.init.max)} ms` : '');
    const traps = $('d-traps');
    traps.replaceChildren();
    if ((f.traps || []).length) {
      const list = el('ul', { class: 'traps' });
      for (const t of f.traps) list.append(el('li', { 'data-kind': t.kind }, el('b', {}, t.kind), ': ', t.message));
      traps.append(list);
    }
    const env = $('d-env').tBodies[0];
    env.replaceChildren(...(f.environment.length
      ? f.environment.map((v) => el('tr', {}, el('td', {}, v.name), el('td', { class: 'muted' }, v.value)))
      : [el('tr', {}, el('td', { class: 'muted' }, 'no Environment.Variables'))]));
    if (f.advice) {
      const a = f.advice;
      $('d-advice').textContent = `${a.currentMB} MB now; cheapest at ${a.cheapestMB} MB, ` +
        `fastest at ${a.fastestMB} MB.`;
      $('d-basis').textContent = a.basis;
    } else {
      $('d-advice').textContent = 'after the first invocation';
      $('d-basis').textContent = '';
    }
    drawCharts(f);
  }

  // ------------------------------------------------------------------ charts

  function chart(key, container, opts, data) {
    if (typeof uPlot === 'undefined') return;
    const width = Math.max(300, container.clientWidth - 4);
    const existing = model.charts[key];
    if (existing && existing.wispFunction === model.selected && existing.series.length === opts.series.length) {
      existing.setData(data);
      return;
    }
    if (existing) existing.destroy();
    container.replaceChildren();
    const made = new uPlot({ width, height: 200, ...opts }, data, container);
    made.wispFunction = model.selected;
    model.charts[key] = made;
  }

  const axis = (label) => ({ stroke: css('--muted'), grid: { stroke: css('--line') }, ticks: { stroke: css('--line') }, label });

  function histogram(key, container, bins, label) {
    const x = bins.map((b) => b[0]);
    const y = bins.map((b) => b[2]);
    if (!x.length) {
      x.push(0);
      y.push(0);
    }
    chart(key, container, {
      scales: { x: { time: false } },
      axes: [axis(label), axis('invocations')],
      series: [{ label, value: (u, v) => (v === null ? '' : ms(v)) },
        { label: 'count', stroke: css('--accent'), fill: css('--bar'),
          paths: uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.9, 40] }) : undefined }],
      legend: { show: false },
    }, [x, y]);
  }

  function drawCharts(f) {
    if (typeof uPlot === 'undefined') return;
    histogram('duration', $('c-duration'), f.durationBins || [], 'ms');
    histogram('init', $('c-init'), f.initBins || [], 'ms');
    const c = f.concurrency || { seconds: [], max: [], throttles: [] };
    const series = [{ label: 'time' },
      { label: 'in flight', stroke: css('--accent'), fill: css('--bar'), stepped: 1, paths: uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined },
      { label: 'throttled', stroke: css('--bad'), points: { show: true }, paths: () => null }];
    const data = [c.seconds, c.max, c.throttles.map((t) => (t ? t : null))];
    if (f.reservedConcurrency !== null) {
      series.push({ label: 'reserved', stroke: css('--warn'), dash: [6, 4] });
      data.push(c.seconds.map(() => f.reservedConcurrency));
    }
    chart('concurrency', $('c-concurrency'), {
      axes: [axis(), axis('concurrent')],
      scales: { y: { range: (u, min, max) => [0, Math.max(2, max + 1)] } },
      series,
    }, data);
    const a = f.advice;
    if (a) {
      const fits = a.sizes.filter((s) => s.fits);
      chart('advice', $('c-advice'), {
        scales: { x: { time: false, distr: 3 }, cost: {}, ms: {} },
        axes: [axis('MemorySize (MB)'), { ...axis('$ per 1M invocations'), scale: 'cost' },
          { ...axis('ms'), scale: 'ms', side: 1, grid: { show: false } }],
        series: [{ label: 'MB' },
          { label: '$ per 1M', scale: 'cost', stroke: css('--accent'), value: (u, v) => (v === null ? '' : money(v)) },
          { label: 'duration ms', scale: 'ms', stroke: css('--warn'), value: (u, v) => (v === null ? '' : ms(v)) }],
      }, [fits.map((s) => s.memoryMB), fits.map((s) => s.costPerInvocation * 1e6), fits.map((s) => s.durationMs)]);
    }
  }

  window.addEventListener('resize', () => {
    for (const [key, c] of Object.entries(model.charts)) {
      const container = $('c-' + key);
      if (container) c.setSize({ width: Math.max(300, container.clientWidth - 4), height: 200 });
    }
  });

  // ------------------------------------------------------------------ actions

  async function showLogs(i) {
    const dialog = $('logs');
    $('logs-title').textContent = `${i.function} · ${i.requestId}`;
    $('logs-body').textContent = 'loading…';
    dialog.showModal();
    const query = new URLSearchParams({ function: i.function, request: i.requestId });
    try {
      const answer = await (await fetch('api/logs?' + query)).json();
      $('logs-body').textContent = answer.lines.length
        ? answer.lines.map((l) => l.message.replaceAll('\r', '\n')).join('\n')
        : 'no longer in the console\'s memory: wisp logs --local --filter ' + JSON.stringify('"' + i.requestId + '"');
    } catch (e) {
      $('logs-body').textContent = String(e);
    }
  }

  $('project').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = model.selected;
    if (!f) return;
    const perSecond = Number($('p-rate').value) / Number($('p-unit').value);
    const query = new URLSearchParams({ function: f, rate: String(perSecond) });
    const answer = await (await fetch('api/projection?' + query)).json();
    const out = $('p-result');
    if (answer.error) {
      out.textContent = answer.error;
      return;
    }
    out.dataset.value = String(answer.monthlyCost.total);
    out.textContent = `${int(answer.monthlyRequests)} requests and ${int(answer.monthlyGbSeconds)} GB-s a month: ` +
      `${money(answer.monthlyCost.total)} after the free tier (${money(answer.monthlyCostWithoutFreeTier.total)} without it).`;
  });

  $('coldstart').addEventListener('click', async () => {
    const f = model.selected;
    const out = $('cs-result');
    out.textContent = 'profiling…';
    try {
      const response = await fetch('api/coldstart?' + new URLSearchParams({ function: f }));
      const p = await response.json();
      if (!response.ok) {
        out.textContent = p.message;
        return;
      }
      const table = el('table', { class: 'grid small' },
        el('thead', {}, el('tr', {}, el('th', {}, p.packages.length ? 'package' : ''), el('th', { class: 'num' }, 'self ms'))),
        el('tbody', {}, ...p.packages.slice(0, 12).map((m) =>
          el('tr', {}, el('td', {}, m.name), el('td', { class: 'num' }, ms(m.selfMs))))));
      const mb = (b) => (b / 1048576).toFixed(1) + ' MB';
      out.replaceChildren(
        el('p', {}, p.method ? `Loading the handler took ${ms(p.loadMs)} ms (${p.method}).` : ''),
        p.error ? el('p', { class: 'bad' }, p.error) : '',
        p.packages.length ? table : '',
        el('p', {}, `Package: ${mb(p.package.bytes)} of Lambda's 250 MB (unzipped, with layers); largest: ` +
          p.package.largest.slice(0, 3).map((e) => `${e.name} ${mb(e.bytes)}`).join(', ')),
        ...p.notes.map((n) => el('p', { class: 'muted' }, n)));
    } catch (e) {
      out.textContent = String(e);
    }
  });

  // ------------------------------------------------------------------ durable executions

  // The list and the selected execution are fetched when the server says an execution changed
  // (`durable` events, at most every 250 ms) or the filter changes: never polled.
  const durable = { selected: null, fetching: false, again: false };
  const duration = (from, to) => {
    if (to === null || to === undefined) return '';
    const d = to - from;
    return d >= 60000 ? (d / 60000).toFixed(1) + ' min' : d >= 1000 ? (d / 1000).toFixed(2) + ' s' : d + ' ms';
  };
  const statusCell = (status) =>
    el('td', { 'data-figure': 'status', 'data-value': status },
      el('span', { class: status === 'SUCCEEDED' ? 'ok' : status === 'RUNNING' || status === 'STARTED' || status === 'PENDING' || status === 'READY' ? '' : 'bad' }, status));

  async function durableChanged() {
    if (durable.fetching) {
      durable.again = true;
      return;
    }
    durable.fetching = true;
    try {
      do {
        durable.again = false;
        await refreshDurable();
      } while (durable.again);
    } finally {
      durable.fetching = false;
    }
  }

  async function refreshDurable() {
    const query = new URLSearchParams({ status: $('du-status').value });
    const answer = await (await fetch('api/durable?' + query)).json();
    $('durable').hidden = !answer.enabled;
    if (!answer.enabled) return;
    $('du-count').textContent = `${answer.matching} execution${answer.matching === 1 ? '' : 's'}` +
      (answer.matching > answer.executions.length ? `, the newest ${answer.executions.length} shown` : '');
    const rows = answer.executions.map((x) => {
      const row = el('tr', { 'data-arn': x.arn, class: x.arn === durable.selected ? 'selected' : '' },
        el('td', {}, time(x.start)), el('td', {}, x.function), el('td', { class: 'mono' }, x.name),
        statusCell(x.status), el('td', { class: 'num' }, duration(x.start, x.end)));
      row.addEventListener('click', () => {
        durable.selected = x.arn;
        durableChanged();
      });
      return row;
    });
    $('du-list').tBodies[0].replaceChildren(...rows);
    if (durable.selected) await showExecution(durable.selected);
  }

  async function durableAction(path, params, body) {
    const response = await fetch(path + '?' + new URLSearchParams(params), {
      method: 'POST', headers: { 'X-Wisp-Console': '1', 'Content-Type': 'application/json' }, body,
    });
    if (!response.ok) {
      const text = await response.text();
      let message = text;
      try { message = JSON.parse(text).Message || JSON.parse(text).message || text; } catch (e) { /* text */ }
      $('du-summary').textContent = `${response.status}: ${message}`;
    }
    durableChanged();
  }

  async function showExecution(arn) {
    const response = await fetch('api/durable/execution?' + new URLSearchParams({ arn }));
    if (!response.ok) return;
    const x = await response.json();
    $('du-detail').hidden = false;
    $('du-detail').dataset.arn = x.arn;
    $('du-detail').dataset.status = x.status;
    $('du-title').textContent = `${x.function} · ${x.name}`;
    const outcome = x.error ? ` · ${x.error.type || 'Error'}: ${x.error.message || ''}`
      : x.result !== null ? ` · result ${x.result}` : '';
    $('du-summary').textContent = `${x.status} · started ${new Date(x.start).toISOString()}` +
      (x.end !== null ? ` · took ${duration(x.start, x.end)}` : '') +
      ` · ${x.invocations.length} invocation${x.invocations.length === 1 ? '' : 's'} (` +
      `${x.invocations.filter((i) => i.replay).length} replays) · ${x.historyEvents} history events${outcome}`;

    // Actions: stop a running execution; complete or fail a callback it waits on.
    const actions = [];
    if (x.status === 'RUNNING') {
      const stop = el('button', { type: 'button', 'data-action': 'stop' }, 'stop');
      stop.addEventListener('click', () => durableAction('api/durable/stop', { arn: x.arn }, ''));
      actions.push(stop);
    }
    for (const id of x.awaitedCallbacks) {
      const input = el('input', { type: 'text', value: '{}', 'data-callback': id, 'aria-label': 'callback result' });
      const ok = el('button', { type: 'button', 'data-action': 'succeed', 'data-callback': id }, 'complete');
      const fail = el('button', { type: 'button', 'data-action': 'fail', 'data-callback': id }, 'fail');
      ok.addEventListener('click', () => durableAction('api/durable/callback', { id, action: 'succeed' }, input.value));
      fail.addEventListener('click', () => durableAction('api/durable/callback', { id, action: 'fail' },
        JSON.stringify({ ErrorType: 'CallbackFailed', ErrorMessage: input.value })));
      actions.push(el('span', { class: 'muted small' }, `callback ${id.slice(0, 12)}…`), input, ok, fail);
    }
    $('du-actions').replaceChildren(...actions);

    // The timeline: invocations (replays marked) and operations, on one time axis.
    const end = x.end ?? Math.max(Date.now(), ...x.operations.map((o) => o.end ?? o.start));
    const span = Math.max(1, end - x.start);
    const pos = (t) => `${Math.min(100, Math.max(0, ((t - x.start) / span) * 100)).toFixed(3)}%`;
    const width = (a, b) => `${Math.max(0, ((Math.min(b, end) - a) / span) * 100).toFixed(3)}%`;
    const lane = (label, bar) => el('div', { class: 'lane' },
      el('span', { class: 'label', title: label }, label), el('div', { class: 'track' }, bar));
    const lanes = [];
    x.invocations.forEach((i, n) => {
      const bar = el('div', { class: `bar invocation${i.replay ? ' replay' : ''}`, title: `${i.requestId} ${i.outcome} ${ms(i.durationMs)} ms` });
      bar.style.left = pos(i.start);
      bar.style.width = width(i.start, i.end);
      lanes.push(lane(`invocation ${n + 1}${i.replay ? ' (replay)' : ''}`, bar));
    });
    for (const o of x.operations) {
      const bar = el('div', { class: `bar ${o.status}`, title: `${o.type} ${o.name || o.id} ${o.status}` });
      bar.style.left = pos(o.start);
      bar.style.width = width(o.start, o.end ?? o.scheduledEnd ?? end);
      lanes.push(lane(`${o.type.toLowerCase()} ${o.name || o.id.slice(0, 8)}`, bar));
    }
    $('du-timeline').replaceChildren(...lanes);
    $('du-ops').tBodies[0].replaceChildren(...x.operations.map((o) => el('tr', { 'data-op': o.id },
      el('td', {}, o.name || o.id.slice(0, 12)), el('td', {}, o.subType || o.type), statusCell(o.status),
      el('td', { class: 'num' }, o.attempt || ''), el('td', {}, time(o.start)),
      el('td', { class: 'num' }, duration(o.start, o.end)),
      el('td', { class: 'mono' }, o.error ? `${o.error.type || ''}: ${o.error.message || ''}` : o.result ?? ''))));
  }

  $('du-status').addEventListener('change', () => durableChanged());

  connect();
})();
