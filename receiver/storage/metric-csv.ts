/**
 * Metric data points rendered as COPY (FORMAT csv) lines for metric_points, and the series they belong to
 * for metric_streams (migration 14 says why the layout), in the column order of METRIC_POINT_COLUMNS /
 * METRIC_STREAM_COLUMNS. As for log records (rows-csv.ts), what a series' points share is rendered and
 * hashed once per series, and kept for the next requests (renderedFor()).
 */
import { ATTR } from '../../contract/vocabulary.js';
import { nanosToMs, type Exemplar, type Metric, type MetricPointRow, type Resource, type Scope } from '../model/records.js';
import { csvField } from './csv.js';
import { byteaField, column, DAY_MS, hash64, nullable, resourceCsv, scopeCsv, serviceName } from './rows-csv.js';

export const METRIC_STREAM_COLUMNS = [
  'tenant_id', 'stream_id', 'day', 'series_id', 'service_name', 'metric_name', 'kind', 'temporality', 'monotonic', 'unit',
  'description', 'pipeline', 'run_id', 'stage', 'attributes', 'explicit_bounds', 'metadata', 'resource_attributes',
  'resource_schema_url', 'scope_name', 'scope_version', 'scope_attributes', 'scope_schema_url',
] as const;

export const METRIC_POINT_COLUMNS = [
  'tenant_id', 'flags', 'stream_id', 'time_unix_nano', 'start_time_unix_nano', 'value', 'int_value', 'count', 'min', 'max',
  'bucket_counts', 'trace_id', 'exponential', 'quantile_values', 'exemplars',
] as const;

/** A double as JSON can hold it: NaN and ±Infinity as the strings PostgreSQL and proto3 JSON spell them. */
export const jsonDouble = (d: number): number | string => (Number.isFinite(d) ? d : String(d));

/** A double as a CSV field: JavaScript spells NaN, Infinity and -Infinity as float8 input does. */
const doubleField = (d: number | null) => (d === null ? '' : String(d));

/** A PostgreSQL array literal of numbers (decimal strings or finite doubles) as one CSV field. */
const arrayField = (values: readonly (string | number)[]) => `"{${values.join(',')}}"`;

/** '' (NULL) for a value a kind does not have. */
const orNull = (value: string) => (value === '' ? '' : csvField(value));

export interface RenderedMetricStream {
  /** metric_streams' key: the tenant and the stream id. */
  key: string;
  id: string;
  line: string;
}

/** A metric's columns of metric_streams, around the series' own: rendered once per metric and kept with its streams. */
interface MetricStreams {
  /** service_name, metric_name, kind, temporality, monotonic, unit, description. */
  head: string;
  /** metadata, the resource's and the scope's columns. */
  tail: string;
  /** By tenant, day, bounds and attributes. */
  streams: Map<string, RenderedMetricStream>;
}

/**
 * Streams rendered before, by the content of their resource, scope and metric: every export brings those as
 * new objects, and rendering and hashing a series anew cost a point 16 µs (bench:ingest). Bounded: past
 * MAX_CACHED_STREAMS it starts afresh, so that series that come and go (a run's id among their attributes)
 * do not hold memory for ever.
 */
const MAX_CACHED_STREAMS = 200_000;
const byContent = new Map<string, MetricStreams>();
let cachedStreams = 0;
/** Each Metric object's, with the resource and scope it came with: one lookup a point within a request. */
const byObject = new WeakMap<Metric, { resource: Resource; scope: Scope; rendered: MetricStreams }>();

function renderedFor({ resource, scope, metric }: MetricPointRow): MetricStreams {
  const seen = byObject.get(metric);
  if (seen && seen.resource === resource && seen.scope === scope) return seen.rendered;
  const head =
    csvField(serviceName(resource)) + ',' + csvField(metric.name) + ',' + metric.kind + ',' + metric.temporality + ',' +
    metric.monotonic + ',' + csvField(metric.unit) + ',' + csvField(metric.description);
  const tail = csvField(JSON.stringify(metric.metadata)) + ',' + resourceCsv(resource) + ',' + scopeCsv(scope);
  const key = head + '\n' + tail;
  let rendered = byContent.get(key);
  if (!rendered) byContent.set(key, (rendered = { head, tail, streams: new Map() }));
  byObject.set(metric, { resource, scope, rendered });
  return rendered;
}

