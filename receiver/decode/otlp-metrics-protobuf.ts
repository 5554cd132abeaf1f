/**
 * Hand-written decoder for ExportMetricsServiceRequest (opentelemetry/proto/metrics/v1/metrics.proto),
 * straight into one row per data point, as otlp-protobuf.ts decodes logs and spans: the request's levels,
 * Resource, Scope and KeyValue are read there, the wire format in protobuf-reader.ts. Each Metric becomes
 * one object, shared by its rows; its kind's message may set temporality after its points, which the
 * shared object still takes.
 */
import {
  type Exemplar,
  type ExponentialBuckets,
  type Metric,
  type MetricKind,
  type MetricPointRow,
  type Resource,
  type Scope,
} from '../model/records.js';
import { newMetric, newPointRow } from './otlp-metric-rows.js';
import { decodeRequest, keyValue, type RequestNames } from './otlp-protobuf.js';
import { int64Value } from './otlp-values.js';
import {
  I64,
  LEN,
  NONE,
  VARINT,
  Reader,
  double,
  fixed,
  fixed64,
  hex,
  lenEnd,
  packed,
  sint32,
  skipField,
  string,
  tag,
  uint64,
  varint,
} from './protobuf-reader.js';

const METRICS: RequestNames = { request: 'ExportMetricsServiceRequest', resource: 'ResourceMetrics', scope: 'ScopeMetrics' };

// Declared wire type of each field number of a message (see protobuf-reader.ts). Metric's 4, 6 and 8
// (int_gauge, int_sum, int_histogram, removed from OTLP) and the points' 1 (labels, removed) are skipped.
const METRIC = [NONE, LEN, LEN, LEN, NONE, LEN, NONE, LEN, NONE, LEN, LEN, LEN, LEN];
const NUMBER_POINT = [NONE, NONE, I64, I64, I64, LEN, I64, LEN, VARINT];
const HISTOGRAM_POINT = [NONE, NONE, I64, I64, I64, I64, LEN, LEN, LEN, LEN, VARINT, I64, I64];
const EXPONENTIAL_POINT = [NONE, LEN, I64, I64, I64, I64, VARINT, I64, LEN, LEN, VARINT, LEN, I64, I64, I64];
const BUCKETS = [NONE, VARINT, LEN];
const SUMMARY_POINT = [NONE, NONE, I64, I64, I64, I64, LEN, LEN, VARINT];
const QUANTILE = [NONE, I64, I64];
const EXEMPLAR = [NONE, NONE, I64, I64, LEN, LEN, I64, LEN];

type PointReader = (r: Reader, end: number, row: MetricPointRow) => void;

/** One of Metric's data messages: {data_points = 1}, Sum and the histograms also aggregation_temporality = 2, Sum is_monotonic = 3. */
interface DataKind {
  kind: MetricKind;
  msg: string;
  wires: readonly number[];
  point: PointReader;
}
const GAUGE: DataKind = { kind: 'gauge', msg: 'Gauge', wires: [NONE, LEN], point: numberPoint };
const SUM: DataKind = { kind: 'sum', msg: 'Sum', wires: [NONE, LEN, VARINT, VARINT], point: numberPoint };
const HISTOGRAM: DataKind = { kind: 'histogram', msg: 'Histogram', wires: [NONE, LEN, VARINT], point: histogramPoint };
const EXPONENTIAL: DataKind = {
  kind: 'exponential_histogram',
  msg: 'ExponentialHistogram',
  wires: [NONE, LEN, VARINT],
  point: exponentialPoint,
};
const SUMMARY: DataKind = { kind: 'summary', msg: 'Summary', wires: [NONE, LEN], point: summaryPoint };

/** Decodes an ExportMetricsServiceRequest into one row per data point, of every kind. */
export function decodeMetricsProtobuf(buf: Uint8Array): MetricPointRow[] {
  return decodeRequest(buf, METRICS, metric);
}

function metric(r: Reader, end: number, resource: Resource, scope: Scope, rows: MetricPointRow[]): void {
  const m = newMetric();
  const first = rows.length;
  let kind: DataKind | null = null;
  while (r.pos < end) {
    const t = tag(r, end, 'Metric');
    let next: DataKind;
    switch (t) {
      case 10: // name = 1
        m.name = string(r, end, 1, 'Metric');
        continue;
      case 18: // description = 2
        m.description = string(r, end, 2, 'Metric');
        continue;
      case 26: // unit = 3
        m.unit = string(r, end, 3, 'Metric');
        continue;
      case 98: // metadata = 12
        keyValue(r, lenEnd(r, end, 12, 'Metric'), m.metadata, 1);
        continue;
      case 42: // gauge = 5
        next = GAUGE;
        break;
      case 58: // sum = 7
        next = SUM;
        break;
      case 74: // histogram = 9
        next = HISTOGRAM;
        break;
      case 82: // exponential_histogram = 10
        next = EXPONENTIAL;
        break;
      case 90: // summary = 11
        next = SUMMARY;
        break;
      default:
        skipField(r, end, t, METRIC, 'Metric');
        continue;
    }
    // `data` is a oneof: another kind replaces what came before (its points too), the same kind merges.
    if (kind !== next) {
      rows.length = first;
      m.temporality = 0;
      m.monotonic = false;
      m.kind = next.kind;
      kind = next;
    }
    data(r, lenEnd(r, end, t >>> 3, 'Metric'), next, resource, scope, m, rows);
  }
}

