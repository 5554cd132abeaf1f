/**
 * The records every layer of the receiver shares, from the decoders down to storage: what the decoders
 * hand to the rest of the receiver, OTLP records flattened to one object per log
 * record or span, each pointing at its (shared) resource and scope. Both wire formats decode to these.
 *
 * Conventions, so that protobuf and JSON of the same records produce identical rows (idempotency hashes
 * rows, see storage/rows-csv.ts):
 * - 64-bit nanosecond times are decimal strings ('0' when unset): exact, and what COPY wants.
 * - Trace and span ids are lowercase hex ('' when absent); ingest/validate.ts checks their length.
 * - Attribute maps are plain objects: int64 becomes a number when it is a safe integer and a decimal
 *   string otherwise, bytes become base64, arrays and kvlists nest.
 */

export type Attributes = Record<string, unknown>;

export interface Resource {
  attributes: Attributes;
  schemaUrl: string;
  droppedAttributesCount: number;
}

export interface Scope {
  name: string;
  version: string;
  attributes: Attributes;
  schemaUrl: string;
}

export interface LogRow {
  resource: Resource;
  scope: Scope;
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  /** A string body as is; any other AnyValue as its JSON; null when absent. */
  body: string | null;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
  traceId: string;
  spanId: string;
  /** The LogRecord's event name, or its `event.name` attribute where the field is empty (eventNameOf). */
  eventName: string;
}

/**
 * A record's event name: its own field, or the `event.name` attribute that older OpenTelemetry SDKs, and
 * code that sets it by hand, use instead; both decoders take it from here.
 */
export function eventNameOf(field: string, attributes: Attributes): string {
  if (field !== '') return field;
  const attribute = attributes['event.name'];
  return typeof attribute === 'string' ? attribute : '';
}

export interface SpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface SpanRow {
  resource: Resource;
  scope: Scope;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  /** OTLP Span.SpanKind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  /** OTLP Status.StatusCode: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

/** Whose records these are: decided by the API key, never by the request. */
export interface Tenant {
  id: number;
  name: string;
}

/** Milliseconds of a decimal nanosecond string; 0 for '0'. Exact enough for partitioning. */
export function nanosToMs(nanos: string): number {
  return nanos.length > 6 ? Number(nanos.slice(0, -6)) : 0;
}

/** The time a log record is filed under: its event time, or when it was observed. */
export function logTimeNanos(row: LogRow): string {
  return row.timeUnixNano !== '0' ? row.timeUnixNano : row.observedTimeUnixNano;
}

/** A request body that is not a valid OTLP message: answered 400 with this message. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** OTLP Metric's data field: which of Gauge, Sum, Histogram, ExponentialHistogram and Summary it holds. */
export const METRIC_KINDS = ['gauge', 'sum', 'histogram', 'exponential_histogram', 'summary'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** One OTLP Metric's description, shared by its data points (decoders make one object per Metric). */
export interface Metric {
  name: string;
  description: string;
  unit: string;
  kind: MetricKind;
  /** OTLP AggregationTemporality: 0 unspecified (gauges, summaries), 1 delta, 2 cumulative. */
  temporality: number;
  /** Sum.is_monotonic; false for every other kind. */
  monotonic: boolean;
  /** Metric.metadata: a KeyValue list, empty when absent. */
  metadata: Attributes;
}

export interface Exemplar {
  filteredAttributes: Attributes;
  timeUnixNano: string;
  /** as_double, or as_int (conventions above: a number when safe, else a decimal string); null when neither is set. */
  value: number | string | null;
  traceId: string;
  spanId: string;
}

export interface ExponentialBuckets {
  offset: number;
  /** uint64 counts as decimal strings. */
  bucketCounts: string[];
}

/**
 * One data point of any kind, flattened like LogRow: the fields a kind lacks stay at their empty value.
 * Doubles that are not finite (NaN, ±Infinity) stay numbers here; storage writes them as PostgreSQL's
 * float8 spellings. uint64 and int64 values are decimal strings: exact, and what COPY wants.
 */
export interface MetricPointRow {
  resource: Resource;
  scope: Scope;
  metric: Metric;
  attributes: Attributes;
  startTimeUnixNano: string;
  timeUnixNano: string;
  /** DataPointFlags (bit 0: no recorded value). */
  flags: number;
  /** A gauge's or sum's point: as_double, or null. */
  asDouble: number | null;
  /** A gauge's or sum's point: as_int as a decimal string, or null. */
  asInt: string | null;
  /** Histograms and summaries: count (uint64, decimal string); '0' for number points. */
  count: string;
  /** Histograms and summaries: sum, or null when not recorded. */
  sum: number | null;
  /** Histograms: min and max, or null when not recorded. */
  min: number | null;
  max: number | null;
  /** Histogram: bucket_counts (uint64 decimal strings) and explicit_bounds. */
  bucketCounts: string[];
  explicitBounds: number[];
  /** Exponential histogram: null for every other kind. */
  exponential: { scale: number; zeroCount: string; zeroThreshold: number; positive: ExponentialBuckets; negative: ExponentialBuckets } | null;
  /** Summary: quantile_values in the order sent. */
  quantileValues: { quantile: number; value: number }[];
  exemplars: Exemplar[];
}
