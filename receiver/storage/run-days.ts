/**
 * Each pipeline's runs summed by the UTC day they started (pipeline_days) and their durations counted in
 * buckets (pipeline_day_durations), kept in the transaction that writes the runs, so that the figures
 * over 30 days of a million runs (query/metrics.ts) read a few thousand rows instead of every run.
 *
 * The rule of what a run adds to its day is stated once, in contract/run-figures.ts, as SQL over a run's
 * stored columns (RUN_FIGURES, DURATION_BUCKET): the write path sums it over the rows it replaces (minus)
 * and writes (plus), migration 6 over the runs stored before it, and the metrics and the Grafana overview
 * over the runs of a window's partial days, which they read from pipeline_runs. Changing RUN_FIGURES or DURATION_BUCKET changes
 * migration 6's SQL (its digest test in test/receiver/storage/migrations.test.ts fails): it needs a migration of its own,
 * which alters pipeline_days and recomputes the sums.
 */
import { DURATION_BUCKET, FIGURE_NAMES, RUN_FIGURES, TIMED, utcDay } from '../../contract/run-figures.js';
import type { Queryable } from './database.js';
import type { StoredRunRow } from './run-columns.js';

export { DURATION_BUCKET, FIGURE_NAMES, TIMED } from '../../contract/run-figures.js';

/** The UTC day a run's figures belong to. */
const RUN_DAY = utcDay('started_at');

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
