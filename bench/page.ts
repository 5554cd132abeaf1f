/**
 * Time to page: from a pipeline's failing run end to the notification Alertmanager sends, through every
 * hop as shipped. A real receiver (its own PostgreSQL server, /metrics on a listener of its own as in
 * the compose stack), Debian's Prometheus and Alertmanager on the committed configuration (bench/page-stack.ts),
 * and each producer making a run fail (bench/page-producers.ts), several rounds, each failure at a random
 * moment of the scrape interval. Per failure it times:
 *
 *   commit      the run's end (its stored end time) -> the API shows the failed run
 *   metrics     -> the receiver's /metrics shows pipemon_pipeline_consecutive_failures >= 1
 *   scrape      -> Prometheus has that sample
 *   evaluation  -> PipelineRunFailed is active (pending, or firing at once) in Prometheus' /api/v1/alerts
 *   for         -> it fires
 *   group_wait  -> the webhook received Alertmanager's notification
 *
 * Their sum is the total. Beside them, delivery: the run's end -> the producer saw it acknowledged (the
 * SDK and `pipemon exec` exit once delivered, after the receiver committed it: not a hop of the path).
 * Each hop is polled once the one before it is seen (the API from the producer's start), every POLL_MS:
 * a hop can take up to that much of the next one. Prints one JSON object: median, p95 and max per hop
 * and of the total, per producer and over all, beside the bound the settings allow (scrape + evaluation
 * interval + for + group_wait).
 *
 *   npm run bench:page                 the shipped settings, 5 rounds (--rounds=N)
 *   npm run bench:page -- --ci         every interval and for: 1 s: the mechanics, not the shipped timings
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { durationSeconds as seconds } from '../dashboards/prometheus/rules.js';
import { createKey } from '../receiver/auth/keys.js';
import { startReceiver, type Receiver } from '../receiver/serve.js';
import { instantQuery } from '../harness/prometheus.js';
import { startPostgres } from '../harness/postgres.js';
import { PRODUCERS, producers, type Producer, type ProducerName } from './page-producers.js';
import { startStack, type Mode, type Notification, type PageSettings, type Stack } from './page-stack.js';

export const HOPS = ['commit', 'metrics', 'scrape', 'evaluation', 'for', 'group_wait'] as const;
export type Hop = (typeof HOPS)[number];
/** Every figure reported: delivery (beside the hops, not one of them), the hops and their total. */
const FIGURES = ['delivery', ...HOPS, 'total'] as const;
type Figure = (typeof FIGURES)[number];

const POLL_MS = 100;
const TENANT = 'bench';
const ALERT = 'PipelineRunFailed';

/** One failure's times, Unix ms on this machine's clock: the hops' ends in the order they happen, and when the producer saw it acknowledged. */
export interface Trace {
  producer: ProducerName;
  pipeline: string;
  emitted: number;
  acknowledged: number;
  committed: number;
  on_metrics: number;
  scraped: number;
  pending: number;
  firing: number;
  notified: number;
  notification: Notification;
}

export interface PageOptions {
  mode: Mode;
  rounds: number;
  /** The checkout whose shipped configuration is measured. */
  repo: string;
  /** The compiled project the producers run. */
  dist: string;
  /** An empty database for the receiver; without it, a PostgreSQL server of the bench's own (the npm package's). */
  databaseUrl?: string;
  /** Stops the rounds (Ctrl-C): everything started is stopped. */
  signal?: AbortSignal;
}

interface Target {
  signal: AbortSignal | undefined;
  receiver: Receiver;
  key: string;
  stack: Stack;
  produce: Record<ProducerName, Producer>;
}

const log = (message: string) => console.error(`bench:page: ${message}`);

/** Polls `check` every POLL_MS until it returns a value; throws naming `what` after `timeoutMs`. */
async function poll<T>(check: () => Promise<T | undefined>, what: string, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`bench:page: ${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(POLL_MS, undefined, { signal });
  }
}

async function failedRun(t: Target, pipeline: string): Promise<{ ended_at: string } | undefined> {
  const response = await fetch(`${t.receiver.url}/api/v1/runs?pipeline=${encodeURIComponent(pipeline)}`, { headers: { authorization: `Bearer ${t.key}` } });
  if (!response.ok) throw new Error(`GET /api/v1/runs answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const { items } = (await response.json()) as { items: { result: string | null; ended_at: string | null }[] };
  const run = items.find((item) => item.result === 'failure' && item.ended_at !== null);
  return run ? { ended_at: run.ended_at! } : undefined;
}

