/**
 * The read side: logs, runs with their stages, and traces, always filtered by the caller's tenant.
 * Lists are keyset-paginated (newest first): `next_cursor` encodes the last row's sort key, so pages
 * stay stable while new records arrive and no page costs an OFFSET scan.
 */
import type { Queryable } from './storage/database.js';
import type { Result } from '../sdk/vocabulary.js';

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface LogFilter {
  pipeline?: string;
  runId?: string;
  traceId?: string;
  severityMin?: number;
  since?: Date;
  until?: Date;
}

export interface RunFilter {
  pipeline?: string;
  result?: Result;
  since?: Date;
  until?: Date;
}

export class CursorError extends Error {
  override readonly name = 'CursorError';
}

function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The [time, tiebreaker] of a cursor; the time is checked here so a tampered one is a 400, not a SQL error. */
function decodeCursor(cursor: string, tiebreaker: RegExp): [string, string] {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === 2 && typeof key[1] === 'string' && CURSOR_TIME.test(key[0]) && !Number.isNaN(Date.parse(key[0])) && tiebreaker.test(key[1])) {
      return key as [string, string];
    }
  } catch {
    // fall through to the error below
  }
  throw new CursorError('invalid cursor: pass the next_cursor of a previous page unchanged');
}

/** WHERE clauses and their parameters, numbered as they are added. */
class Conditions {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  add(clause: (placeholder: string) => string, value: unknown): void {
    if (value === undefined) return;
    this.params.push(value);
    this.clauses.push(clause(`$${this.params.length}`));
  }
  page(cursor: string | undefined, sortColumns: string, casts: [string, string], tiebreaker: RegExp): void {
    if (cursor === undefined) return;
    const [a, b] = decodeCursor(cursor, tiebreaker);
    this.params.push(a, b);
    const n = this.params.length;
    this.clauses.push(`(${sortColumns}) < ($${n - 1}::${casts[0]}, $${n}::${casts[1]})`);
  }
  get where(): string {
    return this.clauses.join(' AND ');
  }
}

function pageOf<R, T>(rows: R[], limit: number, key: (row: R) => unknown[], shape: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return { items: items.map(shape), next_cursor: more ? encodeCursor(key(items[items.length - 1]!)) : null };
}

const LOG_SELECT = `SELECT ts, fingerprint::text AS fingerprint, time_unix_nano::text AS time_unix_nano,
  observed_time_unix_nano::text AS observed_time_unix_nano, severity_number, severity_text, service_name,
  event_name, body, trace_id, span_id, flags::float8 AS flags, pipeline, run_id, stage, attributes,
  dropped_attributes_count::float8 AS dropped_attributes_count,
  resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url
  FROM logs`;

/** The resource and scope columns that logs and spans share. */
interface ResourceScopeColumns {
  resource_attributes: Record<string, unknown>;
  resource_schema_url: string;
  scope_name: string;
  scope_version: string;
  scope_attributes: Record<string, unknown>;
  scope_schema_url: string;
}

function resourceAndScope(row: ResourceScopeColumns) {
  return {
    resource: { attributes: row.resource_attributes, schema_url: row.resource_schema_url },
    scope: { name: row.scope_name, version: row.scope_version, attributes: row.scope_attributes, schema_url: row.scope_schema_url },
  };
}

interface LogDbRow extends ResourceScopeColumns {
  ts: Date;
  fingerprint: string;
  time_unix_nano: string;
  observed_time_unix_nano: string;
  severity_number: number;
  severity_text: string;
  service_name: string;
  event_name: string;
  body: string | null;
  trace_id: string | null;
  span_id: string | null;
  flags: number;
  pipeline: string | null;
  run_id: string | null;
  stage: string | null;
  attributes: Record<string, unknown>;
  dropped_attributes_count: number;
}

function shapeLog(row: LogDbRow) {
  return {
    timestamp: new Date(row.ts).toISOString(),
    time_unix_nano: row.time_unix_nano,
    observed_time_unix_nano: row.observed_time_unix_nano,
    severity_number: row.severity_number,
    severity_text: row.severity_text,
    body: row.body,
    event_name: row.event_name,
    service_name: row.service_name,
    trace_id: row.trace_id,
    span_id: row.span_id,
    flags: row.flags,
    pipeline: row.pipeline,
    run_id: row.run_id,
    stage: row.stage,
    attributes: row.attributes,
    dropped_attributes_count: row.dropped_attributes_count,
    ...resourceAndScope(row),
  };
}

