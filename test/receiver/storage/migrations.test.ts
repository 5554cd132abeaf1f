/**
 * The storage contract: every supported PostgreSQL server (the npm package's 18, Debian's 15) passes the
 * same suite, so that nothing above the Database seam needs to know which one it runs on.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapDefaultKey, createKey, createKeyVerifier, createTenant, listKeys, revokeKey } from '../../../receiver/auth/keys.js';
import { csvField } from '../../../receiver/storage/csv.js';
import type { Database, Queryable } from '../../../receiver/storage/database.js';
import { describeDatabaseError, isTransient } from '../../../receiver/model/database-errors.js';
import { migrate } from '../../../receiver/storage/migrate.js';
import { CHECKS_FROM_LOGS, MIGRATIONS, READER_ROLE } from '../../../receiver/storage/migrations.js';
import { openDatabase } from '../../../receiver/storage/open.js';
import { createPartitionManager } from '../../../receiver/storage/partitions.js';
import { openServerDatabase } from '../../../receiver/storage/pg.js';
import { measureLogBytes } from '../../../receiver/storage/log-bytes.js';
import { addRunChanges } from '../../../receiver/storage/run-days.js';
import { writeBatch } from '../../../receiver/storage/write-batch.js';
import { prepare } from '../../../receiver/ingest/prepare.js';
import { decodeLogsJson } from '../../../receiver/decode/otlp-json.js';
import { decodeLogsProtobuf } from '../../../receiver/decode/otlp-protobuf.js';
import { ATTR, EVENT } from '../../../contract/vocabulary.js';
import { otlpType, realisticLogsRequest } from '../../../harness/otlp-fixtures.js';
import { otlpJsonLogs, type JsonRecord, type Value } from '../../helpers/otlp-json.js';
import { rejection } from '../../helpers/async.js';
import { tempDataDir } from '../../helpers/pipemon-process.js';
import { backends, createTestDatabase, testServerUrl } from '../../helpers/backends.js';
import { startPostgres } from '../../../harness/postgres.js';
import { bodyMatches } from '../../../receiver/storage/body-search.js';

const DAY_MS = 86_400_000;
const VERSIONS = MIGRATIONS.map((migration) => migration.version);

/** A Queryable that records the SQL it passes on. */
function recording(target: Queryable): Queryable & { sql: string[] } {
  const sql: string[] = [];
  return {
    sql,
    query: (text, params) => {
      sql.push(text);
      return target.query(text, params);
    },
  };
}

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

