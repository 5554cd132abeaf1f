/**
 * Each pipeline's runs summed by the UTC day and by the UTC hour they started (pipeline_days,
 * pipeline_hours) and their durations counted in buckets (pipeline_day_durations,
 * pipeline_hour_durations), kept in the transaction that writes the runs, so that the figures over 30
 * days of a million runs (query/metrics.ts), or over the last 24 hours, read a few thousand rows instead
 * of every run. Days and hours are one code path over contract/run-figures.ts's SUM_WIDTHS.
 *
 * The rule of what a run adds to its day or hour is stated once, in contract/run-figures.ts, as SQL over a run's
 * stored columns (RUN_FIGURES, DURATION_BUCKET): the write path sums it over the rows it replaces (minus)
 * and writes (plus), migrations 6 (days) and 11 (hours) over the runs stored before them, and the metrics and the
 * Grafana overview over the runs of a window's partial hours, which they read from pipeline_runs. Changing RUN_FIGURES or DURATION_BUCKET changes
 * those migrations' SQL (their digest test in test/receiver/storage/migrations.test.ts fails): it needs a migration of its own,
 * which alters the tables and recomputes the sums.
 */
import { DAYS, DURATION_BUCKET, FIGURE_NAMES, RUN_FIGURES, SUM_WIDTHS, TIMED, type SumWidth } from '../../contract/run-figures.js';
import type { Queryable } from './database.js';
import type { StoredRunRow } from './run-columns.js';

export { DURATION_BUCKET, FIGURE_NAMES, TIMED } from '../../contract/run-figures.js';

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
 * The upserts that add `source` (a relation of CHANGE_COLUMNS) to both tables of `width`. Rows are
 * written in the width's key order, so that two transactions adding to the same units wait for each
 * other rather than deadlock; the figures before the durations, and days before hours, in every transaction, for the
 * same reason. Changes that cancel out (a heartbeat's row replacing an equal one) write nothing.
 */
export function addChangesSql(source: string, width: SumWidth = DAYS): [figures: string, durations: string] {
  const names = FIGURE_NAMES.join(', ');
  const sums = FIGURE_NAMES.map((name) => `sum(sign * ${RUN_FIGURES[name]})`).join(', ');
  const changed = FIGURE_NAMES.map((name) => `sum(sign * ${RUN_FIGURES[name]}) <> 0`).join(' OR ');
  const unit = width.unitOf('started_at');
  // In the tables' key order, which for hours also lays each hour's rows together on disk.
  const inKeyOrder = width.key.map((column) => (column === width.column ? unit : column)).join(', ');
  const positions = width.key.map((column) => (column === 'tenant_id' ? 1 : column === 'pipeline' ? 2 : 3)).join(', ');
  return [
    `INSERT INTO ${width.sums} AS d (tenant_id, pipeline, ${width.column}, ${names})
     SELECT tenant_id, pipeline, ${unit}, ${sums} FROM ${source}
      GROUP BY tenant_id, pipeline, ${unit} HAVING ${changed}
      ORDER BY ${inKeyOrder}
     ON CONFLICT (tenant_id, pipeline, ${width.column}) DO UPDATE SET ${FIGURE_NAMES.map((name) => `${name} = d.${name} + EXCLUDED.${name}`).join(', ')}`,
    `INSERT INTO ${width.durations} AS d (tenant_id, pipeline, ${width.column}, bucket, runs)
     SELECT tenant_id, pipeline, ${unit}, ${DURATION_BUCKET}, sum(sign) FROM ${source}
      WHERE ${TIMED}
      GROUP BY 1, 2, 3, 4 HAVING sum(sign) <> 0 ORDER BY ${positions}, 4
     ON CONFLICT (tenant_id, pipeline, ${width.column}, bucket) DO UPDATE SET runs = d.runs + EXCLUDED.runs`,
  ];
}

const ADD_CHANGES = SUM_WIDTHS.flatMap((width) => addChangesSql(`jsonb_to_recordset($1::jsonb) AS c(${CHANGE_COLUMNS})`, width));

/** Adds a transaction's run changes to their days and hours; in the transaction that writes the runs, after it. */
export async function addRunChanges(tx: Queryable, changes: RunChange[]): Promise<void> {
  if (changes.length === 0) return;
  const json = JSON.stringify(changes);
  for (const sql of ADD_CHANGES) await tx.query(sql, [json]);
}

/**
 * Drops the days and hours before `cutoff`'s day and hour, of one tenant or all. The unit a retention
 * cuts through keeps its figures whole: only a window longer than the retention reaches it, and the runs
 * it counts did run then.
 */
export async function deleteSumsBefore(db: Queryable, cutoff: string, tenantId: number | null): Promise<void> {
  for (const width of SUM_WIDTHS) {
    for (const table of [width.sums, width.durations]) {
      await db.query(`DELETE FROM ${table} WHERE ${width.column} < ${width.unitOf('$1::timestamptz')} AND ($2::int IS NULL OR tenant_id = $2)`, [cutoff, tenantId]);
    }
  }
}
