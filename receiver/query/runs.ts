/**
 * Pipeline runs: listed by start or by duration, filtered by the caller's tenant; and one run's detail
 * with its stages, data-quality checks, first page of logs, span tree, the datasets it read and wrote,
 * and, when it failed or is stuck, who downstream it leaves without data.
 */
import { FAILED_RESULTS, type Result, type RunState } from '../../contract/vocabulary.js';
import { isTolerated, type Reported } from '../model/runs.js';
import { heartbeatStopped } from '../../contract/pipeline-facts.js';
import { RECORD_SLACK, runEnvironmentOf } from '../../contract/run-sql.js';
import type { Queryable } from '../storage/database.js';
import { RUN_COLUMNS, selectColumns, STAGE_COLUMNS, timeAsDate, type SharedRunRow, type StoredCheckRow, type StoredRunRow, type StoredStageRow } from '../storage/run-columns.js';
import type { Check, Run, RunDetail, RunPage, Stage } from './api-types.js';
import { runDatasets, runImpact } from './impact.js';
import { listLogs } from './logs.js';
import { Conditions, numberColumn, orderBy, pageOf, textColumn, timeColumn, type Keyset } from './pages.js';
import { isoOrNull } from './shape.js';
import { getSpanTree } from './traces.js';

export interface RunFilter {
  pipeline?: string;
  result?: Result;
  state?: RunState;
  environment?: string;
  since?: Date;
  until?: Date;
}

/** The stored rows (storage/run-columns.ts), with their times as dates. */
type RunCommonRow = SharedRunRow<Date>;
type RunRow = StoredRunRow<Date>;
export type StageRow = StoredStageRow<Date>;

const errorOf = (type: string | null | undefined, message: string | null | undefined) => (type || message ? { type: type ?? null, message: message ?? null } : null);

/**
 * The run's own result and error where its row shows its stages' (model/runs.ts rollUp()); null when it
 * shows its own. `reported` holds only what the row replaced: the rest is as the row shows it.
 */
function reportedOf(row: RunRow) {
  const { reported } = row;
  if (!reported || !['result', 'errorType', 'errorMessage'].some((key) => key in reported)) return null;
  const own = <K extends 'result' | 'errorType' | 'errorMessage'>(key: K, shown: Reported[K]) => (key in reported ? reported[key] : shown) ?? null;
  return { result: own('result', row.result), error: errorOf(own('errorType', row.error_type), own('errorMessage', row.error_message)) };
}

function shapeCommon(row: RunCommonRow) {
  return {
    pipeline: row.pipeline,
    state: row.state,
    result: row.result,
    started_at: isoOrNull(row.started_at),
    start_estimated: row.start_estimated,
    ended_at: isoOrNull(row.ended_at),
    duration_seconds: row.duration_seconds,
    rows: { read: row.rows_read, written: row.rows_written, rejected: row.rows_rejected },
    error: errorOf(row.error_type, row.error_message),
    target: row.target_namespace || row.target_collection ? { namespace: row.target_namespace, collection: row.target_collection } : null,
    attributes: row.attributes,
  };
}

function shapeRun(row: RunRow): Run {
  return {
    run_id: row.run_id,
    ...shapeCommon(row),
    reported: reportedOf(row),
    service_name: row.service_name,
    source_system: row.source_system,
    trace_id: row.trace_id,
    last_seen_at: isoOrNull(row.last_seen_at),
    // As the PipelineRunStuck alert sees it: a run whose machine vanished stays `running`, but not unnoticed.
    stuck: row.state === 'running' && heartbeatStopped(row.last_seen_at.getTime() / 1000, Date.now() / 1000),
  };
}

export function shapeStage(row: StageRow): Stage {
  return { stage: row.stage, stage_run_id: row.stage_run_id, ...shapeCommon(row), span_id: row.span_id, failure_allowed: isTolerated(row.attributes) };
}

const RUN_SELECT = `SELECT ${selectColumns(RUN_COLUMNS, timeAsDate)} FROM pipeline_runs r`;

/**
 * The sorts a user needs: the latest runs (the default), the oldest first (reading a period forwards),
 * and the slowest or fastest ended runs. A running run may have a duration too (its heartbeats' time so
 * far), which no ended run's compares with: the duration sorts leave running runs out. The run id breaks ties, so each sort is a total order and keyset pages are exact.
 */
const startedKeyset = (descending: boolean, name: string): Keyset<RunRow> => ({
  name,
  columns: [timeColumn('started_at'), textColumn('run_id')],
  descending,
  key: (row) => [new Date(row.started_at!).toISOString(), row.run_id],
});
const durationKeyset = (descending: boolean, name: string): Keyset<RunRow> => ({
  name,
  columns: [numberColumn('duration_seconds'), textColumn('run_id')],
  descending,
  key: (row) => [String(row.duration_seconds), row.run_id],
});

