/**
 * Datasets (storage/lineage-rows.ts keeps them): a tenant's list by name, filtered by part of the name,
 * namespace or a pipeline that uses it, and one dataset's detail. Each shows who writes and reads it,
 * its last write that happened (contract/lineage-sql.ts) and its freshness (contract/pipeline-facts.ts).
 */
import { lastWriteOf, writeHappened } from '../../contract/lineage-sql.js';
import { freshnessOf, type PipelineState } from '../../contract/pipeline-facts.js';
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

const usedBy = (direction: string) =>
  `ARRAY(SELECT DISTINCT e.pipeline FROM lineage_edges e WHERE e.tenant_id = d.tenant_id AND e.dataset_id = d.dataset_id AND e.direction = '${direction}' ORDER BY 1)`;

const DATASET_SELECT = `SELECT d.dataset_id::text AS id, d.dataset, d.namespace, d.name, d.first_seen, d.last_seen,
       ${usedBy('write')} AS writers, ${usedBy('read')} AS readers,
       lw.at AS write_at, lw.run_id AS write_run_id, lw.pipeline AS write_pipeline, lw.stage AS write_stage, lw.rows::float8 AS write_rows
  FROM datasets d
  LEFT JOIN LATERAL (${lastWriteOf('d')}) lw ON true`;

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

const judgeable = (state: PipelineState | undefined) => state !== undefined && state.expectedIntervalSeconds !== null && state.lastRunEndSeconds !== null;

/** The writer a dataset is judged by: the one of its last write that happened, else (none happened) a writer that can be judged. */
function writerOf(row: DatasetRow, states: Map<string, PipelineState>): PipelineState | undefined {
  if (row.write_pipeline !== null) return states.get(row.write_pipeline);
  return row.writers.map((pipeline) => states.get(pipeline)).find(judgeable);
}

function shapeDataset(row: DatasetRow, states: Map<string, PipelineState>, nowSeconds: number): Dataset {
  const writer = writerOf(row, states);
  const lastWriteSeconds = row.write_at === null ? null : new Date(row.write_at).getTime() / 1000;
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
    freshness: freshnessOf(writer, lastWriteSeconds, nowSeconds),
    expected_interval_seconds: writer?.expectedIntervalSeconds ?? null,
  };
}

/** The rows shaped, with their writers' states read once for all of them. */
async function shapeDatasets(db: Queryable, tenantId: number, rows: DatasetRow[], nowMs: number): Promise<Dataset[]> {
  const writers = [...new Set(rows.flatMap((row) => row.writers))];
  const states = await readStatesOf(db, tenantId, writers);
  const byPipeline = new Map(states.map((state) => [state.pipeline, state]));
  return rows.map((row) => shapeDataset(row, byPipeline, nowMs / 1000));
}

/** A dataset id as the API shows it: a bigint's digits (18 of them always fit). */
export const DATASET_ID = /^[0-9]{1,18}$/;

const idColumn: KeyColumn = { sql: 'd.dataset_id', cast: 'bigint', valid: (value) => DATASET_ID.test(value) };
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
       max(at) AS at, ${ROLLED_UP('rows')} AS rows, ${ROLLED_UP('bytes')} AS bytes, bool_or(counted) AS counted
  FROM (SELECT w.run_id, w.pipeline, w.stage_run_id, w.stage, w.at, w.rows, w.bytes, ${writeHappened('w')} AS counted
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
