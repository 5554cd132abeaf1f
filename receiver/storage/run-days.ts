/**
 * Each pipeline's runs summed by the UTC day they started (pipeline_days) and their durations counted in
 * buckets (pipeline_day_durations), kept in the transaction that writes the runs, so that the figures
 * over 30 days of a million runs (query/metrics.ts) read a few thousand rows instead of every run.
 *
 * The rule of what a run adds to its day is stated once, here, as SQL over a run's stored columns
 * (RUN_FIGURES, DURATION_BUCKET): the write path sums it over the rows it replaces (minus) and writes
 * (plus), migration 6 over the runs stored before it, and the metrics over runs of a window's first,
 * partial day, which they read from pipeline_runs. Changing RUN_FIGURES or DURATION_BUCKET changes
 * migration 6's SQL (its digest test in test/receiver/storage/migrations.test.ts fails): it needs a migration of its own,
 * which alters pipeline_days and recomputes the sums.
 */
import { FAILED_RESULTS } from '../../contract/vocabulary.js';
import type { Queryable } from './database.js';
import type { StoredRunRow } from './run-columns.js';

/** The UTC day of a timestamptz: the days of pipeline_days. */
export const utcDay = (timestamp: string) => `(${timestamp} AT TIME ZONE 'UTC')::date`;
/** The UTC day a run's figures belong to. */
const RUN_DAY = utcDay('started_at');

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

/** The stored columns of a run that its figures come from, as `changes` carry them (with a sign). */
const CHANGE_COLUMNS = `sign integer, tenant_id integer, pipeline text, started_at timestamptz, state text, result text,
  duration_seconds float8, rows_read float8, rows_written float8, rows_rejected float8`;

export type RunChange = Pick<StoredRunRow<string>, 'pipeline' | 'state' | 'result' | 'duration_seconds' | 'rows_read' | 'rows_written' | 'rows_rejected'> & {
  /** -1 for the stored row a write replaces, +1 for the row it writes. */
  sign: 1 | -1;
  tenant_id: number;
  /** ISO; a run without a start belongs to no day (the metrics' windows are over starts). */
  started_at: string;
};

/**
 * The upserts that add `source` (a relation of CHANGE_COLUMNS) to both tables. Rows are written in key
 * order, so that two transactions adding to the same days wait for each other rather than deadlock;
 * pipeline_days before pipeline_day_durations in every transaction, for the same reason. Changes that
 * cancel out (a heartbeat's row replacing an equal one) write nothing.
 */
export function addChangesSql(source: string): [days: string, durations: string] {
  const names = FIGURE_NAMES.join(', ');
  const sums = FIGURE_NAMES.map((name) => `sum(sign * ${RUN_FIGURES[name]})`).join(', ');
  const changed = FIGURE_NAMES.map((name) => `sum(sign * ${RUN_FIGURES[name]}) <> 0`).join(' OR ');
  return [
    `INSERT INTO pipeline_days AS d (tenant_id, pipeline, day, ${names})
     SELECT tenant_id, pipeline, ${RUN_DAY}, ${sums} FROM ${source}
      GROUP BY tenant_id, pipeline, ${RUN_DAY} HAVING ${changed}
      ORDER BY tenant_id, pipeline, ${RUN_DAY}
     ON CONFLICT (tenant_id, pipeline, day) DO UPDATE SET ${FIGURE_NAMES.map((name) => `${name} = d.${name} + EXCLUDED.${name}`).join(', ')}`,
    `INSERT INTO pipeline_day_durations AS d (tenant_id, pipeline, day, bucket, runs)
     SELECT tenant_id, pipeline, ${RUN_DAY}, ${DURATION_BUCKET}, sum(sign) FROM ${source}
      WHERE ${TIMED}
      GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0 ORDER BY 1, 2, 3, 4
     ON CONFLICT (tenant_id, pipeline, day, bucket) DO UPDATE SET runs = d.runs + EXCLUDED.runs`,
  ];
}

const [ADD_DAYS, ADD_DURATIONS] = addChangesSql(`jsonb_to_recordset($1::jsonb) AS c(${CHANGE_COLUMNS})`);

/** Adds a transaction's run changes to their days; in the transaction that writes the runs, after it. */
export async function addRunChanges(tx: Queryable, changes: RunChange[]): Promise<void> {
  if (changes.length === 0) return;
  const json = JSON.stringify(changes);
  await tx.query(ADD_DAYS, [json]);
  await tx.query(ADD_DURATIONS, [json]);
}

/**
 * Drops the days before `cutoff`'s day, of one tenant or all. The day a retention cuts through keeps its
 * figures whole: only a window longer than the retention reaches it, and the runs it counts did run then.
 */
export async function deleteDaysBefore(db: Queryable, cutoff: string, tenantId: number | null): Promise<void> {
  for (const table of ['pipeline_days', 'pipeline_day_durations']) {
    await db.query(`DELETE FROM ${table} WHERE day < ${utcDay('$1::timestamptz')} AND ($2::int IS NULL OR tenant_id = $2)`, [cutoff, tenantId]);
  }
}
