/**
 * The write path's side of the stored run and stage rows (run-columns.ts): facts (model/runs.ts) become
 * rows to write, and stored rows read back become the facts they hold, so that a batch's facts merge
 * with them (merge-runs.ts). Reads take the rows' locks: the merge writes them back in the same
 * transaction.
 */
import type { Tenant } from '../model/records.js';
import { reportedDuration, settle, type Reported, type RunFacts, type Settled, type StageFacts } from '../model/runs.js';
import type { Queryable } from './database.js';
import {
  columnNames,
  recordsetColumns,
  RUN_COLUMNS,
  selectColumns,
  STAGE_COLUMNS,
  type SharedRunRow,
  type StoredRunRow,
  type StoredStageRow,
} from './run-columns.js';

/** A stage's key among its tenant's: its run and its stage run id. */
export const stageKey = (runId: string, stageRunId: string) => `${runId}\u001f${stageRunId}`;

/** A stored run: its own facts (its row with what the row replaced put back), and its row, times in milliseconds. */
export interface StoredRun {
  own: RunFacts;
  row: StoredRunRow<number>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const asMilliseconds = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** The stored runs `runIds` of `tenant`, by run id; none for a run not stored yet. */
export async function readRuns(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<Map<string, StoredRun>> {
  const { rows } = await tx.query<StoredRunRow<number>>(
    `SELECT ${selectColumns(RUN_COLUMNS, asMilliseconds)} FROM pipeline_runs WHERE tenant_id = $1 AND run_id = ANY($2) FOR UPDATE`,
    [tenant.id, runIds],
  );
  return new Map(rows.map((row) => [row.run_id, { own: runFactsOf(row), row }]));
}

/** Every stored stage of the runs, by stageKey(), as stored (a stage closed by its run still closed: reopened() reads it as reported). */
export async function readStages(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<Map<string, StageFacts>> {
  const { rows } = await tx.query<StoredStageRow<number>>(
    `SELECT ${selectColumns(STAGE_COLUMNS, asMilliseconds)} FROM pipeline_stages WHERE tenant_id = $1 AND run_id = ANY($2) FOR UPDATE`,
    [tenant.id, runIds],
  );
  return new Map(rows.map((row) => [stageKey(row.run_id, row.stage_run_id), { ...sharedFacts(row), stageRunId: row.stage_run_id, stage: row.stage, spanId: row.span_id }]));
}

/** Writes merged rows over the stored ones: the merge happened under the runs' locks, so the statement only replaces. */
function upsertSql(table: string, key: string, columns: typeof RUN_COLUMNS | typeof STAGE_COLUMNS): string {
  const names = columnNames(columns);
  return `INSERT INTO ${table} AS t (tenant_id, ${names.join(', ')})
     SELECT $1, ${names.join(', ')} FROM jsonb_to_recordset($2::jsonb) AS x(${recordsetColumns(columns)})
     ON CONFLICT (${key}) DO UPDATE SET ${names.map((name) => `${name} = EXCLUDED.${name}`).join(', ')}`;
}

const RUNS_UPSERT = upsertSql('pipeline_runs', 'tenant_id, run_id', RUN_COLUMNS);
const STAGES_UPSERT = upsertSql('pipeline_stages', 'tenant_id, run_id, stage_run_id', STAGE_COLUMNS);

export async function writeRuns(tx: Queryable, tenant: Tenant, rows: StoredRunRow<string>[]): Promise<void> {
  if (rows.length > 0) await tx.query(RUNS_UPSERT, [tenant.id, JSON.stringify(rows)]);
}

export async function writeStages(tx: Queryable, tenant: Tenant, rows: StoredStageRow<string>[]): Promise<void> {
  if (rows.length > 0) await tx.query(STAGES_UPSERT, [tenant.id, JSON.stringify(rows)]);
}

/** A run's row as written: the facts it shows, their settled start and duration, and what it reported where those differ. */
export function runRow(f: RunFacts, settled: Settled, reported: Reported | null): StoredRunRow<string> {
  return {
    ...sharedRow(f, settled),
    service_name: f.serviceName,
    environment: f.environment,
    source_system: f.sourceSystem,
    trace_id: f.traceId,
    last_seen_at: new Date(f.lastSeenMs).toISOString(),
    reported,
  };
}

export const stageRow = (f: StageFacts): StoredStageRow<string> => ({ ...sharedRow(f, settle(f)), stage_run_id: f.stageRunId, stage: f.stage, span_id: f.spanId });

function sharedRow(f: RunFacts | StageFacts, settled: Settled): SharedRunRow<string> {
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

function runFactsOf(row: StoredRunRow<number>): RunFacts {
  return {
    ...sharedFacts(row),
    serviceName: row.service_name,
    environment: row.environment,
    sourceSystem: row.source_system,
    traceId: row.trace_id,
    lastSeenMs: row.last_seen_at,
    startHintMs: null,
    ...row.reported,
  };
}

/** The facts a stored row holds: an estimated start or a measured duration reads back as not reported (settle() makes them again). */
function sharedFacts(row: SharedRunRow<number>) {
  return {
    runId: row.run_id,
    pipeline: row.pipeline,
    state: row.state,
    result: row.result,
    startedAtMs: row.start_estimated ? null : row.started_at,
    endedAtMs: row.ended_at,
    durationSeconds: reportedDuration({ startedAtMs: row.started_at, startEstimated: row.start_estimated, endedAtMs: row.ended_at, durationSeconds: row.duration_seconds }),
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
