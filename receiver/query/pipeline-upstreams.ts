/**
 * Each pipeline's direct upstream pipelines (contract/lineage-sql.ts), by tenant name, for the
 * `pipemon_pipeline_upstream_unhealthy` gauge: read at each scrape beside the pipelines' state.
 */
import { pipelineUpstreams, type PipelineUpstream } from '../../contract/lineage-sql.js';
import type { Queryable } from '../storage/database.js';

const UPSTREAMS_SQL = `
SELECT t.name AS tenant, u.pipeline, u.upstream
  FROM (${pipelineUpstreams('$1::int IS NULL OR r.tenant_id = $1')}) u
  JOIN tenants t ON t.tenant_id = u.tenant_id
 ORDER BY t.name, u.pipeline, u.upstream`;

/** Every (pipeline, upstream) pair, of every tenant or of `tenantId` only. */
export async function readPipelineUpstreams(db: Queryable, tenantId: number | null = null): Promise<PipelineUpstream[]> {
  return (await db.query<PipelineUpstream>(UPSTREAMS_SQL, [tenantId])).rows;
}
