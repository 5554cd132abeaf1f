/**
 * What a run read and wrote (run_datasets), and for a failed or stuck run its downstream impact: the
 * datasets its pipeline writes that no succeeded stage of this run wrote, and the pipelines that read
 * them, directly or through others (lineage-walk.ts), each with its distance in hops.
 */
import { writeHappened } from '../../contract/lineage-sql.js';
import type { Queryable } from '../storage/database.js';
import type { Impact, RunDataset } from './api-types.js';
import { byHopsThen, MAX_DEPTH, walkLineage } from './lineage-walk.js';

interface RunDatasetRow extends Omit<RunDataset, 'at'> {
  at: Date;
}

export async function runDatasets(db: Queryable, tenantId: number, pipeline: string, runId: string): Promise<RunDataset[]> {
  const { rows } = await db.query<RunDatasetRow>(
    `SELECT w.dataset_id::text AS dataset_id, d.dataset, w.direction, NULLIF(w.stage, '') AS stage, NULLIF(w.stage_run_id, '') AS stage_run_id,
            w.at, w.rows::float8 AS rows, w.bytes::float8 AS bytes
       FROM run_datasets w JOIN datasets d USING (tenant_id, dataset_id)
      WHERE w.tenant_id = $1 AND w.pipeline = $2 AND w.run_id = $3
      ORDER BY d.dataset, w.direction, w.stage, w.at, w.stage_run_id`,
    [tenantId, pipeline, runId],
  );
  return rows.map((row) => ({ ...row, at: new Date(row.at).toISOString() }));
}

/** The datasets `pipeline` writes (in any stage, or by static lineage) that run `runId` did not write: no write of it happened. */
const UNWRITTEN_SQL = `
SELECT DISTINCT e.dataset_id::text AS dataset_id FROM lineage_edges e
 WHERE e.tenant_id = $1 AND e.pipeline = $2 AND e.direction = 'write'
   AND NOT EXISTS (
     SELECT FROM run_datasets w
      WHERE w.tenant_id = e.tenant_id AND w.pipeline = e.pipeline AND w.run_id = $3 AND w.direction = 'write'
        AND w.dataset_id = e.dataset_id AND ${writeHappened('w')})`;

export async function runImpact(db: Queryable, tenantId: number, pipeline: string, runId: string): Promise<Impact> {
  const unwritten = (await db.query<{ dataset_id: string }>(UNWRITTEN_SQL, [tenantId, pipeline, runId])).rows.map((row) => row.dataset_id);
  // Its own pipeline reading what it writes is no one downstream.
  const walk = await walkLineage(db, tenantId, { datasets: unwritten, skip: [pipeline] }, 'down', MAX_DEPTH);
  const { rows: names } = await db.query<{ dataset_id: string; dataset: string }>(
    'SELECT dataset_id::text AS dataset_id, dataset FROM datasets WHERE tenant_id = $1 AND dataset_id = ANY($2::bigint[])',
    [tenantId, [...walk.datasets.keys()]],
  );
  return {
    datasets: names.map(({ dataset_id, dataset }) => ({ dataset_id, dataset, hops: walk.datasets.get(dataset_id)! })).sort(byHopsThen((d) => d.dataset)),
    pipelines: [...walk.pipelines].map(([name, hops]) => ({ pipeline: name, hops })).sort(byHopsThen((p) => p.pipeline)),
    truncated: walk.truncated,
  };
}
