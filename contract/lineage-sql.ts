/**
 * SQL over the lineage tables (datasets, run_datasets, lineage_edges: receiver/storage/lineage-rows.ts)
 * that the query API, the metrics and the Grafana dashboards share, so that "upstream" and "written" mean
 * the same in the web view's graph, the `pipemon_pipeline_upstream_unhealthy` metric and the dashboards.
 */

/**
 * Whether run_datasets row `w`, a write, happened: its run (for a stage's row, its stage) ended in
 * success. Static lineage (no run), a run still running, one that failed, was cancelled or skipped wrote
 * nothing that counts. Probed by key (scalar subqueries, which the planner cannot turn into a hash of
 * every run), so that reading a dataset's writes newest first stops at the first that happened.
 */
export const writeHappened = (w: string) => `(${w}.run_id <> '' AND CASE WHEN ${w}.stage_run_id = ''
  THEN (SELECT r.result = 'success' FROM pipeline_runs r WHERE r.tenant_id = ${w}.tenant_id AND r.run_id = ${w}.run_id)
  ELSE (SELECT s.result = 'success' FROM pipeline_stages s
         WHERE s.tenant_id = ${w}.tenant_id AND s.run_id = ${w}.run_id AND s.stage_run_id = ${w}.stage_run_id)
END IS TRUE)`;

/** Dataset `d`'s last write that happened (pipeline, stage, run_id, at, rows): newest first through run_datasets_dataset. */
export const lastWriteOf = (d: string) => `SELECT w.pipeline, w.stage, w.run_id, w.at, w.rows FROM run_datasets w
 WHERE w.tenant_id = ${d}.tenant_id AND w.dataset_id = ${d}.dataset_id AND w.direction = 'write' AND ${writeHappened('w')}
 ORDER BY w.at DESC, w.run_id DESC LIMIT 1`;

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
