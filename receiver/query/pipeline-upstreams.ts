/**
 * Each pipeline's direct upstream pipelines (contract/lineage-sql.ts): by tenant name for the
 * `pipemon_pipeline_upstream_unhealthy` gauge, read at each scrape beside the pipelines' state; and the
 * unhealthy ones of some pipelines for the API, which says so beside a late pipeline's state.
 */
import { pipelineUpstreams, type PipelineUpstream } from '../../contract/lineage-sql.js';
import { isUnhealthy, type PipelineState } from '../../contract/pipeline-facts.js';
import type { Queryable } from '../storage/database.js';
import { readStatesOf } from './pipeline-state.js';

const UPSTREAMS_SQL = `
SELECT t.name AS tenant, u.pipeline, u.upstream
  FROM (${pipelineUpstreams('$1::int IS NULL OR r.tenant_id = $1')}) u
  JOIN tenants t ON t.tenant_id = u.tenant_id
 ORDER BY t.name, u.pipeline, u.upstream`;

/** Every (pipeline, upstream) pair, of every tenant or of `tenantId` only. */
export async function readPipelineUpstreams(db: Queryable, tenantId: number | null = null): Promise<PipelineUpstream[]> {
  return (await db.query<PipelineUpstream>(UPSTREAMS_SQL, [tenantId])).rows;
}

const UPSTREAMS_OF_SQL = `SELECT pipeline, upstream FROM (${pipelineUpstreams('r.tenant_id = $1 AND r.pipeline = ANY($2::text[])')}) u ORDER BY pipeline, upstream`;

/**
 * The direct upstreams of `states`' pipelines (a tenant's) that are unhealthy now (contract/pipeline-facts.ts
 * isUnhealthy), by pipeline, sorted: what a late or stuck pipeline waits on. Upstreams not among `states` are read.
 */
export async function unhealthyUpstreams(db: Queryable, tenantId: number, states: PipelineState[], nowSeconds: number): Promise<Map<string, string[]>> {
  const { rows } = await db.query<{ pipeline: string; upstream: string }>(UPSTREAMS_OF_SQL, [tenantId, states.map((state) => state.pipeline)]);
  const known = new Map(states.map((state) => [state.pipeline, state]));
  const missing = [...new Set(rows.map((row) => row.upstream))].filter((name) => !known.has(name));
  for (const state of await readStatesOf(db, tenantId, missing)) known.set(state.pipeline, state);
  const unhealthy = new Map<string, string[]>();
  for (const { pipeline, upstream } of rows) {
    const state = known.get(upstream);
    if (state && isUnhealthy(state, nowSeconds)) unhealthy.set(pipeline, [...(unhealthy.get(pipeline) ?? []), upstream]);
  }
  return unhealthy;
}
