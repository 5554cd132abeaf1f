/**
 * One group-commit transaction: the rows of every request in the batch are copied into a staging
 * table, moved into log_streams, log_records and spans with ON CONFLICT DO NOTHING (a resent record
 * conflicts and is not stored twice), and the pipeline runs and stages that the new records describe are merged into their
 * stored rows (model/runs.ts merge()), with their days' sums (run-days.ts) and the new records' checks, all before one COMMIT.
 */
import type { Tenant } from '../model/records.js';
import { DERIVING_EVENTS, merge, reportedDuration, settle, type CheckFacts, type Derived, type RunEnded, type RunFacts, type StageEnded, type StageFacts } from '../model/runs.js';
import type { Queryable, Transaction } from './database.js';
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
    if (runs.size === 0 && stages.size === 0) continue;
    await lockRuns(tx, tenant, [...new Set([...runs.keys(), ...[...stages.values()].map((stage) => stage.runId)])]);
    if (runs.size > 0) {
      const { ended, changes } = await mergeRuns(tx, tenant, runs);
      effects.runsEnded.push(...ended);
      dayChanges.push(...changes);
    }
    if (stages.size > 0) effects.stagesEnded.push(...(await mergeStages(tx, tenant, stages)));
  }
  await addRunChanges(tx, dayChanges);
  await insertChecks(tx, checks);
  return effects;
}

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

const stageKey = (runId: string, stageRunId: string) => `${runId}\u001f${stageRunId}`;

/**
 * Serializes transactions that touch the same runs (two writers, or two receivers), so that the stored
 * row read below is the one this merge replaces, and a run's end is counted once. Locks are taken in one
 * order, hash order, so that two batches cannot deadlock on them.
 */
