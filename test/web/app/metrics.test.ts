/**
 * The Metrics sections of the run and pipeline pages, in Debian's Chromium, against a receiver sent OTLP
 * metrics as the official exporter serializes them (ProtobufMetricsSerializer) for two runs of one
 * pipeline: a counter of two series, a gauge and a histogram, at times of our choosing within the runs.
 * The run page draws a line per series with its figures in the legend table (a counter's total, a gauge's
 * last, lowest and highest, a histogram's p50, p95 and count) and passes axe in light and dark; the
 * pipeline page draws a line per run, its series added up, with a link to the run (an exponential
 * histogram, which does not add up, a line per series), however many series its runs have together; a
 * run without metrics says how to send them; a run of 13 metrics asks for 10 charts' points, says
 * "3 more", and charts them on request; a metric of more series than the API reads at once says why in
 * the run page's chart's place.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type ExponentialHistogram, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { backends } from '../../helpers/backends.js';
import { CHROMIUM_HINT, launchChromium, openPage, ready, screenshot, seriousViolations } from '../../helpers/browser.js';
import { histogram, metricsBody, metricsOf } from '../../helpers/metrics-sdk.js';
import { logsRequest, post, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';
import { required, tool, withTools } from '../../helpers/tools.js';

const chromiumPath = tool('web/app/metrics.test.ts', 'chromium', CHROMIUM_HINT);
const it = withTools(chromiumPath);

const PIPELINE = 'web-metrics';
const RUN_A = 'web-metrics-a';
const RUN_B = 'web-metrics-b';
const EMPTY_RUN = 'web-metrics-none';
const MANY_PIPELINE = 'web-metrics-many';
const MANY_RUN = 'web-metrics-many-1';
const MANY_NAMES = Array.from({ length: 13 }, (_, i) => `many.gauge.${String(i).padStart(2, '0')}`);
const WIDE_RUN = 'web-metrics-wide-1';
/** A pipeline of two runs of TABLES series each: more together than /metric-points reads a series each. */
const TABLES_PIPELINE = 'web-metrics-tables';
const TABLES_RUNS = ['web-metrics-tables-1', 'web-metrics-tables-2'];
const TABLES = 60;
/** Whole seconds, ten minutes ago: run A from T0 to T0 + 100 s, run B from T0 + 200 s to T0 + 300 s. */
const T0 = Math.floor((Date.now() - 600_000) / 1000) * 1000;

let r: TestReceiver;
let browser: Browser;

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), (ms % 1000) * 1_000_000];

/** Data points at the given times (Unix ms), each started at `startMs`. */
function points<T>(startMs: number, values: [number, T, Attributes?][]): DataPoint<T>[] {
  return values.map(([at, value, attributes = {}]) => ({ startTime: hr(startMs), endTime: hr(at), attributes, value }));
}

const descriptor = (name: string, unit: string, valueType = ValueType.INT) => ({ name, description: '', unit, valueType });
const cumulative = AggregationTemporality.CUMULATIVE;

const counter = (name: string, unit: string, startMs: number, values: [number, number, Attributes?][]): MetricData => ({
  descriptor: descriptor(name, unit),
  aggregationTemporality: cumulative,
  dataPointType: DataPointType.SUM,
  isMonotonic: true,
  dataPoints: points(startMs, values),
});

const gauge = (name: string, unit: string, startMs: number, values: [number, number, Attributes?][]): MetricData => ({
  descriptor: descriptor(name, unit),
  aggregationTemporality: cumulative,
  dataPointType: DataPointType.GAUGE,
  dataPoints: points(startMs, values),
});

const histogramMetric = (name: string, unit: string, startMs: number, values: [number, Histogram, Attributes?][]): MetricData => ({
  descriptor: descriptor(name, unit, ValueType.DOUBLE),
  aggregationTemporality: cumulative,
  dataPointType: DataPointType.HISTOGRAM,
  dataPoints: points(startMs, values),
});

const exponentialMetric = (name: string, unit: string, startMs: number, values: [number, ExponentialHistogram][]): MetricData => ({
  descriptor: descriptor(name, unit, ValueType.DOUBLE),
  aggregationTemporality: cumulative,
  dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
  dataPoints: points(startMs, values),
});

async function sendMetrics(pipeline: string, runId: string, metrics: MetricData[]): Promise<void> {
  const body = metricsBody(metricsOf('loader', metrics, { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId }));
  const answer = await post(r.url, '/v1/metrics', body, { key: r.key });
  expect(answer.status, runId).toBe(200);
}