describe.each(backends())('storage on $name', (backend) => {
  let db: Database;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(async () => {
    await db?.close();
  });

  describe('migrations', () => {
    it("keeps every released migration's SQL as it shipped (a change to the schema is a new migration)", () => {
      const digest = (sql: string) => createHash('sha256').update(sql).digest('hex').slice(0, 16);
      expect(MIGRATIONS.map((migration) => [migration.version, digest(migration.sql)])).toEqual([
        [1, '392276dc2fd91f1c'],
        [2, 'fc7031d4d7d9a353'],
        [3, '81488a628d44f431'],
        [4, '99cf0764322868c1'],
        [5, '33d4bf322c884c53'],
        [6, '5723fbba001a851b'],
        [7, 'ed76c2d1f826309c'],
      ]);
    });

    it('records every migration once', async () => {
      const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((row) => row.version)).toEqual(VERSIONS);
    });

    it('grants the read-only role SELECT on what dashboards show, and nothing on the keys', async () => {
      const grants = await db.query<{ table_name: string; privilege_type: string }>(
        `SELECT table_name, privilege_type FROM information_schema.role_table_grants
          WHERE grantee = $1 AND table_name NOT LIKE '%\\_p%'`,
        [READER_ROLE],
      );
      expect(grants.rows.sort((a, b) => (a.table_name < b.table_name ? -1 : 1))).toEqual(
        ['log_records', 'log_streams', 'logs', 'logs_v1', 'pipeline_checks', 'pipeline_day_durations', 'pipeline_days', 'pipeline_runs', 'pipeline_stages', 'spans', 'tenants'].map((table_name) => ({
          table_name,
          privilege_type: 'SELECT',
        })),
      );
    });

    it('applies nothing when run again', async () => {
      expect(await migrate(db)).toEqual({ applied: [] });
    });

    it('lets two receivers starting together migrate once', async () => {
      const url = await backend.databaseUrl();
      const [a, b] = await Promise.all([openServerDatabase(url), openServerDatabase(url)]);
      try {
        const results = await Promise.all([migrate(a), migrate(b)]);
        expect(results.map((result) => result.applied).sort((x, y) => x.length - y.length)).toEqual([[], VERSIONS]);
        const { rows } = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        expect(rows[0]!.n).toBe(VERSIONS.length);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('refuses a database migrated by a newer pipemon', async () => {
      const newer = await backend.open();
      try {
        await newer.query(`INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')`);
        expect((await rejection(migrate(newer))).message).toMatch(/schema version 9999, newer than this pipemon knows .*upgrade pipemon/);
      } finally {
        await newer.close();
      }
    });
  });

  describe('queries and transactions', () => {
    it('returns values in the same shapes on every backend', async () => {
      const { rows } = await db.query(
        `SELECT 1::int4 AS int4, 9007199254740993::int8 AS int8, 1.5::float8 AS float8, 1.10::numeric AS numeric,
                true AS bool, 'x'::text AS text, '\\x0102ff'::bytea AS bytea, '2024-02-29'::date AS date,
                '2024-02-29T10:00:00Z'::timestamptz AS ts, '{"a":[1,"b"]}'::jsonb AS jsonb,
                ARRAY['a','b']::text[] AS texts, ARRAY[1,2]::int4[] AS ints, NULL::text AS nothing`,
      );
      expect(rows[0]).toEqual({
        int4: 1,
        int8: '9007199254740993',
        float8: 1.5,
        numeric: '1.10',
        bool: true,
        text: 'x',
        bytea: Buffer.from([1, 2, 255]),
        date: '2024-02-29',
        ts: new Date('2024-02-29T10:00:00Z'),
        jsonb: { a: [1, 'b'] },
        texts: ['a', 'b'],
        ints: [1, 2],
        nothing: null,
      });
      expect(Buffer.isBuffer(rows[0]!.bytea)).toBe(true);
    });

    it('runs several statements in one query without parameters, answering with the last', async () => {
      const { rows } = await db.query<{ n: number }>('CREATE TEMP TABLE IF NOT EXISTS multi (n int); SELECT 2 AS n');
      expect(rows).toEqual([{ n: 2 }]);
    });

    it('commits what the function did and returns its result', async () => {
      await db.query('CREATE TABLE committed (n int)');
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO committed VALUES ($1)', [1]);
        return 'done';
      });
      expect(result).toBe('done');
      expect((await db.query('SELECT n FROM committed')).rows).toEqual([{ n: 1 }]);
    });

    it('rolls back and rethrows when the function throws', async () => {
      await db.query('CREATE TABLE rolled_back (n int)');
      const thrown = new Error('boom');
      const err = await rejection(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO rolled_back VALUES (1)');
          throw thrown;
        }),
      );
      expect(err).toBe(thrown);
      expect((await db.query('SELECT n FROM rolled_back')).rows).toEqual([]);
      // The connection is usable afterwards.
      await db.transaction((tx) => tx.query('INSERT INTO rolled_back VALUES (2)'));
      expect((await db.query('SELECT n FROM rolled_back')).rows).toEqual([{ n: 2 }]);
    });

    it('never reports success for a transaction whose failed statement was caught inside', async () => {
      await db.query('CREATE TABLE swallowed (n int PRIMARY KEY)');
      await db.query('INSERT INTO swallowed VALUES (1)');
      await rejection(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO swallowed VALUES (2)');
          await tx.query('INSERT INTO swallowed VALUES (1)').catch(() => undefined);
        }),
      );
      expect((await db.query('SELECT n FROM swallowed')).rows).toEqual([{ n: 1 }]);
    });

    it('runs transactions one at a time per connection, each seeing only its own work', async () => {
      await db.query('CREATE TABLE counter (n int)');
      await db.query('INSERT INTO counter VALUES (0)');
      await Promise.all(
        Array.from({ length: 8 }, () =>
          db.transaction(async (tx) => {
            await tx.query('SELECT n FROM counter FOR UPDATE');
            await tx.query('UPDATE counter SET n = n + 1');
          }),
        ),
      );
      expect((await db.query('SELECT n FROM counter')).rows).toEqual([{ n: 8 }]);
    });
  });

  describe('COPY', () => {
    const tricky: (string | null)[] = [
      'plain',
      'with "quotes"',
      '"',
      'a,b',
      'line\nbreak',
      'crlf\r\nend',
      'back\\slash',
      '\\.',
      '\\N',
      'NULL',
      ' surrounding spaces ',
      'unicode: é ✓ 日本 😀',
      '{"json": "with \\"escapes\\"", "n": [1, 2]}',
      '',
      null,
    ];

    it('round-trips quotes, commas, newlines, backslashes, unicode, and empty string apart from NULL', async () => {
      await db.query('CREATE TABLE copied (id int, value text, n bigint)');
      const csv = tricky.map((value, i) => `${csvField(i)},${csvField(value)},${csvField(i * 1000)}\n`).join('');
      await db.transaction((tx) => tx.copyCsv('copied', ['id', 'value', 'n'], csv));
      const { rows } = await db.query<{ value: string | null; n: string }>('SELECT value, n FROM copied ORDER BY id');
      expect(rows.map((row) => row.value)).toEqual(tricky);
      expect(rows.map((row) => row.n)).toEqual(tricky.map((_, i) => String(i * 1000)));
    });

    it('runs without JIT, which compiled for seconds on plans over many partitions', async () => {
      expect((await db.query<{ jit: string }>('SHOW jit')).rows).toEqual([{ jit: 'off' }]);
      await db.transaction(async (tx) => expect((await tx.query<{ jit: string }>('SHOW jit')).rows).toEqual([{ jit: 'off' }]));
    });

    it('copies nothing from an empty string', async () => {
      await db.query('CREATE TABLE copied_empty (value text)');
      await db.transaction((tx) => tx.copyCsv('copied_empty', ['value'], ''));
      expect((await db.query('SELECT * FROM copied_empty')).rows).toEqual([]);
    });

    it('refuses rows the table refuses, as a permanent error, and stores none of the batch', async () => {
      await db.query('CREATE TABLE copied_strict (id int PRIMARY KEY, value text NOT NULL)');
      const err = await rejection(db.transaction((tx) => tx.copyCsv('copied_strict', ['id', 'value'], '1,a\n2,\n')));
      expect(isTransient(err)).toBe(false);
      expect(describeDatabaseError(err)).toMatch(/SQLSTATE 23502/);
      expect((await db.query('SELECT * FROM copied_strict')).rows).toEqual([]);
      await db.transaction((tx) => tx.copyCsv('copied_strict', ['id', 'value'], '1,a\n'));
      expect((await db.query('SELECT * FROM copied_strict')).rows).toEqual([{ id: 1, value: 'a' }]);
    });

    it('refuses a table or column name that would need quoting', async () => {
      const err = await rejection(db.transaction((tx) => tx.copyCsv('copied; DROP TABLE tenants', ['id'], '')));
      expect(err.message).toMatch(/unexpected table name/);
    });
  });

  describe('partitions', () => {
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
      const fresh = await backend.open();
      try {
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
          // Days' figures (run-days.ts) before the cutoff's day, on it (a run started before the cutoff) and after it.
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
        expect(await partitions.dropOlderThan(fresh, 30, now)).toEqual([]);

        // Forgotten when dropped: asked for again, the partition is created again.
        await fresh.transaction((tx) => partitions.ensure(tx, 'log_records', [days[0]!]));
        expect(await partitionsOf(fresh, 'log_records')).toContain('log_records_p20311222');
      } finally {
        await fresh.close();
      }
    });
  });

  describe('log layout (migration 4)', () => {
    const REQUESTS = 20;
    let protobufBytes = 0;
    let layout: Database;

    /** REQUESTS fixture requests of 1,000 records, a second apart, written as the receiver writes them. */
    beforeAll(async () => {
      layout = await backend.open();
      const partitions = createPartitionManager();
      const Request = otlpType('ExportLogsServiceRequest');
      for (let n = 0; n < REQUESTS; n++) {
        const request = realisticLogsRequest({
          values: 'protobuf',
          startUnixNano: BigInt(Date.UTC(2031, 2, 1) + n * 1000) * 1_000_000n,
          stepNanos: 1_000_000n,
          scope: { name: 'storage-test', version: '1.0.0' },
        });
        const body = Request.encode(Request.fromObject(request)).finish();
        protobufBytes += body.length;
        const prepared = prepare({ id: 1, name: 'default' }, decodeLogsProtobuf(body), []);
        await layout.transaction((tx) => writeBatch(tx, partitions, [prepared]));
      }
      await layout.query('ANALYZE');
    });
    afterAll(async () => {
      await layout?.close();
    });

    it('stores the realistic record in at most its OTLP protobuf size, indexes and the body search included', async () => {
      const measured = await measureLogBytes(layout, 'current');
      expect(measured.records).toBe(REQUESTS * 1000);
      expect(Object.keys(measured.index_per_record)).toContain('log_records_body');
      expect(measured.per_record!.total).toBeLessThanOrEqual(protobufBytes / measured.records);
    });

    it('reads back every column as the logs relation had it', async () => {
      const { rows } = await layout.query(
        `SELECT fingerprint::text AS fingerprint, time_unix_nano::text AS time, observed_time_unix_nano::text AS observed, service_name,
                trace_id, span_id, flags, pipeline, run_id, stage, attributes, dropped_attributes_count::int AS dropped,
                resource_attributes->>'host.name' AS host, scope_name, scope_version, scope_attributes
           FROM logs WHERE tenant_id = 1 ORDER BY ts, fingerprint LIMIT 1`,
      );
      expect(rows[0]).toEqual({
        fingerprint: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
        time: String(BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n),
        observed: String(BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n),
        service_name: 'orders-etl',
        trace_id: '5b8efff7980381030000000000000000',
        span_id: 'eee19b7ec3c1b100',
        flags: '1',
        pipeline: 'orders-nightly',
        run_id: 'run-2024-06-01-0',
        stage: 'load',
        attributes: {
          [ATTR.pipelineName]: 'orders-nightly',
          [ATTR.runId]: 'run-2024-06-01-0',
          [ATTR.stageName]: 'load',
          'db.system': 'postgresql',
          [ATTR.dbCollection]: 'orders_daily',
          'batch.index': 0,
          'batch.rows': 4980,
          'batch.rejected': 20,
          'batch.duration_s': 1.9,
          'batch.retried': true,
        },
        dropped: 0,
        host: 'ip-10-0-3-17.ec2.internal',
        scope_name: 'storage-test',
        scope_version: '1.0.0',
        scope_attributes: {},
      });
    });

    it('answers q= through logs from the body search index, and a trace from its index', async () => {
      const plan = async (sql: string, params: unknown[]) =>
        (await layout.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((row) => row['QUERY PLAN']).join('\n');
      const search = `SELECT ts, body FROM logs WHERE tenant_id = $1 AND ${bodyMatches('$2')}
                       ORDER BY ts DESC LIMIT 100`;
      expect(await plan(search, [1, 'batch 17 of'])).toMatch(/Bitmap Index Scan on log_records_p20310301_to_tsvector_idx/);
      const { rows } = await layout.query<{ body: string }>(search, [1, 'batch 17 of']);
      expect(rows).toHaveLength(REQUESTS);
      expect(rows.every((row) => row.body.startsWith('batch 17 of'))).toBe(true);
      const trace = 'SELECT ts FROM logs WHERE tenant_id = $1 AND trace_id = $2';
      expect(await plan(trace, [1, '5b8efff7980381030000000000000011'])).toMatch(/log_records_p20310301_tenant_id_encode_idx/);
      expect((await layout.query(trace, [1, '5b8efff7980381030000000000000011'])).rows).toHaveLength(REQUESTS);
    });

    it('keeps the records written before it readable through logs, beside the new ones', async () => {
      const url = await backend.databaseUrl();
      const old = await openServerDatabase(url);
      try {
        // The schema as migration 3 left it, with one record in the logs table of the time.
        await old.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
        for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
          await old.query(migration.sql);
          await old.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        }
        await old.query(`INSERT INTO tenants (name) VALUES ('default')`);
        await old.query(`CREATE TABLE logs_p20310301 PARTITION OF logs FOR VALUES FROM ('2031-03-01') TO ('2031-03-02')`);
        const before = {
          tenant_id: 1, ts: new Date('2031-03-01T10:00:00Z'), fingerprint: '0b5e6c5a-2f43-4d7e-9a57-1f0c1a2b3c4d', time_unix_nano: '1930039200000000000',
          observed_time_unix_nano: '1930039200000000001', severity_number: 17, severity_text: 'ERROR', service_name: 'etl', event_name: 'pipeline.run.end',
          body: 'old record', trace_id: 'aa'.repeat(16), span_id: 'bb'.repeat(8), flags: '1', pipeline: 'orders', run_id: 'run-old', stage: null,
          attributes: { k: 1 }, dropped_attributes_count: '2', resource_attributes: { 'service.name': 'etl' }, resource_schema_url: 'https://schema',
          scope_name: 'old-scope', scope_version: '0.1', scope_attributes: { s: true }, scope_schema_url: '',
        };
        const columns = Object.keys(before);
        await old.query(`INSERT INTO logs (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(before));

        expect(await migrate(old)).toEqual({ applied: VERSIONS.filter((v) => v > 3) });
        const { rows } = await old.query(`SELECT ${columns.join(', ')} FROM logs`);
        expect(rows).toEqual([before]);

        // A new record beside it, both listed newest first; the old one is still found by its run.
        const partitions = createPartitionManager();
        const Request = otlpType('ExportLogsServiceRequest');
        const request = realisticLogsRequest({
          values: 'protobuf', records: 1, startUnixNano: BigInt(Date.UTC(2031, 2, 1, 11)) * 1_000_000n, stepNanos: 1n, scope: { name: 's', version: '1' },
        });
        const prepared = prepare({ id: 1, name: 'default' }, decodeLogsProtobuf(Request.encode(Request.fromObject(request)).finish()), []);
        await old.transaction((tx) => writeBatch(tx, partitions, [prepared]));
        const listed = await old.query<{ body: string }>('SELECT body FROM logs WHERE tenant_id = 1 ORDER BY ts DESC');
        expect(listed.rows.map((row) => row.body)).toEqual([expect.stringMatching(/^batch 0 of/), 'old record']);
        expect((await old.query('SELECT body FROM logs WHERE tenant_id = 1 AND run_id = $1', ['run-old'])).rows).toEqual([{ body: 'old record' }]);
        expect(await measureLogBytes(old, 'v1')).toMatchObject({ records: 1 });
      } finally {
        await old.close();
      }
    });

    it('stores a resent record once, whichever request it comes in', async () => {
      const partitions = createPartitionManager();
      const Request = otlpType('ExportLogsServiceRequest');
      const request = realisticLogsRequest({
        values: 'protobuf', records: 3, startUnixNano: BigInt(Date.UTC(2031, 2, 1)) * 1_000_000n, stepNanos: 1_000_000n,
        scope: { name: 'storage-test', version: '1.0.0' },
      });
      const rows = decodeLogsProtobuf(Request.encode(Request.fromObject(request)).finish());
      const effects = await layout.transaction((tx) => writeBatch(tx, partitions, [prepare({ id: 1, name: 'default' }, rows, [])]));
      expect(effects.logs).toEqual({ accepted: 0, duplicates: 3 });
    });
  });

  describe('data-quality checks (migration 6)', () => {
    it('keeps each check record once in pipeline_checks, as the migration reads the records stored before it', async () => {
      const fresh = await backend.open();
      try {
        const at = Date.UTC(2031, 4, 1);
        const check = (i: number, passed: Value | undefined, extra: Record<string, Value> = {}): JsonRecord => ({
          eventName: EVENT.check,
          timeMs: at + i,
          body: `check ${i}`,
          attributes: { [ATTR.checkName]: `c${i}`, ...(passed === undefined ? {} : { [ATTR.checkPassed]: passed }), ...extra },
        });
        const run = { [ATTR.pipelineName]: 'orders', [ATTR.runId]: 'r-1', [ATTR.stageName]: 'load' };
        const rows = decodeLogsJson(
          otlpJsonLogs({ 'service.name': 'etl' }, [
            check(1, true, run),
            check(2, false, { ...run, [ATTR.checkDetails]: '3 nulls' }),
            check(3, 'False', run),
            check(4, 'yes', run),
            check(5, undefined, { [ATTR.pipelineName]: 'orders' }),
            check(6, 0),
            { body: 'not a check', timeMs: at + 7, attributes: run },
          ]),
        );
        const write = () => fresh.transaction((tx) => writeBatch(tx, createPartitionManager(), [prepare({ id: 1, name: 'default' }, rows, [])]));
        await write();
        await write();
        const stored = await fresh.query(`SELECT * FROM pipeline_checks ORDER BY ts`);
        expect(stored.rows.map((row) => [row.name, row.passed, row.pipeline, row.run_id, row.stage, row.details, row.body])).toEqual([
          ['c1', true, 'orders', 'r-1', 'load', null, 'check 1'],
          ['c2', false, 'orders', 'r-1', 'load', '3 nulls', 'check 2'],
          ['c3', false, 'orders', 'r-1', 'load', null, 'check 3'],
          ['c4', null, 'orders', 'r-1', 'load', null, 'check 4'],
          ['c5', null, 'orders', null, null, null, 'check 5'],
          ['c6', null, null, null, null, null, 'check 6'],
        ]);
        // The migration's statement, over the same records, finds the same rows.
        expect((await fresh.query(`${CHECKS_FROM_LOGS} ORDER BY ts`)).rows).toEqual(stored.rows);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('API keys', () => {
    it('creates a key that verifies to its tenant and scopes', async () => {
      const created = await createKey(db, 'acme', ['ingest', 'read']);
      expect(created.key).toMatch(new RegExp(`^pm_${created.tenantId}_${created.keyId}_[0-9a-f]{64}$`));
      expect(created.keyId).toMatch(/^[0-9a-f]{12}$/);
      const verified = await createKeyVerifier(db).verify(created.key);
      expect(verified).toEqual({ tenantId: created.tenantId, tenantName: 'acme', keyId: created.keyId, scopes: ['ingest', 'read'] });
    });

    it('stores only the SHA-256 of the key', async () => {
      const { key, keyId } = await createKey(db, 'acme', ['read']);
      const { rows } = await db.query<{ key_hash: Buffer }>('SELECT key_hash FROM api_keys WHERE key_id = $1', [keyId]);
      expect(rows[0]!.key_hash.toString('hex')).toBe((await import('node:crypto')).createHash('sha256').update(key).digest('hex'));
    });

    it('creates a tenant once, whatever the number of keys', async () => {
      const id = await createTenant(db, 'globex');
      expect(await createTenant(db, 'globex')).toBe(id);
      expect((await createKey(db, 'globex', ['admin'])).tenantId).toBe(id);
    });

    it('refuses bad tenant names and scope lists', async () => {
      await expect(createTenant(db, '')).rejects.toThrow(/tenant name/);
      await expect(createTenant(db, ' padded ')).rejects.toThrow(/tenant name/);
      await expect(createKey(db, 'acme', [])).rejects.toThrow(/scopes/);
      await expect(createKey(db, 'acme', ['root' as 'admin'])).rejects.toThrow(/scopes/);
    });

    it('rejects malformed, unknown and tampered keys', async () => {
      const { key, tenantId, keyId } = await createKey(db, 'initech', ['ingest']);
      const other = await createKey(db, 'acme', ['ingest']);
      const verifier = createKeyVerifier(db, { cacheMs: 0 });
      const secret = key.slice(-64);
      const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
      for (const bad of [
        '',
        'nope',
        `${key}0`,
        key.toUpperCase(),
        `pm_${tenantId}_${keyId}_${flip(secret)}`, // tampered secret
        `pm_${tenantId}_${flip(keyId)}_${secret}`, // unknown key id
        `pm_${other.tenantId}_${keyId}_${secret}`, // another tenant's id
        `pm_${tenantId}_${other.keyId}_${other.key.slice(-64)}`, // another tenant's key under this tenant
        `pm_99999999999_${keyId}_${secret}`,
        'x'.repeat(10_000),
      ]) {
        expect(await verifier.verify(bad), bad.slice(0, 40)).toBeNull();
      }
      expect(await verifier.verify(key)).not.toBeNull();
    });

    it('lists keys with tenant, id, scopes and dates, never the hash', async () => {
      const { keyId } = await createKey(db, 'listed', ['read', 'ingest']);
      await revokeKey(db, keyId);
      const listed = (await listKeys(db)).find((info) => info.keyId === keyId);
      expect(listed).toEqual({ tenant: 'listed', keyId, scopes: ['ingest', 'read'], createdAt: expect.any(Date), revokedAt: expect.any(Date) });
      expect(Object.keys(listed!)).not.toContain('key_hash');
    });

    it('revokes a key, and says false for an id it does not know', async () => {
      const { key, keyId } = await createKey(db, 'acme', ['ingest']);
      expect(await revokeKey(db, keyId)).toBe(true);
      expect(await revokeKey(db, keyId)).toBe(true);
      expect(await revokeKey(db, '000000000000')).toBe(false);
      expect(await createKeyVerifier(db, { cacheMs: 0 }).verify(key)).toBeNull();
    });

    it('answers from its cache for cacheMs, good and bad keys alike, with one lookup for concurrent checks', async () => {
      const { key, keyId, tenantId } = await createKey(db, 'cached', ['ingest']);
      const spy = recording(db);
      const verifier = createKeyVerifier(spy, { cacheMs: 60_000 });
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => verifier.verify(key)));
      expect(answers.every((answer) => answer?.tenantName === 'cached')).toBe(true);
      expect(spy.sql).toHaveLength(1);

      const unknown = `pm_${tenantId}_${'f'.repeat(12)}_${'0'.repeat(64)}`;
      for (let i = 0; i < 5; i++) expect(await verifier.verify(unknown)).toBeNull();
      expect(spy.sql).toHaveLength(2);
      // Malformed keys never reach the database.
      for (let i = 0; i < 5; i++) expect(await verifier.verify(`garbage-${i}`)).toBeNull();
      expect(spy.sql).toHaveLength(2);

      // Revocation reaches a verifier when its cache entry expires.
      await revokeKey(db, keyId);
      expect(await verifier.verify(key)).not.toBeNull();
      expect(await createKeyVerifier(db, { cacheMs: 0 }).verify(key)).toBeNull();
    });

    it('bounds its cache', async () => {
      const spy = recording(db);
      const verifier = createKeyVerifier(spy, { cacheMs: 60_000, maxEntries: 2 });
      const keys = [1, 2, 3].map((n) => `pm_1_${String(n).padStart(12, '0')}_${'0'.repeat(64)}`);
      for (const key of keys) await verifier.verify(key);
      await verifier.verify(keys[2]!);
      expect(spy.sql).toHaveLength(3);
      await verifier.verify(keys[0]!); // evicted: asked again
      expect(spy.sql).toHaveLength(4);
    });

    it('does not cache a lookup that failed, so the next request asks again', async () => {
      let fail = true;
      const flaky: Queryable = {
        query: (sql, params) => (fail ? Promise.reject(new Error('Connection terminated unexpectedly')) : db.query(sql, params)),
      };
      const { key } = await createKey(db, 'flaky', ['ingest']);
      const verifier = createKeyVerifier(flaky);
      await expect(verifier.verify(key)).rejects.toThrow(/Connection terminated/);
      fail = false;
      expect(await verifier.verify(key)).not.toBeNull();
    });
  });

  describe('default key', () => {
    it('creates exactly one default ingest+read key on an empty database and saves it with mode 0600', async () => {
      const fresh = await backend.open();
      try {
        const dir = path.join(tempDataDir(), 'data');
        const key = await bootstrapDefaultKey(fresh, dir);
        expect(key).toMatch(/^pm_\d+_[0-9a-f]{12}_[0-9a-f]{64}$/);
        const file = path.join(dir, 'default-api-key');
        expect(fs.readFileSync(file, 'utf8')).toBe(`${key}\n`);
        expect(fs.statSync(file).mode & 0o777).toBe(0o600);
        expect(await createKeyVerifier(fresh).verify(key!)).toMatchObject({ tenantName: 'default', scopes: ['ingest', 'read'] });

        expect(await bootstrapDefaultKey(fresh, dir)).toBeNull();
        expect(fs.readFileSync(file, 'utf8')).toBe(`${key}\n`);
        expect(await listKeys(fresh)).toHaveLength(1);
      } finally {
        await fresh.close();
      }
    });

    it('creates no key on a database that already has tenants, and needs no directory', async () => {
      const fresh = await backend.open();
      try {
        await createTenant(fresh, 'existing');
        expect(await bootstrapDefaultKey(fresh, undefined)).toBeNull();
        expect(await listKeys(fresh)).toEqual([]);
      } finally {
        await fresh.close();
      }
    });

    it('creates one default tenant and key when two receivers start together', async () => {
      const url = await backend.databaseUrl();
      const [first, second] = await Promise.all([openDatabase({ databaseUrl: url }), openDatabase({ databaseUrl: url })]);
      try {
        const keys = await Promise.all([bootstrapDefaultKey(first, tempDataDir()), bootstrapDefaultKey(second, tempDataDir())]);
        expect(keys.filter((key) => key !== null)).toHaveLength(1);
        const { rows } = await first.query<{ name: string }>('SELECT name FROM tenants');
        expect(rows).toEqual([{ name: 'default' }]);
        expect(await listKeys(first)).toHaveLength(1);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });
});

describe('server database', () => {
  const serverUrl = testServerUrl();

  it('explains an unreachable DATABASE_URL, with the remedy', async () => {
    const err = await rejection(openServerDatabase('postgres://pipemon:secret@127.0.0.1:1/pipemon'));
    expect(err.message).toBe(
      'DATABASE_URL unreachable at 127.0.0.1:1 (ECONNREFUSED): start PostgreSQL or unset DATABASE_URL to use the embedded server',
    );
    expect(err.message).not.toContain('secret');
  });

  it('explains a DATABASE_URL that is not one', async () => {
    await expect(openDatabase({ databaseUrl: 'postgres://[::1' })).rejects.toThrow(/DATABASE_URL is not a PostgreSQL connection string/);
  });

  it('explains a database that does not exist', async () => {
    const url = new URL(serverUrl);
    url.pathname = '/no_such_database';
    await expect(openServerDatabase(url.toString())).rejects.toThrow(/no database "no_such_database" at 127\.0\.0\.1:\d+: create it/);
  });

  it('describes itself as host:port/database, without the password', async () => {
    const url = new URL(serverUrl);
    expect(url.password).not.toBe('');
    const db = await openServerDatabase(url.toString());
    try {
      expect(db.description).toBe(`127.0.0.1:${url.port}/pipemon`);
      expect(db.writeConcurrency).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('fails transiently while the server is down and recovers when it is back, without crashing', async () => {
    const server = await startPostgres();
    try {
      const db = await openDatabase({ databaseUrl: server.url });
      try {
        // Idle connections in the pool, to be cut by the shutdown.
        await Promise.all([1, 2, 3].map(() => db.query('SELECT pg_sleep(0.05)')));
        await server.stop();
        const queryError = await rejection(db.query('SELECT 1'));
        expect(isTransient(queryError)).toBe(true);
        const transactionError = await rejection(db.transaction((tx) => tx.query('SELECT 1')));
        expect(isTransient(transactionError)).toBe(true);
        expect(describeDatabaseError(transactionError)).not.toBe('');

        await server.start();
        expect((await db.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
        expect(await db.transaction(async (tx) => (await tx.query<{ ok: number }>('SELECT 2 AS ok')).rows)).toEqual([{ ok: 2 }]);
      } finally {
        await db.close();
      }
    } finally {
      await server.destroy();
    }
  });

  it('ends a transaction whose connection is cut, and keeps the pool usable', async () => {
    const db = await openDatabase({ databaseUrl: await createTestDatabase(serverUrl) });
    try {
      const err = await rejection(
        db.transaction(async (tx) => {
          await tx.query('SELECT pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
          await tx.query('SELECT 1');
        }),
      );
      expect(isTransient(err)).toBe(true);
      expect((await db.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });
});

describe('error classification', () => {
  const serverError = (code: string) => Object.assign(new Error(`server says ${code}`), { code, severity: 'ERROR' });
  const systemError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -1, syscall: 'connect' });

  it.each([
    ['connection refused', systemError('ECONNREFUSED'), true],
    ['connection reset', systemError('ECONNRESET'), true],
    ['broken pipe', systemError('EPIPE'), true],
    ['timed out', systemError('ETIMEDOUT'), true],
    ['connection terminated', new Error('Connection terminated unexpectedly'), true],
    ['pool timeout', new Error('timeout exceeded when trying to connect'), true],
    ['query timeout', new Error('Query read timeout'), true],
    ['connection failure 08006', serverError('08006'), true],
    ['too many connections 53300', serverError('53300'), true],
    ['disk full 53100', serverError('53100'), true],
    ['admin shutdown 57P01', serverError('57P01'), true],
    ['query canceled 57014', serverError('57014'), true],
    ['serialization failure 40001', serverError('40001'), true],
    ['deadlock 40P01', serverError('40P01'), true],
    ['lock not available 55P03', serverError('55P03'), true],
    ['insufficient privilege 42501 (the operator fixes it)', serverError('42501'), true],
    ['unknown server error XX000', serverError('XX000'), true],
    ['something unknown', 'a string', true],
    ['invalid text 22P02', serverError('22P02'), false],
    ['NUL byte 22021', serverError('22021'), false],
    ['unique violation 23505', serverError('23505'), false],
    ['not null violation 23502', serverError('23502'), false],
    ['no partition for the row 23514', serverError('23514'), false],
    ['syntax error 42601', serverError('42601'), false],
    ['undefined column 42703', serverError('42703'), false],
    ['cardinality violation 21000', serverError('21000'), false],
    ['index row too large 54000', serverError('54000'), false],
  ])('%s is transient: %s', (_name, err, transient) => {
    expect(isTransient(err)).toBe(transient);
  });

  it('describes an error in one short line', () => {
    expect(describeDatabaseError(Object.assign(new Error('duplicate key value'), { code: '23505', severity: 'ERROR' }))).toBe(
      'duplicate key value (SQLSTATE 23505)',
    );
    expect(describeDatabaseError(new AggregateError([systemError('ECONNREFUSED')], ''))).toBe('connect ECONNREFUSED 127.0.0.1:5432');
    expect(describeDatabaseError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('socket hang up (ECONNRESET)');
    expect(describeDatabaseError(new Error('line one\n  line two'))).toBe('line one line two');
    expect(describeDatabaseError(new Error('x'.repeat(1000))).length).toBeLessThanOrEqual(200);
    expect(describeDatabaseError(undefined)).toBe('undefined');
  });
});

describe('csvField', () => {
  it.each([
    [null, ''],
    ['', '""'],
    ['plain', 'plain'],
    [42, '42'],
    [-1.5, '-1.5'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'],
    ['\\.', '"\\."'],
    [' spaced ', ' spaced '],
  ] as const)('renders %j as %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});
