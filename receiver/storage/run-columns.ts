/**
 * The stored rows of pipeline_runs, pipeline_stages and pipeline_checks, stated once: each table's
 * columns with their SQL types, and the TypeScript shape of its row. The write path writes them and
 * reads them back to merge a batch into them (run-rows.ts, check-rows.ts); the query API reads them to
 * show them (query/runs.ts). Each takes the times in the form it needs (`Time`: ISO text to write,
 * milliseconds to merge, dates to show). The `satisfies` below keep each column list and its row type
 * the same set of names: a column added to one and not the other fails to compile.
 */
import type { Reported, RunFacts } from '../model/runs.js';

/** A stored column's SQL type, as a written row declares it to jsonb_to_recordset. */
type SqlType = 'text' | 'boolean' | 'jsonb' | 'timestamptz' | 'double precision' | 'bigint';
type Columns<Row> = { readonly [K in keyof Row]-?: SqlType };

/** The columns runs and stages share. */
export interface SharedRunRow<Time> {
  run_id: string;
  pipeline: string;
  state: RunFacts['state'];
  result: RunFacts['result'];
  started_at: Time | null;
  start_estimated: boolean;
  ended_at: Time | null;
  duration_seconds: number | null;
  rows_read: number | null;
  rows_written: number | null;
  rows_rejected: number | null;
  error_type: string | null;
  error_message: string | null;
  target_namespace: string | null;
  target_collection: string | null;
  attributes: Record<string, unknown>;
}

export interface StoredRunRow<Time> extends SharedRunRow<Time> {
  service_name: string | null;
  environment: string | null;
  source_system: string | null;
  trace_id: string | null;
  last_seen_at: Time;
  /** What the run reported where the row shows its stages' instead (model/runs.ts reportedOf()). */
  reported: Reported | null;
}

export interface StoredStageRow<Time> extends SharedRunRow<Time> {
  stage_run_id: string;
  stage: string;
  span_id: string | null;
}

export interface StoredCheckRow<Time> {
  ts: Time;
  /** The check record's fingerprint, as written (a bigint's text); stored as the uuid the logs view shows. */
  fingerprint: string;
  pipeline: string | null;
  run_id: string | null;
  stage: string | null;
  name: string | null;
  passed: boolean | null;
  details: unknown;
  body: string | null;
}

const SHARED_COLUMNS = {
  run_id: 'text',
  pipeline: 'text',
  state: 'text',
  result: 'text',
  started_at: 'timestamptz',
  start_estimated: 'boolean',
  ended_at: 'timestamptz',
  duration_seconds: 'double precision',
  rows_read: 'bigint',
  rows_written: 'bigint',
  rows_rejected: 'bigint',
  error_type: 'text',
  error_message: 'text',
  target_namespace: 'text',
  target_collection: 'text',
  attributes: 'jsonb',
} as const satisfies Columns<SharedRunRow<unknown>>;

export const RUN_COLUMNS = {
  ...SHARED_COLUMNS,
  service_name: 'text',
  environment: 'text',
  source_system: 'text',
  trace_id: 'text',
  last_seen_at: 'timestamptz',
  reported: 'jsonb',
} as const satisfies Columns<StoredRunRow<unknown>>;

export const STAGE_COLUMNS = {
  ...SHARED_COLUMNS,
  stage_run_id: 'text',
  stage: 'text',
  span_id: 'text',
} as const satisfies Columns<StoredStageRow<unknown>>;

/** The check row as written: its fingerprint a bigint, which the insert turns into the stored uuid. */
export const CHECK_COLUMNS = {
  ts: 'timestamptz',
  fingerprint: 'bigint',
  pipeline: 'text',
  run_id: 'text',
  stage: 'text',
  name: 'text',
  passed: 'boolean',
  details: 'jsonb',
  body: 'text',
} as const satisfies Columns<StoredCheckRow<unknown>>;

export const columnNames = (columns: Readonly<Record<string, SqlType>>) => Object.keys(columns);

/** A written row's columns, `name type, ...`, as jsonb_to_recordset's column definition list. */
export const recordsetColumns = (columns: Readonly<Record<string, SqlType>>) =>
  Object.entries(columns).map(([name, type]) => `${name} ${type}`).join(', ');

/** Times read as stored: pg returns a timestamptz as a Date. */
export const timeAsDate = (column: string) => column;

/**
 * The SELECT list of a run's or a stage's row: its times as `time` reads them, and its counts as float8 (pg
 * returns a bigint as text).
 */
export function selectColumns(columns: Readonly<Record<string, SqlType>>, time: (column: string) => string): string {
  return Object.entries(columns)
    .map(([name, type]) => {
      const read = type === 'timestamptz' ? time(name) : type === 'bigint' ? `${name}::float8` : name;
      return read === name ? name : `${read} AS ${name}`;
    })
    .join(', ');
}
