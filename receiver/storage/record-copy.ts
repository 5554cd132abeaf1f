/**
 * A batch's records copied into log_streams, log_records, spans, metric_streams and metric_points: COPY into a temporary staging table
 * (per connection, emptied at COMMIT), then INSERT ... ON CONFLICT DO NOTHING, so that a resent record
 * conflicts and is not stored twice. Returns how many records were new, and the keys of the new ones
 * that describe runs, stages or checks: only those are merged (merge-runs.ts).
 */
import { LOG_EVENTS_TO_DERIVE } from '../model/lineage.js';
import type { Queryable, Transaction } from './database.js';
import type { PartitionManager } from './partitions.js';
import { NO_COMMITTED_STREAMS } from './committed-streams.js';
import { METRIC_POINT_COLUMNS, METRIC_STREAM_COLUMNS } from './metric-csv.js';
import { LOG_RECORD_COLUMNS, LOG_STREAM_COLUMNS, SPAN_COLUMNS } from './rows-csv.js';

/** A request's records rendered as COPY lines (ingest/prepare.ts). */
export interface RecordLines {
  logLines: string[];
  /** The log_streams lines the log lines refer to, by stream key (RenderedStream). */
  streamLines: Map<string, string>;
  spanLines: string[];
  logDays: Set<number>;
  spanDays: Set<number>;
  pointLines: string[];
  /** The metric_streams lines the point lines refer to, by stream key (RenderedMetricStream). */
  metricStreamLines: Map<string, string>;
  pointDays: Set<number>;
}

/** Keys of new records: prepare.ts files what a record derives under its key, copyRecords() returns the new ones'. */
export const logKey = (tenantId: number, fingerprint: string) => `L${tenantId}:${fingerprint}`;
export const spanKey = (tenantId: number, traceId: string, spanId: string) => `S${tenantId}:${traceId}:${spanId}`;

export interface Counts {
  accepted: number;
  duplicates: number;
}

export interface Copied {
  logs: Counts;
  spans: Counts;
  points: Counts;
  /** logKey()s and spanKey()s of the new records that derive runs, stages or checks: logs first, then spans. */
  newKeys: string[];
}

/**
 * How rows reach each table: the staging table, the statement that moves its rows and returns how many
 * were new and, for the new rows that derive, the parts of their keys (tenant, a, b: key() makes the key of them).
 */
interface Staged {
  create: string;
  table: string;
  columns: readonly string[];
  move: string;
  params: unknown[];
  key: (tenant: number, a: string, b: string) => string;
}

/** A table whose new rows derive nothing: staged under its own name, moved (in `order`, when given) and counted. */
function counted(table: string, columns: readonly string[], order = ''): Staged {
  const staging = `pipemon_${table}_staging`;
  return {
    create: `CREATE TEMP TABLE IF NOT EXISTS ${staging} (LIKE ${table}) ON COMMIT DELETE ROWS`,
    table: staging,
    columns,
    move: `WITH ins AS (INSERT INTO ${table} SELECT * FROM ${staging}${order} ON CONFLICT DO NOTHING RETURNING 1)
           SELECT count(*)::int AS inserted, '{}'::int[] AS tenants, '{}'::text[] AS a, '{}'::text[] AS b FROM ins`,
    params: [],
    key: () => '',
  };
}

const STAGED: Record<'streams' | 'logs' | 'spans' | 'metricStreams' | 'points', Staged> = {
  // In key order, so that two transactions storing the same new streams take their row locks in one
  // order and cannot deadlock; the count is not reported (streams are not records).
  streams: counted('log_streams', LOG_STREAM_COLUMNS, ' ORDER BY tenant_id, stream_id'),
  logs: {
    create: `CREATE TEMP TABLE IF NOT EXISTS pipemon_log_records_staging (LIKE log_records) ON COMMIT DELETE ROWS`,
    table: 'pipemon_log_records_staging',
    columns: LOG_RECORD_COLUMNS,
    move: `WITH ins AS (
             INSERT INTO log_records SELECT * FROM pipemon_log_records_staging ON CONFLICT DO NOTHING
             RETURNING tenant_id, fingerprint, event_name)
           SELECT count(*)::int AS inserted, coalesce(array_agg(tenant_id) FILTER (WHERE derives), '{}') AS tenants,
                  coalesce(array_agg(fingerprint::text) FILTER (WHERE derives), '{}') AS a, '{}'::text[] AS b
             FROM (SELECT *, event_name = ANY($1) AS derives FROM ins) AS new`,
    params: [LOG_EVENTS_TO_DERIVE],
    key: (tenant: number, fingerprint: string) => logKey(tenant, fingerprint),
  },
  spans: {
    create: `CREATE TEMP TABLE IF NOT EXISTS pipemon_spans_staging (LIKE spans) ON COMMIT DELETE ROWS`,
    table: 'pipemon_spans_staging',
    columns: SPAN_COLUMNS,
    move: `WITH ins AS (
             INSERT INTO spans SELECT * FROM pipemon_spans_staging ON CONFLICT DO NOTHING
             RETURNING tenant_id, trace_id, span_id, pipeline)
           SELECT count(*)::int AS inserted, coalesce(array_agg(tenant_id) FILTER (WHERE derives), '{}') AS tenants,
                  coalesce(array_agg(trace_id) FILTER (WHERE derives), '{}') AS a,
                  coalesce(array_agg(span_id) FILTER (WHERE derives), '{}') AS b
             FROM (SELECT *, pipeline IS NOT NULL AS derives FROM ins) AS new`,
    params: [],
    key: (tenant: number, traceId: string, spanId: string) => spanKey(tenant, traceId, spanId),
  },
  // In key order, as log streams are.
  metricStreams: counted('metric_streams', METRIC_STREAM_COLUMNS, ' ORDER BY tenant_id, stream_id'),
  // Points derive nothing: a run finds its points by their stream's run or their exemplar's trace when read.
  points: counted('metric_points', METRIC_POINT_COLUMNS),
};

