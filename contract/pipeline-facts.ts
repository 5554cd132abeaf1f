/**
 * What each pipeline's state is judged by, stated once for everyone who judges it: the SQL that reads
 * a pipeline's facts from the derived tables (receiver/query/pipeline-state.ts runs it for the API and
 * /metrics, the Grafana dashboards embed it), and the late, stuck and data-health conditions of the
 * alert rules, with the thresholds of alert-config.ts, for answers that cannot wait for an alert.
 */
import { config, wholeNameRegex, type MixinConfig } from './alert-config.js';
import { RECORD_SLACK } from './run-sql.js';
import { ATTR, FAILED_RESULTS } from './vocabulary.js';

export interface PipelineState {
  tenant: string;
  pipeline: string;
  /** The latest run's `pipemon.pipeline.owner`, or '' when it has none. */
  owner: string;
  /** Declared by the latest run, else the median gap between its latest run starts; null when neither is known. */
  expectedIntervalSeconds: number | null;
  lastSuccessSeconds: number | null;
  /** The latest ended run: its id, end, duration, rows, and its data-quality checks that failed. */
  lastRunId: string | null;
  lastRunEndSeconds: number | null;
  lastRunDurationSeconds: number | null;
  lastRunRows: { read: number | null; written: number | null; rejected: number | null };
  lastRunFailedChecks: number;
  /** The names of those failed checks, each once, sorted. */
  lastRunFailedCheckNames: string[];
  /** When it wrote 0 rows: the median rows written by its latest earlier successful runs that reported some; else null. */
  usualRowsWritten: number | null;
  consecutiveFailures: number;
  running: number;
  /** Unix seconds of the oldest last record (start or heartbeat) among running runs. */
  oldestRunningHeartbeatSeconds: number | null;
  oldestRunningStartSeconds: number | null;
}

/** An interval is inferred from the gaps between a pipeline's latest run starts (at least two of them). */
const INFERENCE_RUNS = 8;
const INFERENCE_MIN_GAPS = 2;
/** What a pipeline usually writes: the median over its latest earlier successful runs that reported rows written. */
const USUAL_RUNS = 8;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
const FAILED_LIST = FAILED_RESULTS.map(literal).join(', ');

/**
 * `SELECT` of the facts each pipeline's state is judged by, one row per pipeline `p` of a `pipelines`
 * CTE (run-sql.ts pipelinesOfTenants), over its runs `r` that `runIs` keeps: all of them for the API
 * and /metrics, the selected environments' for the Grafana dashboards, which judge their status from
 * these same facts. Times are timestamps; no parameters, since Grafana sends none.
 *
 * One pass per pipeline, each step an index lookup, so that a read costs the number of pipelines, not
 * of runs: each pipeline's latest runs come from pipeline_runs_pipeline (by start), its ended runs from
 * pipeline_runs_ended (by end), its running ones from pipeline_runs_running and the latest ended run's
 * checks from pipeline_checks_run.
 */
export const pipelineFacts = (runIs: (r: string) => string = () => 'true') => `SELECT p.tenant_id, p.tenant, p.pipeline,
       l.owner, l.state AS latest_state, l.result AS latest_result, l.started_at AS latest_started_at,
       -- A declared interval is any attribute a sender set: bounded before the cast, so that one absurd
       -- value cannot fail this read for every pipeline of every tenant.
       COALESCE(CASE WHEN l.declared ~ '^[0-9]{1,9}(\\.[0-9]{1,6})?$' THEN l.declared::float8 END, i.seconds) AS expected_interval,
       s.at AS last_success, e.run_id AS last_run_id, e.ended_at AS last_end, e.duration_seconds AS last_duration,
       e.rows_read::float8 AS rows_read, e.rows_written::float8 AS rows_written, e.rows_rejected::float8 AS rows_rejected,
       k.failed AS failed_checks, k.names AS failed_check_names, u.rows AS usual_rows_written,
       f.n AS consecutive_failures, n.n AS running, n.heartbeat AS oldest_heartbeat, n.started AS oldest_start
  FROM pipelines p
  -- Its latest run: owner and declared interval.
  CROSS JOIN LATERAL (
    SELECT r.state, r.result, r.started_at, r.attributes->>${literal(ATTR.pipelineOwner)} AS owner, r.attributes->>${literal(ATTR.expectedIntervalSeconds)} AS declared
      FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND ${runIs('r')} ORDER BY r.started_at DESC LIMIT 1) l
  -- The median gap between its latest run starts, however old: a window anchored at now() would forget a
  -- pipeline that stopped, and its late alert would resolve by itself.
  LEFT JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS seconds FROM (
      SELECT extract(epoch FROM started_at - lead(started_at) OVER (ORDER BY started_at DESC)) AS gap FROM (
        SELECT started_at FROM pipeline_runs r WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.started_at IS NOT NULL AND ${runIs('r')}
         ORDER BY started_at DESC LIMIT ${INFERENCE_RUNS}) latest) gaps
     WHERE gap > 0 HAVING count(*) >= ${INFERENCE_MIN_GAPS}) i ON true
  LEFT JOIN LATERAL (
    SELECT r.tenant_id, r.run_id, r.started_at, r.ended_at, r.duration_seconds, r.rows_read, r.rows_written, r.rows_rejected FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL AND ${runIs('r')}
     ORDER BY r.ended_at DESC LIMIT 1) e ON true
  -- Its failed checks: counted as the PipelineDataQualityCheckFailed alert counts them, and named.
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS failed, COALESCE(array_agg(DISTINCT c.name ORDER BY c.name) FILTER (WHERE c.name IS NOT NULL), '{}') AS names
      FROM pipeline_checks c
     WHERE c.tenant_id = e.tenant_id AND c.run_id = e.run_id AND NOT c.passed
       AND c.ts BETWEEN COALESCE(e.started_at, e.ended_at) - ${RECORD_SLACK} AND e.ended_at + ${RECORD_SLACK}) k
  -- When it wrote 0 rows: what its earlier successful runs usually wrote, for the words beside the status.
  LEFT JOIN LATERAL (
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY written) AS rows FROM (
      SELECT r.rows_written::float8 AS written FROM pipeline_runs r
       WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL AND r.ended_at < e.ended_at
         AND e.rows_written = 0 AND r.result = 'success' AND r.rows_written IS NOT NULL AND ${runIs('r')}
       ORDER BY r.ended_at DESC LIMIT ${USUAL_RUNS}) earlier) u ON true
  LEFT JOIN LATERAL (
    SELECT r.ended_at AS at FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL AND r.result = 'success' AND ${runIs('r')}
     ORDER BY r.ended_at DESC LIMIT 1) s ON true
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS n FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'ended' AND r.ended_at IS NOT NULL
       AND r.result IN (${FAILED_LIST}) AND r.ended_at > COALESCE(s.at, '-infinity') AND ${runIs('r')}) f
  CROSS JOIN LATERAL (
    SELECT count(*)::int AS n, min(last_seen_at) AS heartbeat, min(started_at) AS started FROM pipeline_runs r
     WHERE r.tenant_id = p.tenant_id AND r.pipeline = p.pipeline AND r.state = 'running' AND ${runIs('r')}) n`;

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

