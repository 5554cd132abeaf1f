/**
 * What retention deletes row by row: runs and stages (for every tenant, beside the partition drops of
 * partitions.ts), and a tenant's records when its own retention is shorter than the server's. Partitions
 * are shared by all tenants, so a tenant's shorter retention cannot drop them: it deletes its rows.
 */
import type { Queryable } from './database.js';
import { deleteSumsBefore } from './run-days.js';

const DAY_MS = 86_400_000;

export interface Deleted {
  logs: number;
  spans: number;
  points: number;
  runs: number;
  stages: number;
}

const count = async (db: Queryable, deleteSql: string, params: unknown[]) =>
  (await db.query<{ n: number }>(`WITH gone AS (${deleteSql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, params)).rows[0]!.n;

/** Each partitioned table's time as milliseconds, and a time in milliseconds as a value to compare with it. */
const TIMES = {
  ts: { ms: 'extract(epoch FROM min(ts)) * 1000', at: (ms: number) => new Date(ms).toISOString() },
  time_unix_nano: { ms: 'min(time_unix_nano) / 1000000', at: (ms: number) => String(BigInt(ms) * 1_000_000n) },
};

/**
 * Deletes a tenant's rows of `table` older than `cutoff` a day (a partition) per statement, oldest first,
 * so that lowering a retention from 30 days to 1 never makes one statement of a month of rows.
 */
async function deleteByDay(db: Queryable, table: 'log_records' | 'logs_v1' | 'spans' | 'metric_points', tenantId: number, cutoff: string): Promise<number> {
  const column = table === 'metric_points' ? 'time_unix_nano' : 'ts';
  const time = TIMES[column];
  const cutoffMs = Date.parse(cutoff);
  let deleted = 0;
  for (;;) {
    const { rows } = await db.query<{ oldest: string | null }>(
      `SELECT (${time.ms})::bigint::text AS oldest FROM ${table} WHERE tenant_id = $1 AND ${column} < $2`,
      [tenantId, time.at(cutoffMs)],
    );
    const oldest = rows[0]?.oldest;
    if (oldest === null || oldest === undefined) return deleted;
    const dayEnd = Math.floor(Number(oldest) / DAY_MS) * DAY_MS + DAY_MS;
    deleted += await count(db, `DELETE FROM ${table} WHERE tenant_id = $1 AND ${column} < $2`, [tenantId, time.at(Math.min(dayEnd, cutoffMs))]);
  }
}

/**
 * A run or stage is as old as its start (or, with none known, its last record): the rule for every
 * retention. Its day's and hour's figures go by day and hour (run-days.ts); a check goes with its record, by its time; lineage
 * by its last use.
 */
export async function deleteRunsBefore(db: Queryable, cutoff: string, tenantId: number | null): Promise<Pick<Deleted, 'runs' | 'stages'>> {
  const tenant = '($2::int IS NULL OR tenant_id = $2)';
  const stages = await count(db, `DELETE FROM pipeline_stages WHERE COALESCE(started_at, ended_at) < $1 AND ${tenant}`, [cutoff, tenantId]);
  const runs = await count(db, `DELETE FROM pipeline_runs WHERE COALESCE(started_at, last_seen_at) < $1 AND ${tenant}`, [cutoff, tenantId]);
  await deleteSumsBefore(db, cutoff, tenantId);
  await db.query(`DELETE FROM pipeline_checks WHERE ts < $1 AND ${tenant}`, [cutoff, tenantId]);
  await deleteLineageBefore(db, cutoff, tenantId);
  return { runs, stages };
}

/**
 * Lineage as old as its last sign: a run's reads and writes by their time, an edge by its last use, a
 * dataset when nothing named it since the cutoff and no edge still leads to it.
 */
async function deleteLineageBefore(db: Queryable, cutoff: string, tenantId: number | null): Promise<void> {
  const tenant = '($2::int IS NULL OR tenant_id = $2)';
  await db.query(`DELETE FROM run_datasets WHERE at < $1 AND ${tenant}`, [cutoff, tenantId]);
  await db.query(`DELETE FROM lineage_edges WHERE last_at < $1 AND ${tenant}`, [cutoff, tenantId]);
  await db.query(
    `DELETE FROM datasets d WHERE d.last_seen < $1 AND ($2::int IS NULL OR d.tenant_id = $2)
        AND NOT EXISTS (SELECT 1 FROM lineage_edges e WHERE e.tenant_id = d.tenant_id AND e.dataset_id = d.dataset_id)`,
    [cutoff, tenantId],
  );
}

/** The tenant's own retention in days, or null when it keeps the server's. */
export async function tenantRetentionDays(db: Queryable, tenantId: number): Promise<number | null> {
  const { rows } = await db.query<{ retention_days: number | null }>('SELECT retention_days FROM tenants WHERE tenant_id = $1', [tenantId]);
  return rows[0]?.retention_days ?? null;
}

export async function setTenantRetentionDays(db: Queryable, tenantId: number, days: number | null): Promise<void> {
  await db.query('UPDATE tenants SET retention_days = $2 WHERE tenant_id = $1', [tenantId, days]);
}

/** Days kept for a tenant: its own retention, never longer than the server's (whose partition drops win). */
export const effectiveRetentionDays = (tenantDays: number | null, serverDays: number) => Math.min(tenantDays ?? serverDays, serverDays);

/** Deletes the tenant's records, runs and stages older than its retention now; returns the cutoff and the counts. */
export async function cleanupTenant(db: Queryable, tenantId: number, serverDays: number, nowMs = Date.now()) {
  const days = effectiveRetentionDays(await tenantRetentionDays(db, tenantId), serverDays);
  const cutoff = new Date(nowMs - days * DAY_MS).toISOString();
  // logs is a view (migration 4): its rows live in log_records, and in logs_v1 when stored before it.
  let logs = 0;
  for (const table of ['log_records', 'logs_v1'] as const) logs += await deleteByDay(db, table, tenantId, cutoff);
  // The tenant's resources and scopes go with its last record of them: a retention may be a promise to forget.
  await db.query(
    `DELETE FROM log_streams s WHERE s.tenant_id = $1 AND s.day < $2::date
        AND NOT EXISTS (SELECT 1 FROM log_records l WHERE l.tenant_id = s.tenant_id AND l.stream_id = s.stream_id)`,
    [tenantId, cutoff],
  );
  const spans = await deleteByDay(db, 'spans', tenantId, cutoff);
  const points = await deleteByDay(db, 'metric_points', tenantId, cutoff);
  await db.query(
    `DELETE FROM metric_streams s WHERE s.tenant_id = $1 AND s.day < $2::date
        AND NOT EXISTS (SELECT 1 FROM metric_points p WHERE p.tenant_id = s.tenant_id AND p.stream_id = s.stream_id)`,
    [tenantId, cutoff],
  );
  const deleted: Deleted = { logs, spans, points, ...(await deleteRunsBefore(db, cutoff, tenantId)) };
  return { retention_days: days, cutoff, deleted };
}

/** The hourly pass for tenants whose retention is shorter than the server's (the rest is partition drops). */
export async function cleanupShorterRetentions(db: Queryable, serverDays: number, nowMs = Date.now()): Promise<void> {
  const { rows } = await db.query<{ tenant_id: number }>('SELECT tenant_id FROM tenants WHERE retention_days < $1 ORDER BY tenant_id', [serverDays]);
  for (const { tenant_id } of rows) await cleanupTenant(db, tenant_id, serverDays, nowMs);
}
