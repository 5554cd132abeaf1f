/**
 * The runs and stages of a batch merged into their stored rows under their runs' locks: each run's own
 * facts (model/runs.ts merge()), then what it shows with all its stages (rollUp()), written back with the
 * changes to their days' figures (run-days.ts) and the ends the metrics count after COMMIT.
 */
import type { Tenant } from '../model/records.js';
import {
  isFailedResult,
  merge,
  reopened,
  reportedDuration,
  reportedOf,
  rollUp,
  settle,
  type Reported,
  type RunEnded,
  type RunFacts,
  type Settled,
  type StageEnded,
  type StageFacts,
} from '../model/runs.js';
import type { Queryable, Transaction } from './database.js';
import type { RunChange } from './run-days.js';
import { SHARED_RUN_COLUMNS, type SharedRunColumns } from './run-columns.js';

export const stageKey = (runId: string, stageRunId: string) => `${runId}\u001f${stageRunId}`;

export interface Merged {
  runsEnded: RunEnded[];
  stagesEnded: StageEnded[];
  changes: RunChange[];
}

/** Merges a tenant's runs and stages of one batch (every stage's run is among `runs`: derive.ts makes one for it). */
export async function mergeRunsAndStages(tx: Transaction, tenant: Tenant, runs: Map<string, RunFacts>, stages: Map<string, StageFacts>): Promise<Merged> {
  const runIds = [...runs.keys()];
  await lockRuns(tx, tenant, runIds);
  const storedStages = await readStages(tx, tenant, runIds);
  const storedRuns = await readRuns(tx, tenant, runIds);
  const allStages = new Map([...storedStages].map(([key, stage]) => [key, reopened(stage)]));
  for (const [key, facts] of stages) allStages.set(key, allStages.has(key) ? merge(allStages.get(key)!, facts) : facts);
  const stagesOfRun = new Map<string, StageFacts[]>();
  for (const stage of allStages.values()) {
    const ofRun = stagesOfRun.get(stage.runId);
    if (ofRun) ofRun.push(stage);
    else stagesOfRun.set(stage.runId, [stage]);
  }

  const result: Merged = { runsEnded: [], stagesEnded: stagesEnded(tenant, stages.keys(), storedStages, allStages), changes: [] };
  const stageRecords = new Map([...stages.keys()].map((key) => [key, allStages.get(key)!]));
  const runRecords = [...runs].map(([runId, incoming]) => {
    const before = storedRuns.get(runId);
    const own = before ? merge(before.own, incoming) : incoming;
    const shown = rollUp(own, stagesOfRun.get(runId) ?? []);
    // A stage its run closed is written once, when it closes (it reads back as open, and closes again).
    for (const stage of shown.closed) {
      const key = stageKey(runId, stage.stageRunId);
      if (stages.has(key) || storedStages.get(key)?.state !== 'ended') stageRecords.set(key, stage);
    }
    const record = runRecord(shown.facts, shown.settled, reportedOf(own, shown));
    if (before) result.changes.push(...runChange(-1, tenant, { ...before.row, started_at: iso(before.row.started_ms) }));
    result.changes.push(...runChange(1, tenant, record));
    const ended = runEnded(tenant, shown.facts, shown.settled, before?.row);
    if (ended) result.runsEnded.push(ended);
    return record;
  });
  // A batch of run records alone (heartbeats, ends) writes no stage.
  if (stageRecords.size > 0) await tx.query(STAGES_UPSERT, [tenant.id, JSON.stringify([...stageRecords.values()].map(stageRecord))]);
  await tx.query(RUNS_UPSERT, [tenant.id, JSON.stringify(runRecords)]);
  return result;
}

/** The batch's stages that reported their end in it: each counted once, however often its end arrives. */
function stagesEnded(tenant: Tenant, keys: Iterable<string>, stored: Map<string, StageFacts>, merged: Map<string, StageFacts>): StageEnded[] {
  return [...keys].flatMap((key) => {
    const stage = merged.get(key)!;
    const before = stored.get(key);
    const endedBefore = before !== undefined && reopened(before).state === 'ended';
    return stage.state === 'ended' && stage.result !== null && !endedBefore ? [stageEnded(tenant, stage)] : [];
  });
}

/**
 * Serializes transactions that touch the same runs (two writers, or two receivers), so that the stored
 * rows read below are the ones this merge replaces, and a run's end is counted once. Locks are taken in one
 * order, hash order, so that two batches cannot deadlock on them.
 */
