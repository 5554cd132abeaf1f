/**
 * The lineage queries bench:query times, beside the cases of query-routes.ts: the graph three hops both
 * ways around the busiest pipeline and around datasets in the middle of chains, the datasets list (first
 * page, and filtered by part of a name, a namespace or a pipeline), a dataset's detail, and a failed
 * run's detail with who it leaves without data downstream.
 */
import { getDataset, listDatasets, type DatasetFilter } from '../receiver/query/datasets.js';
import { lineageGraph } from '../receiver/query/lineage.js';
import { getRun } from '../receiver/query/runs.js';
import type { Queryable } from '../receiver/storage/database.js';
import { GOAL_MS, type SampledRun } from './query-cases.js';
import type { BenchTenant } from './query-load.js';
import type { Query } from './query-measure.js';

const LIMIT = 100;
const DEPTH = 3;
/** A dataset's detail lists its latest writes, as the API does by default. */
const WRITES = 100;

export interface LineagePicks {
  /** The busiest pipeline's tenant: every lineage query is on it. */
  tenant: BenchTenant;
  busiest: string;
  /** Datasets both written and read, the busiest pipeline's first. */
  datasets: string[];
  /** Failed runs of pipelines whose writes someone else reads. */
  failedRuns: SampledRun[];
  /** A word of dataset names and a namespace, for the filtered list. */
  word: string;
  namespace: string;
}

/** Datasets in the middle of chains: the busiest pipeline's writes first, then a random sample. */
const MIDDLE_DATASETS = `
SELECT d.dataset_id::text AS id FROM datasets d
 WHERE d.tenant_id = $1
   AND EXISTS (SELECT FROM lineage_edges w WHERE w.tenant_id = d.tenant_id AND w.dataset_id = d.dataset_id AND w.direction = 'write')
   AND EXISTS (SELECT FROM lineage_edges r WHERE r.tenant_id = d.tenant_id AND r.dataset_id = d.dataset_id AND r.direction = 'read')
 ORDER BY EXISTS (SELECT FROM lineage_edges b WHERE b.tenant_id = d.tenant_id AND b.dataset_id = d.dataset_id AND b.pipeline = $2 AND b.direction = 'write') DESC, random()
 LIMIT $3`;

const FAILED_UPSTREAM_RUNS = `
SELECT r.run_id, r.pipeline, r.started_at FROM pipeline_runs r
 WHERE r.tenant_id = $1 AND r.result = 'failure'
   AND r.pipeline IN (SELECT w.pipeline FROM lineage_edges w
                        JOIN lineage_edges rd ON rd.tenant_id = w.tenant_id AND rd.dataset_id = w.dataset_id AND rd.direction = 'read' AND rd.pipeline <> w.pipeline
                       WHERE w.tenant_id = $1 AND w.direction = 'write')
 ORDER BY random() LIMIT $2`;

export async function pickLineage(db: Queryable, tenant: BenchTenant, busiest: string, count: number): Promise<LineagePicks> {
  const [datasets, failed, namespace] = await Promise.all([
    db.query<{ id: string }>(MIDDLE_DATASETS, [tenant.id, busiest, count]),
    db.query<SampledRun>(FAILED_UPSTREAM_RUNS, [tenant.id, count]),
    db.query<{ namespace: string }>(`SELECT namespace FROM datasets WHERE tenant_id = $1 GROUP BY namespace ORDER BY count(*) DESC LIMIT 1`, [tenant.id]),
  ]);
  if (datasets.rows.length === 0 || failed.rows.length === 0) throw new Error(`benchmark check failed: tenant ${tenant.name} has no datasets in chains or no failed run upstream of another`);
  return {
    tenant,
    busiest,
    datasets: datasets.rows.map((row) => row.id),
    failedRuns: failed.rows,
    word: busiest.split('-')[0]!,
    namespace: namespace.rows[0]!.namespace,
  };
}

const query = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();

export function lineageCases(picks: LineagePicks): Query[] {
  const { tenant, busiest } = picks;
  const dataset = (i: number) => picks.datasets[i % picks.datasets.length]!;
  const failed = (i: number) => picks.failedRuns[i % picks.failedRuns.length]!;
  // Part of a name, a namespace, a pipeline: each as the list's filter in turn.
  const filters: DatasetFilter[] = [{ q: picks.word }, { namespace: picks.namespace }, { pipeline: busiest }];
  const filter = (i: number) => filters[i % filters.length]!;
  const filterParams = (i: number) => Object.fromEntries(Object.entries(filter(i)).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const lineage = (name: string, params: (i: number) => Record<string, string>, root: (i: number) => Parameters<typeof lineageGraph>[2]): Query => ({
    name,
    goalMs: GOAL_MS.query,
    api: (i) => ({ tenant, path: `/lineage?${query({ ...params(i), depth: DEPTH, direction: 'both' })}` }),
    sql: (db, i) => lineageGraph(db, tenant.id, root(i), 'both', DEPTH),
  });

  return [
    lineage('lineage: graph of the busiest pipeline, depth 3 both ways', () => ({ pipeline: busiest }), () => ({ pipeline: busiest })),
    lineage('lineage: graph of a dataset, depth 3 both ways', (i) => ({ dataset: dataset(i) }), (i) => ({ datasetId: dataset(i) })),
    {
      name: 'lineage: datasets first page',
      goalMs: GOAL_MS.query,
      api: () => ({ tenant, path: `/datasets?limit=${LIMIT}` }),
      sql: (db) => listDatasets(db, tenant.id, {}, LIMIT),
    },
    {
      name: 'lineage: datasets filtered (q=, namespace=, pipeline=)',
      goalMs: GOAL_MS.query,
      api: (i) => ({ tenant, path: `/datasets?${query({ ...filterParams(i), limit: LIMIT })}` }),
      sql: (db, i) => listDatasets(db, tenant.id, filter(i), LIMIT),
    },
    {
      name: 'lineage: dataset detail',
      goalMs: GOAL_MS.query,
      api: (i) => ({ tenant, path: `/datasets/${dataset(i)}` }),
      sql: (db, i) => getDataset(db, tenant.id, dataset(i), { limit: WRITES }),
    },
    {
      name: 'lineage: failed run detail with its downstream impact',
      goalMs: GOAL_MS.query,
      api: (i) => ({ tenant, path: `/runs/${encodeURIComponent(failed(i).run_id)}` }),
      sql: (db, i) => getRun(db, tenant.id, failed(i).run_id),
    },
  ];
}
