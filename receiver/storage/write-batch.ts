/**
 * One group-commit transaction: the rows of every request in the batch are copied into a staging
 * table, moved into logs / spans with ON CONFLICT DO NOTHING (a resent record conflicts and is not
 * stored twice), and the pipeline runs and stages they describe are upserted, all before one COMMIT.
 */
import type { LogRow, SpanRow } from '../otlp/rows.js';
import { DERIVING_EVENTS, deriveFromLog, deriveFromSpan, merge, type Derived, type RunFacts, type StageFacts } from '../derive.js';
import type { RunEnded, StageEnded } from '../metrics.js';
import type { Result } from '../../sdk/vocabulary.js';
import type { Queryable, Transaction } from './database.js';
import type { PartitionManager } from './partitions.js';
import { LOG_COLUMNS, SPAN_COLUMNS, renderLog, renderSpan } from './rows-csv.js';

export interface Tenant {
  id: number;
  name: string;
}

export interface BatchItem {
  tenant: Tenant;
  logs: LogRow[];
  spans: SpanRow[];
}

export interface BatchEffects {
  logs: { accepted: number; duplicates: number };
  spans: { accepted: number; duplicates: number };
  runsEnded: RunEnded[];
  stagesEnded: StageEnded[];
}

/**
 * How rows reach each table: COPY into a temporary staging table (per connection, emptied at COMMIT),
 * then INSERT ... ON CONFLICT DO NOTHING, returning how many rows were new and the keys of the new rows
 * that derive runs and stages (the `candidates` keys of writeBatch).
 */
const STAGED = {
  logs: {
    create: `CREATE TEMP TABLE IF NOT EXISTS pipemon_logs_staging (LIKE logs) ON COMMIT DELETE ROWS`,
    table: 'pipemon_logs_staging',
    columns: LOG_COLUMNS,
    move: `WITH ins AS (
             INSERT INTO logs SELECT * FROM pipemon_logs_staging ON CONFLICT DO NOTHING
             RETURNING tenant_id, fingerprint, event_name, run_id)
           SELECT count(*)::int AS inserted,
                  coalesce(array_agg('L' || tenant_id || ':' || fingerprint)
                    FILTER (WHERE run_id IS NOT NULL AND event_name = ANY($1)), '{}') AS keys
             FROM ins`,
    params: [DERIVING_EVENTS],
  },
  spans: {
    create: `CREATE TEMP TABLE IF NOT EXISTS pipemon_spans_staging (LIKE spans) ON COMMIT DELETE ROWS`,
    table: 'pipemon_spans_staging',
    columns: SPAN_COLUMNS,
    move: `WITH ins AS (
             INSERT INTO spans SELECT * FROM pipemon_spans_staging ON CONFLICT DO NOTHING
             RETURNING tenant_id, trace_id, span_id, pipeline)
           SELECT count(*)::int AS inserted,
                  coalesce(array_agg('S' || tenant_id || ':' || trace_id || ':' || span_id)
                    FILTER (WHERE pipeline IS NOT NULL), '{}') AS keys
             FROM ins`,
    params: [],
  },
};

async function insertStaged(tx: Transaction, staged: (typeof STAGED)[keyof typeof STAGED], lines: string[]) {
  await tx.query(staged.create);
  await tx.copyCsv(staged.table, staged.columns, lines.join(''));
  const { rows } = await tx.query<{ inserted: number; keys: string[] }>(staged.move, staged.params);
  return rows[0]!;
}

/** A request's rows rendered and its pipeline facts derived: done before the transaction begins. */
export interface Prepared {
  logLines: string[];
  spanLines: string[];
  logDays: Set<number>;
  spanDays: Set<number>;
  /** Facts keyed by what the database returns for inserted rows, so that only new records derive. */
  candidates: Map<string, { tenant: Tenant; derived: Derived }>;
}

