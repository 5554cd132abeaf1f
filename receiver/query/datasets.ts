/**
 * Datasets (storage/lineage-rows.ts keeps them): a tenant's list by name, filtered by part of the name,
 * namespace or a pipeline that uses it, and one dataset's detail. Each shows who writes and reads it,
 * its last write that counts (by a run, or for a stage's write a stage, that did not fail) and its
 * freshness: that write against its writer's expected interval by the PipelineLate rule.
 */
import { isLate, type PipelineState } from '../../contract/pipeline-facts.js';
import { FAILED_RESULTS } from '../../contract/vocabulary.js';
import type { Queryable } from '../storage/database.js';
import type { Dataset, DatasetDetail, DatasetEdge, DatasetPage, DatasetWrite, SchemaField } from './api-types.js';
import { Conditions, orderBy, pageOf, textColumn, type KeyColumn, type Keyset } from './pages.js';
import { readStatesOf } from './pipeline-state.js';
import { isoOrNull } from './shape.js';

export interface DatasetFilter {
  /** Part of its name, in any case. */
  q?: string;
  namespace?: string;
  /** A pipeline that reads or writes it. */
  pipeline?: string;
}

const FAILED = FAILED_RESULTS.map((result) => `'${result}'`).join(', ');

/** Whether run_datasets row `w`, a write, counts: its run (a stage's write: its stage) did not fail. */
const writeCounts = (w: string) => `NOT CASE WHEN ${w}.stage_run_id = ''
  THEN EXISTS (SELECT FROM pipeline_runs r WHERE r.tenant_id = ${w}.tenant_id AND r.run_id = ${w}.run_id AND r.result IN (${FAILED}))
  ELSE EXISTS (SELECT FROM pipeline_stages s WHERE s.tenant_id = ${w}.tenant_id AND s.run_id = ${w}.run_id AND s.stage_run_id = ${w}.stage_run_id AND s.result IN (${FAILED}))
END`;

const usedBy = (direction: string) =>
  `ARRAY(SELECT DISTINCT e.pipeline FROM lineage_edges e WHERE e.tenant_id = d.tenant_id AND e.dataset_id = d.dataset_id AND e.direction = '${direction}' ORDER BY 1)`;

// The last counted write: the newest writes first (run_datasets_dataset), the failed ones skipped.
const DATASET_SELECT = `SELECT d.dataset_id::text AS id, d.dataset, d.namespace, d.name, d.first_seen, d.last_seen,
       ${usedBy('write')} AS writers, ${usedBy('read')} AS readers,
       lw.at AS write_at, lw.run_id AS write_run_id, lw.pipeline AS write_pipeline, lw.stage AS write_stage, lw.rows::float8 AS write_rows
  FROM datasets d
  LEFT JOIN LATERAL (
    SELECT w.at, w.run_id, w.pipeline, w.stage, w.rows FROM run_datasets w
     WHERE w.tenant_id = d.tenant_id AND w.dataset_id = d.dataset_id AND w.direction = 'write' AND w.run_id <> '' AND ${writeCounts('w')}
     ORDER BY w.at DESC, w.run_id DESC LIMIT 1) lw ON true`;

interface DatasetRow {
  id: string;
  dataset: string;
  namespace: string;
  name: string;
  first_seen: Date;
  last_seen: Date;
  writers: string[];
  readers: string[];
  write_at: Date | null;
  write_run_id: string | null;
  write_pipeline: string | null;
  write_stage: string | null;
  write_rows: number | null;
}

const nonEmpty = (text: string | null) => (text === '' ? null : text);

/** Fresh or stale by the PipelineLate rule, with the dataset's last counted write in place of its writer's last success. */
function freshnessOf(row: DatasetRow, writer: PipelineState | undefined, nowSeconds: number): Pick<Dataset, 'freshness' | 'expected_interval_seconds'> {
  const interval = writer?.expectedIntervalSeconds ?? null;
  if (row.write_at === null || writer === undefined || interval === null) return { freshness: 'unknown', expected_interval_seconds: interval };
  const since = new Date(row.write_at).getTime() / 1000;
  const stale = isLate({ ...writer, lastSuccessSeconds: since, lastRunEndSeconds: null }, nowSeconds);
  return { freshness: stale ? 'stale' : 'fresh', expected_interval_seconds: interval };
}

