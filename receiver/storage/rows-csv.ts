/**
 * Decoded rows rendered as COPY (FORMAT csv) lines for the logs and spans tables, in the column order
 * of LOG_COLUMNS / SPAN_COLUMNS. Rendering is the receiver's main per-record cost in Node (about 5 µs a
 * row measured, see notes/ingest-limits.md), so resource and scope JSON is rendered once per resource.
 */
import { hash } from 'node:crypto';
import { ATTR } from '../../sdk/vocabulary.js';
import { logTimeNanos, nanosToMs, type Attributes, type LogRow, type Resource, type Scope, type SpanRow } from '../model/records.js';
import { csvField } from './csv.js';

export const LOG_COLUMNS = [
  'tenant_id', 'ts', 'fingerprint', 'time_unix_nano', 'observed_time_unix_nano', 'severity_number',
  'severity_text', 'service_name', 'event_name', 'body', 'trace_id', 'span_id', 'flags', 'pipeline', 'run_id',
  'stage', 'attributes', 'dropped_attributes_count', 'resource_attributes', 'resource_schema_url', 'scope_name',
  'scope_version', 'scope_attributes', 'scope_schema_url',
] as const;

export const SPAN_COLUMNS = [
  'tenant_id', 'ts', 'trace_id', 'span_id', 'parent_span_id', 'trace_state', 'flags', 'name', 'kind',
  'start_time_unix_nano', 'end_time_unix_nano', 'duration_ns', 'status_code', 'status_message', 'service_name',
  'pipeline', 'run_id', 'stage', 'attributes', 'events', 'links', 'dropped_attributes_count',
  'dropped_events_count', 'dropped_links_count', 'resource_attributes', 'resource_schema_url', 'scope_name',
  'scope_version', 'scope_attributes', 'scope_schema_url',
] as const;

const DAY_MS = 86_400_000;

/** Resource and scope columns, rendered once per object: every row of a ResourceLogs shares them. */
const rendered = new WeakMap<Resource | Scope, string>();

function resourceCsv(resource: Resource): string {
  let csv = rendered.get(resource);
  if (csv === undefined) {
    csv = csvField(JSON.stringify(resource.attributes)) + ',' + csvField(resource.schemaUrl);
    rendered.set(resource, csv);
  }
  return csv;
}

function scopeCsv(scope: Scope): string {
  let csv = rendered.get(scope);
  if (csv === undefined) {
    csv = [scope.name, scope.version, JSON.stringify(scope.attributes), scope.schemaUrl].map(csvField).join(',');
    rendered.set(scope, csv);
  }
  return csv;
}

function serviceName(resource: Resource): string {
  const name = resource.attributes[ATTR.serviceName];
  return typeof name === 'string' ? name : '';
}

/** An attribute copied into its own column for queries: the record's, else its resource's. */
function column(attributes: Attributes, resource: Resource, key: string): string | null {
  const value = attributes[key] ?? resource.attributes[key];
  if (value === undefined || value === null || value === '') return null;
  return typeof value === 'string' ? value : String(value);
}

/** '' for an absent id: an unquoted empty CSV field is NULL. */
function nullable(value: string | null): string {
  return value === null || value === '' ? '' : csvField(value);
}

export interface RenderedLog {
  /** The CSV line, newline-terminated. */
  line: string;
  /** The record's content hash: the key (with tenant and ts) that makes a resend conflict. */
  fingerprint: string;
  dayMs: number;
}

/**
 * The fingerprint hashes every content column, so two identical records (same time, body, attributes,
 * ids, resource and scope) are one record: OTLP gives records no id, and a resend must not store twice.
 */
export function renderLog(tenantId: number, row: LogRow): RenderedLog {
  const nanos = logTimeNanos(row);
  const ms = nanosToMs(nanos);
  const content =
    row.timeUnixNano + ',' + row.observedTimeUnixNano + ',' + row.severityNumber + ',' + csvField(row.severityText) + ',' +
    csvField(serviceName(row.resource)) + ',' + csvField(row.eventName) + ',' + (row.body === null ? '' : csvField(row.body)) + ',' +
    nullable(row.traceId) + ',' + nullable(row.spanId) + ',' + row.flags + ',' +
    nullable(column(row.attributes, row.resource, ATTR.pipelineName)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.runId)) + ',' +
    nullable(column(row.attributes, row.resource, ATTR.stageName)) + ',' +
    csvField(JSON.stringify(row.attributes)) + ',' + row.droppedAttributesCount + ',' +
    resourceCsv(row.resource) + ',' + scopeCsv(row.scope);
  // One-shot hash (Node >= 20.12): measured a few µs a row cheaper than createHash().update().digest().
  const hex = hash('md5', content, 'hex');
  const fingerprint = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return {
    line: tenantId + ',' + new Date(ms).toISOString() + ',' + fingerprint + ',' + content + '\n',
    fingerprint,
    dayMs: ms - (ms % DAY_MS),
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
