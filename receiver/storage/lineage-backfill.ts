/**
 * Lineage of the records stored before the write path kept it (migration 8): the run, stage and
 * OpenLineage records and the pipeline spans, read back a page at a time, go through the same
 * derivation (model/derive.ts, model/lineage.ts) and the same writes (lineage-rows.ts) as new ones.
 * Rebuilding the rows the write path needs from stored columns is all this file adds.
 */
import { deriveFromLog, deriveFromSpan } from '../model/derive.js';
import { LOG_EVENTS_TO_DERIVE, lineageOfLog, lineageOfSpan } from '../model/lineage.js';
import type { Attributes, LogRow, SpanRow } from '../model/records.js';
import type { Queryable } from './database.js';
import { writeLineage, type TenantLineage } from './lineage-rows.js';

const PAGE = 2_000;

interface StoredLog {
  tenant_id: number;
  time_unix_nano: string;
  event_name: string;
  severity_number: number;
  body: string | null;
  trace_id: string | null;
  span_id: string | null;
  attributes: Attributes;
  resource_attributes: Attributes;
}

interface StoredSpan {
  tenant_id: number;
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  kind: number;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  status_code: number;
  status_message: string;
  attributes: Attributes;
  resource_attributes: Attributes;
}

const resource = (attributes: Attributes) => ({ attributes, schemaUrl: '', droppedAttributesCount: 0 });
const scope = { name: '', version: '', attributes: {}, schemaUrl: '' };

function logRow(stored: StoredLog): LogRow {
  return {
    resource: resource(stored.resource_attributes),
    scope,
    timeUnixNano: stored.time_unix_nano,
    observedTimeUnixNano: stored.time_unix_nano,
    severityNumber: stored.severity_number,
    severityText: '',
    body: stored.body,
    attributes: stored.attributes,
    droppedAttributesCount: 0,
    flags: 0,
    traceId: stored.trace_id ?? '',
    spanId: stored.span_id ?? '',
    eventName: stored.event_name,
  };
}

function spanRow(stored: StoredSpan): SpanRow {
  return {
    resource: resource(stored.resource_attributes),
    scope,
    traceId: stored.trace_id,
    spanId: stored.span_id,
    parentSpanId: stored.parent_span_id ?? '',
    traceState: '',
    flags: 0,
    name: '',
    kind: stored.kind,
    startTimeUnixNano: stored.start_time_unix_nano,
    endTimeUnixNano: stored.end_time_unix_nano,
    attributes: stored.attributes,
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: stored.status_code,
    statusMessage: stored.status_message,
  };
}

/** Reads `select` through a cursor, a page at a time (one pass, however many records), and writes the lineage of each page. */
async function backfillFrom<R extends { tenant_id: number }>(
  tx: Queryable,
  select: string,
  lineageOf: (row: R) => TenantLineage | null,
): Promise<void> {
  await tx.query(`DECLARE lineage_backfill NO SCROLL CURSOR FOR ${select}`);
  for (;;) {
    const { rows } = await tx.query<R>(`FETCH ${PAGE} FROM lineage_backfill`);
    await writeLineage(tx, rows.flatMap((row) => lineageOf(row) ?? []));
    if (rows.length < PAGE) break;
  }
  await tx.query('CLOSE lineage_backfill');
}

const LOGS = `SELECT tenant_id, time_unix_nano::text, event_name, severity_number, body, trace_id, span_id, attributes, resource_attributes
                FROM logs WHERE event_name IN (${LOG_EVENTS_TO_DERIVE.map((name) => `'${name}'`).join(', ')})`;
const SPANS = `SELECT tenant_id, trace_id, span_id, parent_span_id, kind, start_time_unix_nano::text, end_time_unix_nano::text,
                      status_code, status_message, attributes, resource_attributes
                 FROM spans WHERE pipeline IS NOT NULL`;

export async function backfillLineage(tx: Queryable): Promise<void> {
  await backfillFrom<StoredLog>(tx, LOGS, (stored) => {
    const row = logRow(stored);
    const lineage = lineageOfLog(row, deriveFromLog(row));
    return lineage && { tenantId: stored.tenant_id, lineage };
  });
  await backfillFrom<StoredSpan>(tx, SPANS, (stored) => {
    const row = spanRow(stored);
    const lineage = lineageOfSpan(row, deriveFromSpan(row));
    return lineage && { tenantId: stored.tenant_id, lineage };
  });
}
