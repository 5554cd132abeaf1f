/**
 * The one walk over the lineage graph (lineage_edges, aggregated over stages): from pipelines and
 * datasets, up (what they are made from) or down (who uses them), hop by hop, where a hop is one
 * pipeline further. Each hop is two indexed lookups of the frontier's edges, never a read of the
 * tenant's whole graph; a node is expanded once, so cycles end, and the walk stops at `depth` hops or
 * MAX_NODES nodes. The lineage graph (lineage.ts) and a failed run's impact (impact.ts) both walk it.
 */
import { compareText, type Direction } from '../model/lineage.js';
import type { Queryable } from '../storage/database.js';

export type Way = 'up' | 'down';

/** Nearest first, then by `name`: how the graph's nodes and a run's impact are listed. */
export const byHopsThen = <T extends { hops: number }>(name: (item: T) => string) => (a: T, b: T) => a.hops - b.hops || compareText(name(a), name(b));

/** One pipeline's use of one dataset, over all its stages: the latest use's run, time and counts. */
export interface EdgeRow {
  pipeline: string;
  direction: Direction;
  dataset_id: string;
  stages: string[];
  first_at: Date;
  last_at: Date;
  last_run_id: string;
  rows: number | null;
  bytes: number | null;
}

export interface Walk {
  /** Each node reached, with its hops: a dataset has those of the pipeline that led to it (0 for a start). */
  pipelines: Map<string, number>;
  datasets: Map<string, number>;
  edges: Map<string, EdgeRow>;
  /** The walk met MAX_NODES: nodes beyond were left out. */
  truncated: boolean;
}

export interface WalkStart {
  pipelines?: readonly string[];
  datasets?: readonly string[];
  /** Pipelines the walk neither lists nor passes through (a failed run's own pipeline, reading its own output). */
  skip?: readonly string[];
}

/** How far a walk goes at most: the graph's deepest, and a failed run's impact. */
export const MAX_DEPTH = 10;
export const MAX_NODES = 1000;
/** Edge rows one lookup reads at most: a frontier with more has nodes beyond MAX_NODES anyway. */
const MAX_EDGE_ROWS = MAX_NODES * 10;

// The latest use is the edge's latest (time, then run id), as storage/lineage-rows.ts merges edges.
const latest = (column: string) => `(array_agg(${column} ORDER BY last_at DESC, last_run_id DESC))[1]`;
const EDGES_SQL = (key: string, cast: string) => `
SELECT pipeline, direction, dataset_id::text AS dataset_id,
       COALESCE(array_agg(stage ORDER BY stage) FILTER (WHERE stage <> ''), '{}') AS stages,
       min(first_at) AS first_at, max(last_at) AS last_at, ${latest('last_run_id')} AS last_run_id,
       ${latest('rows')}::float8 AS rows, ${latest('bytes')}::float8 AS bytes
  FROM lineage_edges
 WHERE tenant_id = $1 AND ${key} = ANY($2::${cast}[]) AND direction = $3
 GROUP BY pipeline, direction, dataset_id
 ORDER BY pipeline, dataset_id
 LIMIT ${MAX_EDGE_ROWS}`;
const BY_PIPELINE = EDGES_SQL('pipeline', 'text');
const BY_DATASET = EDGES_SQL('dataset_id', 'bigint');

async function edgesOf(db: Queryable, tenantId: number, sql: string, keys: readonly string[], direction: Direction): Promise<EdgeRow[]> {
  if (keys.length === 0) return [];
  return (await db.query<EdgeRow>(sql, [tenantId, keys, direction])).rows;
}

const edgeKey = (edge: EdgeRow) => JSON.stringify([edge.pipeline, edge.direction, edge.dataset_id]);

/** Adds the far ends of `rows` not met before, at `hop`, and the edges to every end kept; returns the new ends. */
function reach(walk: Walk, rows: EdgeRow[], far: 'pipeline' | 'dataset', hop: number, skip: ReadonlySet<string>): string[] {
  const nodes = far === 'pipeline' ? walk.pipelines : walk.datasets;
  const added: string[] = [];
  if (rows.length >= MAX_EDGE_ROWS) walk.truncated = true;
  for (const row of rows) {
    if (skip.has(row.pipeline)) continue;
    const node = far === 'pipeline' ? row.pipeline : row.dataset_id;
    if (!nodes.has(node)) {
      if (walk.pipelines.size + walk.datasets.size >= MAX_NODES) {
        walk.truncated = true;
        continue;
      }
      nodes.set(node, hop);
      added.push(node);
    }
    walk.edges.set(edgeKey(row), row);
  }
  return added;
}

export async function walkLineage(db: Queryable, tenantId: number, start: WalkStart, way: Way, depth: number): Promise<Walk> {
  const walk: Walk = { pipelines: new Map(), datasets: new Map(), edges: new Map(), truncated: false };
  const skip = new Set(start.skip);
  let pipelines = [...(start.pipelines ?? [])];
  let datasets = [...(start.datasets ?? [])];
  for (const pipeline of pipelines) walk.pipelines.set(pipeline, 0);
  for (const dataset of datasets) walk.datasets.set(dataset, 0);
  // Down: a pipeline's writes, then their readers; up: its reads, then their writers.
  const [fromPipeline, fromDataset]: Direction[] = way === 'down' ? ['write', 'read'] : ['read', 'write'];
  for (let hop = 0; hop < depth && pipelines.length + datasets.length > 0; hop++) {
    datasets.push(...reach(walk, await edgesOf(db, tenantId, BY_PIPELINE, pipelines, fromPipeline), 'dataset', hop, skip));
    pipelines = reach(walk, await edgesOf(db, tenantId, BY_DATASET, datasets, fromDataset), 'pipeline', hop + 1, skip);
    datasets = [];
  }
  return walk;
}

/** Walks both ways from the same start: each node at the fewer of its hops, each edge once. */
export function mergeWalks(walks: Walk[]): Walk {
  const merged: Walk = { pipelines: new Map(), datasets: new Map(), edges: new Map(), truncated: walks.some((walk) => walk.truncated) };
  for (const walk of walks) {
    for (const [kind, nodes] of [['pipelines', walk.pipelines], ['datasets', walk.datasets]] as const) {
      for (const [node, hops] of nodes) merged[kind].set(node, Math.min(hops, merged[kind].get(node) ?? hops));
    }
    for (const [key, edge] of walk.edges) merged.edges.set(key, edge);
  }
  return merged;
}
