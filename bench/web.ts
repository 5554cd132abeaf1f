/**
 * `npm run bench:web`: time to each rendered page of the web view, in Debian's Chromium (the one the tests
 * drive), against a receiver. Prints one JSON object.
 *
 * The data, by flag:
 * - none: 500 pipelines x 20 runs sent as notebook activity records (docs/sending.md) to the embedded
 *   server that `npm start` runs;
 * - `--small`: 20 pipelines x 5 runs, 3 rounds: seconds, for the test suite;
 * - `--records=N`: N records of bench:query's data (bench/query-load.ts) written into the embedded server;
 * - `--database-url=URL --key=KEY`: a world filled before (bench:query's), read with a key of its tenant.
 *
 * Four pages: the overview, and the pipeline page, the page of its latest run and the logs page of the
 * tenant's busiest pipeline (most runs in 30 days). Each round opens each page in a fresh browser
 * context (no cache) with the key saved, and reads the page's own `pipemon:<page>` mark (web/app/main.ts):
 * from the navigation's start to the page rendered with every answer it asked for. The benchmark checks
 * that the overview drew a row for every pipeline and each page its content.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startReceiver } from '../receiver/serve.js';
import { load } from './query-load.js';

const HOUR_MS = 3_600_000;
const BATCH = 1000;
/** Each page's goal for its median, ms. */
const PAGE_GOALS_MS = { overview: 300, pipeline: 200, run: 200, logs: 300 } as const;
type PageName = keyof typeof PAGE_GOALS_MS;

const flag = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const SMALL = process.argv.includes('--small');
const RECORDS = Number(flag('records') ?? 0);
const DATABASE_URL = flag('database-url');
const KEY = flag('key');
const ROUNDS = Number(flag('rounds') ?? (SMALL ? 3 : 9));
const NOTEBOOK = SMALL ? { pipelines: 20, runs: 5 } : { pipelines: 500, runs: 20 };

const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) fail(`needs Chromium at ${executablePath}: apt-get install chromium, or set CHROMIUM to its path`);
if (DATABASE_URL !== undefined && !KEY) fail('--database-url needs --key=KEY: a key with the read scope of the tenant to open the pages as');
if (!Number.isInteger(RECORDS) || RECORDS < 0) fail(`--records=${flag('records')}: give a whole number of records, e.g. --records=10000000`);

function fail(message: string): never {
  console.error(`bench:web ${message}`);
  process.exit(2);
}

const log = (message: string) => console.error(`bench:web: ${message}`);
const round1 = (value: number) => Math.round(value * 10) / 10;
/** Nearest rank: with few rounds, the p95 is the slowest but one or the slowest. */
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(p * values.length) - 1)]!;
const summary = (values: number[]) => ({ median: round1(percentile(values, 0.5)), p95: round1(percentile(values, 0.95)), min: round1(Math.min(...values)), max: round1(Math.max(...values)) });

