/**
 * The stages and the data-quality checks of a pipeline's latest runs, each in one query: what the
 * pipeline page shows of them, without asking each run's whole detail (logs, span tree, datasets,
 * impact) one request at a time. The latest runs are the first page of /runs?pipeline= (newest start
 * first); their parts are listed newest run first, each run's in the order its detail lists them.
 */
import type { Queryable } from '../storage/database.js';
import type { RunCheckPage, RunStagePage } from './api-types.js';
import { orderBy } from './pages.js';
import { CHECK_ORDER, CHECK_SELECT, checkOfRun, RUN_SORTS, shapeCheck, shapeStage, STAGE_ORDER, STAGE_SELECT, type CheckRow, type StageRow } from './runs.js';

const { keyset, present } = RUN_SORTS['-started_at'];

/** The pipeline's latest `runs` runs as `latest` (latest_run, latest_started, newest first by latest_rank). */
const LATEST = `WITH latest AS (
  SELECT run_id AS latest_run, started_at AS latest_started, row_number() OVER (ORDER BY ${orderBy(keyset)}) AS latest_rank
    FROM (SELECT run_id, started_at FROM pipeline_runs WHERE tenant_id = $1 AND pipeline = $2 AND ${present} ORDER BY ${orderBy(keyset)} LIMIT $3) r)`;

export async function latestStages(db: Queryable, tenantId: number, pipeline: string, runs: number): Promise<RunStagePage> {
  const { rows } = await db.query<StageRow>(
    `${LATEST}
SELECT ${STAGE_SELECT} FROM latest JOIN pipeline_stages ON tenant_id = $1 AND run_id = latest_run
 ORDER BY latest_rank, ${STAGE_ORDER}`,
    [tenantId, pipeline, runs],
  );
  return { items: rows.map((row) => ({ run_id: row.run_id, ...shapeStage(row) })), next_cursor: null };
}

export async function latestChecks(db: Queryable, tenantId: number, pipeline: string, runs: number): Promise<RunCheckPage> {
  const { rows } = await db.query<CheckRow & { run_id: string }>(
    `${LATEST}
SELECT run_id, ${CHECK_SELECT} FROM latest JOIN pipeline_checks ON tenant_id = $1 AND run_id = latest_run AND ${checkOfRun('latest_started')}
 ORDER BY latest_rank, ${CHECK_ORDER}`,
    [tenantId, pipeline, runs],
  );
  return { items: rows.map((row) => ({ run_id: row.run_id, ...shapeCheck(row) })), next_cursor: null };
}
