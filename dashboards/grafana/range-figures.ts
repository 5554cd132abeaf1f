/**
 * Figures over the dashboard's time range that read what the receiver keeps rather than every run:
 * - each pipeline's runs started in the range, from the sums kept by UTC day and hour (pipeline_days,
 *   pipeline_hours and their duration buckets, by the rule of contract/run-figures.ts): the range's whole
 *   days from the days, the whole hours of its partial days from the hours, and only its partial hours
 *   from the runs, as the API's figures are read (receiver/query/metrics.ts);
 * - time series binned by `$__interval` in two steps (binOf), so that Grafana's macro, whose numeric
 *   arithmetic costs more than reading a run, runs once per bin rather than once per run.
 */
import { DURATION_BUCKET, RUN_FIGURES, SUM_WIDTHS, TIMED, p95FromBuckets, type SumWidth } from '../../contract/run-figures.js';
import { pipelineAmong, runIs, SQL_ALL, tenantIs } from './filters.js';
import { sqlText } from './queries-builders.js';

// Immutable expressions of the range's literal bounds, so that the planner folds them into constants
// and each read below is one index range (a stable one, such as timestamptz arithmetic, would not fold).
const utc = (timestamptz: string) => `(${timestamptz}::timestamptz AT TIME ZONE 'UTC')`;
const FROM = utc('$__timeFrom()');
const TO = utc('$__timeTo()');

/** The sums hold every run, whatever its environment: they answer only when every environment is selected. */
const EVERY_ENVIRONMENT = `${SQL_ALL} IN (\${environment:sqlstring})`;

/**
 * A width's whole units in the range: from the first start at or after its start (`first`) to the last
 * at or before its end (`end`), in the width's column type; `whole` when there is one and the sums answer.
 */
interface WholeUnits {
  width: SumWidth;
  first: string;
  end: string;
  whole: string;
}

function wholeUnits(width: SumWidth): WholeUnits {
  const first = `(date_trunc('${width.unit}', ${FROM} - interval '1 microsecond') + interval '1 ${width.unit}')::${width.type}`;
  const end = `date_trunc('${width.unit}', ${TO})::${width.type}`;
  return { width, first, end, whole: `(${EVERY_ENVIRONMENT} AND ${first} < ${end})` };
}

/** Coarsest first, as SUM_WIDTHS: each finer width reads what the one before leaves of its own whole units. */
const WHOLE = SUM_WIDTHS.map(wholeUnits);
const FINEST = WHOLE[WHOLE.length - 1]!;
/** Whether any sums answer: the finest width's whole units hold every coarser one's. */
const SUMMED = FINEST.whole;

/**
 * The part of the range `column` (of `type`) reads between `first` and `end`, leaving out the coarser
 * units' [first, end) when they are whole: two ranges, before and after them, rather than one with a hole.
 */
function around(column: string, type: string, first: string, end: string, coarser: WholeUnits | undefined): string[] {
  if (!coarser) return [`${column} >= ${first} AND ${column} < ${end}`];
  const edge = (bound: string, otherwise: string) => `CASE WHEN ${coarser.whole} THEN (${bound})::${type} ELSE ${otherwise} END`;
  return [`${column} >= ${first} AND ${column} < ${edge(coarser.first, end)}`, `${column} >= ${edge(coarser.end, end)} AND ${column} < ${end}`];
}

const RUN_COLUMNS = 'r.tenant_id, r.pipeline, r.state, r.result, r.duration_seconds, r.rows_written';
/** Runs started from here to WHOLE_TO are in the sums: 'infinity' for both when the sums do not answer. */
const asStart = (bound: string) => `CASE WHEN ${SUMMED} THEN (${bound})::timestamp AT TIME ZONE 'UTC' ELSE 'infinity' END`;

/** The selected runs started in the range outside its finest whole units: two index ranges, not one with a hole. */
const EDGE_RUNS = [`r.started_at < ${asStart(FINEST.first)}`, `r.started_at >= ${asStart(FINEST.end)}`]
  .map(
    (side) => sqlText`
      SELECT ${RUN_COLUMNS}
        FROM pipeline_runs r
        JOIN tenants t ON t.tenant_id = r.tenant_id
       WHERE ${runIs('r', 't', pipelineAmong)}
         AND $__timeFilter(r.started_at)
         AND ${side}`,
  )
  .join('\nUNION ALL\n');

/** The selected pipelines' rows (aliased d) of each width's `table` for the range's whole units that no coarser width holds. */
const summedRows = (table: 'sums' | 'durations', columns: string) =>
  WHOLE.flatMap((units, i) =>
    around(`d.${units.width.column}`, units.width.type, units.first, units.end, WHOLE[i - 1]).map(
      (within) => sqlText`
        SELECT ${columns}
          FROM ${units.width[table]} d
          JOIN tenants t ON t.tenant_id = d.tenant_id
         WHERE ${tenantIs('t')}
           AND ${pipelineAmong('d.pipeline')}
           AND ${units.whole}
           AND ${within}`,
    ),
  ).join('\n    UNION ALL\n');

const KEY = 'tenant_id, pipeline';

/**
 * CTEs (to follow `WITH` or a comma) ending in `range_figures` (`range_p95` alone has the p95): one row
 * per selected pipeline with runs started in the range, by tenant_id and pipeline: runs, failed (FAILED_RESULTS), success_rate (of the
 * runs that succeeded or failed), p95 of the ended runs' durations and rows_written. The p95 comes from
 * the duration buckets where the sums answer (all environments, a whole hour), as the API reads it; exact where only runs are read.
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
    ${summedRows('sums', 'd.tenant_id, d.pipeline, d.runs, d.successes, d.errors, d.rows_written')}
  ),
  range_p95 AS (
    -- One of the two is read: the planner folds SUMMED, a constant, away.
    ${p95FromBuckets(
      sqlText`
        SELECT ${KEY}, ${DURATION_BUCKET} AS bucket, count(*) AS n FROM range_runs WHERE ${TIMED} AND ${SUMMED} GROUP BY 1, 2, 3
        UNION ALL
        ${summedRows('durations', 'd.tenant_id, d.pipeline, d.bucket, d.runs')}`,
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