function data(r: Reader, end: number, kind: DataKind, resource: Resource, scope: Scope, m: Metric, rows: MetricPointRow[]): void {
  const msg = kind.msg;
  while (r.pos < end) {
    const t = tag(r, end, msg);
    if (t === 10) {
      // data_points = 1
      const row = newPointRow(resource, scope, m, kind.kind);
      kind.point(r, lenEnd(r, end, 1, msg), row);
      rows.push(row);
    } else if (t === 16 && kind.wires[2] === VARINT) {
      // aggregation_temporality = 2, enum
      m.temporality = varint(r, end, 2, msg) | 0;
    } else if (t === 24 && kind.wires[3] === VARINT) {
      // is_monotonic = 3
      const lo = varint(r, end, 3, msg);
      m.monotonic = (lo | r.hi) !== 0;
    } else {
      skipField(r, end, t, kind.wires, msg);
    }
  }
}

/** NumberDataPoint, of a Gauge or a Sum. */
function numberPoint(r: Reader, end: number, row: MetricPointRow): void {
  const msg = 'NumberDataPoint';
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 17: // start_time_unix_nano = 2, fixed64
        row.startTimeUnixNano = fixed64(r, end, 2, msg);
        break;
      case 25: // time_unix_nano = 3, fixed64
        row.timeUnixNano = fixed64(r, end, 3, msg);
        break;
      case 33: // as_double = 4 (a oneof with as_int: the last one wins)
        row.asDouble = double(r, end, 4, msg);
        row.asInt = null;
        break;
      case 42: // exemplars = 5
        row.exemplars.push(exemplar(r, lenEnd(r, end, 5, msg)));
        break;
      case 49: // as_int = 6, sfixed64
        row.asInt = String(sfixed64(r, end, 6, msg));
        row.asDouble = null;
        break;
      case 58: // attributes = 7
        keyValue(r, lenEnd(r, end, 7, msg), row.attributes, 1);
        break;
      case 64: // flags = 8, uint32
        row.flags = varint(r, end, 8, msg);
        break;
      default:
        skipField(r, end, t, NUMBER_POINT, msg);
    }
  }
}

function histogramPoint(r: Reader, end: number, row: MetricPointRow): void {
  const msg = 'HistogramDataPoint';
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 17: // start_time_unix_nano = 2
        row.startTimeUnixNano = fixed64(r, end, 2, msg);
        break;
      case 25: // time_unix_nano = 3
        row.timeUnixNano = fixed64(r, end, 3, msg);
        break;
      case 33: // count = 4, fixed64
        row.count = fixed64(r, end, 4, msg);
        break;
      case 41: // sum = 5, optional double
        row.sum = double(r, end, 5, msg);
        break;
      case 50: // bucket_counts = 6, repeated fixed64: packed
        packed(r, end, 6, msg, row.bucketCounts, fixed64);
        break;
      case 49: // bucket_counts, one per tag
        row.bucketCounts.push(fixed64(r, end, 6, msg));
        break;
      case 58: // explicit_bounds = 7, repeated double: packed
        packed(r, end, 7, msg, row.explicitBounds, double);
        break;
      case 57: // explicit_bounds, one per tag
        row.explicitBounds.push(double(r, end, 7, msg));
        break;
      case 66: // exemplars = 8
        row.exemplars.push(exemplar(r, lenEnd(r, end, 8, msg)));
        break;
      case 74: // attributes = 9
        keyValue(r, lenEnd(r, end, 9, msg), row.attributes, 1);
        break;
      case 80: // flags = 10
        row.flags = varint(r, end, 10, msg);
        break;
      case 89: // min = 11, optional double
        row.min = double(r, end, 11, msg);
        break;
      case 97: // max = 12, optional double
        row.max = double(r, end, 12, msg);
        break;
      default:
        skipField(r, end, t, HISTOGRAM_POINT, msg);
    }
  }
}

