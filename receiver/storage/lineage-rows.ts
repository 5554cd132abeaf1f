/**
 * Lineage kept in the write path (model/lineage.ts gives the facts), in three tables:
 *
 * - datasets: each dataset of a tenant once, by its one name, with when it was first and last named
 *   and the facets (schema, column lineage) of the latest record that sent any;
 * - run_datasets: what each run (or stage of it) read and wrote, one row per dataset and direction,
 *   with the rows and bytes it reported: a dataset's writes over time, and a run's reads and writes;
 * - lineage_edges: pipeline (and stage) → dataset and dataset → pipeline, with the last run that used
 *   the edge: the graph, small enough to walk at query time.
 *
 * Every merge is a function of the set of facts, not of their order: first times take the least, last
 * times and counts the greatest, an edge's last run the latest (time, then run id), facets the latest
 * (time, then text). So a batch arriving before another, or two receivers writing at once, converge to
 * the same rows. Rows are written in key order, so that two transactions lock them in the same order.
 */
import { datasetOfName } from '../../contract/dataset-name.js';
import { compareText, type Direction, type LineageFacts } from '../model/lineage.js';
import { most } from '../model/runs.js';
import type { Queryable } from './database.js';

export interface TenantLineage {
  tenantId: number;
  lineage: LineageFacts;
}

interface DatasetRow {
  tenant_id: number;
  dataset: string;
  namespace: string;
  name: string;
  first_seen: number;
  last_seen: number;
  facets: Record<string, unknown> | null;
  facets_at: number | null;
}

interface RunDatasetRow {
  tenant_id: number;
  pipeline: string;
  run_id: string;
  stage_run_id: string;
  stage: string;
  direction: Direction;
  dataset: string;
  first_at: number;
  at: number;
  rows: number | null;
  bytes: number | null;
}

/** A run_datasets row as stored after the merge, with its dataset's id. */
interface MergedRunDataset {
  tenant_id: number;
  pipeline: string;
  stage: string;
  direction: Direction;
  dataset_id: string;
  run_id: string;
  first_at: Date;
  at: Date;
  rows: string | null;
  bytes: string | null;
}

export async function writeLineage(tx: Queryable, found: TenantLineage[]): Promise<void> {
  if (found.length === 0) return;
  const ids = await upsertDatasets(tx, datasetRows(found));
  const uses = runDatasetRows(found);
  if (uses.length === 0) return;
  const merged = await upsertRunDatasets(tx, uses, ids);
  await upsertEdges(tx, merged);
}

/** One row per dataset named, merged as the upsert below merges it with the stored one. */
function datasetRows(found: TenantLineage[]): DatasetRow[] {
  const rows = new Map<string, DatasetRow>();
  const add = (tenantId: number, dataset: string, atMs: number, facets: Record<string, unknown> | null) => {
    const key = `${tenantId} ${dataset}`;
    const row = rows.get(key);
    if (!row) {
      const { namespace, name } = datasetOfName(dataset);
      rows.set(key, { tenant_id: tenantId, dataset, namespace, name, first_seen: atMs, last_seen: atMs, facets, facets_at: facets ? atMs : null });
      return;
    }
    row.first_seen = Math.min(row.first_seen, atMs);
    row.last_seen = Math.max(row.last_seen, atMs);
    if (facets && (row.facets === null || newerFacets(atMs, facets, row.facets_at!, row.facets))) [row.facets, row.facets_at] = [facets, atMs];
  };
  for (const { tenantId, lineage } of found) {
    for (const use of lineage.uses) add(tenantId, use.dataset, lineage.atMs, null);
    for (const { dataset, facets } of lineage.facets) add(tenantId, dataset, lineage.atMs, facets);
  }
  return [...rows.values()].sort((a, b) => a.tenant_id - b.tenant_id || compareText(a.dataset, b.dataset));
}

/** The upsert's rule in the batch: the later facets win, then the greater text (as jsonb prints it, near enough for ties). */
function newerFacets(atMs: number, facets: object, storedAt: number, stored: object): boolean {
  return atMs !== storedAt ? atMs > storedAt : JSON.stringify(facets) > JSON.stringify(stored);
}

const NEWER_FACETS = 'excluded.facets IS NOT NULL AND (d.facets IS NULL OR (excluded.facets_at, excluded.facets::text) > (d.facets_at, d.facets::text))';
const UPSERT_DATASETS = `
INSERT INTO datasets AS d (tenant_id, dataset, namespace, name, first_seen, last_seen, facets, facets_at)
SELECT tenant_id, dataset, namespace, name, to_timestamp(first_seen / 1000.0), to_timestamp(last_seen / 1000.0), facets, to_timestamp(facets_at / 1000.0)
  FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id integer, dataset text, namespace text, name text, first_seen double precision,
                                          last_seen double precision, facets jsonb, facets_at double precision)
ON CONFLICT (tenant_id, dataset) DO UPDATE SET
  first_seen = least(d.first_seen, excluded.first_seen),
  last_seen = greatest(d.last_seen, excluded.last_seen),
  facets = CASE WHEN ${NEWER_FACETS} THEN excluded.facets ELSE d.facets END,
  facets_at = CASE WHEN ${NEWER_FACETS} THEN excluded.facets_at ELSE d.facets_at END
RETURNING tenant_id, dataset, dataset_id`;

