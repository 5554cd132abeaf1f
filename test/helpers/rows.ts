/** Log, span and metric point rows as the decoders make them (receiver/model/records.ts), written by hand: a test names only what it sets. */
import type { LogRow, Metric, MetricPointRow, Resource, SpanRow } from '../../receiver/model/records.js';

/** When a row happened unless a test says otherwise. */
export const ROW_TIME_MS = Date.UTC(2026, 10, 30, 12);

/** Milliseconds as the nanosecond strings OTLP times are. */
export const nanos = (ms: number) => `${ms}000000`;

/** A resource of these attributes, as the decoders make it. */
export const rowResource = (attributes: Resource['attributes']): Resource => ({ attributes, schemaUrl: '', droppedAttributesCount: 0 });

const resource = rowResource({ 'service.name': 'orders' });
const scope = { name: 's', version: '', attributes: {}, schemaUrl: '' };

export function logRow(extra: Partial<LogRow> = {}): LogRow {
  return {
    resource,
    scope,
    timeUnixNano: nanos(ROW_TIME_MS),
    observedTimeUnixNano: '0',
    severityNumber: 9,
    severityText: 'INFO',
    body: 'ok',
    attributes: {},
    droppedAttributesCount: 0,
    flags: 0,
    traceId: '',
    spanId: '',
    eventName: '',
    ...extra,
  };
}

/** A span of one second from ROW_TIME_MS unless `extra` says otherwise. */
export function spanRow(extra: Partial<SpanRow> = {}): SpanRow {
  return {
    resource,
    scope,
    traceId: 'a'.repeat(32),
    spanId: 'b'.repeat(16),
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: 'load',
    kind: 1,
    startTimeUnixNano: nanos(ROW_TIME_MS),
    endTimeUnixNano: nanos(ROW_TIME_MS + 1000),
    attributes: {},
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: '',
    ...extra,
  };
}

/** A metric's description: a cumulative monotonic sum named `records` unless `extra` says otherwise. */
export function metricOf(extra: Partial<Metric> = {}): Metric {
  return { name: 'records', description: '', unit: '1', kind: 'sum', temporality: 2, monotonic: true, metadata: {}, ...extra };
}

/** A data point at ROW_TIME_MS of `metric` (a new cumulative sum unless given), valued 1 unless `extra` says otherwise. */
export function pointRow(extra: Partial<MetricPointRow> = {}): MetricPointRow {
  return {
    resource,
    scope,
    metric: metricOf(),
    attributes: {},
    startTimeUnixNano: nanos(ROW_TIME_MS - 60_000),
    timeUnixNano: nanos(ROW_TIME_MS),
    flags: 0,
    asDouble: null,
    asInt: '1',
    count: '0',
    sum: null,
    min: null,
    max: null,
    bucketCounts: [],
    explicitBounds: [],
    exponential: null,
    quantileValues: [],
    exemplars: [],
    ...extra,
  };
}
