/**
 * Figures over the dashboard's time range that read what the receiver keeps rather than every run:
 * - each pipeline's runs started in the range, from the per-day sums (pipeline_days and
 *   pipeline_day_durations, by the rule of contract/run-figures.ts) for the range's whole UTC days and
 *   from the runs for the rest, as the API's figures are read (receiver/query/metrics.ts);
 * - time series binned by `$__interval` in two steps (binOf), so that Grafana's macro, whose numeric
 *   arithmetic costs more than reading a run, runs once per bin rather than once per run.
 */
import { DURATION_BUCKET, RUN_FIGURES, TIMED, p95FromBuckets } from '../../contract/run-figures.js';
import { pipelineIs, runIs, SQL_ALL, tenantIs } from './filters.js';
import { sqlText } from './queries-builders.js';

// Immutable expressions of the range's literal bounds, so that the planner folds them into constants
// and each read below is one index range (a stable one, such as timestamptz arithmetic, would not fold).
const utc = (timestamptz: string) => `(${timestamptz}::timestamptz AT TIME ZONE 'UTC')`;
/** The first UTC midnight at or after the range's start, and the last at or before its end: the whole days are between. */
const FIRST_DAY = `(date_trunc('day', ${utc('$__timeFrom()')} - interval '1 microsecond') + interval '1 day')::date`;
const END_DAY = `date_trunc('day', ${utc('$__timeTo()')})::date`;
const midnight = (day: string) => `(${day})::timestamp AT TIME ZONE 'UTC'`;

/**
 * The sums hold every run, whatever its environment: they answer only when every environment is
 * selected, and only for a range that holds a whole day.
 */
const SUMMED = `(${SQL_ALL} IN (\${environment:sqlstring}) AND ${FIRST_DAY} < ${END_DAY})`;
/** Runs started from here to WHOLE_TO are in the sums: 'infinity' for both when the sums do not answer. */
const WHOLE_FROM = `CASE WHEN ${SUMMED} THEN ${midnight(FIRST_DAY)} ELSE 'infinity' END`;
const WHOLE_TO = `CASE WHEN ${SUMMED} THEN ${midnight(END_DAY)} ELSE 'infinity' END`;

const RUN_COLUMNS = 'r.tenant_id, r.pipeline, r.state, r.result, r.duration_seconds, r.rows_written';

/** The selected runs started in the range before or after its whole days: two index ranges, not one with a hole. */
const EDGE_RUNS = [`r.started_at < ${WHOLE_FROM}`, `r.started_at >= ${WHOLE_TO}`]
  .map(
    (side) => sqlText`
      SELECT ${RUN_COLUMNS}
        FROM pipeline_runs r
        JOIN tenants t ON t.tenant_id = r.tenant_id
       WHERE ${runIs('r', 't')}
         AND $__timeFilter(r.started_at)
         AND ${side}`,
  )
  .join('\nUNION ALL\n');

/** The selected pipelines' rows of a per-day table `table` (aliased d) for the range's whole days. */
const wholeDays = (table: string, columns: string) => sqlText`
  SELECT ${columns}
    FROM ${table} d
    JOIN tenants t ON t.tenant_id = d.tenant_id
   WHERE ${tenantIs('t')}
     AND ${pipelineIs('d.pipeline')}
     AND ${SUMMED}
     AND d.day >= ${FIRST_DAY} AND d.day < ${END_DAY}`;

const KEY = 'tenant_id, pipeline';

/**
 * CTEs (to follow `WITH` or a comma) ending in `range_figures` (`range_p95` alone has the p95): one row
 * per selected pipeline with runs started in the range, by tenant_id and pipeline: runs, failed (FAILED_RESULTS), success_rate (of the
 * runs that succeeded or failed), p95 of the ended runs' durations and rows_written. The p95 comes from
 * the duration buckets where the sums answer, as the API reads it; exact where only runs are read.
 */
export const RANGE_FIGURES_CTES = sqlText`
  range_runs AS (
    ${EDGE_RUNS}
  ),
  range_sums AS (
    SELECT ${KEY}, count(*) AS runs, sum(${RUN_FIGURES.successes}) AS successes, sum(${RUN_FIGURES.errors}) AS errors,
           sum(${RUN_FIGURES.rows_written}) AS rows_written
      FROM range_runs GROUP BY 1, 2
    UNION ALL
    ${wholeDays('pipeline_days', 'd.tenant_id, d.pipeline, d.runs, d.successes, d.errors, d.rows_written')}
  ),
  range_p95 AS (
    -- One of the two is read: the planner folds SUMMED, a constant, away.
    ${p95FromBuckets(
      sqlText`
        SELECT ${KEY}, ${DURATION_BUCKET} AS bucket, count(*) AS n FROM range_runs WHERE ${TIMED} AND ${SUMMED} GROUP BY 1, 2, 3
        UNION ALL
        ${wholeDays('pipeline_day_durations', 'd.tenant_id, d.pipeline, d.bucket, d.runs')}`,
      KEY,
    )}
    UNION ALL
    SELECT ${KEY}, percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_seconds)
      FROM range_runs WHERE ${TIMED} AND NOT ${SUMMED} GROUP BY 1, 2
  ),
  range_figures AS (
    SELECT s.tenant_id, s.pipeline, sum(s.runs) AS runs, sum(s.errors) AS failed,
           sum(s.successes)::float8 / nullif(sum(s.successes) + sum(s.errors), 0) AS success_rate,
           p.p95, sum(s.rows_written) AS rows_written
      FROM range_sums s
      LEFT JOIN range_p95 p USING (${KEY})
     GROUP BY s.tenant_id, s.pipeline, p.p95
  )`;

/**
 * The `$__interval` bin of `column` (a timestamptz) in float arithmetic, for rows grouped by it before
 * `$__timeGroupAlias(bin, $__interval)` names the bins: the bin is a multiple of the interval, which the
 * macro maps to itself.
 */
export const binOf = (column: string) => `to_timestamp(floor(date_part('epoch', ${column}) * 1000 / $__interval_ms) * $__interval_ms / 1000)`;
