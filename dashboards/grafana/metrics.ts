/**
 * The metrics a pipeline's applications report (OTLP metrics: migration 14's metric_streams and
 * metric_points), as the pipeline and run dashboards show them: one chosen metric over time, a line per
 * series, and each series' last value. A series is a metric_streams series_id (its rows are per day).
 *
 * How a series reads per interval follows how Prometheus reads what the Collector sends it: gauges and
 * sums that go up and down as their value (the last of the interval); counters (monotonic sums, and
 * every delta sum) as their increase; histograms and summaries as their mean, the increase of their sum
 * over the increase of their count.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { pointBefore } from '../../contract/metric-sql.js';
import { ATTR } from '../../contract/vocabulary.js';
import { ONE_TENANT_ID, pipelineStreamsIs } from './filters.js';
import { sql, sqlText } from './queries-builders.js';

/** OTLP AggregationTemporality: a delta point holds the change since the previous one. */
const DELTA = 1;

const DISTRIBUTIONS = `('histogram', 'exponential_histogram', 'summary')`;

/** A point's number: a gauge's or sum's value (double or int), a histogram's or summary's sum. */
const pointValue = (p: string) => `coalesce(${p}.value, ${p}.int_value)`;

/** Stream `ms`'s point attributes as `key=value` pairs, without its pipeline and run (shown apart). */
const attributesText = (ms: string) => `(SELECT string_agg(a.key || '=' || a.value, ' ' ORDER BY a.key)
   FROM jsonb_each_text(${ms}.attributes - ARRAY['${ATTR.pipelineName}', '${ATTR.runId}']) a)`;

/** The legend of a series: its run and attributes, or the metric's name when it has neither. */
const seriesLabel = (ms: string) => `coalesce(nullif(concat_ws(' ', ${ms}.run_id, ${attributesText(ms)}), ''), ${ms}.metric_name)`;

/** 'value', 'increase' or 'mean': how stream `ms` is plotted per interval (the module's comment says why). */
const plotOf = (ms: string) => `CASE WHEN ${ms}.kind IN ${DISTRIBUTIONS} THEN 'mean'
     WHEN ${ms}.kind = 'sum' AND (${ms}.temporality = ${DELTA} OR ${ms}.monotonic) THEN 'increase'
     ELSE 'value' END`;

/** A first point's predecessor before the range, as /api/v1/metric-points finds it (contract/metric-sql.ts). */
const pointBeforeFirst = (f: string) =>
  pointBefore({ tenant: `${f}.tenant_id`, seriesId: `${f}.series_id`, t: `${f}.t`, select: `p.time_unix_nano AS t, p.start_time_unix_nano AS st, ${pointValue('p')} AS v, p.count::float8 AS n` });

/** The columns a point carries through CHANGES: its series' and its own. */
const POINT = 'tenant_id, metric, series_id, plot, delta, monotonic, t, st, v, n';

/**
 * The selected metric's series of the pipeline and their points in the range, each point with what it
 * adds to its interval: `dv` and `dn`, the change of its value and count, as /api/v1/metric-points
 * counts it. A delta point is a change; a cumulative one is the change since the point before it (for a
 * series' first point in the range, its latest point before the range), or its whole value when the
 * series restarted (a new start time, or a count or counter that fell); a cumulative point with no point
 * before it counts whole when it has a start time (it counts from it), and NULL (not known) otherwise.
 */
const CHANGES = sqlText`
  -- The selected metric's streams of the pipeline (a series has one a day), and how each is plotted.
  WITH series AS (
    SELECT ms.tenant_id, ms.stream_id, ms.series_id, ms.monotonic, ms.temporality = ${String(DELTA)} AS delta,
           ${seriesLabel('ms')} AS metric,
           ${plotOf('ms')} AS plot
    FROM metric_streams ms
    WHERE ${pipelineStreamsIs('ms')}
      AND ms.metric_name = \${metric:sqlstring}
  ),
  -- The series' points in the range.
  ranged AS (
    SELECT s.tenant_id, s.metric, s.series_id, s.plot, s.delta, s.monotonic, p.time_unix_nano AS t, p.start_time_unix_nano AS st,
           ${pointValue('p')} AS v, p.count::float8 AS n
    FROM series s
    JOIN metric_points p ON p.tenant_id = s.tenant_id AND p.stream_id = s.stream_id
    WHERE $__unixEpochNanoFilter(p.time_unix_nano)
  ),
  -- Each counted cumulative series' first point in the range: what it added is its change since one before the range.
  firsts AS (
    SELECT DISTINCT ON (series_id) ${POINT}
    FROM ranged
    WHERE NOT delta AND plot <> 'value'
    ORDER BY series_id, t
  ),
  -- That point before the range, one lookup per series (none when the series has no earlier point). A
  -- series that started in the range (a run's) has none of its start: it counts whole either way, unlooked.
  befores AS (
    SELECT f.tenant_id, f.metric, f.series_id, f.plot, f.delta, f.monotonic, b.t, b.st, b.v, b.n
    FROM firsts f
    CROSS JOIN LATERAL ${pointBeforeFirst('f')} b
    WHERE f.st IS NULL OR f.st < $__unixEpochNanoFrom()
  ),
  -- The range's points, and before them the points looked up (not shown), a sequence per series.
  sequenced AS (
    SELECT ${POINT}, true AS shown FROM ranged
    UNION ALL
    SELECT ${POINT}, false FROM befores
  ),
  -- Each point with the one before it in its series.
  points AS (
    SELECT *, lag(t) OVER w AS prev_t, lag(st) OVER w AS prev_st, lag(v) OVER w AS prev_v, lag(n) OVER w AS prev_n
    FROM sequenced
    WINDOW w AS (PARTITION BY series_id ORDER BY t)
  ),
  -- How each point counts: as its whole value, its change since the point before, or not at all (NULL).
  steps AS (
    SELECT metric, series_id, plot, t, v, n, prev_v, prev_n,
           CASE WHEN delta THEN 'whole'
                WHEN prev_t IS NULL THEN CASE WHEN st <= t THEN 'whole' END
                WHEN st IS DISTINCT FROM prev_st OR n < prev_n OR (monotonic AND v < prev_v) THEN 'whole'
                ELSE 'change' END AS step
    FROM points
    WHERE shown
  ),
  -- What each point adds to its interval.
  changes AS (
    SELECT metric, series_id, plot, t, v,
           CASE step WHEN 'whole' THEN v WHEN 'change' THEN v - prev_v END AS dv,
           CASE step WHEN 'whole' THEN n WHEN 'change' THEN n - prev_n END AS dn
    FROM steps
  )`;

