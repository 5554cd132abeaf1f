/**
 * OTLP/JSON decoder for ExportMetricsServiceRequest, as lenient as otlp-json.ts is for logs and spans
 * (lowerCamelCase or snake_case keys, 64-bit integers as strings or numbers, enums as numbers or names,
 * doubles also as "NaN", "Infinity" and "-Infinity", null as absent). Rows deep-equal the protobuf
 * decoder's for the same request; errors name the JSON path.
 */
import { DecodeError, type Exemplar, type ExponentialBuckets, type MetricKind, type MetricPointRow, type Resource, type Scope } from '../model/records.js';
import { newMetric, newPointRow } from './otlp-metric-rows.js';
import {
  array,
  attributesInto,
  decodeRequestJson,
  eachObject,
  enumNumbers,
  enumValue,
  fixed64,
  hexId,
  int64,
  kind,
  number,
  object,
  string,
  uint32,
  within,
  type Json,
  type JsonRequestKeys,
} from './otlp-json.js';

const METRICS: JsonRequestKeys = {
  resources: ['resourceMetrics', 'resource_metrics'],
  scopes: ['scopeMetrics', 'scope_metrics'],
  items: ['metrics', 'metrics'],
};

const TEMPORALITIES = enumNumbers('AGGREGATION_TEMPORALITY_', ['UNSPECIFIED', 'DELTA', 'CUMULATIVE']);

type PointReader = (p: Json, row: MetricPointRow) => void;

/** Metric's data keys (its oneof), each with its kind and how its points read. */
const DATA = new Map<string, { kind: MetricKind; point: PointReader }>([
  ['gauge', { kind: 'gauge', point: numberPoint }],
  ['sum', { kind: 'sum', point: numberPoint }],
  ['histogram', { kind: 'histogram', point: histogramPoint }],
  ['exponentialHistogram', { kind: 'exponential_histogram', point: exponentialPoint }],
  ['exponential_histogram', { kind: 'exponential_histogram', point: exponentialPoint }],
  ['summary', { kind: 'summary', point: summaryPoint }],
]);
const DATA_KEYS = new Set(DATA.keys());
const NUMBER_VALUES = new Set(['asDouble', 'as_double', 'asInt', 'as_int']);

/** Decodes an OTLP/JSON ExportMetricsServiceRequest into one row per data point, of every kind. */
export function decodeMetricsJson(text: string): MetricPointRow[] {
  return decodeRequestJson(text, METRICS, metric);
}

function metric(o: Json, resource: Resource, scope: Scope, rows: MetricPointRow[]): void {
  const m = newMetric();
  m.name = string(o.name, 'name');
  m.description = string(o.description, 'description');
  m.unit = string(o.unit, 'unit');
  attributesInto(m.metadata, o.metadata, 'metadata');
  // A oneof: as the protobuf decoder takes the last data field, take the last data key.
  const key = lastKey(o, DATA_KEYS);
  if (key === undefined) return;
  const { kind: metricKind, point } = DATA.get(key)!;
  m.kind = metricKind;
  try {
    const data = object(o[key], '');
    if (metricKind !== 'gauge' && metricKind !== 'summary') {
      m.temporality = enumValue(data.aggregationTemporality ?? data.aggregation_temporality, TEMPORALITIES, 'aggregationTemporality');
    }
    if (metricKind === 'sum') m.monotonic = boolean(data.isMonotonic ?? data.is_monotonic, 'isMonotonic');
    const points = array(data.dataPoints ?? data.data_points, 'dataPoints');
    for (let i = 0; i < points.length; i++) {
      const p = object(points[i], `dataPoints[${i}]`);
      const row = newPointRow(resource, scope, m, metricKind);
      try {
        point(p, row);
      } catch (e) {
        throw within(e, `dataPoints[${i}]`);
      }
      rows.push(row);
    }
  } catch (e) {
    throw within(e, key);
  }
}

/** The fields every kind of point has. */
function commonFields(p: Json, row: MetricPointRow): void {
  attributesInto(row.attributes, p.attributes);
  row.startTimeUnixNano = fixed64(p.startTimeUnixNano ?? p.start_time_unix_nano, 'startTimeUnixNano');
  row.timeUnixNano = fixed64(p.timeUnixNano ?? p.time_unix_nano, 'timeUnixNano');
  row.flags = uint32(p.flags, 'flags');
}

