/**
 * The OpenTelemetry JS metrics SDK as an application runs it: a MeterProvider with every instrument kind,
 * an exporter wrapped to keep what it was handed, and that data as the OTLP fields a receiver must store
 * (PointFacts), so that a test compares the points stored with the points the SDK exported. Requests of
 * points made by hand (values no instrument records) are serialized by the exporters' own serializers.
 */
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, millisToHrTime, type ExportResult } from '@opentelemetry/core';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type ExponentialHistogram,
  type MetricData,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { expect } from 'vitest';
import type { MetricKind, MetricPointRow } from '../../receiver/model/records.js';
import { sleep } from './async.js';

/**
 * One data point as OTLP has it, whatever the kind: what the SDK exported and what a receiver stored
 * both read into this. 64-bit integers are decimal strings; `value` holds the fields of the kind alone.
 */
export interface PointFacts {
  metric: string;
  description: string;
  unit: string;
  kind: MetricKind;
  /** OTLP AggregationTemporality: 0 for gauges, 1 delta, 2 cumulative. */
  temporality: number;
  monotonic: boolean;
  resource: Attributes;
  scope: { name: string; version: string };
  attributes: Attributes;
  /** '0' when the point has none. */
  startTimeUnixNano: string;
  timeUnixNano: string;
  value: NumberValue | HistogramValue | ExponentialValue;
}

/** A point's value fields as the decoders make them (MetricPointRow), for the kinds an SDK exports. */
export type NumberValue = Pick<MetricPointRow, 'asDouble' | 'asInt'>;
export type HistogramValue = Pick<MetricPointRow, 'count' | 'sum' | 'min' | 'max' | 'bucketCounts' | 'explicitBounds'>;
export type ExponentialValue = Pick<MetricPointRow, 'count' | 'sum' | 'min' | 'max'> & NonNullable<MetricPointRow['exponential']>;

/** An exporter that keeps each batch it was handed, and every export that did not succeed. */
export interface Capturing {
  exporter: PushMetricExporter;
  exported: ResourceMetrics[];
  failures: Error[];
}