async function lockRuns(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<void> {
  await tx.query(
    `SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(id) AS h FROM unnest($2::text[]) AS id ORDER BY h OFFSET 0) AS s`,
    [tenant.id, runIds],
  );
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The columns runs and stages share, as stored facts are read back (times in ms, counts as numbers). */
const COMMON_SELECT = `run_id, pipeline, state, result, start_estimated,
  (extract(epoch FROM started_at) * 1000)::float8 AS started_ms, (extract(epoch FROM ended_at) * 1000)::float8 AS ended_ms,
  duration_seconds, rows_read::float8, rows_written::float8, rows_rejected::float8, error_type, error_message,
  target_namespace, target_collection, attributes`;

interface CommonStored {
  run_id: string;
  pipeline: string;
  state: RunFacts['state'];
  result: RunFacts['result'];
  start_estimated: boolean;
  started_ms: number | null;
  ended_ms: number | null;
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

function commonFacts(row: CommonStored) {
  const startedAtMs = row.start_estimated ? null : row.started_ms;
  return {
    runId: row.run_id,
    pipeline: row.pipeline,
    state: row.state,
    result: row.result,
    startedAtMs,
    endedAtMs: row.ended_ms,
    durationSeconds: reportedDuration({ startedAtMs: row.started_ms, startEstimated: row.start_estimated, endedAtMs: row.ended_ms, durationSeconds: row.duration_seconds }),
    rowsRead: row.rows_read,
    rowsWritten: row.rows_written,
    rowsRejected: row.rows_rejected,
    errorType: row.error_type,
    errorMessage: row.error_message,
    targetNamespace: row.target_namespace,
    targetCollection: row.target_collection,
    attributes: row.attributes,
  };
}

function commonRecord(f: RunFacts | StageFacts) {
  const settled = settle(f);
  return {
    run_id: f.runId,
    pipeline: f.pipeline,
    state: f.state,
    result: f.result,
    started_at: iso(settled.startedAtMs),
    start_estimated: settled.startEstimated,
    ended_at: iso(f.endedAtMs),
    duration_seconds: settled.durationSeconds,
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

const COMMON_COLUMNS = ['run_id', 'pipeline', 'state', 'result', 'started_at', 'start_estimated', 'ended_at', 'duration_seconds',
  'rows_read', 'rows_written', 'rows_rejected', 'error_type', 'error_message', 'target_namespace', 'target_collection', 'attributes'];
const COMMON_TYPES = `run_id text, pipeline text, state text, result text, started_at timestamptz, start_estimated boolean,
  ended_at timestamptz, duration_seconds double precision, rows_read bigint, rows_written bigint, rows_rejected bigint,
  error_type text, error_message text, target_namespace text, target_collection text, attributes jsonb`;

/**
 * Writes merged rows over the stored ones: the merge happened in merge(), under the runs' locks, so the
 * statement only replaces.
 */
function upsertSql(table: string, key: string, extra: string[], extraTypes: string): string {
  const columns = [...COMMON_COLUMNS, ...extra];
  return `INSERT INTO ${table} AS t (tenant_id, ${columns.join(', ')})
     SELECT $1, ${columns.join(', ')} FROM jsonb_to_recordset($2::jsonb) AS x(${COMMON_TYPES}, ${extraTypes})
     ON CONFLICT (${key}) DO UPDATE SET ${columns.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`;
}

const RUNS_UPSERT = upsertSql('pipeline_runs', 'tenant_id, run_id', ['service_name', 'environment', 'source_system', 'trace_id', 'last_seen_at'],
  'service_name text, environment text, source_system text, trace_id text, last_seen_at timestamptz');
const STAGES_UPSERT = upsertSql('pipeline_stages', 'tenant_id, run_id, stage_run_id', ['stage_run_id', 'stage', 'span_id'],
  'stage_run_id text, stage text, span_id text');

/** Merges `incoming` into what is stored; returns each merged fact with whether it was ended before. */
function mergeStored<F extends RunFacts | StageFacts>(incoming: Map<string, F>, stored: Map<string, F>): { facts: F; endedBefore: boolean }[] {
  return [...incoming].map(([key, facts]) => {
    const before = stored.get(key);
    return { facts: before ? merge(before, facts) : facts, endedBefore: before?.state === 'ended' };
  });
}

/** A run row's part in its day's figures (run-days.ts), as stored: read back (-1) or written (+1); none without a start. */
function runChange(sign: 1 | -1, tenant: Tenant, run: Omit<RunChange, 'sign' | 'tenant_id' | 'started_at'> & { started_at: string | null }): RunChange[] {
  const { pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected } = run;
  return started_at === null ? [] : [{ sign, tenant_id: tenant.id, pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected }];
}

/** Merges the runs into their stored rows; returns the runs this ended, and the changes to their days' figures. */
async function mergeRuns(tx: Transaction, tenant: Tenant, runs: Map<string, RunFacts>): Promise<{ ended: RunEnded[]; changes: RunChange[] }> {
  const { rows } = await tx.query<CommonStored & { service_name: string | null; environment: string | null; source_system: string | null; trace_id: string | null; last_seen_ms: number }>(
    `SELECT ${COMMON_SELECT}, service_name, environment, source_system, trace_id, (extract(epoch FROM last_seen_at) * 1000)::float8 AS last_seen_ms
       FROM pipeline_runs WHERE tenant_id = $1 AND run_id = ANY($2) FOR UPDATE`,
    [tenant.id, [...runs.keys()]],
  );
  const stored = new Map<string, RunFacts>(
    rows.map((row) => [
      row.run_id,
      {
        ...commonFacts(row),
        serviceName: row.service_name,
        environment: row.environment,
        sourceSystem: row.source_system,
        traceId: row.trace_id,
        lastSeenMs: row.last_seen_ms,
      },
    ]),
  );
  const merged = mergeStored(runs, stored);
  const records = merged.map(({ facts }) => ({
    ...commonRecord(facts),
    service_name: facts.serviceName,
    environment: facts.environment,
    source_system: facts.sourceSystem,
    trace_id: facts.traceId,
    last_seen_at: iso(facts.lastSeenMs),
  }));
  await tx.query(RUNS_UPSERT, [tenant.id, JSON.stringify(records)]);
  const changes = [
    ...rows.flatMap((row) => runChange(-1, tenant, { ...row, started_at: iso(row.started_ms) })),
    ...records.flatMap((record) => runChange(1, tenant, record)),
  ];
  const ended = merged
    .filter(({ facts, endedBefore }) => facts.state === 'ended' && facts.result !== null && !endedBefore)
    .map(({ facts }) => ({
      tenant: tenant.name,
      pipeline: facts.pipeline,
      result: facts.result!,
      durationSeconds: settle(facts).durationSeconds,
      errorType: facts.errorType,
      endedAtMs: facts.endedAtMs,
    }));
  return { ended, changes };
}

async function mergeStages(tx: Transaction, tenant: Tenant, stages: Map<string, StageFacts>): Promise<StageEnded[]> {
  const { rows } = await tx.query<CommonStored & { stage_run_id: string; stage: string; span_id: string | null }>(
    `SELECT ${COMMON_SELECT}, stage_run_id, stage, span_id FROM pipeline_stages
      WHERE tenant_id = $1 AND (run_id, stage_run_id) IN (SELECT * FROM unnest($2::text[], $3::text[])) FOR UPDATE`,
    [tenant.id, [...stages.values()].map((stage) => stage.runId), [...stages.values()].map((stage) => stage.stageRunId)],
  );
  const stored = new Map<string, StageFacts>(
    rows.map((row) => [stageKey(row.run_id, row.stage_run_id), { ...commonFacts(row), stageRunId: row.stage_run_id, stage: row.stage, spanId: row.span_id }]),
  );
  const merged = mergeStored(stages, stored);
  const records = merged.map(({ facts }) => ({ ...commonRecord(facts), stage_run_id: facts.stageRunId, stage: facts.stage, span_id: facts.spanId }));
  await tx.query(STAGES_UPSERT, [tenant.id, JSON.stringify(records)]);
  return merged
    .filter(({ facts, endedBefore }) => facts.state === 'ended' && facts.result !== null && !endedBefore)
    .map(({ facts }) => ({
      tenant: tenant.name,
      pipeline: facts.pipeline,
      stage: facts.stage,
      result: facts.result!,
      durationSeconds: settle(facts).durationSeconds,
      rows: { read: facts.rowsRead, written: facts.rowsWritten, rejected: facts.rowsRejected },
    }));
}
