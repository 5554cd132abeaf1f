/**
 * Each pipeline's state now, as the alerts need it, read from the derived tables in one query: who owns
 * it, how often it should run, its last success, how its latest run went, how many runs failed since the
 * last success, and its running runs. Read from the database rather than kept in memory, so it is right from the first
 * scrape after a restart and the same on every receiver sharing the database.
 */
import { ATTR, FAILED_RESULTS } from '../sdk/vocabulary.js';
import { pipelinesOfTenants, RECORD_SLACK } from './query/shape.js';
import type { Queryable } from './storage/database.js';
import { config, type MixinConfig } from '../dashboards/prometheus/config.js';

export interface PipelineState {
  tenant: string;
  pipeline: string;
  /** The latest run's `pipemon.pipeline.owner`, or '' when it has none. */
  owner: string;
  /** Declared by the latest run, else the median gap between its latest run starts; null when neither is known. */
  expectedIntervalSeconds: number | null;
  lastSuccessSeconds: number | null;
  lastRunEndSeconds: number | null;
  lastRunDurationSeconds: number | null;
  lastRunRows: { read: number | null; written: number | null; rejected: number | null };
  lastRunFailedChecks: number;
  consecutiveFailures: number;
  running: number;
  /** Unix seconds of the oldest last record (start or heartbeat) among running runs. */
  oldestRunningHeartbeatSeconds: number | null;
  oldestRunningStartSeconds: number | null;
}

/** An interval is inferred from the gaps between a pipeline's latest run starts (at least two of them). */
const INFERENCE_RUNS = 8;
const INFERENCE_MIN_GAPS = 2;

/**
 * One pass per pipeline, each step an index lookup, so that a scrape costs the number of pipelines, not
 * of runs: the pipelines are found by skipping through the pipeline index (a loose index scan: one probe
 * per pipeline, not a read of every run), then each pipeline's latest runs come from
 * pipeline_runs_pipeline (by start), its ended runs from pipeline_runs_ended (by end) and its running
 * ones from pipeline_runs_running.
 */
const STATE_SQL = `
${pipelinesOfTenants('$4::int IS NULL OR t.tenant_id = $4')}
-- A declared interval is any attribute a sender set: bounded before the cast, so that one absurd value
-- cannot fail this read for every pipeline of every tenant.
SELECT t.name AS tenant, p.pipeline, COALESCE(l.owner, '') AS owner,
       COALESCE(CASE WHEN l.declared ~ '^[0-9]{1,9}(\\.[0-9]{1,6})?$' THEN l.declared::float8 END, i.seconds) AS expected_interval,
       extract(epoch FROM s.at)::float8 AS last_success, extract(epoch FROM e.ended_at)::float8 AS last_end, e.duration_seconds AS last_duration,
       e.rows_read::float8 AS rows_read, e.rows_written::float8 AS rows_written, e.rows_rejected::float8 AS rows_rejected,
       (SELECT count(*)::int FROM pipeline_checks c
         WHERE c.tenant_id = e.tenant_id AND c.run_id = e.run_id AND NOT c.passed
           AND c.ts BETWEEN COALESCE(e.started_at, e.ended_at) - ${RECORD_SLACK} AND e.ended_at + ${RECORD_SLACK}) AS failed_checks,
       f.n AS consecutive_failures, r.n AS running,
       extract(epoch FROM r.heartbeat)::float8 AS oldest_heartbeat, extract(epoch FROM r.started)::float8 AS oldest_start
  FROM pipelines p
  JOIN tenants t USING (tenant_id)
  -- Its latest run: owner and declared interval.
  CROSS JOIN LATERAL (
    SELECT attributes->>$1 AS owner, attributes->>$2 AS declared FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline ORDER BY r.started_at DESC LIMIT 1) l
  -- The median gap between its latest run starts, however old: a window anchored at now() would forget a
  -- pipeline that stopped, and its late alert would resolve by itself.
  LEFT JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS seconds FROM (
      SELECT extract(epoch FROM started_at - lead(started_at) OVER (ORDER BY started_at DESC)) AS gap FROM (
        SELECT started_at FROM pipeline_runs r WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND started_at IS NOT NULL
         ORDER BY started_at DESC LIMIT ${INFERENCE_RUNS}) latest) gaps
     WHERE gap > 0 HAVING count(*) >= ${INFERENCE_MIN_GAPS}) i ON true
  LEFT JOIN LATERAL (
    SELECT tenant_id, run_id, started_at, ended_at, duration_seconds, rows_read, rows_written, rows_rejected FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL
     ORDER BY r.ended_at DESC LIMIT 1) e ON true
  LEFT JOIN LATERAL (
    SELECT r.ended_at AS at FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL AND r.result = 'success'
     ORDER BY r.ended_at DESC LIMIT 1) s ON true
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS n FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL
       AND r.result = ANY($3::text[]) AND r.ended_at > COALESCE(s.at, '-infinity')) f
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS n, min(last_seen_at) AS heartbeat, min(started_at) AS started FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'running') r
 ORDER BY t.name, p.pipeline`;

