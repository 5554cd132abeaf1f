/** Log records, newest or oldest first, filtered by the caller's tenant and any of the LogFilter fields. */
import { bodyMatches } from '../storage/body-search.js';
import type { Queryable } from '../storage/database.js';
import { bucketOf, COMMON_SEVERITY_MAX, pairIsFew } from '../storage/log-order.js';
import type { Log, LogPage } from './api-types.js';
import { Conditions, orderBy, pageOf, textColumn, timeColumn, type Keyset } from './pages.js';
import { environmentOf } from '../../contract/run-sql.js';
import { RESOURCE_SCOPE_SELECT, resourceAndScope, type ResourceScopeColumns } from './shape.js';

export interface LogFilter {
  pipeline?: string;
  stage?: string;
  runId?: string;
  traceId?: string;
  severityMin?: number;
  service?: string;
  environment?: string;
  since?: Date;
  until?: Date;
  /** Words of the body, in web-search syntax ("quoted phrase", -excluded, or). */
  q?: string;
}

export const LOG_SELECT = `SELECT ts, fingerprint::text AS fingerprint, time_unix_nano::text AS time_unix_nano,
  observed_time_unix_nano::text AS observed_time_unix_nano, severity_number, severity_text, service_name,
  event_name, body, trace_id, span_id, flags::float8 AS flags, pipeline, run_id, stage, attributes,
  dropped_attributes_count::float8 AS dropped_attributes_count, ${RESOURCE_SCOPE_SELECT}
  FROM logs l`;

/** A log record as stored: the answer's fields, with its time as `ts`, a fingerprint, and its resource and scope as columns. */
export type LogDbRow = Omit<Log, 'timestamp' | 'resource' | 'scope'> & ResourceScopeColumns & { ts: Date; fingerprint: string };

