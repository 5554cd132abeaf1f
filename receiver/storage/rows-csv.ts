/**
 * Decoded rows rendered as COPY (FORMAT csv) lines: log records for log_records, the streams they
 * belong to for log_streams (migration 4 says why the layout), spans for spans, in the column order of
 * LOG_RECORD_COLUMNS / LOG_STREAM_COLUMNS / SPAN_COLUMNS. Rendering is the receiver's main per-record
 * cost in Node (about 5 µs a row measured by bench:ingest), so what a resource and scope
 * share is rendered and hashed once per attribute key list, not per record.
 */
import { hash } from 'node:crypto';
import { ATTR } from '../../contract/vocabulary.js';
import { logTimeNanos, nanosToMs, type Attributes, type LogRow, type Resource, type Scope, type SpanRow } from '../model/records.js';
import { csvField } from './csv.js';

export const LOG_RECORD_COLUMNS = [
  'ts', 'fingerprint', 'stream_id', 'time_unix_nano', 'observed_time_unix_nano', 'dropped_attributes_count', 'tenant_id',
  'flags', 'severity_number', 'severity_text', 'event_name', 'body', 'trace_id', 'span_id', 'pipeline', 'run_id', 'stage',
  'attribute_values',
] as const;

export const LOG_STREAM_COLUMNS = [
  'tenant_id', 'stream_id', 'day', 'service_name', 'resource_attributes', 'resource_schema_url', 'scope_name',
  'scope_version', 'scope_attributes', 'scope_schema_url', 'attribute_keys', 'moved_keys',
] as const;

export const SPAN_COLUMNS = [
  'tenant_id', 'ts', 'trace_id', 'span_id', 'parent_span_id', 'trace_state', 'flags', 'name', 'kind',
  'start_time_unix_nano', 'end_time_unix_nano', 'duration_ns', 'status_code', 'status_message', 'service_name',
  'pipeline', 'run_id', 'stage', 'attributes', 'events', 'links', 'dropped_attributes_count',
  'dropped_events_count', 'dropped_links_count', 'resource_attributes', 'resource_schema_url', 'scope_name',
  'scope_version', 'scope_attributes', 'scope_schema_url',
] as const;

export const DAY_MS = 86_400_000;

/** Resource and scope columns, rendered once per object: every row of a ResourceLogs shares them. */
const rendered = new WeakMap<Resource | Scope, string>();

export function resourceCsv(resource: Resource): string {
  let csv = rendered.get(resource);
  if (csv === undefined) {
    csv = csvField(JSON.stringify(resource.attributes)) + ',' + csvField(resource.schemaUrl);
    rendered.set(resource, csv);
  }
  return csv;
}

export function scopeCsv(scope: Scope): string {
  let csv = rendered.get(scope);
  if (csv === undefined) {
    csv = [scope.name, scope.version, JSON.stringify(scope.attributes), scope.schemaUrl].map(csvField).join(',');
    rendered.set(scope, csv);
  }
  return csv;
}

export function serviceName(resource: Resource): string {
  const name = resource.attributes[ATTR.serviceName];
  return typeof name === 'string' ? name : '';
}

/** An attribute copied into its own column for queries: the record's, else its resource's. */
export function column(attributes: Attributes, resource: Resource, key: string): string | null {
  const value = attributes[key] ?? resource.attributes[key];
  if (value === undefined || value === null || value === '') return null;
  return typeof value === 'string' ? value : String(value);
}

/** '' for an absent id: an unquoted empty CSV field is NULL. */
export function nullable(value: string | null): string {
  return value === null || value === '' ? '' : csvField(value);
}

/** A hex id as a bytea field (validated hex: ingest/validate.ts), or NULL when absent. */
export const byteaField = (hex: string) => (hex === '' ? '' : `"\\x${hex}"`);

/** The first 8 bytes of an MD5 as a signed bigint, in the decimal form PostgreSQL prints int8 in. */
export const hash64 = (content: string) => hash('md5', content, 'buffer').readBigInt64BE(0).toString();

/** The attribute keys whose string value is stored in a column (pipeline, run_id, stage), in that order. */
const COLUMN_KEYS = [ATTR.pipelineName, ATTR.runId, ATTR.stageName] as const;

export interface RenderedStream {
  /** log_streams' key: the tenant and a hash of everything else on the line. */
  key: string;
  id: string;
  line: string;
}

/** Streams already rendered, per resource, scope and (tenant, day, key lists). */
const streams = new WeakMap<Resource, WeakMap<Scope, Map<string, RenderedStream>>>();