export function prepare({ tenant, logs, spans }: BatchItem): Prepared {
  const prepared: Prepared = { logLines: [], spanLines: [], logDays: new Set(), spanDays: new Set(), candidates: new Map() };
  for (const row of logs) {
    const { line, fingerprint, dayMs } = renderLog(tenant.id, row);
    prepared.logLines.push(line);
    prepared.logDays.add(dayMs);
    const derived = deriveFromLog(row);
    if (derived.run || derived.stage) prepared.candidates.set(`L${tenant.id}:${fingerprint}`, { tenant, derived });
  }
  for (const row of spans) {
    const { line, dayMs } = renderSpan(tenant.id, row);
    prepared.spanLines.push(line);
    prepared.spanDays.add(dayMs);
    const derived = deriveFromSpan(row);
    if (derived.run || derived.stage) prepared.candidates.set(`S${tenant.id}:${row.traceId}:${row.spanId}`, { tenant, derived });
  }
  return prepared;
}

export async function writeBatch(tx: Transaction, partitions: PartitionManager, batch: Prepared[]): Promise<BatchEffects> {
  const logLines = batch.flatMap((p) => p.logLines);
  const spanLines = batch.flatMap((p) => p.spanLines);
  const logDays = new Set(batch.flatMap((p) => [...p.logDays]));
  const spanDays = new Set(batch.flatMap((p) => [...p.spanDays]));
  const candidates = new Map(batch.flatMap((p) => [...p.candidates]));

  const effects: BatchEffects = {
    logs: { accepted: 0, duplicates: 0 },
    spans: { accepted: 0, duplicates: 0 },
    runsEnded: [],
    stagesEnded: [],
  };
  const inserted: string[] = [];
  if (logLines.length > 0) {
    await partitions.ensure(tx, 'logs', logDays);
    const moved = await insertStaged(tx, STAGED.logs, logLines);
    effects.logs = { accepted: moved.inserted, duplicates: logLines.length - moved.inserted };
    inserted.push(...moved.keys);
  }
  if (spanLines.length > 0) {
    await partitions.ensure(tx, 'spans', spanDays);
    const moved = await insertStaged(tx, STAGED.spans, spanLines);
    effects.spans = { accepted: moved.inserted, duplicates: spanLines.length - moved.inserted };
    inserted.push(...moved.keys);
  }

  const byTenant = new Map<number, { tenant: Tenant; runs: Map<string, RunFacts>; stages: Map<string, StageFacts> }>();
  for (const key of inserted) {
    const found = candidates.get(key);
    if (!found) continue;
    const { tenant, derived } = found;
    let group = byTenant.get(tenant.id);
    if (!group) byTenant.set(tenant.id, (group = { tenant, runs: new Map(), stages: new Map() }));
    if (derived.run) addFacts(group.runs, derived.run.runId, derived.run);
    if (derived.stage) addFacts(group.stages, stageKey(derived.stage.runId, derived.stage.stageRunId), derived.stage);
  }
  for (const { tenant, runs, stages } of byTenant.values()) {
    await lockRuns(tx, tenant, [...new Set([...runs.keys(), ...[...stages.values()].map((stage) => stage.runId)])]);
    if (runs.size > 0) effects.runsEnded.push(...(await upsertRuns(tx, tenant, [...runs.values()])));
    if (stages.size > 0) effects.stagesEnded.push(...(await upsertStages(tx, tenant, [...stages.values()])));
  }
  return effects;
}