interface StateRow {
  tenant: string;
  pipeline: string;
  owner: string;
  expected_interval: number | null;
  last_success: number | null;
  last_end: number | null;
  last_duration: number | null;
  rows_read: number | null;
  rows_written: number | null;
  rows_rejected: number | null;
  failed_checks: number | null;
  consecutive_failures: number;
  running: number;
  oldest_heartbeat: number | null;
  oldest_start: number | null;
}

/** Every pipeline's state, of every tenant or of `tenantId` only. */
export async function readPipelineStates(db: Queryable, tenantId: number | null = null): Promise<PipelineState[]> {
  const { rows } = await db.query<StateRow>(STATE_SQL, [
    ATTR.pipelineOwner,
    ATTR.expectedIntervalSeconds,
    FAILED_RESULTS,
    tenantId,
  ]);
  return rows.map((row) => ({
    tenant: row.tenant,
    pipeline: row.pipeline,
    owner: row.owner,
    expectedIntervalSeconds: row.expected_interval,
    lastSuccessSeconds: row.last_success,
    lastRunEndSeconds: row.last_end,
    lastRunDurationSeconds: row.last_duration,
    lastRunRows: { read: row.rows_read, written: row.rows_written, rejected: row.rows_rejected },
    lastRunFailedChecks: row.failed_checks ?? 0,
    consecutiveFailures: row.consecutive_failures,
    running: row.running,
    oldestRunningHeartbeatSeconds: row.oldest_heartbeat,
    oldestRunningStartSeconds: row.oldest_start,
  }));
}

/**
 * The PipelineLate and PipelineRunStuck conditions of dashboards/prometheus/alerts.ts, for the API, with
 * the same thresholds from the mixin's one config; without the alerts' `for:` wait, since an API answer is
 * the condition now. Late: the last success (or, for a pipeline that never succeeded, its last run end) is
 * more than `late.expectedIntervals` expected intervals old; no expected interval, or no ended run,
 * cannot be late. Stuck: a running run sent no record for more than `stuck.afterSeconds`.
 */
export function isLate(state: PipelineState, nowSeconds: number, rules: MixinConfig = config): boolean {
  const since = state.lastSuccessSeconds ?? state.lastRunEndSeconds;
  if (since === null || state.expectedIntervalSeconds === null) return false;
  return nowSeconds - since > rules.late.expectedIntervals * state.expectedIntervalSeconds;
}

export function isStuck(state: PipelineState, nowSeconds: number, rules: MixinConfig = config): boolean {
  return state.oldestRunningHeartbeatSeconds !== null && heartbeatStopped(state.oldestRunningHeartbeatSeconds, nowSeconds, rules);
}

/** A running run whose last record (its start or a heartbeat) is older than this is stuck: its process died or hangs. */
export function heartbeatStopped(lastSeenSeconds: number, nowSeconds: number, rules: MixinConfig = config): boolean {
  return nowSeconds - lastSeenSeconds > rules.stuck.afterSeconds;
}
