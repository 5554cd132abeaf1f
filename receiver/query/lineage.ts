/**
 * The lineage graph around a pipeline or a dataset (lineage-walk.ts walks it): pipelines and datasets
 * as nodes, a pipeline's state now as the pipelines list shows it, a dataset's freshness as the datasets
 * list shows it, and edges pipeline → dataset (writes) and dataset → pipeline (reads).
 */
import { compareText } from '../model/lineage.js';
import type { Queryable } from '../storage/database.js';
import type { LineageEdge, LineageGraph, LineageNode } from './api-types.js';
import { datasetsByIds } from './datasets.js';
import { byHopsThen, mergeWalks, walkLineage, type EdgeRow, type Way } from './lineage-walk.js';
import { readStatesOf } from './pipeline-state.js';
import { pipelineStatus, stateWithoutRuns } from './pipeline-status.js';
import { unhealthyUpstreams } from './pipeline-upstreams.js';

export const LINEAGE_DIRECTIONS = ['up', 'down', 'both'] as const;
export type LineageDirection = (typeof LINEAGE_DIRECTIONS)[number];

export type LineageRoot = { pipeline: string } | { datasetId: string };

const pipelineNode = (pipeline: string) => `pipeline:${pipeline}`;
const datasetNode = (id: string) => `dataset:${id}`;

/** A pipeline is known by its runs or its lineage; a dataset by its row. */
async function rootExists(db: Queryable, tenantId: number, root: LineageRoot): Promise<boolean> {
  const sql =
    'pipeline' in root
      ? `SELECT EXISTS (SELECT FROM lineage_edges WHERE tenant_id = $1 AND pipeline = $2) OR EXISTS (SELECT FROM pipeline_runs WHERE tenant_id = $1 AND pipeline = $2) AS found`
      : `SELECT EXISTS (SELECT FROM datasets WHERE tenant_id = $1 AND dataset_id = $2::bigint) AS found`;
  const { rows } = await db.query<{ found: boolean }>(sql, [tenantId, 'pipeline' in root ? root.pipeline : root.datasetId]);
  return rows[0]!.found;
}

function shapeEdge(edge: EdgeRow): LineageEdge {
  const [pipeline, dataset] = [pipelineNode(edge.pipeline), datasetNode(edge.dataset_id)];
  return {
    source: edge.direction === 'write' ? pipeline : dataset,
    target: edge.direction === 'write' ? dataset : pipeline,
    direction: edge.direction,
    pipeline: edge.pipeline,
    dataset_id: edge.dataset_id,
    stages: edge.stages,
    first_at: new Date(edge.first_at).toISOString(),
    last_at: new Date(edge.last_at).toISOString(),
    last_run_id: edge.last_run_id === '' ? null : edge.last_run_id,
    rows: edge.rows,
    bytes: edge.bytes,
  };
}

const bySourceThenTarget = (a: LineageEdge, b: LineageEdge) => compareText(a.source, b.source) || compareText(a.target, b.target);

/** Null when the root is not the tenant's. */
export async function lineageGraph(
  db: Queryable,
  tenantId: number,
  root: LineageRoot,
  direction: LineageDirection,
  depth: number,
  nowMs = Date.now(),
): Promise<LineageGraph | null> {
  if (!(await rootExists(db, tenantId, root))) return null;
  const start = 'pipeline' in root ? { pipelines: [root.pipeline] } : { datasets: [root.datasetId] };
  const ways: Way[] = direction === 'both' ? ['up', 'down'] : [direction];
  const walk = mergeWalks(await Promise.all(ways.map((way) => walkLineage(db, tenantId, start, way, depth))));
  const names = [...walk.pipelines.keys()];
  const [states, datasets] = await Promise.all([readStatesOf(db, tenantId, names), datasetsByIds(db, tenantId, [...walk.datasets.keys()], nowMs)]);
  const stateOf = new Map(states.map((state) => [state.pipeline, state]));
  const upstreams = await unhealthyUpstreams(db, tenantId, states, nowMs / 1000);
  const nodes: LineageNode[] = [
    ...names.map((name) => ({
      kind: 'pipeline' as const,
      id: pipelineNode(name),
      hops: walk.pipelines.get(name)!,
      pipeline: pipelineStatus(stateOf.get(name) ?? stateWithoutRuns('', name), nowMs / 1000, upstreams),
    })),
    ...[...datasets.values()].map((dataset) => ({ kind: 'dataset' as const, id: datasetNode(dataset.id), hops: walk.datasets.get(dataset.id)!, dataset })),
  ];
  return {
    root: 'pipeline' in root ? pipelineNode(root.pipeline) : datasetNode(root.datasetId),
    direction,
    depth,
    nodes: nodes.sort(byHopsThen((node) => node.id)),
    edges: [...walk.edges.values()].map(shapeEdge).sort(bySourceThenTarget),
    truncated: walk.truncated,
  };
}