export const RUN_SORTS = {
  '-started_at': { keyset: startedKeyset(true, '-started_at'), present: 'started_at IS NOT NULL' },
  started_at: { keyset: startedKeyset(false, 'started_at'), present: 'started_at IS NOT NULL' },
  '-duration': { keyset: durationKeyset(true, '-duration'), present: "duration_seconds IS NOT NULL AND state = 'ended'" },
  duration: { keyset: durationKeyset(false, 'duration'), present: "duration_seconds IS NOT NULL AND state = 'ended'" },
} as const;
export type RunSort = keyof typeof RUN_SORTS;
export const isRunSort = (value: string): value is RunSort => Object.hasOwn(RUN_SORTS, value);

export async function listRuns(
  db: Queryable,
  tenantId: number,
  filter: RunFilter,
  limit: number,
  cursor?: string,
  sort: RunSort = '-started_at',
): Promise<RunPage> {
  const { keyset, present } = RUN_SORTS[sort];
  const where = new Conditions();
  where.add((p) => `tenant_id = ${p}`, tenantId);
  where.clauses.push(present);
  where.add((p) => `pipeline = ${p}`, filter.pipeline);
  where.add((p) => `result = ${p}`, filter.result);
  where.add((p) => `state = ${p}`, filter.state);
  where.add((p) => `${runEnvironmentOf('r')} = ${p}`, filter.environment);
  where.add((p) => `started_at >= ${p}`, filter.since?.toISOString());
  where.add((p) => `started_at < ${p}`, filter.until?.toISOString());
  where.after(cursor, keyset);
  const { rows } = await db.query<RunRow>(`${RUN_SELECT} WHERE ${where.where} ORDER BY ${orderBy(keyset)} LIMIT ${limit + 1}`, where.params);
  return pageOf(rows, limit, keyset, shapeRun);
}

/** How many of a run's logs its detail shows; the page's next_cursor continues at /api/v1/logs?run_id=. */
const DETAIL_LOGS = 100;

export type CheckRow = Pick<StoredCheckRow<Date>, 'ts' | 'stage' | 'name' | 'passed' | 'details'>;

/** The columns of a check that its answer shows, and the answer from them. */
export const CHECK_SELECT = 'ts, stage, name, passed, details';
/** A run's checks: its run id's, looked for from its start (less the slack) so that the lookup skips older daily partitions. */
export const checkOfRun = (started: string) => `ts >= COALESCE(${started} - ${RECORD_SLACK}, '-infinity')`;
export const CHECK_ORDER = 'ts, fingerprint';
/** A run's stages as its detail lists them, in the order they started. */
export const STAGE_SELECT = selectColumns(STAGE_COLUMNS, timeAsDate);
export const STAGE_ORDER = 'started_at, stage_run_id';
export const shapeCheck = (row: CheckRow): Check => ({ timestamp: new Date(row.ts).toISOString(), name: row.name, passed: row.passed, details: row.details, stage: row.stage });

/** The run's data-quality checks (`pipeline.check` records, kept in pipeline_checks), in the order they ran. */
async function checksOf(db: Queryable, tenantId: number, run: RunRow): Promise<Check[]> {
  const { rows } = await db.query<CheckRow>(
    `SELECT ${CHECK_SELECT} FROM pipeline_checks
      WHERE tenant_id = $1 AND run_id = $2 AND ${checkOfRun('$3::timestamptz')}
      ORDER BY ${CHECK_ORDER}`,
    [tenantId, run.run_id, run.started_at],
  );
  return rows.map(shapeCheck);
}

export async function getRun(db: Queryable, tenantId: number, runId: string): Promise<RunDetail | null> {
  const { rows } = await db.query<RunRow>(`${RUN_SELECT} WHERE tenant_id = $1 AND run_id = $2`, [tenantId, runId]);
  const run = rows[0];
  if (!run) return null;
  const shown = shapeRun(run);
  const hurts = shown.stuck || (shown.state === 'ended' && shown.result !== null && FAILED_RESULTS.includes(shown.result));
  const [stages, checks, logs, spans, datasets, impact] = await Promise.all([
    db.query<StageRow>(
      `SELECT ${STAGE_SELECT} FROM pipeline_stages WHERE tenant_id = $1 AND run_id = $2 ORDER BY ${STAGE_ORDER}`,
      [tenantId, runId],
    ),
    checksOf(db, tenantId, run),
    listLogs(db, tenantId, { runId }, DETAIL_LOGS),
    run.trace_id ? getSpanTree(db, tenantId, run.trace_id) : [],
    runDatasets(db, tenantId, run.pipeline, runId),
    hurts ? runImpact(db, tenantId, run.pipeline, runId) : null,
  ]);
  return { ...shown, stages: stages.rows.map(shapeStage), checks, logs, spans, datasets, impact };
}
