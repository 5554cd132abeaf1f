/**
 * Metric points as the query API shows them (GET /api/v1/metric-names and /api/v1/metric-points, as=value),
 * flattened one object a point with its series' fields (ApiPoint), and what an SDK exported (PointFacts)
 * in the same shape, as the API documents it: integers as numbers up to 2^53 and as decimal strings past it,
 * doubles JSON cannot hold as "NaN" and "±Infinity", a gauge's or sum's as_int and as_double both `value`.
 */
import type { Attributes } from '@opentelemetry/api';
import { expect } from 'vitest';
import type { MetricPoint, MetricPointSeries } from '../../receiver/query/api-types.js';
import { api } from './api.js';
import { inPointOrder, sortedPoints, type ExponentialValue, type HistogramValue, type NumberValue, type PointFacts } from './metrics-sdk.js';
import type { TestReceiver } from './receiver.js';
import { storedPoints } from './stored-points.js';

type SeriesFields = Pick<MetricPointSeries, 'metric' | 'kind' | 'unit' | 'description' | 'temporality' | 'monotonic' | 'attributes' | 'explicit_bounds'>;
type PointFields = Omit<MetricPoint, 'time'>;

export interface ApiPoint extends SeriesFields, PointFields {
  resource: Record<string, unknown>;
  scope: { name: string; version: string };
}

/** Independent of the receiver's own formatting, so that a mistake there shows. */
const integer = (decimal: string) => (Number.isSafeInteger(Number(decimal)) ? Number(decimal) : decimal);
const double = (d: number) => (Number.isFinite(d) ? d : String(d));
const nullable = (d: number | null) => (d === null ? null : double(d));

const TEMPORALITIES = [null, 'delta', 'cumulative'] as const;

/** A point the SDK exported as the API must show it. */
export function apiPointOf(p: PointFacts): ApiPoint {
  const histogram = p.kind === 'histogram' ? (p.value as HistogramValue) : null;
  const number = p.kind === 'gauge' || p.kind === 'sum' ? (p.value as NumberValue) : null;
  const counted = number === null ? (p.value as HistogramValue | ExponentialValue) : null;
  const exponential = p.kind === 'exponential_histogram' ? (p.value as ExponentialValue) : null;
  const buckets = (b: ExponentialValue['positive']) => ({ offset: b.offset, bucket_counts: b.bucketCounts.map(integer) });
  return {
    metric: p.metric,
    kind: p.kind,
    unit: p.unit,
    description: p.description,
    temporality: TEMPORALITIES[p.temporality]!,
    monotonic: p.monotonic,
    attributes: p.attributes,
    explicit_bounds: histogram && histogram.explicitBounds.map(double),
    resource: p.resource,
    scope: p.scope,
    time_unix_nano: p.timeUnixNano,
    start_time_unix_nano: p.startTimeUnixNano === '0' ? null : p.startTimeUnixNano,
    flags: 0,
    value: number && (number.asInt !== null ? integer(number.asInt) : nullable(number.asDouble)),
    count: counted && integer(counted.count),
    sum: counted && nullable(counted.sum),
    min: counted && nullable(counted.min),
    max: counted && nullable(counted.max),
    bucket_counts: histogram && histogram.bucketCounts.length > 0 ? histogram.bucketCounts.map(integer) : null,
    exponential: exponential && {
      scale: exponential.scale,
      zero_count: integer(exponential.zeroCount),
      zero_threshold: double(exponential.zeroThreshold),
      positive: buckets(exponential.positive),
      negative: buckets(exponential.negative),
    },
    quantile_values: null,
    exemplars: [],
  };
}

/** What the SDK exported as the API must show it, in apiPoints' order. */
export const apiPointsOf = (points: PointFacts[]): ApiPoint[] => sortedPoints(points).map(apiPointOf);

/** Every point of a pipeline's or a run's metrics through the API (`scope`: 'pipeline=...' or 'run_id=...'), in sortedPoints' order. */
export async function apiPoints(url: string, key: string, scope: string): Promise<ApiPoint[]> {
  const names = await api(url, `/api/v1/metric-names?${scope}`, { key });
  expect(names.status, names.text).toBe(200);
  const points: ApiPoint[] = [];
  for (const name of new Set<string>(names.body.items.map((item: { name: string }) => item.name))) {
    const answer = await api(url, `/api/v1/metric-points?${scope}&metric=${encodeURIComponent(name)}`, { key });
    expect(answer.status, answer.text).toBe(200);
    for (const series of answer.body.series as MetricPointSeries[]) {
      const { metric, kind, unit, description, temporality, monotonic, attributes, explicit_bounds } = series;
      const shared = { metric, kind, unit, description, temporality, monotonic, attributes, explicit_bounds };
      const where = { resource: series.resource.attributes, scope: { name: series.scope.name, version: series.scope.version } };
      for (const { time: _iso, ...point } of series.points as MetricPoint[]) points.push({ ...shared, ...where, ...point });
    }
  }
  return inPointOrder(points, (p) => [p.metric, p.time_unix_nano, p.attributes as Attributes]);
}

/**
 * The points stored of `service` equal `exported`: in the database, and through the API by their pipeline,
 * which `service` also names. Returns what the API answered.
 */
export async function expectStored(r: TestReceiver, service: string, exported: PointFacts[]): Promise<ApiPoint[]> {
  expect(await storedPoints(r.receiver.db, service)).toEqual(exported);
  const read = await apiPoints(r.url, r.key, `pipeline=${service}`);
  expect(read).toEqual(apiPointsOf(exported));
  return read;
}
