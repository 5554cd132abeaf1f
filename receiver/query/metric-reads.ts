/**
 * What /metric-points reads of a metric's series, whether it answers them one by one (metric-points.ts)
 * or added up by run (metric-runs.ts): their stored points, each series' first point's predecessor, the
 * intervals between points (metric-changes.ts) one per step when asked, and the bounds of a read.
 */
import { Refusal } from '../model/outcome.js';
import { jsonDouble } from '../storage/metric-csv.js';
import type { Queryable } from '../storage/database.js';
import type { MetricChange } from './api-types.js';
import { CUMULATIVE, type MetricAs } from './metric-as.js';
import { intervalOf, perStep, type Amounts, type Interval, type SumAmount, type Timed } from './metric-changes.js';
import type { ExponentialCounts } from './metric-quantile.js';
import { exactInteger, hasValue, parseDouble, pointColumns, type PointRow, type StoredExponential } from './metric-samples.js';
import { scopeSql, type MetricScope } from './metric-scope.js';
import { pointBefore } from '../../contract/metric-sql.js';
import { isoOfNanos, type SeriesRow } from './metric-series.js';
import { Conditions } from './pages.js';

/** Lines an answer holds: series, or runs with by=run. */
export const MAX_SERIES = 100;
export const MAX_POINTS = 1000;
export const MAX_READ = 100_000;

export interface PointsQuery {
  scope: MetricScope;
  as: MetricAs;
  /** For as=quantile: 0 < q <= 1. */
  quantile?: number;
  /** One point (or interval) per step of this many seconds. */
  stepSeconds?: number;
  /** One line per run, its series added up. */
  by?: 'run';
}

export type StoredPoint = PointRow & { series_id: string };

/** The stored points of the series, oldest first, by series id; `narrower` says what else narrows a read past MAX_READ. */
export async function readPoints(db: Queryable, tenantId: number, scope: MetricScope, series: SeriesRow[], narrower: string): Promise<Map<string, StoredPoint[]>> {
  const where = new Conditions();
  const sql = scopeSql(where, tenantId, scope);
  const ids = sql.bind(series.map((row) => row.series_id));
  const { rows } = await db.query<StoredPoint>(
    `WITH ${sql.streams}
SELECT s.series_id::text AS series_id, ${pointColumns('p')}
  FROM streams s CROSS JOIN LATERAL (SELECT * FROM metric_points p WHERE ${sql.pointOf('p', 's')} OFFSET 0) p
 WHERE s.series_id = ANY(${ids}::bigint[])
 ORDER BY s.series_id, p.time_unix_nano LIMIT ${MAX_READ + 1}`,
    where.params,
  );
  if (rows.length > MAX_READ) {
    throw new Refusal('invalid', `more than ${MAX_READ} points to read in this range: narrow it (since, until) or ${narrower}`);
  }
  const bySeries = new Map<string, StoredPoint[]>();
  for (const row of rows) {
    const read = bySeries.get(row.series_id);
    if (read) read.push(row);
    else bySeries.set(row.series_id, [row]);
  }
  return bySeries;
}

/** Where a point's predecessor is looked up: its series and its time. */
const lookupKey = (seriesId: string, time: string) => `${seriesId} ${time}`;

/** Whether the answer reads what each point counted since the one before it: a cumulative series' increases, rates and quantiles. */
const countsSincePrevious = (as: MetricAs, row: SeriesRow) => as !== 'value' && row.temporality === CUMULATIVE && row.kind !== 'summary';

/**
 * The previous point (with a value) of each point whose previous one was not read: a series' first in
 * the range, and each of a run's points found by its trace alone, whose neighbours were not its run's.
 */
export async function predecessors(db: Queryable, tenantId: number, as: MetricAs, series: SeriesRow[], points: Map<string, StoredPoint[]>): Promise<Map<string, PointRow>> {
  const wanted = series
    .filter((row) => countsSincePrevious(as, row))
    .flatMap((row) => {
      const read = (points.get(row.series_id) ?? []).filter(hasValue);
      return (row.by_trace ? read : read.slice(0, 1)).map((point) => [row.series_id, point.time_unix_nano] as const);
    });
  if (wanted.length === 0) return new Map();
  const { rows } = await db.query<PointRow & { series_id: string; before: string }>(
    `SELECT w.series_id::text AS series_id, w.t::text AS before, q.* FROM unnest($2::bigint[], $3::bigint[]) AS w(series_id, t)
 CROSS JOIN LATERAL ${pointBefore({ tenant: '$1', seriesId: 'w.series_id', t: 'w.t', select: pointColumns('p') })} q`,
    [tenantId, wanted.map(([id]) => id), wanted.map(([, time]) => time)],
  );
  return new Map(rows.map((row) => [lookupKey(row.series_id, row.before), row]));
}