export function shapeLog(row: LogDbRow): Log {
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

/** By time; the fingerprint (read as text, whatever its stored type) breaks ties within a timestamp. */
const byTime = (descending: boolean, name: string): Keyset<LogDbRow> => ({
  name,
  columns: [timeColumn('ts'), textColumn('fingerprint::text', /^[0-9a-zA-Z\\-]{1,80}$/)],
  descending,
  key: (row) => [new Date(row.ts).toISOString(), row.fingerprint],
});

/** Newest first (the default: what just happened), or oldest first (reading a period forwards). */
export const LOG_SORTS = {
  '-timestamp': byTime(true, '-timestamp'),
  timestamp: byTime(false, 'timestamp'),
} as const;
export type LogSort = keyof typeof LOG_SORTS;

/**
 * Service and environment belong to a record's stream (storage/migrations.ts, migration 4). The tenant's
 * matching streams are read first, up to MANY_STREAMS of them. As many or fewer: records are matched by
 * their ids, passed as a parameter, so that the planner sees how many records they hold: a rare service's
 * page is then found through the log_records_stream index, a common one's by walking the key newest first.
 * More: so many streams hold many records, so the key is walked, each record's stream looked up by its
 * primary key as the view does for its columns. Reading and planning all the ids would cost more than the
 * page (the 33,000 streams of an environment at 10 M records: 48 ms to read, 134 ms to plan, the planner
 * weighing each id in each daily partition). Records stored before migration 4 have stream 0 in the view
 * and are matched by their own columns.
 */
async function byStream(db: Queryable, where: Conditions, tenantId: number, value: string | undefined, of: (alias: string) => string): Promise<void> {
  if (value === undefined) return;
  const { rows } = await db.query<{ stream_id: string }>(
    `SELECT s.stream_id FROM log_streams s WHERE s.tenant_id = $1 AND ${of('s')} = $2 LIMIT ${MANY_STREAMS + 1}`,
    [tenantId, value],
  );
  if (rows.length > MANY_STREAMS) {
    where.add((p) => `${of('l')} = ${p}`, value);
    return;
  }
  where.add((p) => `stream_id = ANY(${p}::bigint[])`, [...rows.map((row) => row.stream_id), '0']);
  where.add((p) => `(stream_id <> 0 OR ${of('l')} = ${p})`, value);
}

const MANY_STREAMS = 1000;

const serviceOf = (alias: string) => `${alias}.service_name`;

/**
 * Whether the filter's records are few enough to find through their index and sort, whatever the
 * estimates: a run's or a trace's (a trace's hex form has none worth the name: the planner would walk the
 * key through every record), or a pipeline's records of one stage when it has few (log-order.ts).
 */
async function fewMatches(db: Queryable, tenantId: number, filter: LogFilter): Promise<boolean> {
  if (filter.runId !== undefined || filter.traceId !== undefined) return true;
  if (filter.pipeline === undefined || filter.stage === undefined) return false;
  return pairIsFew(db, tenantId, filter.pipeline, filter.stage);
}

/**
 * Whether the filter is one that migration 9's time-bucket indexes serve (storage/log-order.ts): the page
 * is then asked for by the bucket first, the order those indexes list records in. Without one of them,
 * the key (tenant, time) lists the records in time order itself, or the filter's index finds few enough
 * to sort (a run's, a trace's, a rare word's, a rare pipeline and stage's).
 */
function byBucket(filter: LogFilter, few: boolean): boolean {
  const severe = filter.severityMin !== undefined && filter.severityMin > COMMON_SEVERITY_MAX;
  return !few && (severe || filter.pipeline !== undefined || filter.stage !== undefined);
}

export async function listLogs(
  db: Queryable,
  tenantId: number,
  filter: LogFilter,
  limit: number,
  cursor?: string,
  sort: LogSort = '-timestamp',
): Promise<LogPage> {
  const keyset = LOG_SORTS[sort];
  const few = await fewMatches(db, tenantId, filter);
  const buckets = byBucket(filter, few);
  const where = new Conditions();
  where.add((p) => `tenant_id = ${p}`, tenantId);
  where.add((p) => `pipeline = ${p}`, filter.pipeline);
  where.add((p) => `stage = ${p}`, filter.stage);
  where.add((p) => `run_id = ${p}`, filter.runId);
  where.add((p) => `trace_id = ${p}`, filter.traceId);
  where.add((p) => `severity_number >= ${p}`, filter.severityMin);
  await byStream(db, where, tenantId, filter.service, serviceOf);
  await byStream(db, where, tenantId, filter.environment, environmentOf);
  // The bucket bounds repeat the time bounds in the terms of the bucket indexes, which cannot read the
  // time's: without them a page would walk every bucket after the range (or the cursor) to reach it.
  where.add((p) => `ts >= ${p}` + (buckets ? ` AND ${bucketOf('ts')} >= ${bucketOf(`${p}::timestamptz`)}` : ''), filter.since?.toISOString());
  where.add((p) => `ts < ${p}` + (buckets ? ` AND ${bucketOf('ts')} <= ${bucketOf(`${p}::timestamptz`)}` : ''), filter.until?.toISOString());
  // Word search, 'simple' configuration: no stemming or stop words, as log bodies are identifiers and
  // messages in any language.
  where.add(bodyMatches, filter.q);
  const from = where.after(cursor, keyset);
  if (buckets && from) where.clauses.push(`${bucketOf('ts')} ${keyset.descending ? '<=' : '>='} ${bucketOf(from)}`);
  const order = (buckets ? `${bucketOf('ts')} ${keyset.descending ? 'DESC' : 'ASC'}, ` : '') + orderBy(keyset);
  const { rows } = await db.query<LogDbRow>(pageThenColumns(where.where, few, order, orderBy(keyset), limit + 1), where.params);
  return pageOf(rows, limit, keyset, shapeLog);
}

/**
 * The page's keys first, then its records' columns. The logs view computes a record's stream columns
 * (resource, scope, attributes) per row; asked for in the same query, the planner counts that cost for
 * every match it might sort, and so walks the newest-first key through millions of rows rather than
 * sort the few matches of a rare word (bench:query: `q=` with a rare word 520 ms against 10 ms).
 * Choosing the page over keys alone leaves it the choice between the key walk and the word index on
 * their own costs; the columns are then read for the page's rows only, each by its key. Through the
 * view's UNION ALL, a row's key does not prune the daily partitions: each row would look in every one.
 * The page's time span does, once (OFFSET 0 keeps the lookup a loop over the page's rows, rather than a
 * join that reads the span's every record).
 */
function pageThenColumns(where: string, few: boolean, pageOrder: string, order: string, rows: number): string {
  // OFFSET 0 plans the matches apart from the order: the cheapest way to them all, then a sort.
  const matches = few ? `(SELECT tenant_id, ts, fingerprint FROM logs l WHERE ${where} OFFSET 0) l` : `logs l WHERE ${where}`;
  return `WITH page AS MATERIALIZED (
  SELECT tenant_id, ts, fingerprint FROM ${matches} ORDER BY ${pageOrder} LIMIT ${rows}),
span AS (SELECT min(ts) AS first, max(ts) AS last FROM page)
SELECT * FROM (
  SELECT r.* FROM page p CROSS JOIN LATERAL (
    ${LOG_SELECT} WHERE l.tenant_id = p.tenant_id AND l.ts = p.ts AND l.fingerprint = p.fingerprint
      AND l.ts >= (SELECT first FROM span) AND l.ts <= (SELECT last FROM span) OFFSET 0) r) page_rows
ORDER BY ${order}`;
}