function streamOf(tenantId: number, row: LogRow, dayMs: number, keysJson: string, movedJson: string): RenderedStream {
  let byScope = streams.get(row.resource);
  if (!byScope) streams.set(row.resource, (byScope = new WeakMap()));
  let byKeys = byScope.get(row.scope);
  if (!byKeys) byScope.set(row.scope, (byKeys = new Map()));
  const lookup = `${tenantId},${dayMs},${movedJson},${keysJson}`;
  let stream = byKeys.get(lookup);
  if (stream === undefined) {
    const day = new Date(dayMs).toISOString().slice(0, 10);
    const content = day + ',' + csvField(serviceName(row.resource)) + ',' + resourceCsv(row.resource) + ',' + scopeCsv(row.scope) + ',' +
      csvField(keysJson) + ',' + csvField(movedJson);
    const id = hash64(content);
    stream = { key: `${tenantId}:${id}`, id, line: tenantId + ',' + id + ',' + content + '\n' };
    byKeys.set(lookup, stream);
  }
  return stream;
}

/** A log_records fingerprint (bigint) as the logs view shows every record's: a uuid, as records stored before migration 4 have. */
export const fingerprintAsUuid = (column: string) => `lpad(to_hex(${column}), 32, '0')::uuid`;

export interface RenderedLog {
  /** The log_records CSV line, newline-terminated. */
  line: string;
  /** The record's content hash: the key (with tenant and ts) that makes a resend conflict. */
  fingerprint: string;
  stream: RenderedStream;
  dayMs: number;
}

/**
 * The fingerprint hashes every content column and the stream (resource, scope, attribute keys), so two
 * identical records (same time, body, attributes, ids, resource and scope) are one record: OTLP gives
 * records no id, and a resend must not store twice.
 */
export function renderLog(tenantId: number, row: LogRow): RenderedLog {
  const ms = nanosToMs(logTimeNanos(row));
  const dayMs = ms - (ms % DAY_MS);
  const keys: string[] = [];
  const values: unknown[] = [];
  const moved: (string | null)[] = [null, null, null];
  for (const key of Object.keys(row.attributes)) {
    const value = row.attributes[key];
    const at = (COLUMN_KEYS as readonly string[]).indexOf(key);
    // Where column() takes the record's own value: stored in the column only, put back by the view.
    if (at >= 0 && typeof value === 'string' && value !== '') moved[at] = key;
    else {
      keys.push(key);
      values.push(value);
    }
  }
  const stream = streamOf(tenantId, row, dayMs, JSON.stringify(keys), JSON.stringify(moved));
  const content =
    row.timeUnixNano + ',' + (row.observedTimeUnixNano === row.timeUnixNano ? '' : row.observedTimeUnixNano) + ',' +
    (row.droppedAttributesCount === 0 ? '' : row.droppedAttributesCount) + ',' + tenantId + ',' + (row.flags | 0) + ',' +
    row.severityNumber + ',' + csvField(row.severityText) + ',' + csvField(row.eventName) + ',' +
    (row.body === null ? '' : csvField(row.body)) + ',' + byteaField(row.traceId) + ',' + byteaField(row.spanId) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.pipelineName)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.runId)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.stageName)) + ',' +
    csvField(JSON.stringify(values));
  // One-shot hash (Node >= 20.12): measured a few µs a row cheaper than createHash().update().digest().
  const fingerprint = hash64(stream.id + ',' + content);
  return {
    line: new Date(ms).toISOString() + ',' + fingerprint + ',' + stream.id + ',' + content + '\n',
    fingerprint,
    stream,
    dayMs,
  };
}

export interface RenderedSpan {
  line: string;
  dayMs: number;
}

export function renderSpan(tenantId: number, row: SpanRow): RenderedSpan {
  const ms = nanosToMs(row.startTimeUnixNano);
  const end = row.endTimeUnixNano === '0' ? row.startTimeUnixNano : row.endTimeUnixNano;
  const line =
    tenantId + ',' + new Date(ms).toISOString() + ',' + row.traceId + ',' + row.spanId + ',' + nullable(row.parentSpanId) + ',' +
    csvField(row.traceState) + ',' + row.flags + ',' + csvField(row.name) + ',' + row.kind + ',' +
    row.startTimeUnixNano + ',' + end + ',' + (BigInt(end) - BigInt(row.startTimeUnixNano)).toString() + ',' +
    row.statusCode + ',' + csvField(row.statusMessage) + ',' + csvField(serviceName(row.resource)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.pipelineName)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.runId)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.stageName)) + ',' +
    csvField(JSON.stringify(row.attributes)) + ',' + csvField(JSON.stringify(row.events)) + ',' +
    csvField(JSON.stringify(row.links)) + ',' + row.droppedAttributesCount + ',' + row.droppedEventsCount + ',' +
    row.droppedLinksCount + ',' + resourceCsv(row.resource) + ',' + scopeCsv(row.scope) + '\n';
  return { line, dayMs: ms - (ms % DAY_MS) };
}