/** A run that started at `startMs` and ended successfully `seconds` later, as its log records say. */
async function sendRun(pipeline: string, runId: string, startMs: number, seconds: number): Promise<void> {
  const run = { [ATTR.pipelineName]: pipeline, [ATTR.runId]: runId };
  const records = [
    { eventName: EVENT.runStart, attributes: run, timestampMs: startMs },
    { eventName: EVENT.runEnd, attributes: { ...run, [ATTR.runResult]: 'success' }, timestampMs: startMs + seconds * 1000 },
  ];
  expect((await post(r.url, '/v1/logs', logsRequest(records), { key: r.key })).status).toBe(200);
}

const at = (seconds: number) => T0 + seconds * 1000;
const BOUNDS = [0.1, 1, 5];

async function sendWorld(): Promise<void> {
  await sendRun(PIPELINE, RUN_A, T0, 100);
  await sendRun(PIPELINE, RUN_B, at(200), 100);
  await sendRun(PIPELINE, EMPTY_RUN, at(400), 10);
  await sendRun(MANY_PIPELINE, MANY_RUN, at(450), 10);
  const orders = { table: 'orders' };
  const customers = { table: 'customers' };
  await sendMetrics(PIPELINE, RUN_A, [
    counter('rows.loaded', '{row}', T0, [
      ...[100, 250, 400, 600].map((value, i): [number, number, Attributes] => [at(20 * (i + 1)), value, orders]),
      ...[10, 20, 30, 40].map((value, i): [number, number, Attributes] => [at(20 * (i + 1)), value, customers]),
    ]),
    gauge('queue.depth', '{item}', T0, [3, 7, 5, 2].map((value, i): [number, number] => [at(20 * (i + 1)), value])),
    // The last interval's 10 observations all between 1 and 5 s: its p50 is 3 s, its p95 4.8 s.
    histogramMetric('batch.duration', 's', T0, [
      [at(30), histogram([0, 4, 0, 0], BOUNDS, 2)],
      [at(60), histogram([0, 8, 2, 0], BOUNDS, 8)],
      [at(90), histogram([0, 8, 12, 0], BOUNDS, 38)],
    ]),
  ]);
  await sendMetrics(PIPELINE, RUN_B, [
    counter('rows.loaded', '{row}', at(200), [[at(280), 50, orders]]),
    // 2 observations in (1, 2] and 2 in (2, 4].
    exponentialMetric('load.latency', 's', at(200), [[at(250), { count: 4, sum: 10, scale: 0, zeroCount: 0, positive: { offset: 0, bucketCounts: [2, 2] }, negative: { offset: 0, bucketCounts: [] } }]]),
  ]);
  const many = MANY_NAMES.map((name, i) => gauge(name, '1', at(450), [[at(455), i]]));
  await sendMetrics(MANY_PIPELINE, MANY_RUN, many);
  await sendRun(MANY_PIPELINE, WIDE_RUN, at(470), 10);
  // 101 series: one more than /metric-points reads at once.
  await sendMetrics(MANY_PIPELINE, WIDE_RUN, [gauge('wide.gauge', '1', at(470), Array.from({ length: 101 }, (_, i): [number, number, Attributes] => [at(475), i, { worker: i }]))]);
  for (const [i, runId] of TABLES_RUNS.entries()) {
    const start = at(480 + 20 * i);
    await sendRun(TABLES_PIPELINE, runId, start, 10);
    // Each table's counter counted i + 2 rows: the run's total is TABLES * (i + 2).
    await sendMetrics(TABLES_PIPELINE, runId, [counter('rows.per.table', '{row}', start, Array.from({ length: TABLES }, (_, t): [number, number, Attributes] => [start + 5000, i + 2, { table: `t${t}` }]))]);
  }
}

/** A page rendered, and its Metrics section loaded. */
async function withMetrics(fragment: string, page: string, colorScheme: 'light' | 'dark' = 'light') {
  const watched = await openPage(browser, { colorScheme, savedKey: r.key });
  await watched.page.goto(`${r.url}/${fragment}`);
  await ready(watched.page, page);
  await loaded(watched.page);
  return watched;
}

const loaded = (page: Page) => page.waitForFunction(() => document.querySelector<HTMLElement>('[data-metrics]')?.dataset.metrics === 'loaded', null, { timeout: 20_000 });

