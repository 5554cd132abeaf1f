/**
 * How log_records' filter indexes keep the records of a pipeline, stage, run or severe records in time
 * order at a few bytes a record (migration 9), and how a query asks for that order.
 *
 * A btree with the record's time as its last column, (tenant_id, pipeline, ts), lists a pipeline's records
 * newest first, but costs about 50 bytes a record: more than the whole room left under the OTLP size. With
 * the minute instead of the time, the records of one pipeline and minute share one key, which PostgreSQL
 * deduplicates into one entry listing them (about 6 bytes a record more), and the index still lists them
 * minute by minute: a query that orders by the minute first, then by time, walks the index and sorts one
 * minute's records at a time, never all of a pipeline's. ORDER BY the minute, then the time, is the same
 * order as by the time alone, since the minute never decreases as the time grows.
 */

/** The UTC minute that starts at or before the SQL timestamptz `ts`: an immutable expression, so indexable. */
export const minuteOf = (ts: string) => `date_bin('1 minute', ${ts}, '2000-01-01 00:00:00+00')`;

/**
 * Severity numbers above this (INFO) are few in a log, so that a partial index of them costs little and
 * finds them in time order; `severity_min` at or below it matches nearly every record, found newest first
 * by the key.
 */
export const COMMON_SEVERITY_MAX = 9;