function streamOf(tenantId: number, row: MetricPointRow, dayMs: number): RenderedMetricStream {
  const rendered = renderedFor(row);
  const attributes = JSON.stringify(row.attributes);
  const bounds = row.metric.kind === 'histogram' ? arrayField(row.explicitBounds) : '';
  const lookup = `${tenantId},${dayMs},${bounds},${attributes}`;
  let stream = rendered.streams.get(lookup);
  if (stream === undefined) {
    const { resource } = row;
    const series =
      rendered.head + ',' +
      nullable(column(row.attributes, resource, ATTR.pipelineName)) + ',' +
      nullable(column(row.attributes, resource, ATTR.runId)) + ',' +
      nullable(column(row.attributes, resource, ATTR.stageName)) + ',' +
      csvField(attributes) + ',' + bounds + ',' + rendered.tail;
    const seriesId = hash64(`${tenantId},${series}`);
    const day = new Date(dayMs).toISOString().slice(0, 10);
    const id = hash64(`${day},${seriesId}`);
    stream = { key: `${tenantId}:${id}`, id, line: `${tenantId},${id},${day},${seriesId},${series}\n` };
    if (++cachedStreams > MAX_CACHED_STREAMS) {
      byContent.clear();
      cachedStreams = 0;
    }
    rendered.streams.set(lookup, stream);
  }
  return stream;
}

/** The first exemplar's trace: how a point without a run's id finds the run whose trace it measured. */
function exemplarTrace(exemplars: Exemplar[]): string {
  for (const exemplar of exemplars) if (exemplar.traceId !== '') return exemplar.traceId;
  return '';
}

const exemplarsJson = (exemplars: Exemplar[]) =>
  JSON.stringify(
    exemplars.map((e) => ({
      filtered_attributes: e.filteredAttributes,
      time_unix_nano: e.timeUnixNano,
      value: typeof e.value === 'number' ? jsonDouble(e.value) : e.value,
      trace_id: e.traceId,
      span_id: e.spanId,
    })),
  );

function exponentialJson(exponential: NonNullable<MetricPointRow['exponential']>): string {
  const { scale, zeroCount, zeroThreshold, positive, negative } = exponential;
  return JSON.stringify({
    scale,
    zero_count: zeroCount,
    zero_threshold: jsonDouble(zeroThreshold),
    positive: { offset: positive.offset, bucket_counts: positive.bucketCounts },
    negative: { offset: negative.offset, bucket_counts: negative.bucketCounts },
  });
}

/** The value columns of a point's kind: value, int_value, count, min, max, bucket_counts. */
function valueFields(row: MetricPointRow): string {
  const { kind } = row.metric;
  if (kind === 'gauge' || kind === 'sum') return `${doubleField(row.asDouble)},${row.asInt ?? ''},,,,`;
  const buckets = kind === 'histogram' && row.bucketCounts.length > 0 ? arrayField(row.bucketCounts) : '';
  return `${doubleField(row.sum)},,${row.count},${doubleField(row.min)},${doubleField(row.max)},${buckets}`;
}

export interface RenderedPoint {
  line: string;
  stream: RenderedMetricStream;
  dayMs: number;
}

export function renderPoint(tenantId: number, row: MetricPointRow): RenderedPoint {
  const ms = nanosToMs(row.timeUnixNano);
  const dayMs = ms - (ms % DAY_MS);
  const stream = streamOf(tenantId, row, dayMs);
  const line =
    tenantId + ',' + (row.flags === 0 ? '' : row.flags | 0) + ',' + stream.id + ',' + row.timeUnixNano + ',' +
    (row.startTimeUnixNano === '0' ? '' : row.startTimeUnixNano) + ',' + valueFields(row) + ',' +
    byteaField(exemplarTrace(row.exemplars)) + ',' +
    orNull(row.exponential === null ? '' : exponentialJson(row.exponential)) + ',' +
    orNull(row.metric.kind === 'summary' ? JSON.stringify(row.quantileValues.map((q) => [jsonDouble(q.quantile), jsonDouble(q.value)])) : '') + ',' +
    orNull(row.exemplars.length === 0 ? '' : exemplarsJson(row.exemplars)) + '\n';
  return { line, stream, dayMs };
}