async function lockRuns(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<void> {
  await tx.query(
    `SELECT pg_advisory_xact_lock($1, h) FROM (SELECT DISTINCT hashtext(id) AS h FROM unnest($2::text[]) AS id ORDER BY h OFFSET 0) AS s`,
    [tenant.id, runIds],
  );
}

/**
 * A run counts as ended when it first shows an end, and again when a failure shows after it had counted
 * as not failed (its failed stage arrived after its end): the failure must reach the alerts.
 */
function runEnded(tenant: Tenant, shown: RunFacts, settled: Settled, before: Pick<CommonStored, 'state' | 'result'> | undefined): RunEnded | null {
  if (shown.state !== 'ended' || shown.result === null) return null;
  const counted = before?.state === 'ended' && before.result !== null;
  if (counted && !(isFailedResult(shown.result) && !isFailedResult(before.result))) return null;
  return { tenant: tenant.name, pipeline: shown.pipeline, result: shown.result, durationSeconds: settled.durationSeconds, errorType: shown.errorType, endedAtMs: shown.endedAtMs };
}

function stageEnded(tenant: Tenant, stage: StageFacts): StageEnded {
  return {
    tenant: tenant.name,
    pipeline: stage.pipeline,
    stage: stage.stage,
    result: stage.result!,
    durationSeconds: settle(stage).durationSeconds,
    rows: { read: stage.rowsRead, written: stage.rowsWritten, rejected: stage.rowsRejected },
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The columns runs and stages share, with their times in milliseconds, as merge() takes them. */
const COMMON_SELECT = `${SHARED_RUN_COLUMNS},
  (extract(epoch FROM started_at) * 1000)::float8 AS started_ms, (extract(epoch FROM ended_at) * 1000)::float8 AS ended_ms`;

interface CommonStored extends SharedRunColumns {
  started_ms: number | null;
  ended_ms: number | null;
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

function commonRecord(f: RunFacts | StageFacts, settled: Settled) {
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

/** Writes merged rows over the stored ones: the merge happened above, under the runs' locks, so the statement only replaces. */
function upsertSql(table: string, key: string, extra: string[], extraTypes: string): string {
  const columns = [...COMMON_COLUMNS, ...extra];
  return `INSERT INTO ${table} AS t (tenant_id, ${columns.join(', ')})
     SELECT $1, ${columns.join(', ')} FROM jsonb_to_recordset($2::jsonb) AS x(${COMMON_TYPES}, ${extraTypes})
     ON CONFLICT (${key}) DO UPDATE SET ${columns.map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`;
}

const RUNS_UPSERT = upsertSql('pipeline_runs', 'tenant_id, run_id', ['service_name', 'environment', 'source_system', 'trace_id', 'last_seen_at', 'reported'],
  'service_name text, environment text, source_system text, trace_id text, last_seen_at timestamptz, reported jsonb');
const STAGES_UPSERT = upsertSql('pipeline_stages', 'tenant_id, run_id, stage_run_id', ['stage_run_id', 'stage', 'span_id'],
  'stage_run_id text, stage text, span_id text');

function runRecord(f: RunFacts, settled: Settled, reported: Reported | null) {
  return {
    ...commonRecord(f, settled),
    service_name: f.serviceName,
    environment: f.environment,
    source_system: f.sourceSystem,
    trace_id: f.traceId,
    last_seen_at: iso(f.lastSeenMs),
    reported,
  };
}

const stageRecord = (f: StageFacts) => ({ ...commonRecord(f, settle(f)), stage_run_id: f.stageRunId, stage: f.stage, span_id: f.spanId });

type StoredRunRow = CommonStored & { service_name: string | null; environment: string | null; source_system: string | null; trace_id: string | null; last_seen_ms: number; reported: Reported | null };

/** The stored runs: each run's own facts (its row with what the row replaced put back), and the row as stored. */
async function readRuns(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<Map<string, { own: RunFacts; row: StoredRunRow }>> {
  const { rows } = await tx.query<StoredRunRow>(
    `SELECT ${COMMON_SELECT}, service_name, environment, source_system, trace_id, (extract(epoch FROM last_seen_at) * 1000)::float8 AS last_seen_ms, reported
       FROM pipeline_runs WHERE tenant_id = $1 AND run_id = ANY($2) FOR UPDATE`,
    [tenant.id, runIds],
  );
  const ownOf = (row: StoredRunRow): RunFacts => ({
    ...commonFacts(row),
    serviceName: row.service_name,
    environment: row.environment,
    sourceSystem: row.source_system,
    traceId: row.trace_id,
    lastSeenMs: row.last_seen_ms,
    startHintMs: null,
    ...row.reported,
  });
  return new Map(rows.map((row) => [row.run_id, { own: ownOf(row), row }]));
}

/** Every stored stage of the runs, as stored (a stage closed by its run still closed: reopened() reads it as reported). */
async function readStages(tx: Queryable, tenant: Tenant, runIds: string[]): Promise<Map<string, StageFacts>> {
  const { rows } = await tx.query<CommonStored & { stage_run_id: string; stage: string; span_id: string | null }>(
    `SELECT ${COMMON_SELECT}, stage_run_id, stage, span_id FROM pipeline_stages WHERE tenant_id = $1 AND run_id = ANY($2) FOR UPDATE`,
    [tenant.id, runIds],
  );
  return new Map(rows.map((row) => [stageKey(row.run_id, row.stage_run_id), { ...commonFacts(row), stageRunId: row.stage_run_id, stage: row.stage, spanId: row.span_id }]));
}

/** A run row's part in its day's figures (run-days.ts), as stored: read back (-1) or written (+1); none without a start. */
function runChange(sign: 1 | -1, tenant: Tenant, run: Omit<RunChange, 'sign' | 'tenant_id' | 'started_at'> & { started_at: string | null }): RunChange[] {
  const { pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected } = run;
  return started_at === null ? [] : [{ sign, tenant_id: tenant.id, pipeline, started_at, state, result, duration_seconds, rows_read, rows_written, rows_rejected }];
}
