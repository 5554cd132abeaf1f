/**
 * What a run adds to the figures of the UTC day and hour it started, as SQL over a run's stored columns:
 * the rule stated once for the receiver, which keeps each pipeline's day and hour sums
 * (receiver/storage/run-days.ts) and reads them (receiver/query/metrics.ts), and for the Grafana
 * dashboards, which read the same sums.
 */
import { FAILED_RESULTS } from './vocabulary.js';

/** The UTC day of a timestamptz: the days of pipeline_days. */
export const utcDay = (timestamp: string) => `(${timestamp} AT TIME ZONE 'UTC')::date`;

/**
 * A width the runs are summed by: its two tables (figures, duration buckets), their column naming the
 * unit a run started in, of SQL type `type` (UTC), and the unit of a timestamptz. The same tables and
 * rule for every width, so that a read takes whole days from the days, whole hours of the partial days
 * from the hours, and only the partial hours from the runs.
 */
export interface SumWidth {
  readonly sums: string;
  readonly durations: string;
  readonly column: 'day' | 'hour';
  /** date_trunc's name of the unit. */
  readonly unit: 'day' | 'hour';
  readonly type: 'date' | 'timestamp';
  /** The tables' key (the durations' with bucket last): the order rows are written and read in. */
  readonly key: readonly ('tenant_id' | 'pipeline' | SumWidth['column'])[];
  unitOf(timestamptz: string): string;
}

export const DAYS: SumWidth = {
  sums: 'pipeline_days',
  durations: 'pipeline_day_durations',
  column: 'day',
  unit: 'day',
  type: 'date',
  key: ['tenant_id', 'pipeline', 'day'],
  unitOf: utcDay,
};
export const HOURS: SumWidth = {
  sums: 'pipeline_hours',
  durations: 'pipeline_hour_durations',
  column: 'hour',
  unit: 'hour',
  type: 'timestamp',
  // By the hour first: a range's few hours are read for hundreds of pipelines at once, which a key by
  // pipeline first would read as one probe per pipeline or a scan of every hour.
  key: ['tenant_id', 'hour', 'pipeline'],
  unitOf: (timestamp) => `date_trunc('hour', ${timestamp} AT TIME ZONE 'UTC')`,
};
/** Coarsest first: each finer width holds what the coarser one leaves over. */
export const SUM_WIDTHS: readonly SumWidth[] = [DAYS, HOURS];

const when = (condition: string) => `CASE WHEN ${condition} THEN 1 ELSE 0 END`;
/** Ended runs that report a duration: the mean and p95 are over these. */
export const TIMED = `state = 'ended' AND duration_seconds IS NOT NULL`;
const FAILED = `ARRAY[${FAILED_RESULTS.map((result) => `'${result}'`).join(', ')}]`;

/**
 * What one run adds to its day's figures: errors are the FAILED_RESULTS, as the error-rate alert counts
 * them (dashboards/prometheus/recording-rules.ts); a skipped or cancelled run is ended, neither success
 * nor error.
 */
export const RUN_FIGURES = {
  runs: '1',
  running: when(`state = 'running'`),
  ended: when(`state = 'ended'`),
  successes: when(`result = 'success'`),
  errors: when(`result = ANY(${FAILED})`),
  timed: when(TIMED),
  duration_sum: `CASE WHEN ${TIMED} THEN duration_seconds ELSE 0 END`,
  rows_read: 'coalesce(rows_read, 0)',
  rows_written: 'coalesce(rows_written, 0)',
  rows_rejected: 'coalesce(rows_rejected, 0)',
} as const;
export type Figure = keyof typeof RUN_FIGURES;
export const FIGURE_NAMES = Object.keys(RUN_FIGURES) as Figure[];

/**
 * Durations are counted in buckets eight to a doubling from 1 ms (as Prometheus's native histograms at
 * their default resolution): bucket 0 holds durations up to 1 ms, bucket b > 0 those in
 * (1 ms x 2^((b-1)/8), 1 ms x 2^(b/8)], the last everything longer. A p95 read from them is within a
 * bucket's width, 9 %, of the exact one, and within half of it for most.
 */
const BUCKETS_PER_DOUBLING = 8;
const SMALLEST_SECONDS = 0.001;
const LAST_BUCKET = 400;
export const DURATION_BUCKET = `CASE WHEN duration_seconds <= ${SMALLEST_SECONDS} THEN 0
  ELSE least(1 + floor(${BUCKETS_PER_DOUBLING} * ln(duration_seconds / ${SMALLEST_SECONDS}) / ln(2)), ${LAST_BUCKET})::int END`;

/**
 * The p95 of bucket counts (a relation of `key`, `bucket`, `n`: a window's, per key), as
 * percentile_cont(0.95) would interpolate it between the two durations around rank 0.95 x (n - 1):
 * each of those read as if a bucket's durations were spread evenly through it (geometrically, as the
 * buckets grow).
 */
export function p95FromBuckets(buckets: string, key: string): string {
  const at = (rank: string) => {
    const through = `((${rank} - before + 0.5) / n)`;
    return `max(CASE WHEN bucket = 0 THEN ${SMALLEST_SECONDS} * ${through}
                ELSE ${SMALLEST_SECONDS} * power(2, (bucket - 1 + ${through})::float8 / ${BUCKETS_PER_DOUBLING}) END)
              FILTER (WHERE before <= ${rank} AND ${rank} < before + n)`;
  };
  return `SELECT ${key}, below + (above - below) * (rank - floor(rank)) AS p95 FROM (
    SELECT ${key}, rank, ${at('floor(rank)')} AS below, ${at('ceil(rank)')} AS above
      FROM (SELECT ${key}, bucket, n, sum(n) OVER (PARTITION BY ${key} ORDER BY bucket) - n AS before,
                   0.95 * (sum(n) OVER (PARTITION BY ${key}) - 1) AS rank
              FROM (SELECT ${key}, bucket, sum(n)::float8 AS n FROM (${buckets}) counted GROUP BY ${key}, bucket) summed) ranked
     GROUP BY ${key}, rank) around`;
}
