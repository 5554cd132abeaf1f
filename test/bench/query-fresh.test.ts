/**
 * bench:query's fresh day at a tiny size: the next day after the world's newest record goes into
 * partitions of its own, which nothing analyzes until the bench does.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { analyzed, analyzeFresh, loadFreshDay, type FreshDay } from '../../bench/query-fresh.js';
import { load } from '../../bench/query-load.js';
import type { Database } from '../../receiver/storage/database.js';
import { openDatabase } from '../../receiver/storage/open.js';
import { createTestDatabase } from '../helpers/backends.js';

const RECORDS = 5000;

describe.each(inject('databaseServers'))('bench:query fresh day on $name', (server) => {
  let db: Database;
  let day: FreshDay;
  let runsBefore: number;

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl: await createTestDatabase(server.url) });
    const nowMs = Date.now();
    await load(db, RECORDS, nowMs);
    await db.query('VACUUM ANALYZE');
    runsBefore = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_runs')).rows[0]!.n;
    day = await loadFreshDay(db, RECORDS, nowMs, () => {});
  });

  afterAll(async () => {
    await db?.close();
  });

  it('loads a day\'s share of the records, all of them in the new partition, as runs of their own', async () => {
    expect(day.partitions).toHaveLength(1);
    const { rows } = await db.query<{ records: number; outside: number; runs: number }>(
      `SELECT count(*)::int AS records, count(*) FILTER (WHERE tableoid <> $1::regclass)::int AS outside,
              (SELECT count(*)::int FROM pipeline_runs) AS runs
         FROM log_records WHERE ts >= $2`,
      [day.partitions[0], new Date(day.fromMs).toISOString()],
    );
    expect(rows[0]).toMatchObject({ records: day.loaded.records, outside: 0 });
    // A day of thirty (at a tiny size, less: each pipeline's one run of the month is at its start), as new
    // runs, the busiest pipeline's among them, rather than more records of the world's.
    expect(day.loaded.records).toBeLessThan(RECORDS / 10);
    expect(rows[0]!.runs).toBe(runsBefore + day.loaded.runs);
    const busiest = day.loaded.pipelines[0]!.name;
    const { rows: fresh } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_runs WHERE pipeline = $1 AND started_at >= $2`, [busiest, new Date(day.fromMs).toISOString()]);
    expect(fresh[0]!.n).toBeGreaterThan(0);
  });

  it('leaves the partition unanalyzed, with autovacuum off on it, until the bench analyzes it', async () => {
    expect(await analyzed(db, day.partitions)).toEqual([{ name: day.partitions[0], analyzed: false, planner_rows: -1 }]);
    const options = async () => (await db.query<{ options: string[] | null }>(`SELECT reloptions AS options FROM pg_class WHERE oid = $1::regclass`, [day.partitions[0]])).rows[0]!.options;
    expect(await options()).toEqual(['autovacuum_enabled=false']);
    await analyzeFresh(db, day.partitions);
    expect(await analyzed(db, day.partitions)).toEqual([{ name: day.partitions[0], analyzed: true, planner_rows: day.loaded.records }]);
    expect(await options()).toBeNull();
  });

  it('refuses a second fresh day into partitions that already exist', async () => {
    await expect(loadFreshDay(db, RECORDS, day.fromMs - 1, () => {})).rejects.toThrow(/already exist: the fresh day must go into new ones/);
  });
});
