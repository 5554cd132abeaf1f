/**
 * SQL over the lineage tables (datasets, run_datasets, lineage_edges: receiver/storage/lineage-rows.ts)
 * that the query API, the metrics and the Grafana dashboards share, so that "upstream" means the same in
 * the web view's graph, the `pipemon_pipeline_upstream_unhealthy` metric and the node-graph panel.
 */

/**
 * `(tenant_id, pipeline, upstream)`: each pipeline's direct upstream pipelines, those that write a
 * dataset it reads (in any stage, from any run or static lineage), for the tenants `tenantCondition`
 * keeps (over `r`, the reading edge). A pipeline that reads what it writes is not its own upstream.
 */
export const pipelineUpstreams = (tenantCondition = 'true') => `SELECT DISTINCT r.tenant_id, r.pipeline, w.pipeline AS upstream
  FROM lineage_edges r
  JOIN lineage_edges w ON w.tenant_id = r.tenant_id AND w.dataset_id = r.dataset_id AND w.direction = 'write'
 WHERE r.direction = 'read' AND w.pipeline <> r.pipeline AND (${tenantCondition})`;

/** One pair of pipelineUpstreams with its tenant's name: what the receiver reads to judge a pipeline's upstreams. */
export interface PipelineUpstream {
  tenant: string;
  pipeline: string;
  upstream: string;
}
