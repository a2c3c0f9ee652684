// Drives the console page in headless Chromium (playwright-core): opens it, sends the requests
// it is given to the API, waits until the page has counted them all, then reads every figure
// the page shows (the data-value of each figure cell), opens one invocation's log lines, and
// takes a screenshot.
// Usage: node console_page.cjs <spec.json>   (spec: consoleUrl, requests [{url, method}],
//        expected, select, screenshot, userDataDir, chromium)
// Prints one JSON document: {figures, invocations, totals, logs, html, offline, responses}.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));

(async () => {
  const context = await chromium.launchPersistentContext(spec.userDataDir, {
    executablePath: spec.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 1500 },
  });
  const page = context.pages()[0] || (await context.newPage());
  // Everything the page loads must come from wisp itself (it works offline).
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(new URL(spec.consoleUrl).origin)) foreign.push(r.url());
  });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });

  await page.goto(spec.consoleUrl);
  await page.waitForSelector('#link[data-state="live"]', { timeout: 30000 });

  // The requests, in the given groups: one group's requests at once, groups one after another.
  const responses = [];
  for (const group of spec.requests) {
    const answers = await Promise.all(group.map(async (r) => {
      const res = await fetch(r.url, { method: r.method || 'GET' });
      return { url: r.url, status: res.status, body: await res.text() };
    }));
    responses.push(...answers);
  }
  await page.waitForFunction(
    (n) => Number(document.getElementById('t-invocations').dataset.value) >= n,
    spec.expected, { timeout: 30000 });
  // The last changes may still be on their way for the per-function figures: wait until the
  // function rows add up to the total too.
  await page.waitForFunction((n) => {
    let sum = 0;
    for (const td of document.querySelectorAll('#functions td[data-figure="invocations"]'))
      sum += Number(td.dataset.value);
    return sum >= n && document.querySelectorAll('#invocations tbody tr').length >= Math.min(n, 60);
  }, spec.expected, { timeout: 30000 });

  const read = () => {
    const figures = {};
    for (const row of document.querySelectorAll('#functions tbody tr')) {
      const f = {};
      for (const td of row.querySelectorAll('td[data-figure]')) f[td.dataset.figure] = Number(td.dataset.value);
      figures[row.dataset.function] = f;
    }
    const invocations = {};
    for (const row of document.querySelectorAll('#invocations tbody tr')) {
      const i = { function: row.dataset.function };
      for (const td of row.querySelectorAll('td[data-figure]'))
        i[td.dataset.figure] = td.dataset.figure === 'outcome' ? td.dataset.value : Number(td.dataset.value);
      invocations[row.dataset.request] = i;
    }
    const totals = {};
    for (const id of ['t-invocations', 't-errors', 't-cold', 't-gbs', 't-cost', 't-month'])
      totals[id] = Number(document.getElementById(id).dataset.value);
    return { figures, invocations, totals };
  };
  const result = await page.evaluate(read);

  // Select the function of interest, then one click from an invocation to its log lines.
  await page.click(`#functions tbody tr[data-function="${spec.select}"]`);
  await page.waitForSelector('#detail:not([hidden])');
  // The newest invocation of that function (rows are newest first).
  const logsFor = await page.getAttribute(`#invocations tbody tr[data-function="${spec.select}"]`, 'data-request');
  result.logsRequest = logsFor;
  await page.click(`#invocations tbody tr[data-request="${logsFor}"]`);
  await page.waitForFunction(() => {
    const text = document.getElementById('logs-body').textContent;
    return text && text !== 'loading…';
  });
  result.logs = await page.textContent('#logs-body');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.getElementById('logs').open);
  // A projection at a typed rate.
  await page.fill('#p-rate', '100');
  await page.selectOption('#p-unit', '1');
  await page.click('#project button');
  await page.waitForFunction(() => document.getElementById('p-result').dataset.value !== undefined);
  result.projection = Number(await page.getAttribute('#p-result', 'data-value'));
  result.detailText = await page.textContent('#detail');
  await page.waitForTimeout(300); // charts settle after the last resize
  if (spec.screenshot) await page.screenshot({ path: spec.screenshot, fullPage: true });
  result.html = await page.content();
  result.foreign = foreign;
  result.errors = consoleErrors;
  result.responses = responses;
  await context.close();
  process.stdout.write(JSON.stringify(result) + '\n');
})().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