function exponentialPoint(r: Reader, end: number, row: MetricPointRow): void {
  const msg = 'ExponentialHistogramDataPoint';
  const exponential = row.exponential!;
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 10: // attributes = 1
        keyValue(r, lenEnd(r, end, 1, msg), row.attributes, 1);
        break;
      case 17: // start_time_unix_nano = 2
        row.startTimeUnixNano = fixed64(r, end, 2, msg);
        break;
      case 25: // time_unix_nano = 3
        row.timeUnixNano = fixed64(r, end, 3, msg);
        break;
      case 33: // count = 4, fixed64
        row.count = fixed64(r, end, 4, msg);
        break;
      case 41: // sum = 5, optional double
        row.sum = double(r, end, 5, msg);
        break;
      case 48: // scale = 6, sint32
        exponential.scale = sint32(r, end, 6, msg);
        break;
      case 57: // zero_count = 7, fixed64
        exponential.zeroCount = fixed64(r, end, 7, msg);
        break;
      case 66: // positive = 8
        buckets(r, lenEnd(r, end, 8, msg), exponential.positive);
        break;
      case 74: // negative = 9
        buckets(r, lenEnd(r, end, 9, msg), exponential.negative);
        break;
      case 80: // flags = 10
        row.flags = varint(r, end, 10, msg);
        break;
      case 90: // exemplars = 11
        row.exemplars.push(exemplar(r, lenEnd(r, end, 11, msg)));
        break;
      case 97: // min = 12, optional double
        row.min = double(r, end, 12, msg);
        break;
      case 105: // max = 13, optional double
        row.max = double(r, end, 13, msg);
        break;
      case 113: // zero_threshold = 14, double
        exponential.zeroThreshold = double(r, end, 14, msg);
        break;
      default:
        skipField(r, end, t, EXPONENTIAL_POINT, msg);
    }
  }
}

/** ExponentialHistogramDataPoint.Buckets{offset = 1 (sint32), bucket_counts = 2 (repeated uint64)}, merged into `into`. */
function buckets(r: Reader, end: number, into: ExponentialBuckets): void {
  const msg = 'ExponentialHistogramDataPoint.Buckets';
  while (r.pos < end) {
    const t = tag(r, end, msg);
    if (t === 8) into.offset = sint32(r, end, 1, msg);
    else if (t === 18) packed(r, end, 2, msg, into.bucketCounts, uint64);
    else if (t === 16) into.bucketCounts.push(uint64(r, end, 2, msg));
    else skipField(r, end, t, BUCKETS, msg);
  }
}

function summaryPoint(r: Reader, end: number, row: MetricPointRow): void {
  const msg = 'SummaryDataPoint';
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 17: // start_time_unix_nano = 2
        row.startTimeUnixNano = fixed64(r, end, 2, msg);
        break;
      case 25: // time_unix_nano = 3
        row.timeUnixNano = fixed64(r, end, 3, msg);
        break;
      case 33: // count = 4, fixed64
        row.count = fixed64(r, end, 4, msg);
        break;
      case 41: // sum = 5, double
        row.sum = double(r, end, 5, msg);
        break;
      case 50: // quantile_values = 6
        row.quantileValues.push(quantile(r, lenEnd(r, end, 6, msg)));
        break;
      case 58: // attributes = 7
        keyValue(r, lenEnd(r, end, 7, msg), row.attributes, 1);
        break;
      case 64: // flags = 8
        row.flags = varint(r, end, 8, msg);
        break;
      default:
        skipField(r, end, t, SUMMARY_POINT, msg);
    }
  }
}

/** SummaryDataPoint.ValueAtQuantile{quantile = 1, value = 2}. */
function quantile(r: Reader, end: number): { quantile: number; value: number } {
  const msg = 'SummaryDataPoint.ValueAtQuantile';
  const out = { quantile: 0, value: 0 };
  while (r.pos < end) {
    const t = tag(r, end, msg);
    if (t === 9) out.quantile = double(r, end, 1, msg);
    else if (t === 17) out.value = double(r, end, 2, msg);
    else skipField(r, end, t, QUANTILE, msg);
  }
  return out;
}

function exemplar(r: Reader, end: number): Exemplar {
  const msg = 'Exemplar';
  const out: Exemplar = { filteredAttributes: {}, timeUnixNano: '0', value: null, traceId: '', spanId: '' };
  while (r.pos < end) {
    const t = tag(r, end, msg);
    switch (t) {
      case 17: // time_unix_nano = 2, fixed64
        out.timeUnixNano = fixed64(r, end, 2, msg);
        break;
      case 25: // as_double = 3 (a oneof with as_int)
        out.value = double(r, end, 3, msg);
        break;
      case 34: // span_id = 4
        out.spanId = hex(r, end, 4, msg);
        break;
      case 42: // trace_id = 5
        out.traceId = hex(r, end, 5, msg);
        break;
      case 49: // as_int = 6, sfixed64
        out.value = sfixed64(r, end, 6, msg);
        break;
      case 58: // filtered_attributes = 7
        keyValue(r, lenEnd(r, end, 7, msg), out.filteredAttributes, 1);
        break;
      default:
        skipField(r, end, t, EXEMPLAR, msg);
    }
  }
  return out;
}

/** An sfixed64 as records.ts keeps int64: a number when safe, else its decimal string. */
function sfixed64(r: Reader, end: number, field: number, msg: string): number | string {
  const pos = fixed(r, end, 8, field, msg);
  return int64Value(r.view.getUint32(pos, true), r.view.getUint32(pos + 4, true));
}
