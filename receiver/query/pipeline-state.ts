/**
 * Each pipeline's state now, as the alerts need it, read from the derived tables in one query: who owns
 * it, how often it should run, its last success, how its latest run went, how many runs failed since the
 * last success, and its running runs. Read from the database rather than kept in memory, so it is right from the first
 * scrape after a restart and the same on every receiver sharing the database.
 */
import { pipelineFacts, type PipelineState } from '../../contract/pipeline-facts.js';
import { pipelinesOfTenants } from '../../contract/run-sql.js';
import type { Queryable } from '../storage/database.js';

const epoch = (column: string) => `extract(epoch FROM ${column})::float8`;

const stateSql = (pipelines: string) => `
${pipelines},
facts AS (${pipelineFacts()})
SELECT tenant, pipeline, COALESCE(owner, '') AS owner, expected_interval,
       ${epoch('last_success')} AS last_success, last_run_id, ${epoch('last_end')} AS last_end, last_duration,
       rows_read, rows_written, rows_rejected, failed_checks, failed_check_names, usual_rows_written, consecutive_failures, running,
       ${epoch('oldest_heartbeat')} AS oldest_heartbeat, ${epoch('oldest_start')} AS oldest_start
  FROM facts
 ORDER BY tenant, pipeline`;

const STATE_SQL = stateSql(pipelinesOfTenants('$1::int IS NULL OR t.tenant_id = $1'));
// Named pipelines start from their names, not from a walk over all of the tenant's: a few cost a few.
// One without runs has no latest run, and so no row.
const NAMED_STATE_SQL = stateSql(`WITH pipelines AS (
  SELECT t.tenant_id, t.name AS tenant, p.pipeline FROM tenants t CROSS JOIN (SELECT DISTINCT unnest($2::text[]) AS pipeline) p
   WHERE t.tenant_id = $1)`);

interface StateRow {
  tenant: string;
  pipeline: string;
  owner: string;
  expected_interval: number | null;
  last_success: number | null;
  last_run_id: string | null;
  last_end: number | null;
  last_duration: number | null;
  rows_read: number | null;
  rows_written: number | null;
  rows_rejected: number | null;
  failed_checks: number;
  failed_check_names: string[];
  usual_rows_written: number | null;
  consecutive_failures: number;
  running: number;
  oldest_heartbeat: number | null;
  oldest_start: number | null;
}

/** Every pipeline's state, of every tenant or of `tenantId` only. */
export async function readPipelineStates(db: Queryable, tenantId: number | null = null): Promise<PipelineState[]> {
  return shapeStates((await db.query<StateRow>(STATE_SQL, [tenantId])).rows);
}

/** The states of a tenant's `pipelines` that have runs. */
export async function readStatesOf(db: Queryable, tenantId: number, pipelines: readonly string[]): Promise<PipelineState[]> {
  if (pipelines.length === 0) return [];
  return shapeStates((await db.query<StateRow>(NAMED_STATE_SQL, [tenantId, pipelines])).rows);
}

function shapeStates(rows: StateRow[]): PipelineState[] {
  return rows.map((row) => ({
    tenant: row.tenant,
    pipeline: row.pipeline,
    owner: row.owner,
    expectedIntervalSeconds: row.expected_interval,
    lastSuccessSeconds: row.last_success,
    lastRunId: row.last_run_id,
    lastRunEndSeconds: row.last_end,
    lastRunDurationSeconds: row.last_duration,
    lastRunRows: { read: row.rows_read, written: row.rows_written, rejected: row.rows_rejected },
    lastRunFailedChecks: row.failed_checks,
    lastRunFailedCheckNames: row.failed_check_names,
    usualRowsWritten: row.usual_rows_written,
    consecutiveFailures: row.consecutive_failures,
    running: row.running,
    oldestRunningHeartbeatSeconds: row.oldest_heartbeat,
    oldestRunningStartSeconds: row.oldest_start,
  }));
}
