/**
 * One group-commit transaction: the rows of every request in the batch are copied into a staging
 * table, moved into log_streams, log_records and spans with ON CONFLICT DO NOTHING (a resent record
 * conflicts and is not stored twice), and the pipeline runs and stages that the new records describe are merged into their
 * stored rows (merge-runs.ts), with their days' sums (run-days.ts) and the new records' checks, all before one COMMIT.
 */
import type { Tenant } from '../model/records.js';
import { DERIVING_EVENTS, merge, type CheckFacts, type Derived, type RunEnded, type RunFacts, type StageEnded, type StageFacts } from '../model/runs.js';
import type { Queryable, Transaction } from './database.js';
import { mergeRunsAndStages, stageKey } from './merge-runs.js';
import type { PartitionManager } from './partitions.js';
import { addRunChanges, type RunChange } from './run-days.js';
import { fingerprintAsUuid, LOG_RECORD_COLUMNS, LOG_STREAM_COLUMNS, SPAN_COLUMNS } from './rows-csv.js';

/** A request's rows rendered as COPY lines and its pipeline facts derived (ingest/prepare.ts). */
export interface Prepared {
  logLines: string[];
  /** The log_streams lines the log lines refer to, by stream key (RenderedStream). */
  streamLines: Map<string, string>;
  spanLines: string[];
  logDays: Set<number>;
  spanDays: Set<number>;
  /** Facts keyed by what the database returns for inserted rows, so that only new records derive. */
  candidates: Map<string, { tenant: Tenant; derived: Derived; check?: StoredCheck | null }>;
}

/** Candidate keys: prepare.ts files facts under them, and the staging moves below find them for the rows they inserted. */
export const logKey = (tenantId: number, fingerprint: string) => `L${tenantId}:${fingerprint}`;
export const spanKey = (tenantId: number, traceId: string, spanId: string) => `S${tenantId}:${traceId}:${spanId}`;

export interface BatchEffects {
  logs: { accepted: number; duplicates: number };
  spans: { accepted: number; duplicates: number };
  runsEnded: RunEnded[];
  stagesEnded: StageEnded[];
}

/**
 * How rows reach each table: COPY into a temporary staging table (per connection, emptied at COMMIT),
 * then INSERT ... ON CONFLICT DO NOTHING, returning how many rows were new and, for the new rows that
 * derive runs, stages and checks, the parts of their candidate keys (tenant, a, b: key() makes the key of them).
 */
const STAGED: Record<'streams' | 'logs' | 'spans', Staged> = {
  // In key order, so that two transactions storing the same new streams take their row locks in one
  // order and cannot deadlock; the count is not reported (streams are not records).
  streams: {
    create: `CREATE TEMP TABLE IF NOT EXISTS pipemon_log_streams_staging (LIKE log_streams) ON COMMIT DELETE ROWS`,
    table: 'pipemon_log_streams_staging',
    columns: LOG_STREAM_COLUMNS,
    move: `WITH ins AS (
             INSERT INTO log_streams SELECT * FROM pipemon_log_streams_staging ORDER BY tenant_id, stream_id
             ON CONFLICT DO NOTHING RETURNING 1)
           SELECT count(*)::int AS inserted, '{}'::int[] AS tenants, '{}'::text[] AS a, '{}'::text[] AS b FROM ins`,
    params: [],
    key: () => '',
  },
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
    params: [DERIVING_EVENTS],
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
};

interface Staged {
  create: string;
  table: string;
  columns: readonly string[];
  move: string;
  params: unknown[];
  key: (tenant: number, a: string, b: string) => string;
}

async function insertStaged(tx: Transaction, staged: Staged, lines: string[]): Promise<{ inserted: number; keys: string[] }> {
  await tx.query(staged.create);
  await tx.copyCsv(staged.table, staged.columns, lines.join(''));
  const { rows } = await tx.query<{ inserted: number; tenants: number[]; a: string[]; b: string[] }>(staged.move, staged.params);
  const { inserted, tenants, a, b } = rows[0]!;
  return { inserted, keys: tenants.map((tenant, i) => staged.key(tenant, a[i]!, b[i]!)) };
}

/**
 * Creates the partitions a batch needs in a short transaction of their own, committed before the batch's:
 * CREATE TABLE ... PARTITION OF locks the parent table until COMMIT, and held through a batch's inserts
 * that lock deadlocks with a concurrent batch waiting for the same new stream or record (measured by
 * bench:query's parallel loads). writeBatch then finds them made.
 */