/** Notebook activity records: one run each, hourly per pipeline; every 7th pipeline's latest run failed, every 50th is running. */
function notebookRecords(nowMs: number) {
  const all: Record<string, unknown>[] = [];
  for (let p = 0; p < NOTEBOOK.pipelines; p++) {
    for (let n = 0; n < NOTEBOOK.runs; n++) {
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

async function api<T>(url: string, key: string, pathAndQuery: string): Promise<T> {
  const response = await fetch(`${url}/api/v1${pathAndQuery}`, { headers: { 'x-api-key': key } });
  if (response.status !== 200) throw new Error(`GET ${pathAndQuery}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

async function sendNotebookRecords(url: string, key: string): Promise<number> {
  const all = notebookRecords(Date.now());
  for (let i = 0; i < all.length; i += BATCH) {
    const response = await fetch(`${url}/api/v1/logs/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify(all.slice(i, i + BATCH)),
    });
    if (response.status !== 201) throw new Error(`loading runs: ${response.status} ${await response.text()}`);
  }
  return all.length;
}

/** The receiver and the key to read as, with the data in place; `records` sent or loaded by this run, 0 for a world filled before. */
async function open(dataDir: string) {
  if (DATABASE_URL !== undefined) {
    const receiver = await startReceiver({ port: 0, databaseUrl: DATABASE_URL, retentionDays: 3650 });
    return { receiver, key: KEY!, data: 'a world filled before (--database-url)', records: 0 };
  }
  const receiver = await startReceiver({ port: 0, dataDir, retentionDays: 3650 });
  if (RECORDS > 0) {
    log(`loading ${RECORDS} records of bench:query's data`);
    const loaded = await load(receiver.db, RECORDS, Date.now());
    await receiver.db.query('VACUUM ANALYZE');
    return { receiver, key: loaded.tenants[0]!.key, data: "bench:query's", records: loaded.records };
  }
  const records = await sendNotebookRecords(receiver.url, receiver.defaultKey!);
  return { receiver, key: receiver.defaultKey!, data: 'notebook activity', records };
}

interface Target {
  page: PageName;
  hash: string;
  /** What the rendered page must show: elements it drew, as many as the API names (or some, when null). */
  rows: string;
  expectedRows: number | null;
}

/** The four pages, the busiest pipeline's (most runs in 30 days) and its latest run's. */
async function targets(url: string, key: string): Promise<{ pipelines: number; busiest: string; targets: Target[] }> {
  const { items } = await api<{ items: { pipeline: string; runs: number }[] }>(url, key, '/metrics/pipelines?days=30');
  if (items.length === 0) throw new Error('the tenant of the key has no pipelines: fill a world first');
  const busiest = items.reduce((a, b) => (b.runs > a.runs ? b : a)).pipeline;
  const { items: runs } = await api<{ items: { run_id: string }[] }>(url, key, `/runs?pipeline=${encodeURIComponent(busiest)}&limit=1`);
  const name = encodeURIComponent(busiest);
  return {
    pipelines: items.length,
    busiest,
    targets: [
      { page: 'overview', hash: '#/', rows: 'table.pipelines tbody tr', expectedRows: items.length },
      { page: 'pipeline', hash: `#/pipelines/${name}`, rows: 'dl.tiles .tile', expectedRows: null },
      { page: 'run', hash: `#/runs/${encodeURIComponent(runs[0]!.run_id)}`, rows: 'table.logs tbody tr', expectedRows: null },
      { page: 'logs', hash: `#/logs?pipeline=${name}`, rows: 'table.logs tbody tr', expectedRows: null },
    ],
  };
}

/** One round of one page: the mark's time, in a fresh context with the key saved. */
async function renderOnce(browser: Browser, url: string, key: string, target: Target): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript((saved) => localStorage.setItem('pipemon.key', saved), key);
    const page = await context.newPage();
    await page.goto(`${url}/${target.hash}`);
    await page.waitForFunction((name) => ['error', name].includes(document.body.dataset.ready ?? ''), target.page, { timeout: 120_000 });
    const { mark, rows, ready, notice } = await page.evaluate(
      ({ name, rows }) => ({
        mark: performance.getEntriesByName(`pipemon:${name}`)[0]?.startTime ?? null,
        rows: document.querySelectorAll(rows).length,
        ready: document.body.dataset.ready,
        notice: document.querySelector('.notice')?.textContent ?? '',
      }),
      { name: target.page, rows: target.rows },
    );
    if (ready !== target.page || mark === null) throw new Error(`the ${target.page} page (${target.hash}) failed: ${notice}`);
    if (target.expectedRows !== null ? rows !== target.expectedRows : rows === 0) {
      throw new Error(`the ${target.page} page drew ${rows} of "${target.rows}", not ${target.expectedRows ?? 'any'}`);
    }
    return mark;
  } finally {
    await context.close();
  }
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-web-'));
const { receiver, key, data, records } = await open(dataDir);
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const found = await targets(receiver.url, key);
  const apiMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await api(receiver.url, key, '/metrics/pipelines?days=7&recent=20');
    apiMs.push(performance.now() - started);
  }
  const rendered = Object.fromEntries(found.targets.map((target) => [target.page, [] as number[]])) as Record<PageName, number[]>;
  // Pages alternate within a round, so that a slow spell of a shared machine falls on all of them.
  for (let i = 0; i < ROUNDS; i++) for (const target of found.targets) rendered[target.page].push(await renderOnce(browser, receiver.url, key, target));

  console.log(
    JSON.stringify({
      bench: 'web',
      browser: `Chromium ${browser.version()}`,
      storage: receiver.db.description.replace(dataDir, '<tmp>'),
      data,
      records,
      pipelines: found.pipelines,
      busiest_pipeline: found.busiest,
      rounds: ROUNDS,
      load_average: os.loadavg().map((x) => round1(x)),
      rendered_ms: Object.fromEntries(found.targets.map(({ page }) => [page, { ...summary(rendered[page]), goal_median: PAGE_GOALS_MS[page] }])),
      pipelines_api_ms: summary(apiMs),
    }),
  );
} finally {
  await browser.close();
  await receiver.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