function shapeDataset(row: DatasetRow, writer: PipelineState | undefined, nowSeconds: number): Dataset {
  return {
    id: row.id,
    dataset: row.dataset,
    namespace: row.namespace,
    name: row.name,
    first_seen: new Date(row.first_seen).toISOString(),
    last_seen: new Date(row.last_seen).toISOString(),
    writers: row.writers,
    readers: row.readers,
    last_write:
      row.write_at === null
        ? null
        : { at: new Date(row.write_at).toISOString(), run_id: row.write_run_id!, pipeline: row.write_pipeline!, stage: nonEmpty(row.write_stage), rows: row.write_rows },
    ...freshnessOf(row, writer, nowSeconds),
  };
}

/** The rows shaped, with their last writers' states read once for all of them. */
async function shapeDatasets(db: Queryable, tenantId: number, rows: DatasetRow[], nowMs: number): Promise<Dataset[]> {
  const writers = [...new Set(rows.flatMap((row) => (row.write_pipeline === null ? [] : [row.write_pipeline])))];
  const states = await readStatesOf(db, tenantId, writers);
  const byPipeline = new Map(states.map((state) => [state.pipeline, state]));
  return rows.map((row) => shapeDataset(row, row.write_pipeline === null ? undefined : byPipeline.get(row.write_pipeline), nowMs / 1000));
}

const idColumn: KeyColumn = { sql: 'd.dataset_id', cast: 'bigint', valid: (value) => /^[0-9]{1,18}$/.test(value) };
/** By name, which is unique per tenant (the id only completes the keyset's pair); the (tenant_id, dataset) index serves it. */
const BY_NAME: Keyset<DatasetRow> = { name: 'dataset', columns: [textColumn('d.dataset'), idColumn], descending: false, key: (row) => [row.dataset, row.id] };

export async function listDatasets(db: Queryable, tenantId: number, filter: DatasetFilter, limit: number, cursor?: string, nowMs = Date.now()): Promise<DatasetPage> {
  const where = new Conditions();
  where.add((p) => `d.tenant_id = ${p}`, tenantId);
  where.add((p) => `strpos(lower(d.dataset), lower(${p})) > 0`, filter.q);
  where.add((p) => `d.namespace = ${p}`, filter.namespace);
  where.add((p) => `EXISTS (SELECT FROM lineage_edges e WHERE e.tenant_id = d.tenant_id AND e.pipeline = ${p} AND e.dataset_id = d.dataset_id)`, filter.pipeline);
  where.after(cursor, BY_NAME);
  const { rows } = await db.query<DatasetRow>(`${DATASET_SELECT} WHERE ${where.where} ORDER BY ${orderBy(BY_NAME)} LIMIT ${limit + 1}`, where.params);
  const page = pageOf(rows, limit, BY_NAME, (row) => row);
  return { items: await shapeDatasets(db, tenantId, page.items, nowMs), next_cursor: page.next_cursor };
}

/** The datasets of these ids (the lineage graph's nodes), by id. */
export async function datasetsByIds(db: Queryable, tenantId: number, ids: readonly string[], nowMs = Date.now()): Promise<Map<string, Dataset>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<DatasetRow>(`${DATASET_SELECT} WHERE d.tenant_id = $1 AND d.dataset_id = ANY($2::bigint[])`, [tenantId, ids]);
  return new Map((await shapeDatasets(db, tenantId, rows, nowMs)).map((dataset) => [dataset.id, dataset]));
}

export interface WritesWindow {
  since?: Date;
  until?: Date;
  /** The latest this many runs' writes. */
  limit: number;
}

/** Rows a run's writes are read from at most, per run listed: a run writes one dataset in a few stages. */
const ROWS_PER_RUN = 10;