async function onMetrics(t: Target, pipeline: string): Promise<true | undefined> {
  const text = await (await fetch(t.receiver.metricsUrl)).text();
  const series = `pipemon_pipeline_consecutive_failures{tenant="${TENANT}",pipeline="${pipeline}"} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line && Number(line.slice(series.length)) >= 1 ? true : undefined;
}

async function scraped(t: Target, pipeline: string): Promise<true | undefined> {
  const found = await instantQuery(t.stack.prometheus.url, `pipemon_pipeline_consecutive_failures{job="pipemon", pipeline="${pipeline}"} >= 1`);
  return found.length > 0 ? true : undefined;
}

async function alertState(t: Target, pipeline: string): Promise<string | undefined> {
  const body = (await (await fetch(`${t.stack.prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
  return body.data.alerts.find((a) => a.labels.alertname === ALERT && a.labels.pipeline === pipeline)?.state;
}

/** Makes one run fail through `producer` and follows it hop by hop to the notification. */
async function trace(t: Target, producer: ProducerName, name: string, timeoutMs: number): Promise<Trace> {
  const pipeline = t.produce[producer].pipeline(name);
  const seen = async <T>(check: () => Promise<T | undefined>, what: string) => {
    const value = await poll(check, `${what} (${producer}, ${pipeline})`, timeoutMs, t.signal);
    return { at: Date.now(), value };
  };
  // The receiver commits before it answers: the API is watched from the producer's start.
  const [acknowledged, committed] = await Promise.all([t.produce[producer].fail(name), seen(() => failedRun(t, pipeline), 'the failed run showing in the API')]);
  const metrics = await seen(() => onMetrics(t, pipeline), 'the failure showing on /metrics');
  const scrape = await seen(() => scraped(t, pipeline), 'Prometheus scraping the failure');
  const pending = await seen(() => alertState(t, pipeline), `${ALERT} becoming active`);
  const firing = pending.value === 'firing' ? pending : await seen(async () => ((await alertState(t, pipeline)) === 'firing' ? true : undefined), `${ALERT} firing`);
  // The webhook keeps when each notification came: polling it only finds it.
  const { value: notification } = await seen(async () => t.stack.webhook.firing(ALERT, pipeline), `the webhook receiving ${ALERT}`);
  return {
    producer,
    pipeline,
    emitted: Date.parse(committed.value.ended_at),
    acknowledged,
    committed: committed.at,
    on_metrics: metrics.at,
    scraped: scrape.at,
    pending: pending.at,
    firing: firing.at,
    notified: notification.receivedAt,
    notification,
  };
}

/** Each hop's seconds (the time from the event before it), their total, and delivery beside them. */
export function hopsOf(t: Trace): Record<Figure, number> {
  const s = (from: number, to: number) => (to - from) / 1000;
  return {
    delivery: s(t.emitted, t.acknowledged),
    commit: s(t.emitted, t.committed),
    metrics: s(t.committed, t.on_metrics),
    scrape: s(t.on_metrics, t.scraped),
    evaluation: s(t.scraped, t.pending),
    for: s(t.pending, t.firing),
    group_wait: s(t.firing, t.notified),
    total: s(t.emitted, t.notified),
  };
}

/** Nearest-rank percentile of seconds, rounded to milliseconds. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number(sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!.toFixed(3));
}

export function summary(traces: Trace[]): Record<Figure, { median: number; p95: number; max: number }> {
  const hops = traces.map(hopsOf);
  return Object.fromEntries(FIGURES.map((k) => [k, { median: percentile(hops.map((h) => h[k]), 50), p95: percentile(hops.map((h) => h[k]), 95), max: percentile(hops.map((h) => h[k]), 100) }])) as ReturnType<typeof summary>;
}

/** The longest the settings let a scraped failure wait before its notification leaves, in seconds. */
export function settingsBound(settings: PageSettings): number {
  return seconds(settings.scrape_interval) + seconds(settings.evaluation_interval) + seconds(settings.run_failed_for) + seconds(settings.group_wait);
}

/** One round: every producer fails a run of a pipeline of its own, each at a random moment of the scrape interval. */
async function round(t: Target, n: number, timeoutMs: number): Promise<Trace[]> {
  const spread = seconds(t.stack.settings.scrape_interval) * 1000;
  return Promise.all(
    PRODUCERS.map(async (producer) => {
      await sleep(Math.random() * spread, undefined, { signal: t.signal });
      return trace(t, producer, `page-${producer}-r${n}`, timeoutMs);
    }),
  );
}

async function waitForFirstScrape(stack: Stack, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  await poll(async () => ((await instantQuery(stack.prometheus.url, 'up{job="pipemon"} == 1')).length > 0 ? true : undefined), 'Prometheus scraping the receiver', timeoutMs, signal);
}

export interface PageReport {
  mode: Mode;
  rounds: number;
  settings: PageSettings;
  bound_seconds: number;
  poll_ms: number;
  load_average: { start: number; end: number };
  hops: ReturnType<typeof summary>;
  by_producer: Record<ProducerName, ReturnType<typeof summary>>;
  traces: Trace[];
}

function report(options: PageOptions, settings: PageSettings, traces: Trace[], load_average: PageReport['load_average']): PageReport {
  return {
    mode: options.mode,
    rounds: options.rounds,
    settings,
    bound_seconds: settingsBound(settings),
    poll_ms: POLL_MS,
    load_average,
    hops: summary(traces),
    by_producer: Object.fromEntries(PRODUCERS.map((p) => [p, summary(traces.filter((t) => t.producer === p))])) as PageReport['by_producer'],
    traces,
  };
}

/** Starts everything, runs the rounds, stops everything (whatever failed) and reports. */
export async function measurePaging(options: PageOptions): Promise<PageReport> {
  const load = () => Number(os.loadavg()[0]!.toFixed(2));
  const start = load();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipemon-bench-page-'));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const postgres = options.databaseUrl ? null : await startPostgres();
    if (postgres) stops.push(() => postgres.destroy());
    const receiver = await startReceiver({ port: 0, databaseUrl: options.databaseUrl ?? postgres!.url, metricsPort: 0 });
    stops.push(() => receiver.close());
    const { key } = await createKey(receiver.db, TENANT, ['ingest', 'read']);
    const stack = await startStack(options.repo, options.mode, new URL(receiver.metricsUrl).host);
    stops.push(() => stack.stop());
    // Ten times what the settings allow, and a minute for the receiver's and the producers' own hops.
    const timeoutMs = 10 * settingsBound(stack.settings) * 1000 + 60_000;
    await waitForFirstScrape(stack, timeoutMs, options.signal);
    const target = { signal: options.signal, receiver, key, stack, produce: producers({ url: receiver.url, key, dist: options.dist, workDir }) };
    const traces: Trace[] = [];
    for (let n = 1; n <= options.rounds; n++) {
      traces.push(...(await round(target, n, timeoutMs)));
      log(`round ${n}/${options.rounds}: ${traces.slice(-PRODUCERS.length).map((t) => `${t.producer} ${hopsOf(t).total.toFixed(1)} s`).join(', ')}`);
    }
    return report(options, stack.settings, traces, { start, end: load() });
  } finally {
    for (const stop of stops.reverse()) await stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** The command line's mode and rounds; anything else is refused, naming what it takes. */
export function parseFlags(argv: string[]): { mode: Mode; rounds: number } {
  const rounds = argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length) ?? '5';
  if (!/^[1-9]\d*$/.test(rounds)) throw new Error(`--rounds must be a positive whole number, got "${rounds}"`);
  const unknown = argv.filter((arg) => arg !== '--ci' && !arg.startsWith('--rounds='));
  if (unknown.length > 0) throw new Error(`bench:page takes --ci and --rounds=N, not ${unknown.join(' ')}`);
  return { mode: argv.includes('--ci') ? 'ci' : 'defaults', rounds: Number(rounds) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // Compiled as dist/bench/page.js: the compiled project is one level up; the shipped files are where it runs.
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  // Ctrl-C ends the rounds; measurePaging then stops every server it started.
  const stopping = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stopping.abort(new Error(`bench:page stopped by ${signal}`)));
  const report = await measurePaging({ ...parseFlags(process.argv.slice(2)), repo: process.cwd(), dist, signal: stopping.signal });
  const { traces, ...figures } = report;
  console.log(JSON.stringify({ ...figures, traces: traces.map((t) => ({ producer: t.producer, ...hopsOf(t) })) }, null, 2));
}
