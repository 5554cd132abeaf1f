/**
 * SQL fragments over the derived tables (pipeline_runs, logs, spans) that the query API and the Grafana
 * dashboards both use, so that a run's environment or a tenant's pipelines mean the same in both.
 */

/**
 * A record's environment: `deployment.environment.name`, or `deployment.environment`, its name before
 * semantic conventions 1.27 renamed it, which older SDKs still send.
 */
export const environmentOf = (alias: string) =>
  `COALESCE(${alias}.resource_attributes->>'deployment.environment.name', ${alias}.resource_attributes->>'deployment.environment')`;

/** Records of a run lie within its time; this slack lets a lookup by run skip all but a few daily partitions. */
export const RECORD_SLACK = "interval '1 hour'";

/**
 * The environment of run `r` (a pipeline_runs row): stored with it since migration 3; for a run stored
 * before, its first log record's, else a span's of its trace (one index probe per such run).
 */
export const runEnvironmentOf = (r: string) => `COALESCE(${r}.environment,
  (SELECT ${environmentOf('l')} FROM logs l WHERE l.tenant_id = ${r}.tenant_id AND l.run_id = ${r}.run_id
      AND l.ts >= ${r}.started_at - ${RECORD_SLACK} ORDER BY l.ts LIMIT 1),
  (SELECT ${environmentOf('s')} FROM spans s WHERE s.tenant_id = ${r}.tenant_id AND s.trace_id = ${r}.trace_id LIMIT 1))`;

/**
 * `WITH RECURSIVE pipelines (tenant_id, tenant, pipeline)`: the pipelines of the tenants `t` (tenants)
 * that `tenantCondition` keeps, found by skipping through the pipeline_runs_pipeline index, one probe per
 * pipeline, instead of reading every run of their history (a month of a busy tenant's runs is a million
 * rows). The per-pipeline reads of pipeline-state.ts and of the Grafana dashboards start from it.
 */
export const pipelinesOfTenants = (tenantCondition: string) => `WITH RECURSIVE pipelines AS (
  SELECT t.tenant_id, t.name AS tenant, first.pipeline
    FROM tenants t
    CROSS JOIN LATERAL (SELECT r.pipeline FROM pipeline_runs r WHERE r.tenant_id = t.tenant_id ORDER BY r.pipeline LIMIT 1) first
   WHERE (${tenantCondition})
  UNION ALL
  SELECT p.tenant_id, p.tenant, next.pipeline
    FROM pipelines p
    CROSS JOIN LATERAL (
      SELECT r.pipeline FROM pipeline_runs r WHERE r.tenant_id = p.tenant_id AND r.pipeline > p.pipeline ORDER BY r.pipeline LIMIT 1) next
)`;