// A run's rows roll up as its own counts do: its own report, else the sum of its stages'.
const ROLLED_UP = (column: string) => `COALESCE(max(${column}) FILTER (WHERE stage_run_id = ''), sum(${column}) FILTER (WHERE stage_run_id <> ''))::float8`;
const WRITES_SQL = `
SELECT run_id, pipeline, COALESCE(array_agg(DISTINCT stage ORDER BY stage) FILTER (WHERE stage_run_id <> ''), '{}') AS stages,
       max(at) AS at, ${ROLLED_UP('rows')} AS rows, ${ROLLED_UP('bytes')} AS bytes, NOT bool_or(counts) AS failed
  FROM (SELECT w.run_id, w.pipeline, w.stage_run_id, w.stage, w.at, w.rows, w.bytes, ${writeCounts('w')} AS counts
          FROM run_datasets w
         WHERE w.tenant_id = $1 AND w.dataset_id = $2 AND w.direction = 'write' AND w.run_id <> ''
           AND w.at >= COALESCE($3::timestamptz, '-infinity') AND w.at < COALESCE($4::timestamptz, 'infinity')
         ORDER BY w.at DESC LIMIT $5::int * ${ROWS_PER_RUN}) w
 GROUP BY run_id, pipeline
 ORDER BY max(at) DESC, run_id DESC
 LIMIT $5`;

const EDGES_SQL = `SELECT pipeline, stage, direction, first_at, last_at, last_run_id, rows::float8 AS rows, bytes::float8 AS bytes
  FROM lineage_edges WHERE tenant_id = $1 AND dataset_id = $2 ORDER BY last_at DESC, pipeline, stage`;

interface EdgeRow {
  pipeline: string;
  stage: string;
  direction: 'read' | 'write';
  first_at: Date;
  last_at: Date;
  last_run_id: string;
  rows: number | null;
  bytes: number | null;
}

function shapeEdge(row: EdgeRow): DatasetEdge {
  return {
    pipeline: row.pipeline,
    stage: nonEmpty(row.stage),
    first_at: new Date(row.first_at).toISOString(),
    last_at: new Date(row.last_at).toISOString(),
    last_run_id: nonEmpty(row.last_run_id),
    rows: row.rows,
    bytes: row.bytes,
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const textOrNull = (value: unknown) => (typeof value === 'string' ? value : null);

/** The OpenLineage schema facet's fields, as far as they are well formed. */
function schemaFields(facets: Record<string, unknown> | null): SchemaField[] {
  const fields = isObject(facets?.['schema']) ? facets['schema']['fields'] : undefined;
  if (!Array.isArray(fields)) return [];
  return fields.filter(isObject).map((field) => ({ name: String(field['name'] ?? ''), type: textOrNull(field['type']), description: textOrNull(field['description']) }));
}

function columnLineage(facets: Record<string, unknown> | null): Record<string, unknown> | null {
  const facet = facets?.['columnLineage'];
  return isObject(facet) && isObject(facet['fields']) ? facet['fields'] : null;
}

export async function getDataset(db: Queryable, tenantId: number, id: string, window: WritesWindow, nowMs = Date.now()): Promise<DatasetDetail | null> {
  const found = await datasetsByIds(db, tenantId, [id], nowMs);
  const dataset = found.get(id);
  if (!dataset) return null;
  const [edges, facets, writes] = await Promise.all([
    db.query<EdgeRow>(EDGES_SQL, [tenantId, id]),
    db.query<{ facets: Record<string, unknown> | null; facets_at: Date | null }>('SELECT facets, facets_at FROM datasets WHERE tenant_id = $1 AND dataset_id = $2', [tenantId, id]),
    db.query<Omit<DatasetWrite, 'at'> & { at: Date }>(WRITES_SQL, [tenantId, id, window.since?.toISOString() ?? null, window.until?.toISOString() ?? null, window.limit]),
  ]);
  const stored = facets.rows[0]!;
  return {
    ...dataset,
    written_by: edges.rows.filter((row) => row.direction === 'write').map(shapeEdge),
    read_by: edges.rows.filter((row) => row.direction === 'read').map(shapeEdge),
    facets: stored.facets,
    facets_at: isoOrNull(stored.facets_at),
    schema_fields: schemaFields(stored.facets),
    column_lineage: columnLineage(stored.facets),
    writes: writes.rows.map((row) => ({ ...row, at: new Date(row.at).toISOString() })),
  };
}