export async function listLogs(db: Queryable, tenantId: number, filter: LogFilter, limit: number, cursor?: string) {
  const where = new Conditions();
  where.add((p) => `tenant_id = ${p}`, tenantId);
  where.add((p) => `pipeline = ${p}`, filter.pipeline);
  where.add((p) => `run_id = ${p}`, filter.runId);
  where.add((p) => `trace_id = ${p}`, filter.traceId);
  where.add((p) => `severity_number >= ${p}`, filter.severityMin);
  where.add((p) => `ts >= ${p}`, filter.since?.toISOString());
  where.add((p) => `ts < ${p}`, filter.until?.toISOString());
  where.page(cursor, 'ts, fingerprint', ['timestamptz', 'uuid'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const { rows } = await db.query<LogDbRow>(
    `${LOG_SELECT} WHERE ${where.where} ORDER BY ts DESC, fingerprint DESC LIMIT ${limit + 1}`,
    where.params,
  );
  return pageOf(rows, limit, (row) => [new Date(row.ts).toISOString(), row.fingerprint], shapeLog);
}

const RUN_COMMON = `run_id, pipeline, state, result, started_at, ended_at, duration_seconds, rows_read::float8 AS rows_read,
  rows_written::float8 AS rows_written, rows_rejected::float8 AS rows_rejected, error_type, error_message,
  target_namespace, target_collection, attributes`;

interface RunCommonRow {
  run_id: string;
  pipeline: string;
  state: string;
  result: string | null;
  started_at: Date | null;
  ended_at: Date | null;
  duration_seconds: number | null;
  rows_read: number | null;
  rows_written: number | null;
  rows_rejected: number | null;
  error_type: string | null;
  error_message: string | null;
  target_namespace: string | null;
  target_collection: string | null;
  attributes: Record<string, unknown>;
}

interface RunRow extends RunCommonRow {
  service_name: string | null;
  last_seen_at: Date;
  source_system: string | null;
  trace_id: string | null;
}

interface StageRow extends RunCommonRow {
  stage_run_id: string;
  stage: string;
  span_id: string | null;
}

const isoOrNull = (value: Date | null) => (value === null ? null : new Date(value).toISOString());

function shapeCommon(row: RunCommonRow) {
  return {
    pipeline: row.pipeline,
    state: row.state,
    result: row.result,
    started_at: isoOrNull(row.started_at),
    ended_at: isoOrNull(row.ended_at),
    duration_seconds: row.duration_seconds,
    rows: { read: row.rows_read, written: row.rows_written, rejected: row.rows_rejected },
    error: row.error_type || row.error_message ? { type: row.error_type, message: row.error_message } : null,
    target: row.target_namespace || row.target_collection ? { namespace: row.target_namespace, collection: row.target_collection } : null,
    attributes: row.attributes,
  };
}

function shapeRun(row: RunRow) {
  return {
    run_id: row.run_id,
    ...shapeCommon(row),
    service_name: row.service_name,
    source_system: row.source_system,
    trace_id: row.trace_id,
    last_seen_at: isoOrNull(row.last_seen_at),
  };
}

function shapeStage(row: StageRow) {
  return { stage: row.stage, stage_run_id: row.stage_run_id, ...shapeCommon(row), span_id: row.span_id };
}

const RUN_SELECT = `SELECT ${RUN_COMMON}, service_name, last_seen_at, source_system, trace_id FROM pipeline_runs`;

export async function listRuns(db: Queryable, tenantId: number, filter: RunFilter, limit: number, cursor?: string) {
  const where = new Conditions();
  where.add((p) => `tenant_id = ${p}`, tenantId);
  where.add((p) => `pipeline = ${p}`, filter.pipeline);
  where.add((p) => `result = ${p}`, filter.result);
  where.add((p) => `started_at >= ${p}`, filter.since?.toISOString());
  where.add((p) => `started_at < ${p}`, filter.until?.toISOString());
  where.page(cursor, 'started_at, run_id', ['timestamptz', 'text'], /^/);
  const { rows } = await db.query<RunRow>(
    `${RUN_SELECT} WHERE ${where.where} ORDER BY started_at DESC, run_id DESC LIMIT ${limit + 1}`,
    where.params,
  );
  return pageOf(rows, limit, (row) => [isoOrNull(row.started_at), row.run_id], shapeRun);
}

export async function getRun(db: Queryable, tenantId: number, runId: string) {
  const { rows } = await db.query<RunRow>(`${RUN_SELECT} WHERE tenant_id = $1 AND run_id = $2`, [tenantId, runId]);
  if (rows.length === 0) return null;
  const stages = await db.query<StageRow>(
    `SELECT ${RUN_COMMON}, stage_run_id, stage, span_id FROM pipeline_stages
      WHERE tenant_id = $1 AND run_id = $2 ORDER BY started_at, stage_run_id`,
    [tenantId, runId],
  );
  return { ...shapeRun(rows[0]!), stages: stages.rows.map(shapeStage) };
}

interface SpanDbRow extends ResourceScopeColumns {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  trace_state: string;
  flags: number;
  name: string;
  kind: number;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ns: string;
  status_code: number;
  status_message: string;
  service_name: string;
  attributes: Record<string, unknown>;
  events: unknown[];
  links: unknown[];
  dropped_attributes_count: number;
  dropped_events_count: number;
  dropped_links_count: number;
}

export async function getTrace(db: Queryable, tenantId: number, traceId: string) {
  const spans = await db.query<SpanDbRow>(
    `SELECT trace_id, span_id, parent_span_id, trace_state, flags::float8 AS flags, name, kind,
            start_time_unix_nano::text AS start_time_unix_nano, end_time_unix_nano::text AS end_time_unix_nano,
            duration_ns::text AS duration_ns, status_code, status_message, service_name, attributes, events, links,
            dropped_attributes_count::float8 AS dropped_attributes_count,
            dropped_events_count::float8 AS dropped_events_count, dropped_links_count::float8 AS dropped_links_count, resource_attributes,
            resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url
       FROM spans WHERE tenant_id = $1 AND trace_id = $2 ORDER BY start_time_unix_nano, span_id`,
    [tenantId, traceId],
  );
  const logs = await db.query<LogDbRow>(`${LOG_SELECT} WHERE tenant_id = $1 AND trace_id = $2 ORDER BY ts, fingerprint`, [
    tenantId,
    traceId,
  ]);
  if (spans.rows.length === 0 && logs.rows.length === 0) return null;
  return {
    trace_id: traceId,
    spans: spans.rows.map(({ resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url, ...span }) => ({
      ...span,
      ...resourceAndScope({ resource_attributes, resource_schema_url, scope_name, scope_version, scope_attributes, scope_schema_url }),
    })),
    logs: logs.rows.map(shapeLog),
  };
}