async function insertStaged(tx: Transaction, staged: Staged, lines: string[]): Promise<{ inserted: number; keys: string[] }> {
  await tx.query(staged.create);
  await tx.copyCsv(staged.table, staged.columns, lines.join(''));
  const { rows } = await tx.query<{ inserted: number; tenants: number[]; a: string[]; b: string[] }>(staged.move, staged.params);
  const { inserted, tenants, a, b } = rows[0]!;
  return { inserted, keys: tenants.map((tenant, i) => staged.key(tenant, a[i]!, b[i]!)) };
}

async function insertStreams(tx: Transaction, staged: Staged, lines: string[]): Promise<void> {
  if (lines.length > 0) await insertStaged(tx, staged, lines);
}

/**
 * Creates the partitions a batch needs in a short transaction of their own, committed before the batch's:
 * CREATE TABLE ... PARTITION OF locks the parent table until COMMIT, and held through a batch's inserts
 * that lock deadlocks with a concurrent batch waiting for the same new stream or record (measured by
 * bench:query's parallel loads). copyRecords() then finds them made.
 */
export async function ensurePartitions(db: Queryable, partitions: PartitionManager, batch: RecordLines[]): Promise<void> {
  const logDays = batch.flatMap((p) => [...p.logDays]);
  const spanDays = batch.flatMap((p) => [...p.spanDays]);
  const pointDays = batch.flatMap((p) => [...p.pointDays]);
  if (logDays.length > 0) await partitions.ensure(db, 'log_records', new Set(logDays));
  if (spanDays.length > 0) await partitions.ensure(db, 'spans', new Set(spanDays));
  if (pointDays.length > 0) await partitions.ensure(db, 'metric_points', new Set(pointDays));
}

/** `streams` says which stream lines need not be sent: those of streams known committed. */
export async function copyRecords(tx: Transaction, partitions: PartitionManager, batch: RecordLines[], streams = NO_COMMITTED_STREAMS): Promise<Copied> {
  const logLines = batch.flatMap((p) => p.logLines);
  const spanLines = batch.flatMap((p) => p.spanLines);
  const pointLines = batch.flatMap((p) => p.pointLines);
  const none = () => ({ accepted: 0, duplicates: 0 });
  const copied: Copied = { logs: none(), spans: none(), points: none(), newKeys: [] };
  if (logLines.length > 0) {
    await partitions.ensure(tx, 'log_records', new Set(batch.flatMap((p) => [...p.logDays])));
    await insertStreams(tx, STAGED.streams, streams.unknown(batch.flatMap((p) => [...p.streamLines])));
    const moved = await insertStaged(tx, STAGED.logs, logLines);
    copied.logs = { accepted: moved.inserted, duplicates: logLines.length - moved.inserted };
    copied.newKeys.push(...moved.keys);
  }
  if (spanLines.length > 0) {
    await partitions.ensure(tx, 'spans', new Set(batch.flatMap((p) => [...p.spanDays])));
    const moved = await insertStaged(tx, STAGED.spans, spanLines);
    copied.spans = { accepted: moved.inserted, duplicates: spanLines.length - moved.inserted };
    copied.newKeys.push(...moved.keys);
  }
  if (pointLines.length > 0) {
    await partitions.ensure(tx, 'metric_points', new Set(batch.flatMap((p) => [...p.pointDays])));
    await insertStreams(tx, STAGED.metricStreams, streams.unknown(batch.flatMap((p) => [...p.metricStreamLines])));
    const moved = await insertStaged(tx, STAGED.points, pointLines);
    copied.points = { accepted: moved.inserted, duplicates: pointLines.length - moved.inserted };
  }
  return copied;
}