/**
 * Unhealthy as the alerts judge it: its latest ended runs failed (what PipelineRunFailed counts), it is
 * late, or a running run's heartbeat stopped (stuck). A pipeline downstream of an unhealthy one waits on
 * it: pipemon_pipeline_upstream_unhealthy, and the API's upstream_unhealthy.
 */
export function isUnhealthy(state: PipelineState, nowSeconds: number, rules: MixinConfig = config): boolean {
  return state.consecutiveFailures > 0 || isLate(state, nowSeconds, rules) || isStuck(state, nowSeconds, rules);
}

export type Freshness = 'fresh' | 'stale' | 'unknown';

/**
 * A dataset's freshness, by the PipelineLate rule with its last write that happened in place of its
 * writer's last success: stale when that write is older than the rule allows, or when nothing it wrote
 * ever happened; unknown when the writer cannot be judged (no expected interval, or no run ended yet).
 * The Grafana Lineage dashboard states the same in SQL (dashboards/grafana/lineage.ts), held to this by its test.
 */
export function freshnessOf(writer: PipelineState | undefined, lastWriteSeconds: number | null, nowSeconds: number, rules: MixinConfig = config): Freshness {
  if (writer === undefined || writer.expectedIntervalSeconds === null || writer.lastRunEndSeconds === null) return 'unknown';
  if (lastWriteSeconds === null) return 'stale';
  return isLate({ ...writer, lastSuccessSeconds: lastWriteSeconds }, nowSeconds, rules) ? 'stale' : 'fresh';
}

export function isStuck(state: PipelineState, nowSeconds: number, rules: MixinConfig = config): boolean {
  return state.oldestRunningHeartbeatSeconds !== null && heartbeatStopped(state.oldestRunningHeartbeatSeconds, nowSeconds, rules);
}

/** A running run whose last record (its start or a heartbeat) is older than this is stuck: its process died or hangs. */
export function heartbeatStopped(lastSeenSeconds: number, nowSeconds: number, rules: MixinConfig = config): boolean {
  return nowSeconds - lastSeenSeconds > rules.stuck.afterSeconds;
}

export interface DataHealth {
  /** Failed data-quality checks of the latest ended run: how many (as the gauge counts them) and their names. */
  failedChecks: number;
  failedCheckNames: string[];
  /** Rows the latest ended run rejected, as it reported them. */
  rowsRejected: number | null;
  /** It did not fail and wrote 0 rows, and the pipeline is not one allowed to (zeroRows.allowedPipelines). */
  zeroRowsWritten: boolean;
  /** Any of these past the alerts' thresholds: the pipeline's status is `warning`. */
  warning: boolean;
}

/**
 * The PipelineZeroRowsWritten, PipelineRowsRejected and PipelineDataQualityCheckFailed conditions of
 * dashboards/prometheus/alerts.ts, for the API, with their thresholds from the mixin's one config and
 * without their `for:` wait. Zero rows, as that alert judges it: the latest run reported 0 rows written
 * and no run failed since the last success (a failure is PipelineRunFailed's), for any pipeline not
 * allowed to write none.
 */
export function dataHealth(state: PipelineState, rules: MixinConfig = config): DataHealth {
  const allowed = wholeNameRegex(rules.zeroRows.allowedPipelines);
  const zeroRowsWritten =
    state.lastRunRows.written === 0 && state.consecutiveFailures === 0 && !(allowed !== null && new RegExp(allowed).test(state.pipeline));
  const rejected = state.lastRunRows.rejected;
  return {
    failedChecks: state.lastRunFailedChecks,
    failedCheckNames: state.lastRunFailedCheckNames,
    rowsRejected: rejected,
    zeroRowsWritten,
    warning: zeroRowsWritten || (rejected ?? 0) > rules.rowsRejected.moreThan || state.lastRunFailedChecks > rules.failedChecks.moreThan,
  };
}