export async function ensurePartitions(db: Queryable, partitions: PartitionManager, batch: Prepared[]): Promise<void> {
  const logDays = batch.flatMap((p) => [...p.logDays]);
  const spanDays = batch.flatMap((p) => [...p.spanDays]);
  if (logDays.length > 0) await partitions.ensure(db, 'log_records', new Set(logDays));
  if (spanDays.length > 0) await partitions.ensure(db, 'spans', new Set(spanDays));
}

export async function writeBatch(tx: Transaction, partitions: PartitionManager, batch: Prepared[]): Promise<BatchEffects> {
  const logLines = batch.flatMap((p) => p.logLines);
  const spanLines = batch.flatMap((p) => p.spanLines);
  const candidates = new Map(batch.flatMap((p) => [...p.candidates]));

  const effects: BatchEffects = {
    logs: { accepted: 0, duplicates: 0 },
    spans: { accepted: 0, duplicates: 0 },
    runsEnded: [],
    stagesEnded: [],
  };
  const inserted: string[] = [];
  if (logLines.length > 0) {
    await partitions.ensure(tx, 'log_records', new Set(batch.flatMap((p) => [...p.logDays])));
    await insertStaged(tx, STAGED.streams, [...new Map(batch.flatMap((p) => [...p.streamLines])).values()]);
    const moved = await insertStaged(tx, STAGED.logs, logLines);
    effects.logs = { accepted: moved.inserted, duplicates: logLines.length - moved.inserted };
    inserted.push(...moved.keys);
  }
  if (spanLines.length > 0) {
    await partitions.ensure(tx, 'spans', new Set(batch.flatMap((p) => [...p.spanDays])));
    const moved = await insertStaged(tx, STAGED.spans, spanLines);
    effects.spans = { accepted: moved.inserted, duplicates: spanLines.length - moved.inserted };
    inserted.push(...moved.keys);
  }

  const byTenant = new Map<number, { tenant: Tenant; runs: Map<string, RunFacts>; stages: Map<string, StageFacts> }>();
  const checks: { tenant: Tenant; check: StoredCheck }[] = [];
  for (const key of inserted) {
    const found = candidates.get(key);
    if (!found) continue;
    const { tenant, derived, check } = found;
    if (check) checks.push({ tenant, check });
    let group = byTenant.get(tenant.id);
    if (!group) byTenant.set(tenant.id, (group = { tenant, runs: new Map(), stages: new Map() }));
    if (derived.run) addFacts(group.runs, derived.run.runId, derived.run);
    if (derived.stage) addFacts(group.stages, stageKey(derived.stage.runId, derived.stage.stageRunId), derived.stage);
  }
  // Locks in one order in every transaction (tenants by id, then the days' figures), so that two cannot deadlock.
  const dayChanges: RunChange[] = [];
  for (const { tenant, runs, stages } of [...byTenant.values()].sort((a, b) => a.tenant.id - b.tenant.id)) {
    if (runs.size === 0) continue;
    const merged = await mergeRunsAndStages(tx, tenant, runs, stages);
    effects.runsEnded.push(...merged.runsEnded);
    effects.stagesEnded.push(...merged.stagesEnded);
    dayChanges.push(...merged.changes);
  }
  await addRunChanges(tx, dayChanges);
  await insertChecks(tx, checks);
  return effects;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A check with the fingerprint of its record: the key it is stored under, as the logs view shows it. */
export type StoredCheck = CheckFacts & { fingerprint: string };

async function insertChecks(tx: Queryable, checks: { tenant: Tenant; check: StoredCheck }[]): Promise<void> {
  if (checks.length === 0) return;
  const rows = checks.map(({ tenant, check }) => ({
    tenant_id: tenant.id,
    ts: iso(check.atMs),
    fingerprint: check.fingerprint,
    pipeline: check.pipeline,
    run_id: check.runId,
    stage: check.stage,
    name: check.name,
    passed: check.passed,
    details: check.details,
    body: check.body,
  }));
  await tx.query(
    `INSERT INTO pipeline_checks (tenant_id, ts, fingerprint, pipeline, run_id, stage, name, passed, details, body)
     SELECT tenant_id, ts, ${fingerprintAsUuid('fingerprint')}, pipeline, run_id, stage, name, passed, details, body
       FROM jsonb_to_recordset($1::jsonb) AS c(tenant_id integer, ts timestamptz, fingerprint bigint, pipeline text, run_id text,
                                                stage text, name text, passed boolean, details jsonb, body text)
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

function addFacts<F extends RunFacts | StageFacts>(map: Map<string, F>, key: string, facts: F): void {
  const existing = map.get(key);
  map.set(key, existing ? merge(existing, facts) : facts);
}

