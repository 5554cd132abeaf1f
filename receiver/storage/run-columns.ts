/**
 * The columns pipeline_runs and pipeline_stages share, as they are read back: by the write path, to
 * merge a batch into them (storage/merge-runs.ts), and by the query API, to show them (query/runs.ts).
 * Each adds the times in the form it needs (milliseconds to merge, dates to show). Counts are read as
 * float8: pg returns a bigint as text.
 */
import type { RunFacts } from '../model/runs.js';

export const SHARED_RUN_COLUMNS = `run_id, pipeline, state, result, start_estimated, duration_seconds,
  rows_read::float8 AS rows_read, rows_written::float8 AS rows_written, rows_rejected::float8 AS rows_rejected,
  error_type, error_message, target_namespace, target_collection, attributes`;

export interface SharedRunColumns {
  run_id: string;
  pipeline: string;
  state: RunFacts['state'];
  result: RunFacts['result'];
  start_estimated: boolean;
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
