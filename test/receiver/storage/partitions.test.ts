/**
 * Daily partitions (receiver/storage/partitions.ts) on every supported server: created on demand, once,
 * also by two receivers at once, known without asking the catalog again, analyzed as the writer fills
 * them, and dropped whole past retention with the runs, stages, streams and days' figures that go with them.
 */
import { describe, expect, it } from 'vitest';
import type { Database, Queryable } from '../../../receiver/storage/database.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { ANALYZE_AT, createPartitionManager } from '../../../receiver/storage/partitions.js';
import { addRunChanges } from '../../../receiver/storage/run-days.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import { nanos, pointRow } from '../../helpers/rows.js';
import { rejection } from '../../helpers/async.js';
import { backends, databaseFor, freshDatabase } from '../../helpers/backends.js';
import { recording } from '../../helpers/storage.js';

const DAY_MS = 86_400_000;

const partitionsOf = async (db: Queryable, table: string) =>
  (
    await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [table],
    )
  ).rows.map((row) => row.name);

/** A bare record in log_records (of no stream): the partition tests only count them. */
const insertLog = (tx: Queryable, ts: number) =>
  tx.query(
    `INSERT INTO log_records (tenant_id, ts, fingerprint, stream_id, time_unix_nano, flags, severity_number, severity_text,
       event_name, attribute_values)
     VALUES (1, $1, (random() * 9e18)::bigint, 0, 0, 0, 9, 'INFO', '', '[]')`,
    [new Date(ts).toISOString()],
  );

