/**
 * How log_records' filter indexes keep a pipeline's, a stage's or the severe records in time order at a
 * few bytes a record (migration 9), and how a query asks for that order.
 *
 * A btree with the record's time as its last column, (tenant_id, pipeline, ts), lists a pipeline's records
 * newest first, but costs about 50 bytes a record: more than the whole room left under the OTLP size. With
 * the ten minutes the time falls in instead of the time, the records of one pipeline and ten minutes share
 * one key, which PostgreSQL deduplicates into one entry listing them, and the index still lists them ten
 * minutes after ten minutes: a query that orders by the ten minutes first, then by time, walks the index
 * and sorts ten minutes' records at a time, never all of a pipeline's. That is the same order as by time
 * alone, since the ten minutes never decrease as the time grows.
 *
 * Why ten: on bench:query's world (500 pipelines, 10 M records), as the writer fills them, the pipeline
 * index takes 27.7 bytes a record by the minute, 15.3 by ten minutes, 11.5 by the hour, 7.9 without the
 * time; a page then sorts at most ten minutes of one pipeline's records (about 400 of the busiest's).
 */

import type { Queryable } from './database.js';

/** The start of the ten UTC minutes that the SQL timestamptz `ts` falls in: an immutable expression, so indexable. */
export const bucketOf = (ts: string) => `date_bin('10 minutes', ${ts}, '2000-01-01 00:00:00+00')`;

/**
 * Severity numbers above this (INFO) are few in a log, so that a partial index of them costs little and
 * finds them in time order; `severity_min` at or below it matches nearly every record, found newest first
 * by the key.
 */
export const COMMON_SEVERITY_MAX = 9;

/**
 * A pipeline's records of one stage when the pipeline has few or none of them: walking the pipeline's
 * index would read all its records, checking each one's stage, to fill a page (457 K records for an
 * absent stage of a busy pipeline at 10 M records). Migration 12's index of the pair, (tenant, pipeline,
 * stage) without the time, counts them up to FEW_PAIR_RECORDS + 1 by its keys alone. As few: the query
 * finds them through it and sorts them. More: the pipeline's or the stage's ten-minute walk reads about
 * a page. The bound is measured on bench:query's 10 M-record world (docs/storage.md, migration 12).
 */
export const FEW_PAIR_RECORDS = 5000;

export async function pairIsFew(db: Queryable, tenantId: number, pipeline: string, stage: string): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT FROM log_records
       WHERE tenant_id = $1 AND pipeline = $2 AND stage = $3 LIMIT ${FEW_PAIR_RECORDS + 1}) pair`,
    [tenantId, pipeline, stage],
  );
  return rows[0]!.n <= FEW_PAIR_RECORDS;
}
