/**
 * OTLP/JSON metric requests written by hand, and the metrics the query API suites read (metric-names,
 * series, metric-points): a pipeline's counters, histograms and gauges whose values, resets, restarts and
 * buckets the tests compute answers from by hand; runs named by a point attribute, by the resource, and by
 * an exemplar's trace; and another tenant's metrics of the same names. A suite reads it from a receiver
 * of its own (metricWorld).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import type { ReceiverOptions } from '../../../receiver/index.js';
import { otlpJsonLogs, type Value } from '../../helpers/otlp-json.js';
import { post, startTestReceiver, type TestReceiver } from '../../helpers/receiver.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Today's first millisecond (UTC): the world's points lie on both sides of it, in two days' partitions. */
export const DAY0 = Math.floor(Date.now() / DAY) * DAY;
/** The world's clock: minute `i` counted from three minutes before midnight. */
export const at = (i: number) => DAY0 + (i - 3) * MINUTE;
export const nanos = (ms: number) => String(BigInt(ms) * 1_000_000n);
export const iso = (ms: number) => new Date(ms).toISOString();

export const PIPELINE = 'orders-load';
/** A run of PIPELINE named by its points' attributes, one by its resource's, and one its trace measured in another service. */
export const RUN_BY_ATTRIBUTE = 'r-attr';
export const RUN_BY_RESOURCE = 'r-resource';
export const RUN_BY_TRACE = 'r-trace';
export const TRACE = '0af7651916cd43dd8448eb211c80319c';
/** A pipeline with one series of more points than a read gives without step=. */
export const BUSY = 'busy';
export const BUSY_POINTS = 1001;

interface Point {
  atMs: number;
  startMs?: number;
  attributes?: Record<string, Value>;
  exemplarTrace?: string;
}

type Json = Record<string, unknown>;

function anyValue(value: Value) {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

const keyValues = (attributes: Record<string, Value> = {}) => Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));

function pointJson(point: Point, fields: Json): Json {
  return {
    attributes: keyValues(point.attributes),
    ...(point.startMs === undefined ? {} : { startTimeUnixNano: nanos(point.startMs) }),
    timeUnixNano: nanos(point.atMs),
    ...fields,
    ...(point.exemplarTrace ? { exemplars: [{ timeUnixNano: nanos(point.atMs), asInt: '1', traceId: point.exemplarTrace, spanId: 'b7ad6b7169203331' }] } : {}),
  };
}

/** A number point's value: an integer as as_int (a string, exact), a number or "NaN"/"Infinity" as as_double. */
const numberValue = (value: number | string) => (typeof value === 'string' && /^-?\d+$/.test(value) ? { asInt: value } : { asDouble: value });

export const sum = (name: string, temporality: 1 | 2, monotonic: boolean, points: (Point & { value: number | string })[]): Json => ({
  name,
  unit: '{row}',
  description: `${name} so far`,
  sum: { aggregationTemporality: temporality, isMonotonic: monotonic, dataPoints: points.map((p) => pointJson(p, numberValue(p.value))) },
});

export const gauge = (name: string, points: (Point & { value: number | string })[]): Json => ({
  name,
  unit: 'By',
  gauge: { dataPoints: points.map((p) => pointJson(p, numberValue(p.value))) },
});

export const histogram = (name: string, temporality: 1 | 2, bounds: number[], points: (Point & { counts: number[]; sum: number })[]): Json => ({
  name,
  unit: 's',
  histogram: {
    aggregationTemporality: temporality,
    dataPoints: points.map((p) =>
      pointJson(p, { count: String(p.counts.reduce((a, b) => a + b, 0)), sum: p.sum, bucketCounts: p.counts.map(String), explicitBounds: bounds }),
    ),
  },
});

export const exponential = (name: string, points: (Point & { scale: number; zero: number; positive: number[]; offset: number })[]): Json => ({
  name,
  unit: 'ms',
  exponentialHistogram: {
    aggregationTemporality: 1,
    dataPoints: points.map((p) =>
      pointJson(p, {
        count: String(p.zero + p.positive.reduce((a, b) => a + b, 0)),
        scale: p.scale,
        zeroCount: String(p.zero),
        positive: { offset: p.offset, bucketCounts: p.positive.map(String) },
      }),
    ),
  },
});