describe.each(backends())('partitions on $name', (backend) => {
  const db = databaseFor(backend);
  const day = Date.UTC(2031, 4, 1);

  it('creates daily partitions on demand, then knows them without SQL', async () => {
    const partitions = createPartitionManager();
    await db.transaction(async (tx) => {
      await partitions.ensure(tx, 'log_records', [day, day + 5 * 3_600_000, day + DAY_MS]);
      await insertLog(tx, day + 1000);
      await insertLog(tx, day + DAY_MS + 1000);
    });
    expect(await partitionsOf(db, 'log_records')).toEqual(expect.arrayContaining(['log_records_p20310501', 'log_records_p20310502']));

    // Created by a transaction not known to have committed: checked once in the catalog, then known.
    const second = await db.transaction(async (tx) => {
      const spy = recording(tx);
      await partitions.ensure(spy, 'log_records', [day, day + DAY_MS]);
      return spy.sql;
    });
    expect(second).toHaveLength(1);
    expect(second[0]).toMatch(/pg_inherits/);
    const third = await db.transaction(async (tx) => {
      const spy = recording(tx);
      await partitions.ensure(spy, 'log_records', [day + 3_600_000, day + DAY_MS]);
      return spy.sql;
    });
    expect(third).toEqual([]);
  });

  it('analyzes a partition as the records committed into it pass each of ANALYZE_AT, once each, and logs a failure', async () => {
    const warnings: string[] = [];
    const partitions = createPartitionManager((message) => warnings.push(message));
    const filling = Date.UTC(2031, 6, 1);
    await db.transaction((tx) => partitions.ensure(tx, 'log_records', [filling]));
    // As a new day's partition is before autovacuum comes round: never analyzed.
    await db.query('ALTER TABLE log_records_p20310701 SET (autovacuum_enabled = off)');
    const tuples = async () =>
      (await db.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE relname = 'log_records_p20310701'`)).rows[0]!.n;
    const commit = async (records: number) => {
      await db.query(
        `INSERT INTO log_records (tenant_id, ts, fingerprint, stream_id, time_unix_nano, flags, severity_number, severity_text, event_name, attribute_values)
         SELECT 1, $1::timestamptz + n * interval '1 ms', (random() * 9e18)::bigint, 0, 0, 0, 9, 'INFO', '', '[]' FROM generate_series(1, $2) AS n`,
        [new Date(filling).toISOString(), records],
      );
      await partitions.committed(db, 'log_records', [filling + 1000], records);
    };

    await commit(ANALYZE_AT[0] - 1);
    expect(await tuples()).toBeLessThan(1);
    await commit(1);
    expect(await tuples()).toBe(ANALYZE_AT[0]);
    // Past the first mark, not yet the second: left as analyzed.
    await commit(100);
    expect(await tuples()).toBe(ANALYZE_AT[0]);
    await commit(ANALYZE_AT[1] - ANALYZE_AT[0] - 100);
    expect(await tuples()).toBe(ANALYZE_AT[1]);

    // A partition that is not there (dropped meanwhile): logged, and the caller's promise still resolves.
    await partitions.committed(db, 'spans', [Date.UTC(2031, 6, 2)], ANALYZE_AT[0]);
    expect(warnings).toEqual([expect.stringMatching(/^pipemon: ANALYZE spans_p20310702 failed, .*autovacuum.*: .*does not exist/)]);
  });

  it('creates a partition again when the transaction that created it rolled back', async () => {
    const partitions = createPartitionManager();
    const rolledBack = Date.UTC(2031, 5, 1);
    await rejection(
      db.transaction(async (tx) => {
        await partitions.ensure(tx, 'spans', [rolledBack]);
        throw new Error('rolled back');
      }),
    );
    expect(await partitionsOf(db, 'spans')).not.toContain('spans_p20310601');
    await db.transaction((tx) => partitions.ensure(tx, 'spans', [rolledBack]));
    expect(await partitionsOf(db, 'spans')).toContain('spans_p20310601');
  });

  it('lets two receivers create the same partitions at once', async () => {
    const url = await backend.databaseUrl();
    const [a, b] = await Promise.all([openDatabase({ databaseUrl: url }), openDatabase({ databaseUrl: url })]);
    try {
      const days = [Date.UTC(2031, 6, 1), Date.UTC(2031, 6, 2), Date.UTC(2031, 6, 3)];
      const write = (receiverDb: Database) =>
        receiverDb.transaction(async (tx) => {
          await createPartitionManager().ensure(tx, 'log_records', days);
          for (const ts of days) await insertLog(tx, ts);
        });
      await Promise.all([write(a), write(b), write(a), write(b)]);
      expect(await partitionsOf(a, 'log_records')).toEqual(['log_records_p20310701', 'log_records_p20310702', 'log_records_p20310703']);
      const { rows } = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM logs');
      expect(rows[0]!.n).toBe(12);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses times that no partition can be named for', async () => {
    const partitions = createPartitionManager();
    for (const bad of [Number.NaN, -1, Date.UTC(10000, 0, 1)]) {
      const err = await rejection(db.transaction((tx) => partitions.ensure(tx, 'log_records', [bad])));
      expect(err).toBeInstanceOf(RangeError);
    }
  });

  it('drops whole partitions past retention, with the runs and stages that started before it', async () => {
    const fresh = await freshDatabase(backend);
    const partitions = createPartitionManager();
    const now = Date.UTC(2032, 0, 31, 12);
    const days = [40, 31, 30, 29, 0].map((ago) => now - ago * DAY_MS);
    await fresh.transaction(async (tx) => {
      await partitions.ensure(tx, 'log_records', days);
      await partitions.ensure(tx, 'spans', days);
      // Records written before migration 4, in the table it renamed.
      await partitions.ensure(tx, 'logs_v1', [days[0]!, days[4]!]);
      for (const ts of days) await insertLog(tx, ts);
      for (const ts of [days[1]!, days[2]!]) {
        await tx.query(
          `INSERT INTO log_streams (tenant_id, stream_id, day, service_name, resource_attributes, resource_schema_url, scope_name,
             scope_version, scope_attributes, scope_schema_url, attribute_keys, moved_keys)
           VALUES (1, $1, $2, 'svc', '{}', '', '', '', '{}', '', '[]', '[null, null, null]')`,
          [ts, new Date(ts).toISOString().slice(0, 10)],
        );
      }
      // Days' and hours' figures (run-days.ts) before the cutoff's day, on it (a run started before the cutoff) and after it.
      await addRunChanges(
        tx,
        [31, 30.25, 29].map((ago) => ({
          sign: 1, tenant_id: 1, pipeline: 'p', started_at: new Date(now - ago * DAY_MS).toISOString(), state: 'ended', result: 'success',
          duration_seconds: 60, rows_read: null, rows_written: null, rows_rejected: null,
        })),
      );
      for (const [runId, ago] of [['old', 31], ['recent', 29]] as const) {
        const started = new Date(now - ago * DAY_MS).toISOString();
        await tx.query(
          `INSERT INTO pipeline_runs (tenant_id, run_id, pipeline, state, started_at, last_seen_at, attributes)
           VALUES (1, $1, 'p', 'ended', $2, $2, '{}')`,
          [runId, started],
        );
        await tx.query(
          `INSERT INTO pipeline_stages (tenant_id, run_id, stage_run_id, stage, pipeline, state, started_at, attributes)
           VALUES (1, $1, 's1', 'extract', 'p', 'ended', $2, '{}')`,
          [runId, started],
        );
      }
    });

    // The cutoff is 2032-01-01T12:00Z: the day of 2031-12-31 ends before it, 2032-01-01 does not.
    const dropped = await partitions.dropOlderThan(fresh, 30, now);
    expect(dropped).toEqual([
      'log_records_p20311222', 'log_records_p20311231', 'logs_p20311222', 'spans_p20311222', 'spans_p20311231',
    ]);
    expect(await partitionsOf(fresh, 'log_records')).toEqual(['log_records_p20320101', 'log_records_p20320102', 'log_records_p20320131']);
    expect(await partitionsOf(fresh, 'logs_v1')).toEqual(['logs_p20320131']);
    // The streams of the days dropped go with them.
    expect((await fresh.query<{ day: string }>('SELECT day FROM log_streams')).rows).toEqual([{ day: '2032-01-01' }]);
    const { rows: logs } = await fresh.query<{ n: number }>('SELECT count(*)::int AS n FROM logs');
    expect(logs[0]!.n).toBe(3);
    expect((await fresh.query('SELECT run_id FROM pipeline_runs')).rows).toEqual([{ run_id: 'recent' }]);
    expect((await fresh.query('SELECT run_id FROM pipeline_stages')).rows).toEqual([{ run_id: 'recent' }]);
    // The day the cutoff cuts through keeps its figures whole.
    for (const table of ['pipeline_days', 'pipeline_day_durations']) {
      expect([table, (await fresh.query(`SELECT day::text, runs::int FROM ${table} ORDER BY day`)).rows]).toEqual([
        table,
        [{ day: '2032-01-01', runs: 1 }, { day: '2032-01-02', runs: 1 }],
      ]);
    }
    // By the hour, the run of 06:00 on the cutoff's day goes: its hour ends before the cutoff.
    for (const table of ['pipeline_hours', 'pipeline_hour_durations']) {
      expect([table, (await fresh.query(`SELECT hour::text, runs::int FROM ${table} ORDER BY hour`)).rows]).toEqual([table, [{ hour: '2032-01-02 12:00:00', runs: 1 }]]);
    }
    expect(await partitions.dropOlderThan(fresh, 30, now)).toEqual([]);

    // Forgotten when dropped: asked for again, the partition is created again.
    await fresh.transaction((tx) => partitions.ensure(tx, 'log_records', [days[0]!]));
    expect(await partitionsOf(fresh, 'log_records')).toContain('log_records_p20311222');
  });

  it('partitions metric points by the nanoseconds of their day, and drops them and their series past retention', async () => {
    const fresh = await freshDatabase(backend);
    const partitions = createPartitionManager();
    const now = Date.UTC(2032, 0, 31, 12);
    const points = [31, 30, 0].map((ago) => pointRow({ startTimeUnixNano: '0', timeUnixNano: nanos(now - ago * DAY_MS) }));
    await fresh.transaction((tx) => writeBatch(tx, partitions, [prepare({ id: 1, name: 'default' }, [], [], points)]));
    expect(await partitionsOf(fresh, 'metric_points')).toEqual(['metric_points_p20311231', 'metric_points_p20320101', 'metric_points_p20320131']);
    // A point at the last nanosecond of a day is that day's; the next day's partition starts at the next.
    const { rows: bounds } = await fresh.query<{ bound: string }>(
      `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_class c WHERE c.relname = 'metric_points_p20320131'`,
    );
    expect(bounds[0]!.bound).toBe(`FOR VALUES FROM ('${BigInt(Date.UTC(2032, 0, 31)) * 1_000_000n}') TO ('${BigInt(Date.UTC(2032, 1, 1)) * 1_000_000n}')`);

    expect(await partitions.dropOlderThan(fresh, 30, now)).toEqual(['metric_points_p20311231']);
    expect((await fresh.query<{ day: string }>('SELECT day::text FROM metric_streams ORDER BY day')).rows).toEqual([{ day: '2032-01-01' }, { day: '2032-01-31' }]);
    expect((await fresh.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_points')).rows[0]!.n).toBe(2);
  });
});