/**
 * The selected metric per `$__interval`, a line per series label (series of one label summed, as a
 * Prometheus `sum by`): `time`, `metric` (the legend) and `value`, as Grafana's time series format wants.
 */
export function metricOverTime(): cog.Builder<cog.Dataquery> {
  return sql(
    sqlText`
    ${CHANGES},
    buckets AS (
      SELECT metric, series_id, plot, t / ($__interval_ms::bigint * 1000000) AS bucket,
             CASE WHEN plot = 'value' THEN (array_agg(v ORDER BY t DESC))[1] ELSE sum(dv) END AS num,
             CASE WHEN plot = 'mean' THEN sum(dn) END AS den
      FROM changes
      GROUP BY metric, series_id, plot, bucket
    )
    SELECT to_timestamp(bucket * $__interval_ms / 1000.0) AS "time",
           metric,
           CASE WHEN count(den) = 0 THEN sum(num) ELSE sum(num) / nullif(sum(den), 0) END AS value
    FROM buckets
    GROUP BY bucket, metric
    ORDER BY 1, 2`,
    'time_series',
  );
}

/**
 * Each series of the streams `ms` that `streams` keeps, with its last point (`p`, within its streams' days,
 * which prunes the daily partitions, and `timeFilter` if given): `Value` is a gauge's or cumulative sum's
 * last value, a delta sum's total, a histogram's or summary's mean (and `Count` the last count, or the total).
 */
function lastValues(streams: string, run: boolean, timeFilter?: string): string {
  const inRange = timeFilter ? `\nAND ${timeFilter}` : '';
  return sqlText`
    WITH series AS (
      SELECT ms.tenant_id, ms.run_id, ms.metric_name, ms.kind, ms.unit, ms.temporality = ${String(DELTA)} AS delta,
             ${attributesText('ms')} AS attributes,
             array_agg(ms.stream_id) AS streams,
             (extract(epoch FROM min(ms.day)) * 1e9)::bigint AS from_nanos,
             (extract(epoch FROM max(ms.day) + 1) * 1e9)::bigint AS to_nanos
      FROM metric_streams ms
      WHERE ${streams}
      GROUP BY ms.tenant_id, ms.series_id, ms.run_id, ms.metric_name, ms.kind, ms.unit, ms.temporality, ms.attributes
    )
    SELECT ${run ? 's.run_id AS "Run",\n       ' : ''}s.metric_name AS "Metric",
           s.attributes AS "Attributes",
           CASE WHEN s.kind IN ${DISTRIBUTIONS} THEN latest.v / nullif(latest.n, 0)::float8 ELSE latest.v END AS "Value",
           latest.n AS "Count",
           s.unit AS "Unit",
           s.kind AS "Kind",
           to_timestamp(latest.t / 1e9) AS "At"
    FROM series s
    CROSS JOIN LATERAL (
      SELECT max(p.time_unix_nano) AS t,
             CASE WHEN s.delta THEN sum(${pointValue('p')}) ELSE (array_agg(${pointValue('p')} ORDER BY p.time_unix_nano DESC))[1] END AS v,
             CASE WHEN s.delta THEN sum(p.count) ELSE (array_agg(p.count ORDER BY p.time_unix_nano DESC))[1] END AS n
      FROM metric_points p
      WHERE p.tenant_id = s.tenant_id
        AND p.stream_id = ANY(s.streams)
        AND p.time_unix_nano >= s.from_nanos AND p.time_unix_nano < s.to_nanos${inRange}
    ) latest
    WHERE latest.t IS NOT NULL
    ORDER BY latest.t DESC, ${run ? 's.run_id, ' : ''}s.metric_name, s.attributes
    LIMIT 500`;
}

/** The pipeline's series in the time range, by run, their last values in it. */
export const pipelineLastValues = () => sql(lastValues(pipelineStreamsIs('ms'), true, '$__unixEpochNanoFilter(p.time_unix_nano)'));

/** The selected run's series, whatever the time range (a run is the scope, as its log records are). */
export const runLastValues = () =>
  sql(lastValues(`ms.tenant_id = ${ONE_TENANT_ID}\n  AND ms.run_id = \${run_id:sqlstring}`, false));