export const summary = (name: string, points: (Point & { count: number; sum: number; quantiles: [number, number][] })[]): Json => ({
  name,
  unit: 'ms',
  summary: {
    dataPoints: points.map((p) =>
      pointJson(p, { count: String(p.count), sum: p.sum, quantileValues: p.quantiles.map(([quantile, value]) => ({ quantile, value })) }),
    ),
  },
});

export function metricsRequest(resource: Record<string, Value>, metrics: Json[]): string {
  return JSON.stringify({ resourceMetrics: [{ resource: { attributes: keyValues(resource) }, scopeMetrics: [{ scope: { name: 'query-api-test', version: '1.0' }, metrics }] }] });
}

export async function postMetrics(r: TestReceiver, key: string, body: string): Promise<void> {
  const answer = await post(r.url, '/v1/metrics', body, { key, contentType: 'application/json' });
  const text = answer.body.toString('utf8');
  // A partial success lists rejected points: the world is only what the tests compute from if all are stored.
  if (answer.status !== 200 || text.includes('rejected')) throw new Error(`the receiver refused test metrics: ${answer.status} ${text}`);
}

const runAttrs = (runId: string) => ({ [ATTR.pipelineName]: PIPELINE, [ATTR.runId]: runId });
export const ORDERS = { ...runAttrs(RUN_BY_ATTRIBUTE), table: 'orders' };
export const CUSTOMERS = { ...runAttrs(RUN_BY_ATTRIBUTE), table: 'customers' };

/**
 * rows.written of ORDERS, cumulative from at(0): 10, 25, 40 (three on yesterday's side of midnight, then
 * today), 5 (dropped: a reset), 12, and 3 from a new start time at(5) (a restart).
 */
export const ROWS_ORDERS = [
  { atMs: at(1), startMs: at(0), value: '10' },
  { atMs: at(2), startMs: at(0), value: '25' },
  { atMs: at(3), startMs: at(0), value: '40' },
  { atMs: at(4), startMs: at(0), value: '5' },
  { atMs: at(5), startMs: at(0), value: '12' },
  { atMs: at(6), startMs: at(5) + 30_000, value: '3' },
].map((p) => ({ ...p, attributes: ORDERS }));

/** batch.duration, cumulative, bounds 0.1, 1, 5: per-bucket counts at three points. */
export const DURATION_BOUNDS = [0.1, 1, 5];
export const DURATIONS = [
  { atMs: at(1), startMs: at(0), counts: [1, 2, 1, 0], sum: 3.5 },
  { atMs: at(2), startMs: at(0), counts: [2, 4, 3, 1], sum: 20 },
  { atMs: at(3), startMs: at(0), counts: [2, 5, 3, 2], sum: 31 },
].map((p) => ({ ...p, attributes: ORDERS }));

/** The warehouse's own counter, named by no pipeline: its second point's exemplar is RUN_BY_TRACE's trace. */
export const QUERIES = [
  { atMs: at(1), startMs: at(0), value: '100' },
  { atMs: at(2), startMs: at(0), value: '130', exemplarTrace: TRACE },
  { atMs: at(3), startMs: at(0), value: '150' },
];

/** 2^53 + 1: a JSON number would read it as 2^53. */
export const BIG = '9007199254740993';

