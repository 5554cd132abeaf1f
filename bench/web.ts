/**
 * `npm run bench:web`: time to a rendered overview with 500 pipelines, in Debian's Chromium (the one the
 * tests drive), against the embedded default that `npm start` runs. Prints one JSON object.
 *
 * Each round opens a fresh browser context (no cache) at the overview with the key saved, and reads the
 * page's own `pipemon:overview` mark: from the navigation's start to the table rendered with every
 * pipeline's status, sparkline and figures. The benchmark checks that all 500 rows were rendered.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { startReceiver } from '../receiver/serve.js';

const PIPELINES = 500;
const RUNS_PER_PIPELINE = 20;
const ROUNDS = 5;
const BATCH = 1000;
const HOUR_MS = 3_600_000;

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.error(`bench:web needs Chromium at ${executablePath}: apt-get install chromium, or set CHROMIUM to its path`);
  process.exit(2);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round1 = (value: number) => Math.round(value * 10) / 10;

/** Notebook activity records (docs/sending.md): one run each, hourly per pipeline; every 7th pipeline's latest run failed, every 50th is running. */
function records(nowMs: number) {
  const all: Record<string, unknown>[] = [];
  for (let p = 0; p < PIPELINES; p++) {
    for (let n = 0; n < RUNS_PER_PIPELINE; n++) {
      const latest = n === 0;
      const status = latest && p % 50 === 0 ? 'running' : latest && p % 7 === 0 ? 'failed' : 'success';
      all.push({
        source_system: `pipeline-${String(p).padStart(3, '0')}`,
        stage: 'load',
        notebook_name: `load-${p}`,
        status,
        logged_at: new Date(nowMs - n * HOUR_MS - p * 1000).toISOString(),
        ...(status === 'running' ? {} : { duration: 30 + ((p * 7 + n * 13) % 90), row_count: 1000 + n }),
      });
    }
  }
  return all;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-web-'));
const receiver = await startReceiver({ port: 0, dataDir });
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const key = receiver.defaultKey!;
  const all = records(Date.now());
  for (let i = 0; i < all.length; i += BATCH) {
    const response = await fetch(`${receiver.url}/api/v1/logs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(all.slice(i, i + BATCH)),
    });
    if (response.status !== 201) throw new Error(`loading runs: ${response.status} ${await response.text()}`);
  }

  const apiMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    const response = await fetch(`${receiver.url}/api/v1/metrics/pipelines?days=7&recent=20`, { headers: { 'x-api-key': key } });
    const body = (await response.json()) as { items: unknown[] };
    apiMs.push(performance.now() - started);
    if (body.items.length !== PIPELINES) throw new Error(`the API listed ${body.items.length} pipelines, not ${PIPELINES}`);
  }

  const renderedMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript((saved) => localStorage.setItem('pipemon.key', saved), key);
    const page = await context.newPage();
    await page.goto(`${receiver.url}/#/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'overview', null, { timeout: 60_000 });
    const { mark, rows } = await page.evaluate(() => ({
      mark: performance.getEntriesByName('pipemon:overview')[0]!.startTime,
      rows: document.querySelectorAll('table.pipelines tbody tr').length,
    }));
    if (rows !== PIPELINES) throw new Error(`the overview rendered ${rows} rows, not ${PIPELINES}`);
    renderedMs.push(mark);
    await context.close();
  }

  console.log(
    JSON.stringify({
      bench: 'web',
      browser: `Chromium ${browser.version()}`,
      storage: receiver.db.description.replace(dataDir, '<tmp>'),
      pipelines: PIPELINES,
      runs: all.length,
      rounds: ROUNDS,
      overview_rendered_ms: { median: round1(median(renderedMs)), min: round1(Math.min(...renderedMs)), max: round1(Math.max(...renderedMs)) },
      pipelines_api_ms: { median: round1(median(apiMs)), min: round1(Math.min(...apiMs)), max: round1(Math.max(...apiMs)) },
      rows_rendered: PIPELINES,
    }),
  );
} finally {
  await browser.close();
  await receiver.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