/** NumberDataPoint, of a Gauge or a Sum. */
function numberPoint(p: Json, row: MetricPointRow): void {
  commonFields(p, row);
  const key = lastKey(p, NUMBER_VALUES);
  if (key === 'asDouble' || key === 'as_double') row.asDouble = number(p[key], 'asDouble');
  else if (key !== undefined) row.asInt = String(int64(p[key], 'asInt'));
  row.exemplars = exemplars(p);
}

function histogramPoint(p: Json, row: MetricPointRow): void {
  commonFields(p, row);
  row.count = fixed64(p.count, 'count');
  row.sum = optionalNumber(p.sum, 'sum');
  row.bucketCounts = each(p.bucketCounts ?? p.bucket_counts, 'bucketCounts', fixed64);
  row.explicitBounds = each(p.explicitBounds ?? p.explicit_bounds, 'explicitBounds', number);
  row.min = optionalNumber(p.min, 'min');
  row.max = optionalNumber(p.max, 'max');
  row.exemplars = exemplars(p);
}

function exponentialPoint(p: Json, row: MetricPointRow): void {
  commonFields(p, row);
  row.count = fixed64(p.count, 'count');
  row.sum = optionalNumber(p.sum, 'sum');
  row.min = optionalNumber(p.min, 'min');
  row.max = optionalNumber(p.max, 'max');
  row.exponential = {
    scale: int32(p.scale, 'scale'),
    zeroCount: fixed64(p.zeroCount ?? p.zero_count, 'zeroCount'),
    zeroThreshold: optionalNumber(p.zeroThreshold ?? p.zero_threshold, 'zeroThreshold') ?? 0,
    positive: buckets(p.positive, 'positive'),
    negative: buckets(p.negative, 'negative'),
  };
  row.exemplars = exemplars(p);
}

function buckets(v: unknown, path: string): ExponentialBuckets {
  if (v === undefined || v === null) return { offset: 0, bucketCounts: [] };
  try {
    const o = object(v, '');
    return { offset: int32(o.offset, 'offset'), bucketCounts: each(o.bucketCounts ?? o.bucket_counts, 'bucketCounts', fixed64) };
  } catch (e) {
    throw within(e, path);
  }
}

function summaryPoint(p: Json, row: MetricPointRow): void {
  commonFields(p, row);
  row.count = fixed64(p.count, 'count');
  row.sum = optionalNumber(p.sum, 'sum') ?? 0;
  row.quantileValues = eachObject(p.quantileValues ?? p.quantile_values, 'quantileValues', (q) => ({
    quantile: optionalNumber(q.quantile, 'quantile') ?? 0,
    value: optionalNumber(q.value, 'value') ?? 0,
  }));
}

function exemplars(p: Json): Exemplar[] {
  return eachObject(p.exemplars, 'exemplars', (o) => {
    const key = lastKey(o, NUMBER_VALUES);
    const filteredAttributes = {};
    attributesInto(filteredAttributes, o.filteredAttributes ?? o.filtered_attributes, 'filteredAttributes');
    return {
      filteredAttributes,
      timeUnixNano: fixed64(o.timeUnixNano ?? o.time_unix_nano, 'timeUnixNano'),
      value: key === undefined ? null : key === 'asDouble' || key === 'as_double' ? number(o[key], 'asDouble') : int64(o[key], 'asInt'),
      traceId: hexId(o.traceId ?? o.trace_id, 'traceId'),
      spanId: hexId(o.spanId ?? o.span_id, 'spanId'),
    };
  });
}

/** The last of `keys` set (not null) in `o`, in the order its keys were written: how a oneof decodes. */
function lastKey(o: Json, keys: ReadonlySet<string>): string | undefined {
  let last: string | undefined;
  for (const key of Object.keys(o)) {
    if (keys.has(key) && o[key] !== null && o[key] !== undefined) last = key;
  }
  return last;
}

/** A repeated scalar, each item read by `read` under its index's path. */
function each<T>(v: unknown, name: string, read: (item: unknown, path: string) => T): T[] {
  const items = array(v, name);
  const out: T[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) out[i] = read(items[i], `${name}[${i}]`);
  return out;
}

function optionalNumber(v: unknown, path: string): number | null {
  return v === undefined || v === null ? null : number(v, path);
}

/** An int32 or sint32: an integer as a number or decimal string. */
function int32(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && INTEGER.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff) return n === 0 ? 0 : n;
  throw new DecodeError(`${path}: expected a 32-bit integer (number or string), got ${kind(v)}`);
}
const INTEGER = /^-?[0-9]+$/;

function boolean(v: unknown, path: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  throw new DecodeError(`${path}: expected a boolean, got ${kind(v)}`);
}