/** Every metric of the world for `key`'s tenant; the other tenant gets rows.written of its own. */
async function postWorld(r: TestReceiver, key: string, otherKey: string): Promise<void> {
  const etl = { 'service.name': 'etl' };
  await postMetrics(r, key, metricsRequest(etl, [
    sum('rows.written', 2, true, [...ROWS_ORDERS, { atMs: at(1), startMs: at(0), value: '7', attributes: CUSTOMERS }]),
    sum('queue.depth', 2, false, [5, 2, 8].map((value, i) => ({ atMs: at(i + 1), startMs: at(0), value: String(value), attributes: ORDERS }))),
    sum('rows.rejected', 1, true, [3, 4].map((value, i) => ({ atMs: at(i + 2), startMs: at(i + 1), value: String(value), attributes: ORDERS }))),
    histogram('batch.duration', 2, DURATION_BOUNDS, DURATIONS),
    exponential('load.latency', [{ atMs: at(2), startMs: at(1), scale: 0, zero: 0, offset: 0, positive: [2, 2], attributes: ORDERS }]),
    gauge('memory.used', [{ atMs: at(1), value: BIG, attributes: ORDERS }, { atMs: at(2), value: 'NaN', attributes: ORDERS }, { atMs: at(3), value: 'Infinity', attributes: ORDERS }]),
    summary('step.latency', [{ atMs: at(2), startMs: at(1), count: 10, sum: 150, quantiles: [[0.5, 12], [0.99, 40]], attributes: ORDERS }]),
  ]));
  // A run named by the resource: its points carry no run attribute.
  await postMetrics(r, key, metricsRequest({ 'service.name': 'loader', ...runAttrs(RUN_BY_RESOURCE) }, [
    sum('files.seen', 2, true, [{ atMs: at(1), startMs: at(0), value: '4' }, { atMs: at(2), startMs: at(0), value: '9' }]),
  ]));
  await postMetrics(r, key, metricsRequest({ 'service.name': 'warehouse' }, [sum('queries.executed', 2, true, QUERIES)]));
  await postMetrics(r, key, metricsRequest({ 'service.name': 'ticker', [ATTR.pipelineName]: BUSY }, [
    gauge('ticks', Array.from({ length: BUSY_POINTS }, (_, i) => ({ atMs: at(10) + i * 1000, value: String(i) }))),
  ]));
  const run = await post(r.url, '/v1/logs', otlpJsonLogs(etl, [
    { eventName: EVENT.runStart, timeMs: at(0), attributes: runAttrs(RUN_BY_TRACE), traceId: TRACE, spanId: 'b7ad6b7169203331' },
  ]), { key, contentType: 'application/json' });
  if (run.status !== 200) throw new Error(`the receiver refused the run's records: ${run.status} ${run.body.toString('utf8')}`);
  await postMetrics(r, otherKey, metricsRequest(etl, [sum('rows.written', 2, true, [{ atMs: at(1), startMs: at(0), value: '999', attributes: ORDERS }]), gauge('secret', [{ atMs: at(1), value: '1', attributes: ORDERS }])]));
}

/** A suite's receiver with the world posted: `key` reads and writes the world's tenant, `otherKey` the other tenant's. */
export interface MetricWorld {
  readonly r: TestReceiver;
  readonly key: string;
  readonly otherKey: string;
}

/**
 * A receiver on `backend` with the world posted for two new tenants named after `suite`, started before the
 * suite's tests (a beforeAll the suite registers after this call may add to it) and stopped after them.
 * It is handed out before it starts (describe bodies run first), so it reads through to it.
 */
export function metricWorld(backend: { options(): Promise<ReceiverOptions> }, suite: string): MetricWorld {
  let r: TestReceiver | undefined;
  let keys: { key: string; otherKey: string } | undefined;
  beforeAll(async () => {
    r = await startTestReceiver(await backend.options());
    const suffix = randomBytes(3).toString('hex');
    const key = await r.keyFor(`${suite}-${suffix}`, ['ingest', 'read']);
    const otherKey = await r.keyFor(`${suite}-other-${suffix}`, ['ingest', 'read']);
    await postWorld(r, key, otherKey);
    keys = { key, otherKey };
  });
  afterAll(() => r?.close());
  const current = () => {
    if (!r || !keys) throw new Error('the metric world is posted in beforeAll: read it inside a test or a later hook, not in a describe body');
    return { r, ...keys };
  };
  return {
    get r() {
      return current().r;
    },
    get key() {
      return current().key;
    },
    get otherKey() {
      return current().otherKey;
    },
  };
}