/** The stored dataset's id by tenant and name. */
async function upsertDatasets(tx: Queryable, rows: DatasetRow[]): Promise<Map<string, string>> {
  const { rows: stored } = await tx.query<{ tenant_id: number; dataset: string; dataset_id: string }>(UPSERT_DATASETS, [JSON.stringify(rows)]);
  return new Map(stored.map((row) => [`${row.tenant_id} ${row.dataset}`, row.dataset_id]));
}

function runDatasetRows(found: TenantLineage[]): RunDatasetRow[] {
  const rows = new Map<string, RunDatasetRow>();
  for (const { tenantId, lineage } of found) {
    const { pipeline, runId, stageRunId, stage, atMs } = lineage;
    if (pipeline === null) continue;
    for (const { direction, dataset, rows: count, bytes } of lineage.uses) {
      const key = JSON.stringify([tenantId, pipeline, runId, stageRunId, direction, dataset]);
      const row = rows.get(key);
      if (!row) {
        rows.set(key, { tenant_id: tenantId, pipeline, run_id: runId, stage_run_id: stageRunId, stage, direction, dataset, first_at: atMs, at: atMs, rows: count, bytes });
        continue;
      }
      [row.first_at, row.at] = [Math.min(row.first_at, atMs), Math.max(row.at, atMs)];
      [row.rows, row.bytes] = [most(row.rows, count), most(row.bytes, bytes)];
    }
  }
  return [...rows.entries()].sort(([a], [b]) => compareText(a, b)).map(([, row]) => row);
}

// GREATEST and LEAST ignore nulls: a count reported once is kept when a later record omits it.
const UPSERT_RUN_DATASETS = `
INSERT INTO run_datasets AS r (tenant_id, pipeline, run_id, stage_run_id, stage, direction, dataset_id, first_at, at, rows, bytes)
SELECT tenant_id, pipeline, run_id, stage_run_id, stage, direction, dataset_id, to_timestamp(first_at / 1000.0), to_timestamp(at / 1000.0), rows, bytes
  FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id integer, pipeline text, run_id text, stage_run_id text, stage text, direction text,
                                          dataset_id bigint, first_at double precision, at double precision, rows bigint, bytes bigint)
ON CONFLICT (tenant_id, pipeline, run_id, stage_run_id, direction, dataset_id) DO UPDATE SET
  first_at = least(r.first_at, excluded.first_at),
  at = greatest(r.at, excluded.at),
  rows = greatest(r.rows, excluded.rows),
  bytes = greatest(r.bytes, excluded.bytes)
RETURNING tenant_id, pipeline, stage, direction, dataset_id, run_id, first_at, at, rows, bytes`;

async function upsertRunDatasets(tx: Queryable, rows: RunDatasetRow[], ids: Map<string, string>): Promise<MergedRunDataset[]> {
  const withIds = rows.map(({ dataset, ...row }) => ({ ...row, dataset_id: ids.get(`${row.tenant_id} ${dataset}`)! }));
  return (await tx.query<MergedRunDataset>(UPSERT_RUN_DATASETS, [JSON.stringify(withIds)])).rows;
}

/** The later of two uses of an edge: by time, then by run id (a total order, so every arrival order agrees). */
const isLater = (a: MergedRunDataset, b: MergedRunDataset) => a.at.getTime() !== b.at.getTime() ? a.at > b.at : a.run_id > b.run_id;

const EDGE_IS_NEWER = '(excluded.last_at, excluded.last_run_id) >= (e.last_at, e.last_run_id)';
const UPSERT_EDGES = `
INSERT INTO lineage_edges AS e (tenant_id, pipeline, stage, direction, dataset_id, first_at, last_at, last_run_id, rows, bytes)
SELECT tenant_id, pipeline, stage, direction, dataset_id, first_at, last_at, last_run_id, rows, bytes
  FROM jsonb_to_recordset($1::jsonb) AS x(tenant_id integer, pipeline text, stage text, direction text, dataset_id bigint,
                                          first_at timestamptz, last_at timestamptz, last_run_id text, rows bigint, bytes bigint)
ON CONFLICT (tenant_id, pipeline, stage, direction, dataset_id) DO UPDATE SET
  first_at = least(e.first_at, excluded.first_at),
  ${['last_at', 'last_run_id', 'rows', 'bytes'].map((column) => `${column} = CASE WHEN ${EDGE_IS_NEWER} THEN excluded.${column} ELSE e.${column} END`).join(',\n  ')}`;

async function upsertEdges(tx: Queryable, merged: MergedRunDataset[]): Promise<void> {
  const edges = new Map<string, { first_at: Date; last: MergedRunDataset }>();
  for (const use of merged) {
    const key = JSON.stringify([use.tenant_id, use.pipeline, use.stage, use.direction, Number(use.dataset_id)]);
    const edge = edges.get(key);
    if (!edge) edges.set(key, { first_at: use.first_at, last: use });
    else {
      if (use.first_at < edge.first_at) edge.first_at = use.first_at;
      if (isLater(use, edge.last)) edge.last = use;
    }
  }
  const rows = [...edges.entries()]
    .sort(([a], [b]) => compareText(a, b))
    .map(([, { first_at, last }]) => ({
      tenant_id: last.tenant_id,
      pipeline: last.pipeline,
      stage: last.stage,
      direction: last.direction,
      dataset_id: last.dataset_id,
      first_at,
      last_at: last.at,
      last_run_id: last.run_id,
      rows: last.rows,
      bytes: last.bytes,
    }));
  await tx.query(UPSERT_EDGES, [JSON.stringify(rows)]);
}
