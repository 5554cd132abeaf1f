/**
 * Fresh data: a bulk ingest into new partitions, measured before ANALYZE has run on them, as a day's
 * first pages are asked while autovacuum has not yet come round. The next UTC day after the world's
 * newest record is loaded through the write path (query-load.ts, a slice of one day at the world's rate)
 * into partitions created first with autovacuum off on them, so that nothing analyzes them while the
 * bench measures; afterwards autovacuum is turned back on and they are analyzed.
 */
import type { Database, Queryable } from '../receiver/storage/database.js';
import { createPartitionManager } from '../receiver/storage/partitions.js';
import { load, type Loaded } from './query-load.js';

const DAY_MS = 86_400_000;
/** Run numbers of the fresh day: past any world's, so that its run ids are new. */
const FIRST_FRESH_RUN = 1_000_000_000;

export interface FreshDay {
  fromMs: number;
  toMs: number;
  /** The partitions it was loaded into, created for it. */
  partitions: string[];
  loaded: Loaded;
}

/** Every leaf partition of the partitioned tables. */
async function leaves(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT t.relid::regclass::text AS name FROM pg_class p, pg_partition_tree(p.oid) t
      WHERE p.relkind = 'p' AND p.relispartition = false AND t.isleaf`,
  );
  return new Set(rows.map((row) => row.name));
}

/** The day after `worldNowMs`'s, with as many records as a day of a world of `worldRecords`. */
export async function loadFreshDay(db: Database, worldRecords: number, worldNowMs: number, onProgress: (records: number) => void): Promise<FreshDay> {
  const fromMs = (Math.floor(worldNowMs / DAY_MS) + 1) * DAY_MS;
  const toMs = fromMs + DAY_MS - 1;
  const before = await leaves(db);
  await db.transaction((tx) => createPartitionManager().ensure(tx, 'log_records', [fromMs]));
  const partitions = [...(await leaves(db))].filter((name) => !before.has(name));
  if (partitions.length === 0) throw new Error(`bench:query fresh: the partitions of ${new Date(fromMs).toISOString()} already exist: the fresh day must go into new ones`);
  for (const name of partitions) await db.query(`ALTER TABLE ${name} SET (autovacuum_enabled = false)`);
  // A world's records are spread over its days: the last day of the same schedule, ending at toMs.
  const loaded = await load(db, worldRecords, toMs, onProgress, { fromMs, firstRun: FIRST_FRESH_RUN });
  return { fromMs, toMs, partitions, loaded };
}

/**
 * Whether anything has analyzed (or vacuumed) the fresh partitions: the planner's row count of a table
 * never analyzed nor vacuumed is -1, and the statistics views name no analyze.
 */
export async function analyzed(db: Queryable, partitions: string[]) {
  const { rows } = await db.query<{ name: string; analyzed: boolean; planner_rows: number }>(
    `SELECT s.relid::regclass::text AS name, c.reltuples::float8 AS planner_rows,
            c.reltuples >= 0 OR coalesce(s.last_analyze, s.last_autoanalyze) IS NOT NULL AS analyzed
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = ANY($1::regclass[]) ORDER BY 1`,
    [partitions],
  );
  return rows;
}

/** Autovacuum back on, and ANALYZE: the fresh partitions as autovacuum would leave them in time. */
export async function analyzeFresh(db: Database, partitions: string[]): Promise<void> {
  for (const name of partitions) {
    await db.query(`ALTER TABLE ${name} RESET (autovacuum_enabled)`);
    await db.query(`ANALYZE ${name}`);
  }
}