/** The series' intervals, each point's against the one before it (read, or looked up), one per step when asked. */
export function changes<T>(ops: Amounts<T>, row: SeriesRow, points: StoredPoint[], before: Map<string, PointRow>, amount: (point: PointRow) => T, query: PointsQuery): Interval<T>[] {
  const timed = (point: PointRow): Timed<T> => ({
    time: BigInt(point.time_unix_nano),
    start: point.start_time_unix_nano === null ? null : BigInt(point.start_time_unix_nano),
    amount: amount(point),
  });
  const series = { temporality: row.temporality, monotonic: row.monotonic || row.kind !== 'sum' };
  const read = points.filter(hasValue);
  const intervals = read.flatMap((point, i) => {
    const previous = row.by_trace || i === 0 ? before.get(lookupKey(row.series_id, point.time_unix_nano)) : read[i - 1];
    return intervalOf(ops, series, timed(point), previous ? timed(previous) : null) ?? [];
  });
  return query.stepSeconds === undefined ? intervals : perStep(ops, intervals, stepNanos(query.stepSeconds));
}

export const stepNanos = (seconds: number) => BigInt(seconds) * 1_000_000_000n;

/** The last point of each step (all points without one). */
export function lastPerStep<P extends PointRow>(points: P[], stepSeconds: number | undefined): P[] {
  if (stepSeconds === undefined) return points;
  const step = stepNanos(stepSeconds);
  return points.filter((point, i) => i === points.length - 1 || BigInt(point.time_unix_nano) / step !== BigInt(points[i + 1]!.time_unix_nano) / step);
}

export const sumOf = (point: PointRow): SumAmount => (point.int_value !== null ? BigInt(point.int_value) : (point.value ?? Number.NaN));
export const bucketsOf = (point: PointRow) => (point.bucket_counts ?? []).map(BigInt);

export function exponentialOf(point: PointRow): ExponentialCounts {
  const e = point.exponential as StoredExponential;
  const side = ({ offset, bucket_counts }: StoredExponential['positive']) => new Map(bucket_counts.map((count, i) => [offset + i, BigInt(count)]));
  return { scale: e.scale, zeroThreshold: parseDouble(e.zero_threshold), zero: BigInt(e.zero_count), positive: side(e.positive), negative: side(e.negative) };
}

/** A sum's amount as the API answers it: exact while an integer, else a double (NaN and infinities by name). */
export const exactAmount = (amount: SumAmount): number | string => (typeof amount === 'bigint' ? exactInteger(amount) : jsonDouble(amount));

/** An interval's rate per second; null when its length is unknown or none. */
export function rateOf({ amount, from, to }: Interval<SumAmount>): number | null {
  return from === null || to <= from ? null : Number(amount) / (Number(to - from) / 1e9);
}

/** An interval as the API answers it, with its value (an increase, a rate or a quantile). */
export function change(interval: Interval<unknown>, value: number | string | null): MetricChange {
  const from = interval.from === null ? null : interval.from.toString();
  return {
    from_time: from === null ? null : isoOfNanos(from),
    from_time_unix_nano: from,
    time: isoOfNanos(interval.to.toString()),
    time_unix_nano: interval.to.toString(),
    value: typeof value === 'number' ? jsonDouble(value) : value,
    reset: interval.reset,
  };
}

/** The points of a line (`what`: a series or a run of a metric), refused past MAX_POINTS with what thins them. */
export function bounded<P>(line: string, points: P[], query: PointsQuery): P[] {
  if (points.length <= MAX_POINTS) return points;
  const what = query.stepSeconds === undefined ? 'points' : `steps of ${query.stepSeconds} s`;
  const remedy = query.stepSeconds === undefined ? 'give step= (seconds) to thin them to one per step' : 'give a larger step';
  throw new Refusal('invalid', `${line} has more than ${MAX_POINTS} ${what} in this range: ${remedy}, or a narrower range (since, until)`);
}