function addFacts<F extends RunFacts | StageFacts>(map: Map<string, F>, key: string, facts: F): void {
  const existing = map.get(key);
  map.set(key, existing ? merge(existing, facts) : facts);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Runs are listed by start, so a run first seen from a later record gets an estimated start (end minus
 * duration, or when it was seen); the real start replaces it when it arrives, as it is always earlier.
 */
function startOrEstimate(f: RunFacts | StageFacts): number | null {
  if (f.startedAtMs !== null) return f.startedAtMs;
  if (f.endedAtMs !== null) return f.endedAtMs - (f.durationSeconds ?? 0) * 1000;
  return 'lastSeenMs' in f ? f.lastSeenMs : null;
}

function commonRecord(f: RunFacts | StageFacts) {
  return {
    run_id: f.runId,
    pipeline: f.pipeline,
    state: f.state,
    result: f.result,
    started_at: iso(startOrEstimate(f)),
    ended_at: iso(f.endedAtMs),
    duration_seconds: f.durationSeconds,
    rows_read: f.rowsRead,
    rows_written: f.rowsWritten,
    rows_rejected: f.rowsRejected,
    error_type: f.errorType,
    error_message: f.errorMessage,
    target_namespace: f.targetNamespace,
    target_collection: f.targetCollection,
    attributes: f.attributes,
  };
}

// The merge rules of derive.ts merge(), in SQL: ended wins, a value beats a null, the earliest start and
// the latest end win.
const COMMON_COLUMNS = `run_id text, pipeline text, state text, result text, started_at timestamptz, ended_at timestamptz,
  duration_seconds double precision, rows_read bigint, rows_written bigint, rows_rejected bigint, error_type text,
  error_message text, target_namespace text, target_collection text, attributes jsonb`;
const COMMON_MERGE = `
  state = CASE WHEN t.state = 'ended' OR EXCLUDED.state = 'ended' THEN 'ended' ELSE 'running' END,
  result = COALESCE(EXCLUDED.result, t.result),
  started_at = LEAST(t.started_at, EXCLUDED.started_at),
  ended_at = GREATEST(t.ended_at, EXCLUDED.ended_at),
  duration_seconds = COALESCE(EXCLUDED.duration_seconds, t.duration_seconds),
  rows_read = COALESCE(EXCLUDED.rows_read, t.rows_read),
  rows_written = COALESCE(EXCLUDED.rows_written, t.rows_written),
  rows_rejected = COALESCE(EXCLUDED.rows_rejected, t.rows_rejected),
  error_type = COALESCE(EXCLUDED.error_type, t.error_type),
  error_message = COALESCE(EXCLUDED.error_message, t.error_message),
  target_namespace = COALESCE(EXCLUDED.target_namespace, t.target_namespace),
  target_collection = COALESCE(EXCLUDED.target_collection, t.target_collection),
  attributes = t.attributes || EXCLUDED.attributes`;
const COMMON_RETURNING = `pipeline, state, result, duration_seconds, error_type,
  (extract(epoch FROM ended_at) * 1000)::float8 AS ended_ms`;

interface Returned {
  pipeline: string;
  state: string;
  result: Result | null;
  duration_seconds: number | null;
  error_type: string | null;
  ended_ms: number | null;
}

/**
 * Serializes transactions that touch the same runs (two writers, or two receivers), so that "already
 * ended before this batch" below is true when read and a run's end is counted once. Locks are taken in
 * one order, hash order, so that two batches cannot deadlock on them.
 */
async function lockRuns(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<void> {
  await tx.query(
    `SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(id) AS h FROM unnest($2::text[]) AS id ORDER BY h OFFSET 0) AS s`,
    [tenant.id, runIds],
  );
}

/** Keys already ended before this batch (the caller holds the runs' locks). */
async function alreadyEnded(tx: Queryable, sql: string, params: unknown[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ key: string }>(sql, params);
  return new Set(rows.map((row) => row.key));
}

const stageKey = (runId: string, stageRunId: string) => `${runId}\u001f${stageRunId}`;

async function upsertRuns(tx: Transaction, tenant: Tenant, runs: RunFacts[]): Promise<RunEnded[]> {
  const ended = await alreadyEnded(
    tx,
    `SELECT run_id AS key FROM pipeline_runs WHERE tenant_id = $1 AND run_id = ANY($2) AND state = 'ended' FOR UPDATE`,
    [tenant.id, runs.map((run) => run.runId)],
  );
  const records = runs.map((run) => ({
    ...commonRecord(run),
    service_name: run.serviceName,
    source_system: run.sourceSystem,
    trace_id: run.traceId,
    last_seen_at: iso(run.lastSeenMs),
  }));
  const { rows } = await tx.query<Returned & { run_id: string }>(
    `INSERT INTO pipeline_runs AS t (tenant_id, run_id, pipeline, state, result, started_at, ended_at, duration_seconds,
       rows_read, rows_written, rows_rejected, error_type, error_message, target_namespace, target_collection,
       attributes, service_name, source_system, trace_id, last_seen_at)
     SELECT $1, run_id, pipeline, state, result, started_at, ended_at, duration_seconds, rows_read, rows_written, rows_rejected,
       error_type, error_message, target_namespace, target_collection, COALESCE(attributes, '{}'), service_name,
       source_system, trace_id, last_seen_at
       FROM jsonb_to_recordset($2::jsonb) AS x(${COMMON_COLUMNS}, service_name text, source_system text, trace_id text,
         last_seen_at timestamptz)
     ON CONFLICT (tenant_id, run_id) DO UPDATE SET ${COMMON_MERGE},
       pipeline = EXCLUDED.pipeline,
       service_name = COALESCE(EXCLUDED.service_name, t.service_name),
       source_system = COALESCE(EXCLUDED.source_system, t.source_system),
       trace_id = COALESCE(t.trace_id, EXCLUDED.trace_id),
       last_seen_at = GREATEST(t.last_seen_at, EXCLUDED.last_seen_at)
     RETURNING run_id, ${COMMON_RETURNING}`,
    [tenant.id, JSON.stringify(records)],
  );
  return rows
    .filter((row) => row.state === 'ended' && row.result !== null && !ended.has(row.run_id))
    .map((row) => ({
      tenant: tenant.name,
      pipeline: row.pipeline,
      result: row.result!,
      durationSeconds: row.duration_seconds,
      errorType: row.error_type,
      endedAtMs: row.ended_ms,
    }));
}

async function upsertStages(tx: Transaction, tenant: Tenant, stages: StageFacts[]): Promise<StageEnded[]> {
  const ended = await alreadyEnded(
    tx,
    `SELECT run_id || chr(31) || stage_run_id AS key FROM pipeline_stages
      WHERE tenant_id = $1 AND (run_id, stage_run_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
        AND state = 'ended' FOR UPDATE`,
    [tenant.id, stages.map((stage) => stage.runId), stages.map((stage) => stage.stageRunId)],
  );
  const records = stages.map((stage) => ({
    ...commonRecord(stage),
    stage_run_id: stage.stageRunId,
    stage: stage.stage,
    span_id: stage.spanId,
  }));
  const { rows } = await tx.query<Returned & { key: string; stage: string; rows_read: number | null; rows_written: number | null; rows_rejected: number | null }>(
    `INSERT INTO pipeline_stages AS t (tenant_id, run_id, pipeline, state, result, started_at, ended_at, duration_seconds,
       rows_read, rows_written, rows_rejected, error_type, error_message, target_namespace, target_collection,
       attributes, stage_run_id, stage, span_id)
     SELECT $1, run_id, pipeline, state, result, started_at, ended_at, duration_seconds, rows_read, rows_written, rows_rejected,
       error_type, error_message, target_namespace, target_collection, COALESCE(attributes, '{}'), stage_run_id, stage,
       span_id
       FROM jsonb_to_recordset($2::jsonb) AS x(${COMMON_COLUMNS}, stage_run_id text, stage text, span_id text)
     ON CONFLICT (tenant_id, run_id, stage_run_id) DO UPDATE SET ${COMMON_MERGE},
       stage = EXCLUDED.stage,
       span_id = COALESCE(t.span_id, EXCLUDED.span_id)
     RETURNING run_id || chr(31) || stage_run_id AS key, stage, rows_read::float8, rows_written::float8,
       rows_rejected::float8, ${COMMON_RETURNING}`,
    [tenant.id, JSON.stringify(records)],
  );
  return rows
    .filter((row) => row.state === 'ended' && row.result !== null && !ended.has(row.key))
    .map((row) => ({
      tenant: tenant.name,
      pipeline: row.pipeline,
      stage: row.stage,
      result: row.result!,
      durationSeconds: row.duration_seconds,
      rows: { read: row.rows_read, written: row.rows_written, rejected: row.rows_rejected },
    }));
}
