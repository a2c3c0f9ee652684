// Drives the console's durable executions in headless Chromium (playwright-core): for each
// execution named in the spec it clicks its row, then either completes its awaited callback
// with a result, fails it, or stops the execution, with the page's own buttons, and waits until
// the page shows the execution closed. Reads what the page shows on the way.
// Usage: node console_durable.cjs <spec.json>  (spec: consoleUrl, chromium, userDataDir,
//        actions [{arn, action: "succeed"|"fail"|"stop", value}], screenshot)
// Prints one JSON document: {results: [{arn, before, after, lanes, operations}], errors, foreign}.
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
    viewport: { width: 1440, height: 1200 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(new URL(spec.consoleUrl).origin)) foreign.push(r.url());
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto(spec.consoleUrl);
  await page.waitForSelector('#link[data-state="live"]', { timeout: 30000 });
  await page.waitForSelector('#durable:not([hidden])', { timeout: 30000 });

  const results = [];
  for (const step of spec.actions) {
    const row = `#du-list tr[data-arn="${step.arn}"]`;
    await page.waitForSelector(row, { timeout: 30000 });
    const listed = await page.$eval(`${row} [data-figure="status"]`, (n) => n.dataset.value);
    await page.click(row);
    await page.waitForSelector(`#du-detail[data-arn="${step.arn}"]`, { timeout: 30000 });
    const before = await page.$eval('#du-detail', (n) => n.dataset.status);
    if (step.action === 'stop') {
      await page.click('#du-actions button[data-action="stop"]');
    } else {
      await page.waitForSelector(`#du-actions button[data-action="${step.action}"]`, { timeout: 30000 });
      await page.fill('#du-actions input[data-callback]', step.value);
      await page.click(`#du-actions button[data-action="${step.action}"]`);
    }
    // The page learns of the change from the server's `durable` event (no polling); the list
    // and the detail are fetched one after the other, so wait for both.
    await page.waitForFunction((arn) => {
      const d = document.getElementById('du-detail');
      const listed = document.querySelector(`#du-list tr[data-arn="${arn}"] [data-figure="status"]`);
      return d.dataset.arn === arn && d.dataset.status !== 'RUNNING' &&
        listed !== null && listed.dataset.value !== 'RUNNING';
    }, step.arn, { timeout: 30000 });
    const after = await page.$eval('#du-detail', (n) => n.dataset.status);
    const listedAfter = await page.$eval(`${row} [data-figure="status"]`, (n) => n.dataset.value);
    const lanes = await page.$$eval('#du-timeline .lane .label', (ns) => ns.map((n) => n.textContent));
    const operations = await page.$$eval('#du-ops tbody tr', (rows) => rows.map((r) => ({
      name: r.cells[0].textContent, type: r.cells[1].textContent,
      status: r.querySelector('[data-figure="status"]').dataset.value,
    })));
    results.push({ arn: step.arn, listed, before, after, listedAfter, lanes, operations,
      summary: await page.$eval('#du-summary', (n) => n.textContent) });
  }
  if (spec.screenshot) await page.screenshot({ path: spec.screenshot, fullPage: true });
  await context.close();
  process.stdout.write(JSON.stringify({ results, errors, foreign }));
})().catch((e) => {
  process.stderr.write(String(e.stack || e) + '\n');
  process.exit(1);
});