export function capturing(inner: PushMetricExporter): Capturing {
  const exported: ResourceMetrics[] = [];
  const failures: Error[] = [];
  const exporter: PushMetricExporter = {
    export(metrics, done) {
      exported.push(metrics);
      inner.export(metrics, (result: ExportResult) => {
        if (result.code !== ExportResultCode.SUCCESS) failures.push(result.error ?? new Error('export failed without an error'));
        done(result);
      });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    // The temporality and aggregation the exporter asks for (the OTLP exporters' temporalityPreference).
    selectAggregationTemporality: inner.selectAggregationTemporality?.bind(inner),
    selectAggregation: inner.selectAggregation?.bind(inner),
  };
  return { exporter, exported, failures };
}

/** The exponential histogram's instrument: a view gives it the exponential aggregation. */
const EXPONENTIAL_NAME = 'load.latency';

/** A MeterProvider's instruments of every kind: a round of measurements on all, exported when flushed. */
interface EveryKind {
  /** Records round `n`'s values (different each round) and sets what the observables report next. */
  record(n: number): void;
  /** Exports what was recorded, and waits for the exporter's answer. */
  flush(): Promise<void>;
  /** Shuts the provider down, which collects and exports once more. */
  close(): Promise<void>;
}

/** Every instrument kind of the metrics API, with integer and double values and attributes of every type. */
function everyKind(resource: Resource, exporter: PushMetricExporter, scope = 'pipemon-test'): EveryKind {
  // A long interval: the test's flushes export, never a timer in the middle of a round.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000, exportTimeoutMillis: 30_000 });
  const provider = new MeterProvider({
    resource,
    readers: [reader],
    views: [{ instrumentName: EXPONENTIAL_NAME, aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter(scope, '1.2.3');
  const rows = meter.createCounter('rows.read', { unit: '{row}', description: 'rows read', valueType: ValueType.INT });
  const bytes = meter.createCounter('bytes.written', { unit: 'By' });
  const queue = meter.createUpDownCounter('queue.depth', { valueType: ValueType.INT });
  const seconds = meter.createHistogram('batch.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1, 5] } });
  const latency = meter.createHistogram(EXPONENTIAL_NAME, { unit: 'ms' });
  const temperature = meter.createGauge('disk.temperature', { unit: 'Cel' });
  let observed = 0;
  meter.createObservableGauge('memory.used', { unit: 'By', valueType: ValueType.INT }).addCallback((o) => o.observe(1_000_000 + observed, { pool: 'heap' }));
  meter.createObservableCounter('files.seen').addCallback((o) => o.observe(10.5 * observed, { dir: '/in' }));
  meter.createObservableUpDownCounter('workers.busy', { valueType: ValueType.INT }).addCallback((o) => {
    o.observe(observed % 3, { role: 'loader' });
    o.observe(-observed, { role: 'checker' });
  });
  const orders: Attributes = { table: 'orders', 'batch.size': 500, 'batch.ratio': 0.25, retried: false, tags: ['eu', 'nightly'] };
  return {
    record(n) {
      observed = n;
      rows.add(100 * n, orders);
      rows.add(7, { table: 'customers' });
      bytes.add(1.5 * n, { format: 'parquet' });
      queue.add(n % 2 === 0 ? -3 : 5, { queue: 'ingest' });
      for (const s of [0.05, 0.5, 0.5 * n, 2, 9 * n]) seconds.record(s, { step: 'load' });
      for (const ms of [0, 0.25, 1, 3 * n, 1024, 1e6]) latency.record(ms, { route: '/v1/metrics' });
      temperature.record(40 + n / 4, { disk: 'sda' });
    },
    // The SDK times points to the millisecond: two collections in one would be one point, stored once.
    flush: async () => {
      await sleep(2);
      await provider.forceFlush();
    },
    close: async () => {
      await sleep(2);
      await provider.shutdown();
    },
  };
}

/**
 * Two rounds of every instrument kind of `resource` exported through `capture`, each flushed, then a shutdown
 * (a third collection): every point the exporter was handed, in sortedPoints' order.
 */
export async function exportEveryKind(resource: Resource, capture: Capturing, scope?: string): Promise<PointFacts[]> {
  const kinds = everyKind(resource, capture.exporter, scope);
  for (const n of [1, 2]) {
    kinds.record(n);
    await kinds.flush();
  }
  await kinds.close();
  expect(capture.failures).toEqual([]);
  return sortedPoints(exportedPoints(capture.exported));
}

/** What the SDK exported, point by point, as the OTLP fields of PointFacts. */
export function exportedPoints(batches: ResourceMetrics[]): PointFacts[] {
  return batches.flatMap(({ resource, scopeMetrics }) =>
    scopeMetrics.flatMap(({ scope, metrics }) =>
      metrics.flatMap((metric) =>
        (metric.dataPoints as DataPoint<unknown>[]).map((point) => ({
          ...descriptionOf(metric),
          resource: resource.attributes,
          scope: { name: scope.name, version: scope.version ?? '' },
          attributes: point.attributes,
          startTimeUnixNano: hrNanos(point.startTime),
          timeUnixNano: hrNanos(point.endTime),
          value: valueOf(metric, point.value),
        })),
      ),
    ),
  );
}

const KINDS: Record<DataPointType, MetricKind> = {
  [DataPointType.GAUGE]: 'gauge',
  [DataPointType.SUM]: 'sum',
  [DataPointType.HISTOGRAM]: 'histogram',
  [DataPointType.EXPONENTIAL_HISTOGRAM]: 'exponential_histogram',
};

function descriptionOf(metric: MetricData): Pick<PointFacts, 'metric' | 'description' | 'unit' | 'kind' | 'temporality' | 'monotonic'> {
  const { name, description, unit } = metric.descriptor;
  const kind = KINDS[metric.dataPointType];
  // OTLP has no temporality for a gauge; the SDK's DELTA and CUMULATIVE are OTLP's 1 and 2.
  const temporality = kind === 'gauge' ? 0 : metric.aggregationTemporality === AggregationTemporality.DELTA ? 1 : 2;
  const monotonic = metric.dataPointType === DataPointType.SUM && metric.isMonotonic;
  return { metric: name, description, unit, kind, temporality, monotonic };
}

/** An HrTime as exact nanoseconds. */
const hrNanos = ([seconds, nanos]: [number, number]) => String(BigInt(seconds) * 1_000_000_000n + BigInt(nanos));

const counts = (values: number[]) => values.map(String);

function valueOf(metric: MetricData, value: unknown): PointFacts['value'] {
  if (metric.dataPointType === DataPointType.GAUGE || metric.dataPointType === DataPointType.SUM) {
    // As the OTLP exporters send it: as_int for an INT instrument, as_double otherwise.
    const n = value as number;
    return metric.descriptor.valueType === ValueType.INT ? { asDouble: null, asInt: String(n) } : { asDouble: n, asInt: null };
  }
  const h = value as Histogram | ExponentialHistogram;
  const common = { count: String(h.count), sum: h.sum ?? null, min: h.min ?? null, max: h.max ?? null };
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    const { buckets } = h as Histogram;
    return { ...common, bucketCounts: counts(buckets.counts), explicitBounds: buckets.boundaries };
  }
  const e = h as ExponentialHistogram;
  return {
    ...common,
    scale: e.scale,
    zeroCount: String(e.zeroCount),
    // The SDK has no zero threshold: it sends none, which is 0.
    zeroThreshold: 0,
    positive: { offset: e.positive.offset, bucketCounts: counts(e.positive.bucketCounts) },
    negative: { offset: e.negative.offset, bucketCounts: counts(e.negative.bucketCounts) },
  };
}

/** Points of any shape in one order whatever the order they came in: by metric, time and attributes, as `fields` reads them. */
export function inPointOrder<T>(points: T[], fields: (p: T) => [metric: string, timeUnixNano: string, attributes: Attributes]): T[] {
  const key = (p: T) => {
    const [metric, time, attributes] = fields(p);
    return `${metric}\u0000${time.padStart(20, '0')}\u0000${canonical(attributes)}`;
  };
  return [...points].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export const sortedPoints = (points: PointFacts[]) => inPointOrder(points, (p) => [p.metric, p.timeUnixNano, p.attributes]);

/** JSON with object keys sorted: attributes read back from jsonb come in another key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Nanoseconds added to each hand-made point's time: every point is its own, never a resend of another. */
let madeNanos = 0;

/** A point ending now (plus a few nanoseconds more than the last one made), started a minute before. */
function madeTimes(): { startTime: HrTime; endTime: HrTime } {
  const [seconds, nanos] = millisToHrTime(Date.now());
  const end = BigInt(seconds) * 1_000_000_000n + BigInt(nanos) + BigInt(++madeNanos);
  const hr = (n: bigint): HrTime => [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
  return { startTime: hr(end - 60_000_000_000n), endTime: hr(end) };
}

const descriptor = (name: string, valueType: ValueType) => ({ name, description: '', unit: '', valueType });

/** A cumulative, monotonic sum (an INT one for integer values) or a gauge of one point per value. */
export function numberMetric(name: string, values: number[], options: { gauge?: boolean; attributes?: Attributes } = {}): MetricData {
  const valueType = values.every(Number.isSafeInteger) ? ValueType.INT : ValueType.DOUBLE;
  const dataPoints = values.map((value) => ({ ...madeTimes(), attributes: options.attributes ?? {}, value }));
  const base = { descriptor: descriptor(name, valueType), aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints };
  return options.gauge ? { ...base, dataPointType: DataPointType.GAUGE } : { ...base, dataPointType: DataPointType.SUM, isMonotonic: true };
}

/** A cumulative histogram of one point per value, counts and bounds as given (matching or not). */
export function histogramMetric(name: string, values: Histogram[], attributes: Attributes = {}): MetricData {
  return {
    descriptor: descriptor(name, ValueType.DOUBLE),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: values.map((value) => ({ ...madeTimes(), attributes, value })),
  };
}

/** A histogram point of these bucket counts and bounds, its count their sum. */
export const histogram = (counts: number[], boundaries: number[], sum = 1): Histogram => ({
  buckets: { counts, boundaries },
  count: counts.reduce((a, b) => a + b, 0),
  sum,
  min: 0,
  max: sum,
});

/** One resource (service.name `service` and `attributes`) and scope holding `metrics`. */
export function metricsOf(service: string, metrics: MetricData[], attributes: Attributes = {}): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': service, ...attributes }),
    scopeMetrics: [{ scope: { name: 'pipemon-test', version: '0.1.0' }, metrics }],
  };
}

/** The points of a request (metricsOf) in sortedPoints' order: what a receiver stores of it. */
export const pointsOf = (request: ResourceMetrics) => sortedPoints(exportedPoints([request]));

/** The request body the OTLP/HTTP exporters send: protobuf (exporter-metrics-otlp-proto) or JSON (-http). */
export function metricsBody(metrics: ResourceMetrics, format: 'protobuf' | 'json' = 'protobuf'): Buffer {
  const serializer = format === 'protobuf' ? ProtobufMetricsSerializer : JsonMetricsSerializer;
  return Buffer.from(serializer.serializeRequest(metrics)!);
}

/** An ExportMetricsServiceResponse as the exporters read it: rejected points and the message of a partial success. */
export function metricsAnswer(body: Uint8Array, format: 'protobuf' | 'json' = 'protobuf') {
  const serializer = format === 'protobuf' ? ProtobufMetricsSerializer : JsonMetricsSerializer;
  return serializer.deserializeResponse(body).partialSuccess ?? {};
}
