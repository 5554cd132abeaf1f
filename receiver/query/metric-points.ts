/**
 * The points of a metric in a scope (metric-scope.ts), series by series, oldest first: as sent, or what
 * each interval between them counted (metric-changes.ts) as an increase, a rate per second or a
 * quantile (metric-quantile.ts); with by=run, each run's series added up (metric-runs.ts). The answer is
 * bounded, so that no page pulls a metric's whole history: at most MAX_SERIES series and MAX_POINTS
 * points (or steps) each, read from at most MAX_READ stored points; past a bound the read is refused
 * with what narrows it.
 */
import { Refusal } from '../model/outcome.js';
import type { Queryable } from '../storage/database.js';
import type { MetricChange, MetricPoint, MetricPoints } from './api-types.js';
import { refuseKinds, type MetricAs } from './metric-as.js';
import { BUCKETS, EXPONENTIAL, SUMS, type Interval, type SumAmount } from './metric-changes.js';
import { bucketQuantile, exponentialQuantile, summaryQuantile } from './metric-quantile.js';
import {
  bounded,
  bucketsOf,
  change,
  changes,
  exactAmount,
  exponentialOf,
  lastPerStep,
  MAX_SERIES,
  predecessors,
  rateOf,
  readPoints,
  sumOf,
  type PointsQuery,
  type StoredPoint,
} from './metric-reads.js';
import { runLines } from './metric-runs.js';
import { hasValue, parseDouble, valuePoint, type PointRow } from './metric-samples.js';
import { readSeries, seriesFields, type SeriesRow } from './metric-series.js';

export type { PointsQuery } from './metric-reads.js';

type SeriesPoint = MetricPoint | MetricChange;

export async function metricPoints(db: Queryable, tenantId: number, query: PointsQuery): Promise<MetricPoints> {
  const answer = { as: query.as, quantile: query.quantile ?? null, step_seconds: query.stepSeconds ?? null, by: query.by ?? null };
  if (query.by === 'run') return { ...answer, series: [], runs: await runLines(db, tenantId, query) };
  return { ...answer, series: await seriesLines(db, tenantId, query), runs: [] };
}

async function seriesLines(db: Queryable, tenantId: number, query: PointsQuery) {
  const series = await readSeries(db, tenantId, query.scope, MAX_SERIES + 1);
  if (series.length > MAX_SERIES) {
    throw new Refusal(
      'invalid',
      `more than ${MAX_SERIES} series in this range: ask one series_id (as /api/v1/series lists them), by=run (a line per run, its series added up) or a narrower range (since, until)`,
    );
  }
  refuseKinds(query.as, series);
  const points = await readPoints(db, tenantId, query.scope, series, 'ask one series_id');
  const before = await predecessors(db, tenantId, query.as, series, points);
  return series.map((row) => ({
    ...seriesFields(row),
    points: bounded(`series ${row.series_id} of "${row.metric}"`, pointsOf(row, points.get(row.series_id) ?? [], before, query), query),
  }));
}

function pointsOf(row: SeriesRow, points: StoredPoint[], before: Map<string, PointRow>, query: PointsQuery): SeriesPoint[] {
  if (query.as === 'value') return lastPerStep(points, query.stepSeconds).map((point) => valuePoint(point, row.kind));
  if (row.kind === 'summary') return summaryPoints(points.filter(hasValue), query);
  // routes.ts asks a quantile with as=quantile, the only as that reads one.
  const q = query.quantile!;
  switch (row.kind) {
    case 'sum':
      return changes(SUMS, row, points, before, sumOf, query).map((interval) => change(interval, amountOf(query.as, interval)));
    case 'histogram':
      return changes(BUCKETS, row, points, before, bucketsOf, query).map((interval) =>
        change(interval, bucketQuantile(q, row.explicit_bounds ?? [], interval.amount)),
      );
    default:
      return changes(EXPONENTIAL, row, points, before, exponentialOf, query).map((interval) => change(interval, exponentialQuantile(q, interval.amount)));
  }
}

/** An interval's increase, exact; or its rate per second. */
function amountOf(as: MetricAs, interval: Interval<SumAmount>): number | string | null {
  if (as === 'rate') return rateOf(interval);
  return exactAmount(interval.amount);
}

/** A summary's quantile is over its own window: it cannot be subtracted or added up, so a step keeps its last point. */
function summaryPoints(points: StoredPoint[], query: PointsQuery): MetricChange[] {
  return lastPerStep(points, query.stepSeconds).map((point) => {
    const quantiles = (point.quantile_values ?? []).map(([quantile, value]) => ({ quantile: parseDouble(quantile), value: parseDouble(value) }));
    const start = point.start_time_unix_nano === null ? null : BigInt(point.start_time_unix_nano);
    return change({ from: start, to: BigInt(point.time_unix_nano), amount: null, reset: false }, summaryQuantile(query.quantile!, quantiles));
  });
}