/** What one metric's chart shows: its heading, its lines (dashed or not, with their titles) and its legend table's rows. */
function chartOf(page: Page, name: string) {
  return page.evaluate((metricName) => {
    const place = [...document.querySelectorAll<HTMLElement>('.metric')].find((element) => element.dataset.metric === metricName);
    if (!place) return null;
    return {
      heading: place.querySelector('h3')!.textContent!,
      lines: [...place.querySelectorAll('svg.plot .line')].map((line) => ({ dashed: line.classList.contains('line-dashed'), title: line.querySelector('title')!.textContent! })),
      paths: [...place.querySelectorAll('svg.plot .line-path')].map((path) => path.getAttribute('d')!),
      headers: [...place.querySelectorAll('table.metric-legend th')].map((th) => th.textContent!),
      rows: [...place.querySelectorAll('table.metric-legend tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!)),
      runLinks: [...place.querySelectorAll('table.metric-legend a')].map((a) => a.getAttribute('href')!),
      yLabels: [...place.querySelectorAll('.y-axis text')].map((text) => text.textContent!),
    };
  }, name);
}

beforeAll(async () => {
  if (!chromiumPath && !process.env.CI) return;
  browser = await launchChromium(required('chromium', chromiumPath, CHROMIUM_HINT));
  r = await startTestReceiver({ databaseUrl: await backends()[0]!.databaseUrl() });
  await sendWorld();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await r?.close();
});

describe("the web view's metrics", () => {
  it("draws each metric a run reported, a line per series, with each series' figures in its legend", async () => {
    const { page, context, problems } = await withMetrics(`#/runs/${RUN_A}`, 'run');
    const rows = await chartOf(page, 'rows.loaded');
    expect(rows!.heading).toBe('rows.loaded counter, in row, 2 series');
    expect(rows!.headers).toEqual(['Series', 'Total', 'Last interval']);
    // Counted from the series' start: 600 and 40 over the run, 200 and 10 in its last 20 s.
    expect(rows!.rows.sort()).toEqual([
      ['table=customers', '40 row', '10 row'],
      ['table=orders', '600 row', '200 row'],
    ]);
    expect(rows!.paths.map((d) => d.match(/[ML]/g)!.join(''))).toEqual(['MLLL', 'MLLL']);
    expect(rows!.lines.map((line) => line.title).sort()).toEqual(['table=customers: last 10 row', 'table=orders: last 200 row']);

    const queue = await chartOf(page, 'queue.depth');
    expect(queue!.heading).toBe('queue.depth gauge, in item, 1 series');
    expect(queue!.rows).toEqual([['loader', '2 item', '2 item', '7 item']]);
    expect(queue!.yLabels[0]).toBe('0');

    const batch = await chartOf(page, 'batch.duration');
    expect(batch!.heading).toBe('batch.duration histogram, in s, 1 series');
    expect(batch!.headers).toEqual(['Series', 'p50, latest', 'p95, latest', 'Count, latest point']);
    expect(batch!.rows).toEqual([['loader', '3.0 s', '4.8 s', '20']]);
    expect(batch!.lines.map((line) => line.dashed)).toEqual([false, true]);
    expect(batch!.lines.map((line) => line.title)).toEqual(['p50 loader: last 3.0 s', 'p95 loader: last 4.8 s']);
    expect(await page.textContent('[data-metrics] > p')).toBe('3 metrics.');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('passes axe in light and dark with its charts drawn', async () => {
    for (const scheme of ['light', 'dark'] as const) {
      const { page, context, problems } = await withMetrics(`#/runs/${RUN_A}`, 'run', scheme);
      await screenshot(page, `run-metrics-${scheme}`);
      expect(await seriousViolations(page), scheme).toEqual([]);
      expect(problems, scheme).toEqual([]);
      await context.close();
    }
  });

  it("draws the pipeline's metrics across its latest runs, a line per run with a link to it, its series added up", async () => {
    const { page, context, problems } = await withMetrics(`#/pipelines/${PIPELINE}`, 'pipeline');
    await screenshot(page, 'pipeline-metrics-light');
    const rows = await chartOf(page, 'rows.loaded');
    expect(rows!.headers).toEqual(['Run', 'Series', 'Total', 'Last interval']);
    // Run A's orders and customers together: 600 + 40, and 200 + 10 in its last 20 s.
    expect(rows!.rows.sort()).toEqual([
      [RUN_A, '2', '640 row', '210 row'],
      [RUN_B, '1', '50 row', '50 row'],
    ]);
    expect(rows!.runLinks).toEqual([`#/runs/${RUN_A}`, `#/runs/${RUN_B}`]);
    expect(rows!.lines.map((line) => line.title)).toEqual([`run ${RUN_A}: last 210 row`, `run ${RUN_B}: last 50 row`]);
    const batch = await chartOf(page, 'batch.duration');
    expect(batch!.headers).toEqual(['Run', 'Series', 'p50, latest', 'p95, latest']);
    expect(batch!.rows).toEqual([[RUN_A, '1', '3.0 s', '4.8 s']]);
    // An exponential histogram's buckets do not add up across series: a line per series, as the run page draws.
    const latency = await chartOf(page, 'load.latency');
    expect(latency!.headers).toEqual(['Series', 'Run', 'p50, latest', 'p95, latest', 'Count, latest point']);
    expect(latency!.rows.map((row) => [row[0], row[1], row[4]])).toEqual([['loader', RUN_B, '4']]);
    // The span's clock times under the plot.
    expect((await page.$$eval('.metric .x-axis text', (texts) => texts.map((text) => text.textContent!))).filter((text) => /\d:\d\d/.test(text)).length).toBeGreaterThanOrEqual(5);
    expect(problems).toEqual([]);
    await context.close();
  });

  it(`charts a pipeline whose runs have more series together than the API reads a series each (${TABLES_RUNS.length} runs of ${TABLES}): a line per run`, async () => {
    const { page, context, problems } = await withMetrics(`#/pipelines/${TABLES_PIPELINE}`, 'pipeline');
    const tables = await chartOf(page, 'rows.per.table');
    expect(tables!.heading).toBe(`rows.per.table counter, in row, ${TABLES * TABLES_RUNS.length} series`);
    expect(await page.$$('.metric[data-metric="rows.per.table"] .error-box')).toEqual([]);
    expect(tables!.rows.sort()).toEqual(TABLES_RUNS.map((runId, i) => [runId, String(TABLES), `${TABLES * (i + 2)} row`, `${TABLES * (i + 2)} row`]));
    expect(tables!.lines.length).toBe(TABLES_RUNS.length);
    expect(tables!.runLinks.sort()).toEqual(TABLES_RUNS.map((runId) => `#/runs/${runId}`));
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says how to send metrics when a run reported none', async () => {
    const { page, context, problems } = await withMetrics(`#/runs/${EMPTY_RUN}`, 'run');
    const text = await page.textContent('[data-metrics]');
    expect(text).toContain('This run reported no metrics.');
    expect(text).toContain(`cicd.pipeline.run.id=${EMPTY_RUN}`);
    expect(await page.$$('.metric')).toEqual([]);
    expect(await page.getAttribute('[data-metrics] a', 'href')).toMatch(/^https:\/\/opentelemetry\.io\//);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('charts 10 metrics at first, one request each, says how many more, and charts them when asked', async () => {
    const { page, context, problems } = await openPage(browser, { savedKey: r.key });
    const asked: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/metric-points')) asked.push(new URL(request.url()).searchParams.get('metric')!);
    });
    await page.goto(`${r.url}/#/runs/${MANY_RUN}`);
    await ready(page, 'run');
    await loaded(page);
    const names = MANY_NAMES;
    const charted = () => page.$$eval('.metric', (places) => places.map((place) => (place as HTMLElement).dataset.metric));
    expect(await charted()).toEqual(names.slice(0, 10));
    expect(asked.sort()).toEqual(names.slice(0, 10));
    expect(await page.textContent('.metric-more')).toContain(`3 more metrics: ${names.slice(10).join(', ')}.`);
    await page.getByRole('button', { name: 'Chart 10 more' }).click();
    await loaded(page);
    expect(await charted()).toEqual(names);
    expect(asked.sort()).toEqual(names);
    expect(await page.isVisible('.metric-more button')).toBe(false);
    expect((await chartOf(page, 'many.gauge.12'))!.rows).toEqual([['loader', '12', '12', '12']]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("says in a run page's chart's place why the API refused its points: more series than it reads at once", async () => {
    const { page, context, problems } = await withMetrics(`#/runs/${WIDE_RUN}`, 'run');
    expect(await page.textContent('.metric[data-metric="wide.gauge"] h3')).toBe('wide.gauge gauge, 101 series');
    expect(await page.textContent('.metric[data-metric="wide.gauge"] .error-box')).toMatch(/^400: more than 100 series in this range: ask one series_id/);
    // The browser's own line for the refused request is all it logged.
    expect(problems.filter((problem) => !/status of 400/.test(problem))).toEqual([]);
    await context.close();
  });
});
