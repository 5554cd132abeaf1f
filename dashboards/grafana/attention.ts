/**
 * When a pipeline needs someone: late, stuck or failing, as PromQL over the gauges the receiver reads
 * from the database at each scrape, and each pipeline's status (warning included) as SQL over the facts
 * the receiver judges its own from, with the thresholds of the alert rules' config, so that a dashboard
 * shows as late, stuck or warning what the alerts call so.
 */
import { config, wholeNameRegex } from '../../contract/alert-config.js';

/** Late: no success within this many expected intervals (declared by the pipeline, or inferred). */
export const LATE_AFTER_INTERVALS = config.late.expectedIntervals;

/** Stuck: a running run silent this long. */
export const STUCK_AFTER_SECONDS = config.stuck.afterSeconds;

/** Adds the owner label, as the alert rules do for routing. */
export const withOwner = (expr: string, selector: string) =>
  `(${expr}) * on (tenant, pipeline) group_left (owner) pipemon_pipeline_info{${selector}}`;

/** Ended runs that failed since the last success, for the pipelines that have any. */
export const failing = (selector: string) => `pipemon_pipeline_consecutive_failures{${selector}} > 0`;

/** Expected intervals elapsed since the last success, for the late pipelines. */
export const late = (selector: string) =>
  `(time() - pipemon_pipeline_last_success_timestamp_seconds{${selector}}) / pipemon_pipeline_expected_interval_seconds{${selector}} > ${LATE_AFTER_INTERVALS}`;

/** Seconds since the oldest running run's last record (start or heartbeat), for the stuck ones. */
export const stuck = (selector: string) =>
  `time() - pipemon_pipeline_oldest_running_heartbeat_timestamp_seconds{${selector}} > ${STUCK_AFTER_SECONDS}`;

/** The statuses, what needs attention first: the web view's names and order (web/app/lib/status.ts). */
const STATUSES = ['failing', 'stuck', 'late', 'warning', 'running', 'ok', 'idle'] as const;

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** PipelineZeroRowsWritten's condition on the facts: 0 rows written, no failure since the last success, not allowed to. */
function zeroRowsWrittenSql(f: string): string {
  const allowed = wholeNameRegex(config.zeroRows.allowedPipelines);
  return `(${f}.rows_written = 0 AND ${f}.consecutive_failures = 0${allowed === null ? '' : ` AND ${f}.pipeline !~ ${quote(allowed)}`})`;
}

const rejectedSql = (f: string) => `${f}.rows_rejected > ${config.rowsRejected.moreThan}`;
const failedChecksSql = (f: string) => `${f}.failed_checks > ${config.failedChecks.moreThan}`;

/** Any of the data-health alerts' conditions (PipelineDataQualityCheckFailed, PipelineRowsRejected, PipelineZeroRowsWritten). */
const dataWarningSql = (f: string) => `(${failedChecksSql(f)} OR ${rejectedSql(f)} OR ${zeroRowsWrittenSql(f)})`;

/**
 * The late rule on SQL: more than LATE_AFTER_INTERVALS expected `interval`s (seconds) since `since`; never
 * (null) when either is unknown. A pipeline's status and a dataset's freshness (lineage.ts) both judge by it.
 */
export const overdueSql = (since: string, interval: string) => `extract(epoch FROM now() - ${since}) > ${LATE_AFTER_INTERVALS} * ${interval}`;

/**
 * The status of pipeline `f` (a row of receiver/query/pipeline-state.ts pipelineFacts), as the web view reads
 * it from the API's judgments, with the alerts' thresholds: failing, stuck and late as above (late also
 * for a pipeline that never succeeded, measured from its last run end, as the API and PipelineLate judge
 * it); warning when its latest ended run's data is suspect.
 */
export const statusSql = (f: string) => `CASE
  WHEN ${f}.consecutive_failures > 0 THEN 'failing'
  WHEN extract(epoch FROM now() - ${f}.oldest_heartbeat) > ${STUCK_AFTER_SECONDS} THEN 'stuck'
  WHEN ${overdueSql(`COALESCE(${f}.last_success, ${f}.last_end)`, `${f}.expected_interval`)} THEN 'late'
  WHEN ${dataWarningSql(f)} THEN 'warning'
  WHEN ${f}.running > 0 THEN 'running'
  WHEN ${f}.last_end IS NOT NULL THEN 'ok'
  ELSE 'idle'
END`;

/** Where `status` (a statusSql value) ranks in STATUSES: for ORDER BY, what needs attention first. */
export const statusRankSql = (status: string) => `array_position(ARRAY[${STATUSES.map(quote).join(', ')}], ${status})`;

/**
 * What makes the data suspect, in words, as the web view says it: the failed checks by name, the rows
 * rejected, the 0 rows written against what it usually writes; null when nothing.
 */
export const dataHealthWordsSql = (f: string) => `NULLIF(concat_ws('; ',
  CASE WHEN ${failedChecksSql(f)} THEN 'failed checks: ' || array_to_string(${f}.failed_check_names, ', ') END,
  CASE WHEN ${rejectedSql(f)} THEN round(${f}.rows_rejected::numeric) || ' rows rejected' END,
  CASE WHEN ${zeroRowsWrittenSql(f)} THEN '0 rows written' || CASE WHEN ${f}.usual_rows_written >= 0.5 THEN '; usually ' || round(${f}.usual_rows_written::numeric) END END), '')`;
